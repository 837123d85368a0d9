ALTER TABLE `backup_jobs` ADD `next_due_at` integer DEFAULT 0;--> statement-breakpoint
CREATE INDEX `backup_jobs_due_idx` ON `backup_jobs` (`is_enabled`,`next_due_at`,`id`);--> statement-breakpoint
CREATE INDEX `events_created_idx` ON `events` (`created_at`);--> statement-breakpoint
CREATE INDEX `agent_registration_tokens_expires_idx` ON `agent_registration_tokens` (`expires_at`);--> statement-breakpoint
CREATE INDEX `agents_online_idx` ON `agents` (`is_online`);--> statement-breakpoint
CREATE INDEX `missed_schedule_reports_scheduled_idx` ON `missed_schedule_reports` (`scheduled_for`);--> statement-breakpoint
CREATE INDEX `email_tokens_expires_idx` ON `email_tokens` (`expires_at`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_status_created_idx` ON `webhook_deliveries` (`status`,`created_at`);