CREATE TABLE `alert_backlog` (
	`id` text PRIMARY KEY NOT NULL,
	`event_ids` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `alert_throttles` (
	`subject_id` text NOT NULL,
	`kind` text NOT NULL,
	`subscriber_id` text NOT NULL,
	`subject_name` text NOT NULL,
	`last_sent_at` integer,
	`last_occurred_at` integer NOT NULL,
	`pending` text NOT NULL,
	`pending_count` integer DEFAULT 0 NOT NULL,
	`flush_at` integer,
	`version` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`subject_id`, `kind`)
);
--> statement-breakpoint
CREATE INDEX `alert_throttles_flush_idx` ON `alert_throttles` (`flush_at`);--> statement-breakpoint
CREATE TABLE `notification_preferences` (
	`user_id` text PRIMARY KEY NOT NULL,
	`backup_failure` integer DEFAULT true NOT NULL,
	`anomaly` integer DEFAULT true NOT NULL,
	`agent_offline` integer DEFAULT true NOT NULL,
	`weekly_report` integer DEFAULT true NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
DROP INDEX `agents_online_idx`;--> statement-breakpoint
CREATE INDEX `agents_offline_since_idx` ON `agents` (`is_online`,`last_seen_utc`);