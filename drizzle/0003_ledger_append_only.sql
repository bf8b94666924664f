-- The consent ledger and the script texts it points to are proof (GDPR Art. 7(1)): the database
-- itself refuses to change or remove them. Erasure (Art. 17) pseudonymises the contact row, never
-- these rows, so the hash chain still verifies.
CREATE TRIGGER consent_events_no_update BEFORE UPDATE ON consent_events
BEGIN
  SELECT RAISE(ABORT, 'consent_events is append-only');
END;
--> statement-breakpoint
CREATE TRIGGER consent_events_no_delete BEFORE DELETE ON consent_events
BEGIN
  SELECT RAISE(ABORT, 'consent_events is append-only');
END;
--> statement-breakpoint
CREATE TRIGGER consent_scripts_no_update BEFORE UPDATE ON consent_scripts
BEGIN
  SELECT RAISE(ABORT, 'consent_scripts is append-only: write a new version');
END;
--> statement-breakpoint
CREATE TRIGGER consent_scripts_no_delete BEFORE DELETE ON consent_scripts
BEGIN
  SELECT RAISE(ABORT, 'consent_scripts is append-only: write a new version');
END;
