CREATE TABLE `dsr_requests` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`contact_id` text,
	`type` text NOT NULL,
	`status` text NOT NULL,
	`channel` text NOT NULL,
	`notes` text DEFAULT '' NOT NULL,
	`received_at` integer NOT NULL,
	`due_at` integer NOT NULL,
	`completed_at` integer,
	`outcome` text,
	`created_by_type` text NOT NULL,
	`created_by_id` text,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`contact_id`) REFERENCES `contacts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `dsr_requests_due_idx` ON `dsr_requests` (`workspace_id`,`status`,`due_at`);--> statement-breakpoint
CREATE INDEX `dsr_requests_contact_idx` ON `dsr_requests` (`contact_id`);--> statement-breakpoint
CREATE TABLE `suppressions` (
	`workspace_id` text NOT NULL,
	`email_hash` text NOT NULL,
	`reason` text NOT NULL,
	`source` text NOT NULL,
	`suppressed_at` integer NOT NULL,
	`lifted_at` integer,
	`lifted_by_event_id` text,
	PRIMARY KEY(`workspace_id`, `email_hash`),
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `workspace_keys` (
	`workspace_id` text PRIMARY KEY NOT NULL,
	`suppression_key` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
ALTER TABLE `contacts` ADD `email_hash` text;--> statement-breakpoint
CREATE INDEX `contacts_email_hash_idx` ON `contacts` (`workspace_id`,`email_hash`);--> statement-breakpoint
-- Every existing workspace gets its suppression key; new ones get theirs when created.
INSERT INTO `workspace_keys` (`workspace_id`, `suppression_key`, `created_at`)
SELECT `id`, lower(hex(randomblob(32))), CAST(unixepoch('subsec') * 1000 AS INTEGER) FROM `workspaces`;
