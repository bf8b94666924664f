CREATE TABLE `sends` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`workspace_id` text NOT NULL,
	`campaign_id` text NOT NULL,
	`contact_id` text NOT NULL,
	`status` text NOT NULL,
	`batch` integer,
	`provider_id` text,
	`error` text,
	`segment_labels` text NOT NULL,
	`owner_agent_id` text,
	`source_campaign` text,
	`created_at` integer NOT NULL,
	`sent_at` integer,
	FOREIGN KEY (`campaign_id`) REFERENCES `campaigns`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`contact_id`) REFERENCES `contacts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `sends_campaign_contact_idx` ON `sends` (`campaign_id`,`contact_id`);--> statement-breakpoint
CREATE INDEX `sends_campaign_status_idx` ON `sends` (`campaign_id`,`status`,`id`);--> statement-breakpoint
CREATE INDEX `sends_campaign_batch_idx` ON `sends` (`campaign_id`,`batch`);--> statement-breakpoint
ALTER TABLE `campaigns` ADD `segment_id` text;--> statement-breakpoint
ALTER TABLE `campaigns` ADD `scheduled_at` integer;--> statement-breakpoint
ALTER TABLE `campaigns` ADD `started_at` integer;--> statement-breakpoint
ALTER TABLE `campaigns` ADD `finished_at` integer;--> statement-breakpoint
ALTER TABLE `campaigns` ADD `audience_complete_at` integer;--> statement-breakpoint
ALTER TABLE `campaigns` ADD `status_reason` text;--> statement-breakpoint
CREATE INDEX `campaigns_status_idx` ON `campaigns` (`status`,`scheduled_at`);