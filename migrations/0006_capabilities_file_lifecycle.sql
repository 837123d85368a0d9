ALTER TABLE `agents` ADD `destination_types` text;--> statement-breakpoint
ALTER TABLE `engines` ADD `backup_modes` text DEFAULT '["Full"]' NOT NULL;--> statement-breakpoint
ALTER TABLE `engines` ADD `can_restore` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `backup_files` ADD `backup_mode` text DEFAULT 'Full' NOT NULL;--> statement-breakpoint
ALTER TABLE `backup_files` ADD `base_backup_file_id` text;--> statement-breakpoint
ALTER TABLE `backup_files` ADD `status` text DEFAULT 'Available' NOT NULL;--> statement-breakpoint
ALTER TABLE `backup_files` ADD `deleted_utc` integer;--> statement-breakpoint
CREATE INDEX `backup_files_subscriber_status_created_idx` ON `backup_files` (`subscriber_id`,`status`,`date_created`,`id`);--> statement-breakpoint
CREATE INDEX `backup_files_subscriber_job_status_created_idx` ON `backup_files` (`subscriber_id`,`backup_job_id`,`status`,`date_created`,`id`);--> statement-breakpoint
CREATE INDEX `backup_files_subscriber_destination_name_idx` ON `backup_files` (`subscriber_id`,`destination_id`,`file_name`);--> statement-breakpoint
ALTER TABLE `backup_runs` ADD `bytes_done` integer;--> statement-breakpoint
-- Hand-written backfill: a file recorded before files carried their mode has its run's mode.
UPDATE `backup_files` SET `backup_mode` = (SELECT `backup_mode` FROM `backup_runs` WHERE `backup_runs`.`id` = `backup_files`.`backup_run_id`) WHERE EXISTS (SELECT 1 FROM `backup_runs` WHERE `backup_runs`.`id` = `backup_files`.`backup_run_id`);--> statement-breakpoint
UPDATE `backup_runs` SET `bytes_done` = `total_size` WHERE `status` = 'Success';
