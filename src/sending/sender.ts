/**
 * Sends one campaign, batch after batch, from the ledger (ledger.ts) until nothing is queued, the
 * campaign is paused or cancelled, or too many batches in a row fail. Knows only the database,
 * the Mailer and a throttle (listmonk's manager does the same with its Store and Messenger).
 *
 * Each batch goes out as one Resend batch request with `Idempotency-Key: <campaign>:<batch>`;
 * a retry (429, 5xx, timeout, crash) repeats exactly that request, so nobody is mailed twice.
 */
import { and, eq, inArray } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { campaigns, sends } from '../db/schema.js';
import { signToken } from '../domain/auth/tokens.js';
import { recipientsForContacts } from '../domain/contacts/recipient.js';
import type { SigningKey } from '../env.js';
import { brandOf } from '../email/brand.js';
import { formatAddress, MailerError, type Mailer, type OutgoingEmail } from '../email/mailer.js';
import { renderEmail } from '../email/render.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { getWorkspace, type Workspace } from '../domain/workspaces/workspaces.js';
import { freezeCampaignLinks, loadFrozenLinks } from '../tracking/links.js';
import { clickToken, HONEYPOT_LINK, openToken } from '../tracking/tokens.js';
import { claimBatch, markFailed, markSent, materialise, unfinishedBatch } from './ledger.js';
import type { Throttle } from './throttle.js';

export interface SenderDeps {
  db: Db;
  mailer: Mailer;
  clock: Clock;
  logger: Logger;
  signingKeys: SigningKey[];
  publicBaseUrl: string;
  throttle: Throttle;
  sleep(ms: number): Promise<void>;
  /** Retries of one batch on 429/5xx before it counts as a failed batch. */
  maxAttempts?: number;
  /** Failed batches in a row before the campaign is paused (and says why). */
  maxConsecutiveFailures?: number;
  /** Batch requests in flight at once (the throttle still decides the rate). */
  maxInFlight?: number;
}

/** Links in every newsletter that must work forever (RFC 8058: no expiry for unsubscribe). */
export async function recipientLinks(
  deps: Pick<SenderDeps, 'signingKeys' | 'clock' | 'publicBaseUrl'>,
  ws: Workspace,
  campaign: { id: string; startedAt: Date | null },
  contactId: string,
) {
  const claims = { sub: contactId, wid: ws.id, cid: campaign.id };
  // Issued "at the start of the send": a batch resent after a crash is byte-for-byte the same
  // request, as its Idempotency-Key promises the provider.
  const issuedAt = campaign.startedAt ?? new Date(0);
  const unsubscribe = await signToken(deps.signingKeys, deps.clock, 'unsubscribe', claims, null, issuedAt);
  const preferences = await signToken(deps.signingKeys, deps.clock, 'preferences', claims, null, issuedAt);
  const domain = ws.senderEmail.split('@')[1] ?? 'localhost';
  return {
    unsubscribeUrl: `${deps.publicBaseUrl}/u/${unsubscribe}`,
    preferencesUrl: `${deps.publicBaseUrl}/p/${preferences}`,
    stopTrackingUrl: `${deps.publicBaseUrl}/p/${preferences}?stop=opens`,
    // RFC 2369: a mailto: alternative; the token travels in the subject (a JWS is too long for a local part).
    mailto: `mailto:unsubscribe@${domain}?subject=${encodeURIComponent(`unsubscribe ${unsubscribe}`)}`,
  };
}

async function buildBatch(deps: SenderDeps, campaign: typeof campaigns.$inferSelect, ws: Workspace, sendIds: number[], batch: number) {
  const rows = await deps.db.select({ id: sends.id, contactId: sends.contactId, tracksOpens: sends.tracksOpens }).from(sends).where(inArray(sends.id, sendIds));
  const recipients = await recipientsForContacts(deps.db, ws.id, rows.map((r) => r.contactId));
  const tracked = (await loadFrozenLinks(deps.db, campaign.id))?.urls ?? new Map<number, string>();
  const brand = brandOf(ws);
  const messages: OutgoingEmail[] = [];
  const ids: number[] = [];
  const gone: number[] = [];
  for (const row of rows.sort((a, b) => a.id - b.id)) {
    const recipient = recipients.get(row.contactId);
    if (!recipient) {
      gone.push(row.id);
      continue;
    }
    const links = await recipientLinks(deps, ws, campaign, row.contactId);
    const click = (link: number) => `${deps.publicBaseUrl}/c/${clickToken(deps.signingKeys, { campaignId: campaign.id, sendId: row.id, link })}`;
    const email = renderEmail(
      campaign.compiled,
      recipient,
      {
        ...links,
        // CNIL délibération 2026-042: the pixel only for those who consented to open tracking.
        pixelUrl: row.tracksOpens ? `${deps.publicBaseUrl}/o/${openToken(deps.signingKeys, row.id)}` : null,
        honeypotUrl: click(HONEYPOT_LINK),
        link: (index, url) => (tracked.has(index) ? click(index) : url),
      },
      { brand },
    );
    messages.push({
      from: formatAddress(ws.senderName, ws.senderEmail),
      to: recipient.email,
      ...(ws.replyTo ? { replyTo: ws.replyTo } : {}),
      subject: email.subject,
      html: email.html,
      text: email.text,
      headers: {
        // RFC 2369 + RFC 8058: one-click unsubscribe, honoured by Gmail and Yahoo.
        'List-Unsubscribe': `<${links.unsubscribeUrl}>, <${links.mailto}>`,
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      },
      tags: { campaign: campaign.id, batch: String(batch) },
      workspaceId: ws.id,
    });
    ids.push(row.id);
  }
  return { messages, ids, gone };
}

export type SendOutcome = 'sent' | 'paused' | 'cancelled' | 'stopped' | 'not_sending';

/**
 * Works on a campaign in status `sending` until it is done, paused or cancelled (re-read before
 * every batch), or `shouldStop()` says the process is shutting down. Up to `maxInFlight` batch
 * requests run at once, so building the next batch overlaps the provider's answer to the last;
 * the throttle alone decides the request rate.
 */
export async function runCampaign(deps: SenderDeps, campaignId: string, shouldStop: () => boolean = () => false): Promise<SendOutcome> {
  const maxAttempts = deps.maxAttempts ?? 6;
  const maxFailures = deps.maxConsecutiveFailures ?? 5;
  const maxInFlight = deps.maxInFlight ?? 4;
  const inFlight = new Map<number, Promise<void>>();
  let consecutiveFailures = 0;

  /** One batch, from first request to marked (or left claimed after its retries ran out). */
  const deliver = async (campaign: typeof campaigns.$inferSelect, batch: number, ids: number[], messages: OutgoingEmail[]) => {
    for (let attempt = 1; ; attempt++) {
      await deps.throttle.take();
      try {
        const { ids: providerIds, rateLimit } = await deps.mailer.sendBatch(messages, { idempotencyKey: `${campaign.id}:${batch}` });
        deps.throttle.observe(rateLimit);
        await markSent(deps.db, ids, providerIds, deps.clock.now());
        consecutiveFailures = 0;
        return;
      } catch (error) {
        const retryable = !(error instanceof MailerError) || error.retryable;
        // The reason is shown to marketers (status, failed sends): the provider's answer is for
        // them; anything else (a database error quoting SQL, recipients and bodies) stays in the logs.
        const reason = error instanceof MailerError ? error.message : 'Erreur interne pendant l’envoi (détails dans les journaux du serveur).';
        if (retryable && attempt < maxAttempts) {
          // Exponential backoff with full jitter, never sooner than the provider asked.
          const asked = error instanceof MailerError && error.retryAfterSeconds !== null ? error.retryAfterSeconds * 1000 : 0;
          deps.throttle.holdFor(Math.max(asked, Math.random() * Math.min(30_000, 500 * 2 ** attempt)));
          deps.logger.warn('batch will be retried', { campaignId, batch, attempt, error });
          continue;
        }
        // A refused batch (validation) would fail the same way again; a batch whose retries ran
        // out stays claimed and is picked up again later, with the same key.
        if (!retryable) await markFailed(deps.db, ids, reason);
        if (++consecutiveFailures >= maxFailures) {
          await setStatus(deps, campaignId, 'paused', `Envoi suspendu après ${consecutiveFailures} lots en échec de suite : ${reason}`);
          deps.logger.error('campaign paused after failures', { campaignId, error });
        }
        return;
      }
    }
  };

  const settle = async () => {
    if (inFlight.size) await Promise.race(inFlight.values());
  };

  // On an error, let the batches in flight finish (and be marked) before the caller's lease goes:
  // otherwise the next worker would find them claimed and send them again beside these.
  try {
  for (;;) {
    const campaign = await deps.db.query.campaigns.findFirst({ where: eq(campaigns.id, campaignId) });
    const stop: SendOutcome | null = shouldStop()
      ? 'stopped'
      : !campaign
        ? 'not_sending'
        : campaign.status === 'sending'
          ? null
          : campaign.status === 'paused'
            ? 'paused'
            : campaign.status === 'cancelled'
              ? 'cancelled'
              : campaign.status === 'sent'
                ? 'sent'
                : 'not_sending';
    if (stop || !campaign) {
      await Promise.allSettled(inFlight.values());
      return stop ?? 'not_sending';
    }
    if (inFlight.size >= maxInFlight) {
      await settle();
      continue;
    }
    const ws = await getWorkspace({ ctx: { db: deps.db, workspaceId: campaign.workspaceId } });

    if (!campaign.audienceCompleteAt) {
      const segment = campaign.segmentId ? await deps.db.query.segments.findFirst({ where: (s, { eq: is }) => is(s.id, campaign.segmentId!) }) : undefined;
      if (!segment) {
        await setStatus(deps, campaignId, 'failed', 'Le segment de cette campagne a été supprimé avant l’envoi.');
        return 'not_sending';
      }
      await freezeCampaignLinks(deps.db, campaign);
      await materialise(deps.db, deps.clock, campaign, segment);
      continue;
    }

    const claimed = (await unfinishedBatch(deps.db, campaignId, [...inFlight.keys()])) ?? (await claimBatch(deps.db, campaignId));
    if (!claimed) {
      if (inFlight.size) {
        await settle();
        continue;
      }
      await deps.db
        .update(campaigns)
        .set({ status: 'sent', finishedAt: deps.clock.now(), statusReason: null })
        .where(and(eq(campaigns.id, campaignId), eq(campaigns.status, 'sending')));
      deps.logger.info('campaign sent', { campaignId });
      return 'sent';
    }

    const { messages, ids, gone } = await buildBatch(deps, campaign, ws, claimed.sendIds, claimed.batch);
    if (gone.length) await markFailed(deps.db, gone, 'recipient erased before sending');
    if (messages.length === 0) continue;
    const work = deliver(campaign, claimed.batch, ids, messages).finally(() => inFlight.delete(claimed.batch));
    inFlight.set(claimed.batch, work);
  }
  } catch (error) {
    await Promise.allSettled(inFlight.values());
    throw error;
  }
}

async function setStatus(deps: Pick<SenderDeps, 'db' | 'clock'>, campaignId: string, status: 'paused' | 'failed', reason: string) {
  await deps.db
    .update(campaigns)
    .set({ status, statusReason: reason, ...(status === 'failed' ? { finishedAt: deps.clock.now() } : {}) })
    .where(and(eq(campaigns.id, campaignId), eq(campaigns.status, 'sending')));
}

