CREATE TABLE `anonymous_opens` (
	`campaign_id` text NOT NULL,
	`machine` integer NOT NULL,
	`hits` integer NOT NULL,
	PRIMARY KEY(`campaign_id`, `machine`)
);
--> statement-breakpoint
CREATE TABLE `campaign_links` (
	`campaign_id` text NOT NULL,
	`idx` integer NOT NULL,
	`url` text NOT NULL,
	`tracked` integer NOT NULL,
	PRIMARY KEY(`campaign_id`, `idx`),
	FOREIGN KEY (`campaign_id`) REFERENCES `campaigns`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `conversions` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`contact_id` text NOT NULL,
	`external_id` text,
	`type` text NOT NULL,
	`value` integer NOT NULL,
	`currency` text NOT NULL,
	`occurred_at` integer NOT NULL,
	`recorded_at` integer NOT NULL,
	`campaign_id` text,
	`send_id` integer,
	`attribution` text NOT NULL,
	`actor_type` text NOT NULL,
	`actor_id` text,
	`request_hash` text NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`contact_id`) REFERENCES `contacts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `conversions_external_idx` ON `conversions` (`workspace_id`,`external_id`);--> statement-breakpoint
CREATE INDEX `conversions_send_idx` ON `conversions` (`send_id`);--> statement-breakpoint
CREATE INDEX `conversions_contact_idx` ON `conversions` (`contact_id`,`occurred_at`);--> statement-breakpoint
CREATE TABLE `events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`workspace_id` text NOT NULL,
	`campaign_id` text NOT NULL,
	`send_id` integer NOT NULL,
	`type` text NOT NULL,
	`link_index` integer,
	`machine` integer DEFAULT false NOT NULL,
	`machine_reason` text,
	`user_agent` text,
	`hits` integer DEFAULT 1 NOT NULL,
	`detail` text,
	`occurred_at` integer NOT NULL,
	FOREIGN KEY (`send_id`) REFERENCES `sends`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `events_send_idx` ON `events` (`send_id`,`type`,`occurred_at`);--> statement-breakpoint
CREATE INDEX `events_campaign_idx` ON `events` (`campaign_id`,`type`,`machine`,`link_index`,`send_id`);--> statement-breakpoint
CREATE TABLE `webhook_receipts` (
	`id` text PRIMARY KEY NOT NULL,
	`type` text NOT NULL,
	`received_at` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `campaigns` ADD `link_tracking` text;--> statement-breakpoint
ALTER TABLE `sends` ADD `tracks_opens` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `sends` ADD `delivered_at` integer;--> statement-breakpoint
ALTER TABLE `sends` ADD `bounced_at` integer;--> statement-breakpoint
ALTER TABLE `sends` ADD `complained_at` integer;--> statement-breakpoint
ALTER TABLE `sends` ADD `unsubscribed_at` integer;--> statement-breakpoint
ALTER TABLE `sends` ADD `human_opens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `sends` ADD `machine_opens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `sends` ADD `human_clicks` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `sends` ADD `machine_clicks` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `sends` ADD `conversions` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `sends` ADD `conversion_value` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `sends_provider_idx` ON `sends` (`provider_id`);--> statement-breakpoint
CREATE INDEX `sends_contact_idx` ON `sends` (`contact_id`,`sent_at`);