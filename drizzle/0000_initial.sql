CREATE TABLE `batches` (
	`id` text PRIMARY KEY NOT NULL,
	`source_folder` text NOT NULL,
	`output_dir` text NOT NULL,
	`total` integer DEFAULT 0 NOT NULL,
	`done` integer DEFAULT 0 NOT NULL,
	`failed` integer DEFAULT 0 NOT NULL,
	`skipped` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`input_path` text NOT NULL,
	`input_hash` text,
	`input_size` integer,
	`input_mtime_ms` integer,
	`model_id` text NOT NULL,
	`options` text NOT NULL,
	`options_key` text NOT NULL,
	`status` text NOT NULL,
	`progress` real DEFAULT 0 NOT NULL,
	`segments_done` integer DEFAULT 0 NOT NULL,
	`segments_total` integer DEFAULT 0 NOT NULL,
	`eta_sec` real,
	`provider` text,
	`error_code` text,
	`error_message` text,
	`priority` integer DEFAULT 0 NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	`output_root` text NOT NULL,
	`output_dir` text NOT NULL,
	`batch_id` text,
	`relative_path` text,
	`duration_sec` real,
	FOREIGN KEY (`batch_id`) REFERENCES `batches`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `jobs_status_order` ON `jobs` (`status`,`priority`,`created_at`);--> statement-breakpoint
CREATE INDEX `jobs_input_hash` ON `jobs` (`input_hash`);--> statement-breakpoint
CREATE INDEX `jobs_input_path` ON `jobs` (`input_path`);--> statement-breakpoint
CREATE INDEX `jobs_output_dir` ON `jobs` (`output_dir`);--> statement-breakpoint
CREATE INDEX `jobs_batch` ON `jobs` (`batch_id`);--> statement-breakpoint
CREATE TABLE `runner_lock` (
	`id` integer PRIMARY KEY NOT NULL,
	`pid` integer NOT NULL,
	`hostname` text NOT NULL,
	`heartbeat_at` integer NOT NULL,
	`started_at` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE `settings` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `stems` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`job_id` text NOT NULL,
	`name` text NOT NULL,
	`path` text NOT NULL,
	`format` text NOT NULL,
	`duration_sec` real NOT NULL,
	`peaks` blob,
	FOREIGN KEY (`job_id`) REFERENCES `jobs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `stems_job_name` ON `stems` (`job_id`,`name`);