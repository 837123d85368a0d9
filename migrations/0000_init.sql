CREATE TABLE `events` (
	`id` text PRIMARY KEY NOT NULL,
	`subscriber_id` text NOT NULL,
	`type` text NOT NULL,
	`data` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `events_subscriber_created_idx` ON `events` (`subscriber_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `log_messages` (
	`id` text PRIMARY KEY NOT NULL,
	`subscriber_id` text NOT NULL,
	`agent_id` text,
	`backup_job_id` text,
	`source` text NOT NULL,
	`severity` text NOT NULL,
	`message` text NOT NULL,
	`timestamp` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `log_messages_subscriber_time_idx` ON `log_messages` (`subscriber_id`,`timestamp`,`id`);--> statement-breakpoint
CREATE INDEX `log_messages_subscriber_agent_time_idx` ON `log_messages` (`subscriber_id`,`agent_id`,`timestamp`,`id`);--> statement-breakpoint
CREATE INDEX `log_messages_subscriber_severity_time_idx` ON `log_messages` (`subscriber_id`,`severity`,`timestamp`,`id`);--> statement-breakpoint
CREATE INDEX `log_messages_time_idx` ON `log_messages` (`timestamp`);--> statement-breakpoint
CREATE TABLE `agent_registration_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`subscriber_id` text NOT NULL,
	`token_hash` text NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer,
	`used_by_agent_id` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`subscriber_id`) REFERENCES `subscribers`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `agent_registration_tokens_hash_unique` ON `agent_registration_tokens` (`token_hash`);--> statement-breakpoint
CREATE INDEX `agent_registration_tokens_subscriber_idx` ON `agent_registration_tokens` (`subscriber_id`);--> statement-breakpoint
CREATE TABLE `agents` (
	`id` text PRIMARY KEY NOT NULL,
	`subscriber_id` text NOT NULL,
	`hostname` text NOT NULL,
	`display_name` text,
	`operating_system` text NOT NULL,
	`version` text NOT NULL,
	`token_hash` text NOT NULL,
	`is_online` integer DEFAULT false NOT NULL,
	`last_seen_utc` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`subscriber_id`) REFERENCES `subscribers`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `agents_token_hash_unique` ON `agents` (`token_hash`);--> statement-breakpoint
CREATE INDEX `agents_subscriber_idx` ON `agents` (`subscriber_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `databases` (
	`id` text PRIMARY KEY NOT NULL,
	`subscriber_id` text NOT NULL,
	`agent_id` text NOT NULL,
	`engine_id` text NOT NULL,
	`name` text NOT NULL,
	`missing_since` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`agent_id`) REFERENCES `agents`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`engine_id`) REFERENCES `engines`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `databases_engine_name_unique` ON `databases` (`engine_id`,`name`);--> statement-breakpoint
CREATE INDEX `databases_subscriber_idx` ON `databases` (`subscriber_id`,`agent_id`);--> statement-breakpoint
CREATE TABLE `engines` (
	`id` text PRIMARY KEY NOT NULL,
	`subscriber_id` text NOT NULL,
	`agent_id` text NOT NULL,
	`engine_key` text NOT NULL,
	`dbms_type` text NOT NULL,
	`version` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`agent_id`) REFERENCES `agents`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `engines_agent_key_unique` ON `engines` (`agent_id`,`engine_key`);--> statement-breakpoint
CREATE INDEX `engines_subscriber_idx` ON `engines` (`subscriber_id`);--> statement-breakpoint
CREATE TABLE `missed_schedule_reports` (
	`backup_job_id` text NOT NULL,
	`scheduled_for` integer NOT NULL,
	`subscriber_id` text NOT NULL,
	`reported_at` integer NOT NULL,
	PRIMARY KEY(`backup_job_id`, `scheduled_for`),
	FOREIGN KEY (`backup_job_id`) REFERENCES `backup_jobs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `backup_files` (
	`id` text PRIMARY KEY NOT NULL,
	`subscriber_id` text NOT NULL,
	`backup_job_id` text NOT NULL,
	`backup_run_id` text NOT NULL,
	`database_id` text NOT NULL,
	`destination_id` text NOT NULL,
	`file_name` text NOT NULL,
	`file_size` integer NOT NULL,
	`checksum` text NOT NULL,
	`date_created` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `backup_files_subscriber_created_idx` ON `backup_files` (`subscriber_id`,`date_created`,`id`);--> statement-breakpoint
CREATE INDEX `backup_files_subscriber_job_created_idx` ON `backup_files` (`subscriber_id`,`backup_job_id`,`date_created`,`id`);--> statement-breakpoint
CREATE INDEX `backup_files_run_idx` ON `backup_files` (`backup_run_id`);--> statement-breakpoint
CREATE TABLE `backup_job_databases` (
	`backup_job_id` text NOT NULL,
	`database_id` text NOT NULL,
	PRIMARY KEY(`backup_job_id`, `database_id`),
	FOREIGN KEY (`backup_job_id`) REFERENCES `backup_jobs`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`database_id`) REFERENCES `databases`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `backup_job_databases_database_idx` ON `backup_job_databases` (`database_id`);--> statement-breakpoint
CREATE TABLE `backup_job_destinations` (
	`backup_job_id` text NOT NULL,
	`destination_id` text NOT NULL,
	PRIMARY KEY(`backup_job_id`, `destination_id`),
	FOREIGN KEY (`backup_job_id`) REFERENCES `backup_jobs`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`destination_id`) REFERENCES `destinations`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `backup_job_destinations_destination_idx` ON `backup_job_destinations` (`destination_id`);--> statement-breakpoint
CREATE TABLE `backup_jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`subscriber_id` text NOT NULL,
	`agent_id` text,
	`name` text NOT NULL,
	`is_enabled` integer NOT NULL,
	`schedules` text NOT NULL,
	`retention_days` integer NOT NULL,
	`encryption_enabled` integer NOT NULL,
	`sealed_passphrase` text,
	`last_status` text,
	`last_run_utc` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`subscriber_id`) REFERENCES `subscribers`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`agent_id`) REFERENCES `agents`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `backup_jobs_subscriber_created_idx` ON `backup_jobs` (`subscriber_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `backup_jobs_agent_idx` ON `backup_jobs` (`agent_id`);--> statement-breakpoint
CREATE TABLE `backup_runs` (
	`id` text PRIMARY KEY NOT NULL,
	`subscriber_id` text NOT NULL,
	`backup_job_id` text NOT NULL,
	`agent_id` text NOT NULL,
	`backup_mode` text NOT NULL,
	`trigger` text NOT NULL,
	`status` text NOT NULL,
	`started_utc` integer,
	`finished_utc` integer,
	`duration_ms` integer,
	`total_size` integer,
	`error` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `backup_runs_subscriber_job_created_idx` ON `backup_runs` (`subscriber_id`,`backup_job_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `backup_runs_status_created_idx` ON `backup_runs` (`status`,`created_at`);--> statement-breakpoint
CREATE TABLE `credentials` (
	`id` text PRIMARY KEY NOT NULL,
	`subscriber_id` text NOT NULL,
	`agent_id` text,
	`name` text NOT NULL,
	`type` text NOT NULL,
	`sealed_credential` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`subscriber_id`) REFERENCES `subscribers`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`agent_id`) REFERENCES `agents`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `credentials_subscriber_created_idx` ON `credentials` (`subscriber_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `credentials_agent_idx` ON `credentials` (`agent_id`);--> statement-breakpoint
CREATE TABLE `destinations` (
	`id` text PRIMARY KEY NOT NULL,
	`subscriber_id` text NOT NULL,
	`agent_id` text,
	`name` text NOT NULL,
	`type` text NOT NULL,
	`settings` text NOT NULL,
	`credential_id` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`subscriber_id`) REFERENCES `subscribers`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`agent_id`) REFERENCES `agents`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`credential_id`) REFERENCES `credentials`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `destinations_subscriber_created_idx` ON `destinations` (`subscriber_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `destinations_credential_idx` ON `destinations` (`credential_id`);--> statement-breakpoint
CREATE INDEX `destinations_agent_idx` ON `destinations` (`agent_id`);--> statement-breakpoint
CREATE TABLE `bug_reports` (
	`id` text PRIMARY KEY NOT NULL,
	`subscriber_id` text NOT NULL,
	`user_id` text,
	`title` text NOT NULL,
	`description` text NOT NULL,
	`category` text NOT NULL,
	`severity` text NOT NULL,
	`status` text DEFAULT 'open' NOT NULL,
	`known_issue_id` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`subscriber_id`) REFERENCES `subscribers`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`known_issue_id`) REFERENCES `known_issues`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `bug_reports_subscriber_created_idx` ON `bug_reports` (`subscriber_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `bug_reports_status_created_idx` ON `bug_reports` (`status`,`created_at`);--> statement-breakpoint
CREATE INDEX `bug_reports_created_idx` ON `bug_reports` (`created_at`);--> statement-breakpoint
CREATE TABLE `known_issues` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`title` text NOT NULL,
	`category` text NOT NULL,
	`severity` text NOT NULL,
	`status` text NOT NULL,
	`created_at` integer NOT NULL,
	`resolved_at` integer,
	`bug_report_id` text,
	FOREIGN KEY (`bug_report_id`) REFERENCES `bug_reports`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `known_issues_bug_report_unique` ON `known_issues` (`bug_report_id`);--> statement-breakpoint
CREATE INDEX `known_issues_created_idx` ON `known_issues` (`created_at`);--> statement-breakpoint
CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`subscriber_id` text NOT NULL,
	`created_by_user_id` text,
	`name` text NOT NULL,
	`prefix` text NOT NULL,
	`key_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_used_at` integer,
	`revoked_at` integer,
	FOREIGN KEY (`subscriber_id`) REFERENCES `subscribers`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`created_by_user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_hash_unique` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE INDEX `api_keys_subscriber_idx` ON `api_keys` (`subscriber_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `email_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`purpose` text NOT NULL,
	`token_hash` text NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `email_tokens_hash_unique` ON `email_tokens` (`token_hash`);--> statement-breakpoint
CREATE INDEX `email_tokens_user_idx` ON `email_tokens` (`user_id`);--> statement-breakpoint
CREATE TABLE `outbox_emails` (
	`id` text PRIMARY KEY NOT NULL,
	`to` text NOT NULL,
	`subject` text NOT NULL,
	`text` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `outbox_created_idx` ON `outbox_emails` (`created_at`);--> statement-breakpoint
CREATE TABLE `subscribers` (
	`id` text PRIMARY KEY NOT NULL,
	`organisation_name` text,
	`plan` text DEFAULT 'Free' NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `users` (
	`id` text PRIMARY KEY NOT NULL,
	`subscriber_id` text NOT NULL,
	`forename` text NOT NULL,
	`email` text NOT NULL,
	`password_hash` text NOT NULL,
	`email_confirmed_at` integer,
	`session_generation` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`subscriber_id`) REFERENCES `subscribers`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_email_unique` ON `users` (`email`);--> statement-breakpoint
CREATE INDEX `users_subscriber_idx` ON `users` (`subscriber_id`);--> statement-breakpoint
CREATE TABLE `webhook_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`subscriber_id` text NOT NULL,
	`webhook_id` text NOT NULL,
	`event_id` text NOT NULL,
	`event_type` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer NOT NULL,
	`next_attempt_at` integer,
	`enqueued_at` integer,
	`queue_message_id` text,
	`last_attempt_at` integer,
	`response_status` integer,
	`last_error` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`webhook_id`) REFERENCES `webhooks`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`event_id`) REFERENCES `events`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `webhook_deliveries_subscriber_webhook_created_idx` ON `webhook_deliveries` (`subscriber_id`,`webhook_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_event_idx` ON `webhook_deliveries` (`event_id`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_status_due_idx` ON `webhook_deliveries` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE TABLE `webhooks` (
	`id` text PRIMARY KEY NOT NULL,
	`subscriber_id` text NOT NULL,
	`url` text NOT NULL,
	`events` text NOT NULL,
	`sealed_secret` text NOT NULL,
	`is_enabled` integer NOT NULL,
	`failing_since` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`subscriber_id`) REFERENCES `subscribers`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `webhooks_subscriber_created_idx` ON `webhooks` (`subscriber_id`,`created_at`);