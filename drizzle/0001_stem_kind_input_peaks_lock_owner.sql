ALTER TABLE `jobs` ADD `input_peaks` blob;--> statement-breakpoint
ALTER TABLE `runner_lock` ADD `owner` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `stems` ADD `kind` text DEFAULT 'stem' NOT NULL;