DROP INDEX `jobs_status_order`;--> statement-breakpoint
DROP INDEX `jobs_batch`;--> statement-breakpoint
CREATE INDEX `jobs_queue_order` ON `jobs` (`status`,"priority" desc,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `jobs_batch_status` ON `jobs` (`batch_id`,`status`);