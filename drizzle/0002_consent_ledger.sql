CREATE TABLE `calls` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`contact_id` text NOT NULL,
	`call_ref` text NOT NULL,
	`basis` text NOT NULL,
	`basis_ref` text,
	`call_campaign` text,
	`agent_id` text,
	`actor_type` text NOT NULL,
	`actor_id` text,
	`occurred_at` integer NOT NULL,
	`recorded_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`contact_id`) REFERENCES `contacts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `calls_workspace_agent_idx` ON `calls` (`workspace_id`,`agent_id`,`occurred_at`);--> statement-breakpoint
CREATE INDEX `calls_contact_idx` ON `calls` (`contact_id`);--> statement-breakpoint
CREATE TABLE `consent_events` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`seq` integer NOT NULL,
	`contact_id` text NOT NULL,
	`purpose` text NOT NULL,
	`action` text NOT NULL,
	`channel` text NOT NULL,
	`actor_type` text NOT NULL,
	`actor_id` text,
	`call_id` text,
	`call_ref` text,
	`call_basis` text,
	`script_id` text,
	`script_sha256` text,
	`evidence_sha256` text NOT NULL,
	`occurred_at` integer NOT NULL,
	`recorded_at` integer NOT NULL,
	`prev_hash` text NOT NULL,
	`hash` text NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`contact_id`) REFERENCES `contacts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `consent_events_seq_idx` ON `consent_events` (`workspace_id`,`seq`);--> statement-breakpoint
CREATE INDEX `consent_events_contact_idx` ON `consent_events` (`contact_id`,`seq`);--> statement-breakpoint
CREATE INDEX `consent_events_actor_idx` ON `consent_events` (`workspace_id`,`actor_id`,`recorded_at`);--> statement-breakpoint
CREATE TABLE `consent_evidence` (
	`event_id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`data` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `consent_scripts` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`purpose` text NOT NULL,
	`version` integer NOT NULL,
	`label` text NOT NULL,
	`text` text NOT NULL,
	`sha256` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `consent_scripts_version_idx` ON `consent_scripts` (`workspace_id`,`purpose`,`version`);--> statement-breakpoint
CREATE TABLE `consent_state` (
	`workspace_id` text NOT NULL,
	`contact_id` text NOT NULL,
	`purpose` text NOT NULL,
	`status` text NOT NULL,
	`confirmed_at` integer,
	`since` integer NOT NULL,
	`last_event_id` text NOT NULL,
	PRIMARY KEY(`contact_id`, `purpose`),
	FOREIGN KEY (`contact_id`) REFERENCES `contacts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `consent_state_audience_idx` ON `consent_state` (`workspace_id`,`purpose`,`status`);--> statement-breakpoint
CREATE TABLE `contacts` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`email` text,
	`phone` text,
	`first_name` text,
	`last_name` text,
	`locale` text DEFAULT 'fr' NOT NULL,
	`attributes` text NOT NULL,
	`owner_agent_id` text,
	`source_campaign` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`last_prospect_action_at` integer NOT NULL,
	`erased_at` integer,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `contacts_email_idx` ON `contacts` (`workspace_id`,`email`);--> statement-breakpoint
CREATE INDEX `contacts_phone_idx` ON `contacts` (`workspace_id`,`phone`);--> statement-breakpoint
CREATE INDEX `contacts_owner_idx` ON `contacts` (`workspace_id`,`owner_agent_id`);--> statement-breakpoint
CREATE TABLE `email_queue` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text,
	`message` text NOT NULL,
	`idempotency_key` text NOT NULL,
	`created_at` integer NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`claimed_until` integer,
	`sent_at` integer,
	`provider_id` text,
	`failed_at` integer,
	`last_error` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `email_queue_key_idx` ON `email_queue` (`idempotency_key`);--> statement-breakpoint
CREATE INDEX `email_queue_due_idx` ON `email_queue` (`sent_at`,`next_attempt_at`);--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`workspace_id` text NOT NULL,
	`key` text NOT NULL,
	`route` text NOT NULL,
	`request_hash` text NOT NULL,
	`status` integer NOT NULL,
	`response` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`workspace_id`, `route`, `key`)
);
