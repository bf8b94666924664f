CREATE TABLE `campaigns` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`name` text NOT NULL,
	`subject` text NOT NULL,
	`preheader` text NOT NULL,
	`body` text NOT NULL,
	`template_id` text,
	`status` text DEFAULT 'draft' NOT NULL,
	`version` integer NOT NULL,
	`compiled` text NOT NULL,
	`compiled_at` integer NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `campaigns_workspace_updated_idx` ON `campaigns` (`workspace_id`,`updated_at`);