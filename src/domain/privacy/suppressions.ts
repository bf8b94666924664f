/**
 * The suppression list: addresses that must not receive newsletters, whatever their consent
 * rows say. Stored as HMAC-SHA-256 of the normalised address with a per-workspace key (CNIL:
 * keep suppression data as a keyed hash), so it survives erasure without keeping the address,
 * and a leaked table cannot be reversed with a list of guessed addresses without the key.
 *
 * Checked twice: when a campaign's audience is built (`notSuppressedSql`) and when each batch is
 * claimed, and by every capture (a suppressed address is refused unless the agent overrides, and
 * then it stays suppressed until the person confirms by email).
 */
import { and, eq, isNotNull, isNull, sql } from 'drizzle-orm';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { Db, DbOrTx } from '../../db/client.js';
import { contacts, suppressions, workspaceKeys, type SuppressionReason } from '../../db/schema.js';
import { toHex } from '../../lib/ids.js';

const encoder = new TextEncoder();

export function newSuppressionKey(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(32)));
}

/** Keys never change, so each is read once per process. */
const keys = new Map<string, string>();

export async function suppressionKey(db: DbOrTx, workspaceId: string): Promise<string> {
  const cached = keys.get(workspaceId);
  if (cached) return cached;
  const row = await db.query.workspaceKeys.findFirst({ where: eq(workspaceKeys.workspaceId, workspaceId) });
  if (!row) throw new Error(`workspace ${workspaceId} has no suppression key (migration 0006 creates them)`);
  keys.set(workspaceId, row.suppressionKey);
  return row.suppressionKey;
}

/** HMAC-SHA-256 of an already normalised address, hex. */
export function emailHashWith(key: string, normalisedEmail: string): string {
  return toHex(hmac(sha256, encoder.encode(key), encoder.encode(normalisedEmail)));
}

export async function emailHash(db: DbOrTx, workspaceId: string, normalisedEmail: string): Promise<string> {
  return emailHashWith(await suppressionKey(db, workspaceId), normalisedEmail);
}

export type Suppression = typeof suppressions.$inferSelect;

/** The active suppression of this hash, if any. */
export async function activeSuppression(db: DbOrTx, workspaceId: string, hash: string): Promise<Suppression | null> {
  const row = await db.query.suppressions.findFirst({
    where: and(eq(suppressions.workspaceId, workspaceId), eq(suppressions.emailHash, hash), isNull(suppressions.liftedAt)),
  });
  return row ?? null;
}

/**
 * Suppresses a hash (in the caller's transaction). Idempotent: an address already suppressed
 * keeps its first date and reason; one whose suppression was lifted is suppressed again.
 */
export async function suppress(
  tx: DbOrTx,
  workspaceId: string,
  hash: string,
  reason: SuppressionReason,
  source: Record<string, string>,
  at: Date,
): Promise<void> {
  await suppressStatement(tx, workspaceId, hash, reason, source, at);
}

/** `suppress` as a lazy statement, for `pipelined`. */
export function suppressStatement(tx: DbOrTx, workspaceId: string, hash: string, reason: SuppressionReason, source: Record<string, string>, at: Date) {
  return tx
    .insert(suppressions)
    .values({ workspaceId, emailHash: hash, reason, source, suppressedAt: at, liftedAt: null, liftedByEventId: null })
    .onConflictDoUpdate({
      target: [suppressions.workspaceId, suppressions.emailHash],
      set: { reason, source, suppressedAt: at, liftedAt: null, liftedByEventId: null },
      setWhere: isNotNull(suppressions.liftedAt),
    });
}

/** Lifts a suppression because the person confirmed a new consent by email (the only way). */
export async function liftSuppression(tx: DbOrTx, workspaceId: string, hash: string, confirmedEventId: string, at: Date): Promise<boolean> {
  const lifted = await tx
    .update(suppressions)
    .set({ liftedAt: at, liftedByEventId: confirmedEventId })
    .where(and(eq(suppressions.workspaceId, workspaceId), eq(suppressions.emailHash, hash), isNull(suppressions.liftedAt)))
    .returning({ hash: suppressions.emailHash });
  return lifted.length > 0;
}

/** SQL condition on `contacts`: no active suppression matches the contact's address. */
export function notSuppressedSql() {
  return sql`NOT EXISTS (SELECT 1 FROM ${suppressions} WHERE ${suppressions.workspaceId} = ${contacts.workspaceId} AND ${suppressions.emailHash} = ${contacts.emailHash} AND ${suppressions.liftedAt} IS NULL)`;
}

/**
 * Fills `contacts.email_hash` for rows written before it existed (migration 0006 cannot compute
 * an HMAC in SQL). Runs after migrations; pages through, so it is cheap when nothing is left.
 */
export async function backfillEmailHashes(db: Db, pageSize = 500): Promise<number> {
  let done = 0;
  for (;;) {
    const rows = await db
      .select({ id: contacts.id, workspaceId: contacts.workspaceId, email: contacts.email })
      .from(contacts)
      .where(and(isNull(contacts.emailHash), isNotNull(contacts.email)))
      .limit(pageSize);
    if (rows.length === 0) return done;
    for (const r of rows) {
      await db.update(contacts).set({ emailHash: await emailHash(db, r.workspaceId, r.email!) }).where(eq(contacts.id, r.id));
    }
    done += rows.length;
  }
}
