ALTER TABLE `jobs` ADD `owner_id` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `heartbeat_at` integer;--> statement-breakpoint
ALTER TABLE `jobs` ADD `fallback_reason` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `ready_samples` integer;--> statement-breakpoint
ALTER TABLE `jobs` ADD `worker_host` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `remote_id` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `excerpt_start` real;--> statement-breakpoint
ALTER TABLE `jobs` ADD `excerpt_end` real;--> statement-breakpoint
ALTER TABLE `jobs` ADD `uploaded` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `jobs` ADD `bpm` real;--> statement-breakpoint
ALTER TABLE `jobs` ADD `musical_key` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `key_confidence` real;--> statement-breakpoint
ALTER TABLE `jobs` ADD `beats` text;