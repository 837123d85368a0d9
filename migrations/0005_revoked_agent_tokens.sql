CREATE TABLE `revoked_agent_tokens` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`subscriber_id` text NOT NULL,
	`agent_id` text NOT NULL,
	`revoked_at` integer NOT NULL,
	FOREIGN KEY (`subscriber_id`) REFERENCES `subscribers`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `revoked_agent_tokens_subscriber_idx` ON `revoked_agent_tokens` (`subscriber_id`);