CREATE TABLE `objectives` (
	`workspace_id` text NOT NULL,
	`month` text NOT NULL,
	`target` text NOT NULL,
	`metric` text NOT NULL,
	`value` integer NOT NULL,
	`updated_by` text,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`workspace_id`, `month`, `target`, `metric`),
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE no action
);
