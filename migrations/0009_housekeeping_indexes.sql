CREATE INDEX `revoked_agent_tokens_revoked_idx` ON `revoked_agent_tokens` (`revoked_at`);--> statement-breakpoint
CREATE INDEX `backup_files_status_deleted_idx` ON `backup_files` (`status`,`deleted_utc`);--> statement-breakpoint
CREATE INDEX `browser_sessions_expires_idx` ON `browser_sessions` (`expires_at`);--> statement-breakpoint
CREATE INDEX `alert_throttles_last_occurred_idx` ON `alert_throttles` (`last_occurred_at`);