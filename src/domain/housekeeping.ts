/**
 * Housekeeping of technical tables: rows that exist only to make retries and throttling safe, and
 * that nobody needs once their window has passed (GDPR Art. 5(1)(e): some of them name people,
 * e.g. a stored capture answer or a login failure keyed by address).
 *
 * Only ever these three tables. Consent events, audit log, sends and suppressions are evidence
 * and are never touched here; prospects expire through `runRetention` (privacy/retention.ts).
 *
 * Deletes in chunks of `chunkSize` rows, each its own short statement (autocommit), so a huge
 * backlog never becomes one giant transaction holding SQLite's write lock (or a Turso request)
 * for long. Safe to run twice or concurrently: a second run finds nothing to delete.
 */
import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { idempotencyKeys, loginFailures, webhookReceipts } from '../db/schema.js';
import { LOGIN_WINDOW_MS } from './auth/throttle.js';
import { MAX_LATE_MS } from './consent/capture.js';
import { IMPORT_IDEMPOTENCY_ROUTE } from './contacts/import.js';

const DAY_MS = 86_400_000;

/**
 * `svix-id`s already processed. Resend (Svix) retries a failed delivery for about 27.5 hours
 * (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: resend.com/docs/webhooks/retries-and-replays),
 * each retry signed with a fresh timestamp, so the id must be remembered at least that long; the
 * signature check (standardwebhooks' WEBHOOK_TOLERANCE_IN_SECONDS = 5 min, via
 * `resend.webhooks.verify` in tracking/webhooks.ts) bounds nothing here because retries are
 * re-signed. 7 days leaves a wide margin. A manual replay from Resend's dashboard after that is
 * processed again (one more event row on the send; suppression and withdrawal are idempotent).
 */
export const WEBHOOK_RECEIPT_RETENTION_MS = 7 * DAY_MS;

/**
 * Stored answers to `Idempotency-Key` requests (POST /api/v1/consents). The README promises no
 * duration. 7 days, and never less than the capture's own limit on late calls (`MAX_LATE_MS`,
 * 7 days): a retry arriving after its answer is purged carries a call date older than that
 * limit, so it is refused (400) rather than recorded twice, whenever the dialer sends
 * `call.occurredAt` (it should; without it the call is dated on arrival).
 * Rows of the CSV import (`IMPORT_IDEMPOTENCY_ROUTE`) are kept: they are the documented
 * "re-importing the same file writes nothing" record (README), removed only with the contact
 * they name (erasure).
 */
export const IDEMPOTENCY_RETENTION_MS = Math.max(7 * DAY_MS, MAX_LATE_MS);

/**
 * Login failures count only within the throttle window (auth/throttle.ts `LOGIN_WINDOW_MS`,
 * 15 minutes, the one window for both the per-account and the per-IP limit); the same cutoff
 * `recordFailure` applies on each failure. This catches failures nobody followed up.
 */
export const LOGIN_FAILURE_RETENTION_MS = LOGIN_WINDOW_MS;

export const HOUSEKEEPING_CHUNK = 5000;

export interface HousekeepingReport {
  webhookReceipts: number;
  idempotencyKeys: number;
  loginFailures: number;
}

/**
 * Deletes expired rows of the technical tables and returns how many went from each. Called by
 * the scheduler (Node: with retention; Workers: the daily Cron). Idempotent; system only (no
 * actor, no audit entry: nothing here is personal data anyone must account for).
 */
export async function runHousekeeping(db: Db, now: Date, opts: { chunkSize?: number } = {}): Promise<HousekeepingReport> {
  const chunk = Math.max(1, Math.floor(opts.chunkSize ?? HOUSEKEEPING_CHUNK));
  const t = now.getTime();
  return {
    webhookReceipts: await deleteInChunks(db, webhookReceipts, sql`${webhookReceipts.receivedAt} < ${t - WEBHOOK_RECEIPT_RETENTION_MS}`, chunk),
    idempotencyKeys: await deleteInChunks(
      db,
      idempotencyKeys,
      sql`${idempotencyKeys.createdAt} < ${t - IDEMPOTENCY_RETENTION_MS} AND ${idempotencyKeys.route} <> ${IMPORT_IDEMPOTENCY_ROUTE}`,
      chunk,
    ),
    loginFailures: await deleteInChunks(db, loginFailures, sql`${loginFailures.at} < ${t - LOGIN_FAILURE_RETENTION_MS}`, chunk),
  };
}

type TechnicalTable = typeof webhookReceipts | typeof idempotencyKeys | typeof loginFailures;

async function deleteInChunks(db: Db, table: TechnicalTable, where: SQL, chunk: number): Promise<number> {
  let deleted = 0;
  for (;;) {
    const result = await db.run(sql`DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE ${where} LIMIT ${chunk})`);
    deleted += result.rowsAffected;
    if (result.rowsAffected < chunk) return deleted;
  }
}
