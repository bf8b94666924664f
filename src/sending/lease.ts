/**
 * One worker per campaign send on Workers. Cloudflare Queues deliver at least once, the Cron
 * Trigger re-enqueues unfinished sends every minute, and a consumer may run while the previous
 * one is still finishing: without a lease, two consumers would work the same campaign, each
 * re-sending the other's in-flight batch (harmless for recipients thanks to the batch
 * Idempotency-Key, but it doubles the requests against Resend's per-team rate limit).
 *
 * The lease is a time in `campaigns.send_lease_until`, taken by a conditional UPDATE (atomic in
 * SQLite/libSQL), released at the end of each slice. A consumer that dies keeps it until it
 * expires; the next Cron run then hands the campaign to a new consumer.
 */
import { and, eq, isNull, lte, or } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { campaigns } from '../db/schema.js';

/**
 * Longer than a slice (20 s) plus the longest wait inside one batch (retries with backoff up to
 * 30 s, or a 429's retry-after), so a live consumer never loses its lease mid-slice.
 */
export const SEND_LEASE_MS = 5 * 60_000;

/** Takes the lease of a campaign in status `sending`; false when another worker holds it (or it is not sending). */
export async function takeSendLease(db: Db, campaignId: string, now: Date, ms = SEND_LEASE_MS): Promise<boolean> {
  const taken = await db
    .update(campaigns)
    .set({ sendLeaseUntil: new Date(now.getTime() + ms) })
    .where(and(eq(campaigns.id, campaignId), eq(campaigns.status, 'sending'), or(isNull(campaigns.sendLeaseUntil), lte(campaigns.sendLeaseUntil, now))))
    .returning({ id: campaigns.id });
  return taken.length === 1;
}

export async function releaseSendLease(db: Db, campaignId: string): Promise<void> {
  await db.update(campaigns).set({ sendLeaseUntil: null }).where(eq(campaigns.id, campaignId));
}

/** Is someone working on it right now? (The Cron Trigger skips those.) */
export function leaseIsFree(lease: Date | null, now: Date): boolean {
  return lease === null || lease.getTime() <= now.getTime();
}
