/**
 * Resend's delivery reports (`POST /webhooks/resend`). Resend signs them with Svix (Standard
 * Webhooks): the signature is checked on the raw body with the SDK's `webhooks.verify`, which
 * also refuses timestamps more than 5 minutes away (replay protection); each delivery is then
 * processed once, by `svix-id`, in one transaction with its effects:
 *  - delivered, delivery_delayed, failed: an event on the send;
 *  - bounced: an event; a permanent (hard) bounce also suppresses the address;
 *  - complained (spam button): an event, the address suppressed and the newsletter consent
 *    withdrawn in the ledger: a complaint is the clearest objection there is.
 * Reports about mail that is not a campaign send (platform emails) are acknowledged and ignored,
 * as are opens and clicks measured by Resend (we measure our own, with consent).
 */
import { and, eq } from 'drizzle-orm';
import { Resend } from 'resend';
import type { Db } from '../db/client.js';
import { consentState, contacts, events, sends, webhookReceipts, type EventType } from '../db/schema.js';
import { appendConsentEvents } from '../domain/consent/chain.js';
import { emailHash, suppress } from '../domain/privacy/suppressions.js';
import type { Clock } from '../lib/clock.js';
import { recomputeSendOutcomes } from './rollup.js';

export class WebhookRejected extends Error {
  constructor(
    readonly status: 401 | 400 | 503,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type WebhookOutcome = 'processed' | 'duplicate' | 'ignored';

interface Payload {
  type: string;
  created_at?: string;
  data?: { email_id?: string; created_at?: string; bounce?: { type?: string; subType?: string; message?: string }; failed?: { reason?: string } };
}

const TYPES: Record<string, EventType> = {
  'email.delivered': 'delivered',
  'email.delivery_delayed': 'delivery_delayed',
  'email.bounced': 'bounced',
  'email.complained': 'complained',
  'email.failed': 'failed',
};

/** Only `webhooks.verify` is used; it needs no API key, but the client wants one. */
const verifier = new Resend('re_webhook_verification_only');

export function verifyResendWebhook(secret: string | undefined, rawBody: string, headers: Headers): Payload {
  if (!secret) throw new WebhookRejected(503, 'webhooks_not_configured', 'RESEND_WEBHOOK_SECRET is not set: webhooks cannot be verified, so none are accepted.');
  const id = headers.get('svix-id');
  const timestamp = headers.get('svix-timestamp');
  const signature = headers.get('svix-signature');
  if (!id || !timestamp || !signature) throw new WebhookRejected(401, 'invalid_signature', 'Missing svix-id, svix-timestamp or svix-signature header.');
  // While an endpoint is replaced, both secrets are configured and either one verifies.
  let refusal: unknown;
  for (const webhookSecret of secret.trim().split(/\s+/)) {
    let payload: unknown;
    try {
      payload = verifier.webhooks.verify({ payload: rawBody, headers: { id, timestamp, signature }, webhookSecret });
    } catch (error) {
      refusal = error;
      continue;
    }
    // Signed, but no event: an empty body, `null`, a bare value or a list cannot be read as one.
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) throw new WebhookRejected(400, 'invalid_payload', 'The body is not a JSON object.');
    return payload as Payload;
  }
  throw new WebhookRejected(401, 'invalid_signature', `Signature refused: ${refusal instanceof Error ? refusal.message : String(refusal)}.`);
}

export async function processResendWebhook(deps: { db: Db; clock: Clock }, svixId: string, payload: Payload): Promise<WebhookOutcome> {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    // Only a string is a type: String() of a deeply nested array overflows the stack, and an
    // inherited key ("constructor") must not look like one of ours.
    const name = typeof payload.type === 'string' ? payload.type : null;
    const fresh = await tx.insert(webhookReceipts).values({ id: svixId, type: (name ?? typeof payload.type).slice(0, 60), receivedAt: now }).onConflictDoNothing().returning({ id: webhookReceipts.id });
    if (fresh.length === 0) return 'duplicate';
    const type = name !== null && Object.hasOwn(TYPES, name) ? TYPES[name] : undefined;
    const emailId = payload.data?.email_id;
    if (!type || typeof emailId !== 'string' || !emailId) return 'ignored';
    const [send] = await tx
      .select({ id: sends.id, workspaceId: sends.workspaceId, campaignId: sends.campaignId, contactId: sends.contactId, email: contacts.email, emailHash: contacts.emailHash })
      .from(sends)
      .innerJoin(contacts, eq(contacts.id, sends.contactId))
      .where(eq(sends.providerId, emailId))
      .limit(1);
    if (!send) return 'ignored';
    // Signed JSON is still JSON of any shape: only strings are read as text (a nested array
    // turned into a string overflows the stack; an object is no column value).
    const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
    const at = new Date(text(payload.data?.created_at) ?? text(payload.created_at) ?? now.toISOString());
    const occurredAt = Number.isNaN(at.getTime()) ? now : at;
    const bounce = payload.data?.bounce;
    const detail =
      type === 'bounced'
        ? `${text(bounce?.type) ?? '?'}/${text(bounce?.subType) ?? '?'}: ${text(bounce?.message) ?? ''}`.slice(0, 500)
        : type === 'failed'
          ? (text(payload.data?.failed?.reason)?.slice(0, 500) ?? null)
          : null;
    await tx.insert(events).values({ workspaceId: send.workspaceId, campaignId: send.campaignId, sendId: send.id, type, detail, occurredAt });

    const source = { campaignId: send.campaignId, svixId };
    const hash = send.emailHash ?? (send.email ? await emailHash(tx, send.workspaceId, send.email) : null);
    // Resend reports SES bounce types: Permanent (the address does not exist) or Transient.
    if (type === 'bounced' && bounce?.type === 'Permanent' && hash) await suppress(tx, send.workspaceId, hash, 'hard_bounce', source, now);
    if (type === 'complained') {
      if (hash) await suppress(tx, send.workspaceId, hash, 'complained', source, now);
      const state = await tx.query.consentState.findFirst({ where: and(eq(consentState.contactId, send.contactId), eq(consentState.purpose, 'newsletter')) });
      if (state?.status === 'granted') {
        await appendConsentEvents(
          tx,
          send.workspaceId,
          [
            {
              contactId: send.contactId,
              purpose: 'newsletter',
              action: 'withdrawn',
              channel: 'system',
              actorType: 'system',
              actorId: 'resend_complaint',
              evidence: { via: 'spam_complaint', provider: 'resend', ...source },
              occurredAt,
            },
          ],
          now,
        );
      }
    }
    await recomputeSendOutcomes(tx, [send.id]);
    return 'processed';
  });
}
