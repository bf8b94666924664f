/**
 * The send ledger (table `sends`), the durable queue of a campaign send. Everything here is a
 * short transaction; a crash between any two leaves a state the next run resumes from:
 *  - materialise: the audience becomes one `queued` row per recipient (unique per campaign and
 *    contact, so running it twice adds nobody twice), page by page;
 *  - claim: the next ≤100 queued rows get the next batch number. Consent and erasure are checked
 *    again at that moment: whoever withdrew meanwhile becomes `suppressed`, not mailed;
 *  - a batch claimed but not marked (crash mid-send) is sent again with the same number, hence
 *    the same Idempotency-Key: the provider sends it once.
 */
import { notSuppressedSql } from '../domain/privacy/suppressions.js';
import { and, asc, count, eq, inArray, isNotNull, isNull, max, notInArray, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { campaigns, consentState, contacts, sends, workspaces, type SendStatus } from '../db/schema.js';
import type { Segment } from '../domain/segments/segments.js';
import { audienceSql } from '../domain/segments/rules.js';
import type { Clock } from '../lib/clock.js';

export const BATCH_SIZE = 100;

export interface Progress {
  total: number;
  queued: number;
  sending: number;
  sent: number;
  failed: number;
  suppressed: number;
  audienceComplete: boolean;
}

/**
 * Creates the `queued` rows of every audience member not already in the ledger, page by page in
 * SQL (INSERT … SELECT over a keyset range: no contact list passes through this process).
 * Idempotent: a row that exists is left alone.
 */
export async function materialise(db: Db, clock: Clock, campaign: { id: string; workspaceId: string }, segment: Segment): Promise<number> {
  const ws = await db.query.workspaces.findFirst({ where: eq(workspaces.id, campaign.workspaceId) });
  const where = audienceSql(campaign.workspaceId, segment.rules, { requireConfirmation: ws?.settings.requireDoubleOptIn ?? true, now: clock.now() });
  const labels = JSON.stringify([segment.name]);
  let after = '';
  let added = 0;
  for (;;) {
    const [page] = await db
      .select({ last: sql<string | null>`max(id)` })
      .from(sql`(SELECT ${contacts.id} AS id FROM ${contacts} WHERE ${where} AND ${contacts.id} > ${after} ORDER BY ${contacts.id} LIMIT ${MATERIALISE_PAGE})`);
    const last = page?.last;
    if (!last) break;
    const result = await db.run(sql`
      INSERT INTO ${sends} (workspace_id, campaign_id, contact_id, status, segment_labels, owner_agent_id, source_campaign, created_at)
      SELECT ${campaign.workspaceId}, ${campaign.id}, ${contacts.id}, 'queued', ${labels}, ${contacts.ownerAgentId}, ${contacts.sourceCampaign}, ${clock.now().getTime()}
      FROM ${contacts}
      WHERE ${where} AND ${contacts.id} > ${after} AND ${contacts.id} <= ${last}
      ORDER BY ${contacts.id}
      ON CONFLICT (campaign_id, contact_id) DO NOTHING`);
    added += result.rowsAffected;
    after = last;
  }
  await db.update(campaigns).set({ audienceCompleteAt: clock.now() }).where(eq(campaigns.id, campaign.id));
  return added;
}

const MATERIALISE_PAGE = 1000;

/**
 * A batch claimed earlier and never marked (the process stopped mid-send, or its retries ran
 * out), to send again as is, other than those this process has in flight.
 */
export async function unfinishedBatch(db: Db, campaignId: string, inFlight: number[] = []): Promise<{ batch: number; sendIds: number[] } | null> {
  const rows = await db
    .select({ id: sends.id, batch: sends.batch })
    .from(sends)
    .where(and(eq(sends.campaignId, campaignId), eq(sends.status, 'claimed'), inFlight.length ? notInArray(sends.batch, inFlight) : undefined))
    .orderBy(asc(sends.batch), asc(sends.id))
    .limit(BATCH_SIZE);
  if (rows.length === 0) return null;
  const batch = rows[0]!.batch!;
  return { batch, sendIds: rows.filter((r) => r.batch === batch).map((r) => r.id) };
}

/**
 * Claims the next batch. In one transaction: recipients whose newsletter consent is no longer
 * granted (or no longer confirmed where required), or who were erased, become `suppressed`; the
 * next ≤100 others get the next batch number. Null when nothing is queued.
 */
export async function claimBatch(db: Db, campaignId: string): Promise<{ batch: number; sendIds: number[] } | null> {
  return db.transaction(async (tx) => {
    const [campaign] = await tx
      .select({ workspaceId: campaigns.workspaceId, settings: workspaces.settings })
      .from(campaigns)
      .innerJoin(workspaces, eq(workspaces.id, campaigns.workspaceId))
      .where(eq(campaigns.id, campaignId));
    if (!campaign) return null;
    for (;;) {
      const candidates = await tx
        .select({ id: sends.id, contactId: sends.contactId })
        .from(sends)
        .where(and(eq(sends.campaignId, campaignId), eq(sends.status, 'queued')))
        .orderBy(asc(sends.id))
        .limit(BATCH_SIZE);
      if (candidates.length === 0) return null;
      const eligible = new Set(
        (
          await tx
            .select({ id: contacts.id })
            .from(contacts)
            .innerJoin(consentState, and(eq(consentState.contactId, contacts.id), eq(consentState.purpose, 'newsletter'), eq(consentState.status, 'granted')))
            .where(
              and(
                inArray(contacts.id, candidates.map((c) => c.contactId)),
                isNull(contacts.erasedAt),
                isNotNull(contacts.email),
                notSuppressedSql(),
                campaign.settings.requireDoubleOptIn ? isNotNull(consentState.confirmedAt) : undefined,
              ),
            )
        ).map((r) => r.id),
      );
      const gone = candidates.filter((c) => !eligible.has(c.contactId)).map((c) => c.id);
      if (gone.length) {
        await tx.update(sends).set({ status: 'suppressed', error: 'consent withdrawn or not confirmed, address suppressed, or person erased, before sending' }).where(inArray(sends.id, gone));
      }
      const keep = candidates.filter((c) => eligible.has(c.contactId)).map((c) => c.id);
      if (keep.length === 0) continue;
      const [last] = await tx.select({ n: max(sends.batch) }).from(sends).where(eq(sends.campaignId, campaignId));
      const batch = (last?.n ?? 0) + 1;
      // Whether each message carries the open pixel is decided now, from the current consent,
      // and kept: a batch resent after a crash must be the same request.
      await tx
        .update(sends)
        .set({
          status: 'claimed',
          batch,
          tracksOpens: sql`EXISTS (SELECT 1 FROM ${consentState} WHERE ${consentState.contactId} = ${sends.contactId} AND ${consentState.purpose} = 'open_tracking' AND ${consentState.status} = 'granted')`,
        })
        .where(inArray(sends.id, keep));
      return { batch, sendIds: keep };
    }
  });
}

export async function markSent(db: Db, sendIds: number[], providerIds: string[], at: Date): Promise<void> {
  if (sendIds.length === 0) return;
  const provider = sql.join([sql`CASE ${sends.id}`, ...sendIds.map((id, i) => sql`WHEN ${id} THEN ${providerIds[i] ?? null}`), sql`END`], sql` `);
  await db.update(sends).set({ status: 'sent', providerId: provider, sentAt: at, error: null }).where(inArray(sends.id, sendIds));
}

export async function markFailed(db: Db, sendIds: number[], reason: string): Promise<void> {
  if (sendIds.length === 0) return;
  await db.update(sends).set({ status: 'failed', error: reason.slice(0, 500) }).where(inArray(sends.id, sendIds));
}

export async function progressOf(db: Db, campaignId: string): Promise<Progress> {
  const rows = await db.select({ status: sends.status, n: count() }).from(sends).where(eq(sends.campaignId, campaignId)).groupBy(sends.status);
  const by = (s: SendStatus) => rows.find((r) => r.status === s)?.n ?? 0;
  const [c] = await db.select({ complete: campaigns.audienceCompleteAt }).from(campaigns).where(eq(campaigns.id, campaignId));
  return {
    total: rows.reduce((sum, r) => sum + r.n, 0),
    queued: by('queued'),
    sending: by('claimed'),
    sent: by('sent'),
    failed: by('failed'),
    suppressed: by('suppressed'),
    audienceComplete: Boolean(c?.complete),
  };
}
