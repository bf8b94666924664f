/**
 * One worker per campaign send on Workers. Cloudflare Queues deliver at least once, the Cron
 * Trigger re-enqueues unfinished sends every minute, and a consumer may run while the previous
 * one is still finishing: without a lease, two consumers would work the same campaign, each
 * re-sending the other's in-flight batch (harmless for recipients thanks to the batch
 * Idempotency-Key, but it doubles the requests against Resend's per-team rate limit).
 *
 * The lease is a time in `campaigns.send_lease_until`, taken by a conditional UPDATE (atomic in
 * SQLite/libSQL). A slice that finishes the campaign releases it; one that stops with work left
 * hands it over to its follow-up message (the lease value is the token the message carries). A
 * consumer that dies keeps it until it expires; the next Cron run then hands the campaign to a
 * new consumer.
 */
import { and, eq, isNull, lte, or } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { campaigns } from '../db/schema.js';

/**
 * Longer than a slice (20 s) plus the longest wait inside one batch (retries with backoff up to
 * 30 s, or a 429's retry-after), so a live consumer never loses its lease mid-slice; and long
 * enough for a handed-over message to wait its turn behind other campaigns' slices.
 */
export const SEND_LEASE_MS = 5 * 60_000;

/**
 * Takes the lease of a campaign in status `sending`: when nobody holds it, it expired, or the
 * caller carries the token its previous holder handed over (`handOverSendLease`). Returns the
 * lease (its expiry, which is also its token), or null when another worker holds it or the
 * campaign is not sending.
 */
export async function takeSendLease(db: Db, campaignId: string, now: Date, options: { token?: number | undefined } = {}): Promise<Date | null> {
  const until = new Date(now.getTime() + SEND_LEASE_MS);
  const taken = await db
    .update(campaigns)
    .set({ sendLeaseUntil: until })
    .where(
      and(
        eq(campaigns.id, campaignId),
        eq(campaigns.status, 'sending'),
        or(isNull(campaigns.sendLeaseUntil), lte(campaigns.sendLeaseUntil, now), options.token === undefined ? undefined : eq(campaigns.sendLeaseUntil, new Date(options.token))),
      ),
    )
    .returning({ id: campaigns.id });
  return taken.length === 1 ? until : null;
}

/**
 * At the end of a slice with work left: keeps the campaign held while its follow-up message waits
 * in the queue, so the Cron (and a duplicate delivery) cannot start a second chain of messages for
 * it. Returns the new lease, to put in that message as its token; null if this worker no longer
 * held it (it expired and someone else took it).
 */
export async function handOverSendLease(db: Db, campaignId: string, held: Date, now: Date): Promise<Date | null> {
  const until = new Date(now.getTime() + SEND_LEASE_MS);
  const kept = await db
    .update(campaigns)
    .set({ sendLeaseUntil: until })
    .where(and(eq(campaigns.id, campaignId), eq(campaigns.sendLeaseUntil, held)))
    .returning({ id: campaigns.id });
  return kept.length === 1 ? until : null;
}

/** Frees the lease, only if this worker still holds it. */
export async function releaseSendLease(db: Db, campaignId: string, held: Date): Promise<void> {
  await db.update(campaigns).set({ sendLeaseUntil: null }).where(and(eq(campaigns.id, campaignId), eq(campaigns.sendLeaseUntil, held)));
}

/** Is someone working on it right now, or about to? (The Cron skips those.) */
export function leaseIsFree(lease: Date | null, now: Date): boolean {
  return lease === null || lease.getTime() <= now.getTime();
}
