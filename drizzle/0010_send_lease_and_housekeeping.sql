ALTER TABLE `campaigns` ADD `send_lease_until` integer;--> statement-breakpoint
CREATE INDEX `idempotency_keys_created_at_idx` ON `idempotency_keys` (`created_at`);--> statement-breakpoint
CREATE INDEX `webhook_receipts_received_at_idx` ON `webhook_receipts` (`received_at`);