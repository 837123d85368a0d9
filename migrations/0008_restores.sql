CREATE TABLE `restores` (
	`id` text PRIMARY KEY NOT NULL,
	`subscriber_id` text NOT NULL,
	`backup_file_id` text NOT NULL,
	`agent_id` text NOT NULL,
	`target_database_name` text NOT NULL,
	`overwrite` integer NOT NULL,
	`status` text NOT NULL,
	`bytes_done` integer DEFAULT 0 NOT NULL,
	`tables` integer,
	`rows` integer,
	`started_utc` integer,
	`finished_utc` integer,
	`error` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `restores_subscriber_created_idx` ON `restores` (`subscriber_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `restores_status_created_idx` ON `restores` (`status`,`created_at`);--> statement-breakpoint
CREATE TABLE `verifications` (
	`id` text PRIMARY KEY NOT NULL,
	`subscriber_id` text NOT NULL,
	`backup_job_id` text NOT NULL,
	`backup_file_id` text NOT NULL,
	`agent_id` text NOT NULL,
	`status` text NOT NULL,
	`tables` integer,
	`rows` integer,
	`duration_ms` integer,
	`started_utc` integer,
	`finished_utc` integer,
	`error` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `verifications_subscriber_job_created_idx` ON `verifications` (`subscriber_id`,`backup_job_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `verifications_status_created_idx` ON `verifications` (`status`,`created_at`);--> statement-breakpoint
ALTER TABLE `backup_files` ADD `table_count` integer;--> statement-breakpoint
ALTER TABLE `backup_files` ADD `row_count` integer;--> statement-breakpoint
ALTER TABLE `backup_jobs` ADD `verification` text;