/**
 * Erasure (GDPR Art. 17), on request or when retention expires. In one transaction:
 *  - every purpose still granted gets a `withdrawn` event: the ledger keeps the proof that
 *    consent ended, under the contact's random id only;
 *  - the contact row keeps its id and non-identifying fields (source call campaign, owner agent,
 *    dates) and loses email, phone, names, attributes and address hash;
 *  - the evidence of its ledger events (IP, user agent) is cut down to non-personal keys; the
 *    events themselves stay untouched, so the hash chain still verifies (it covers the evidence
 *    by digest, not the evidence itself);
 *  - queued and copied emails to the address and stored API answers naming it are deleted;
 *  - on request, the address is suppressed (a keyed hash, CNIL), so re-importing the person
 *    cannot mail them again.
 * Sends stay as pseudonymous rows: campaign figures do not change after an erasure.
 */
import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { auditLog, consentEvents, consentEvidence, consentState, contacts, conversions, emailQueue, events, sends, idempotencyKeys, outboxMessages, type ConsentChannel } from '../../db/schema.js';
import { newId } from '../../lib/ids.js';
import { appendConsentEvents } from '../consent/chain.js';
import { emailHash, suppress } from './suppressions.js';

/** Evidence keys that say nothing about the person (how, through which campaign or grant). */
const NON_PERSONAL_EVIDENCE = ['via', 'campaignId', 'grantEventId', 'agentId', 'proof', 'dsrRequestId'];

export interface ErasureInput {
  workspaceId: string;
  contactId: string;
  why: 'request' | 'retention';
  actorType: 'user' | 'api_key' | 'subscriber' | 'system';
  actorId: string | null;
  /** Where the request came from, for the withdrawal events. */
  channel: ConsentChannel;
  dsrRequestId?: string | null;
  requestId?: string | null;
  now: Date;
}

/** Erases one contact in the caller's transaction. False when already erased (idempotent). */
export async function eraseContact(tx: DbOrTx, input: ErasureInput): Promise<boolean> {
  const contact = await tx.query.contacts.findFirst({ where: and(eq(contacts.id, input.contactId), eq(contacts.workspaceId, input.workspaceId), isNull(contacts.erasedAt)) });
  if (!contact) return false;
  const { now } = input;

  // The events recorded so far; the withdrawals appended below hold nothing personal.
  const eventIds = (await tx.select({ id: consentEvents.id }).from(consentEvents).where(eq(consentEvents.contactId, contact.id))).map((e) => e.id);
  const granted = await tx
    .select({ purpose: consentState.purpose })
    .from(consentState)
    .where(and(eq(consentState.contactId, contact.id), eq(consentState.status, 'granted')));
  const via = input.why === 'retention' ? 'retention_expired' : 'erasure_request';
  await appendConsentEvents(
    tx,
    input.workspaceId,
    granted.map((g) => ({
      contactId: contact.id,
      purpose: g.purpose,
      action: 'withdrawn' as const,
      channel: input.channel,
      actorType: input.actorType,
      actorId: input.actorId,
      evidence: { via, ...(input.dsrRequestId ? { dsrRequestId: input.dsrRequestId } : {}) },
      occurredAt: now,
    })),
    now,
  );

  if (contact.email) {
    const hash = contact.emailHash ?? (await emailHash(tx, input.workspaceId, contact.email));
    if (input.why === 'request') await suppress(tx, input.workspaceId, hash, 'erased', input.dsrRequestId ? { dsrRequestId: input.dsrRequestId } : {}, now);
    // Platform emails to them (a pending confirmation, the dev outbox copies) hold the address.
    await tx.delete(emailQueue).where(and(eq(emailQueue.workspaceId, input.workspaceId), sql`json_extract(${emailQueue.message}, '$.to') = ${contact.email}`));
    await tx.delete(outboxMessages).where(and(eq(outboxMessages.workspaceId, input.workspaceId), eq(outboxMessages.to, contact.email)));
  }
  // Campaign measurement stays as counts on a person no longer named anywhere: the user agents
  // their devices sent and the shop's order numbers of their purchases go.
  await tx.update(events).set({ userAgent: null }).where(inArray(events.sendId, tx.select({ id: sends.id }).from(sends).where(eq(sends.contactId, contact.id))));
  await tx.update(conversions).set({ externalId: null }).where(eq(conversions.contactId, contact.id));
  // Replayable API answers of past captures (and import rows) repeat the contact's details; the
  // stored response is the answer's body itself (see storeAnswer).
  await tx.delete(idempotencyKeys).where(and(eq(idempotencyKeys.workspaceId, input.workspaceId), sql`json_extract(${idempotencyKeys.response}, '$.contact.id') = ${contact.id}`));

  for (let i = 0; i < eventIds.length; i += 200) {
    const page = eventIds.slice(i, i + 200);
    const rows = await tx.select().from(consentEvidence).where(inArray(consentEvidence.eventId, page));
    for (const row of rows) {
      const kept = Object.fromEntries(Object.entries(row.data).filter(([k]) => NON_PERSONAL_EVIDENCE.includes(k)));
      await tx.update(consentEvidence).set({ data: { ...kept, erasedAt: now.toISOString() } }).where(eq(consentEvidence.eventId, row.eventId));
    }
  }

  await tx
    .update(contacts)
    .set({ email: null, phone: null, firstName: null, lastName: null, attributes: {}, emailHash: null, erasedAt: now, updatedAt: now })
    .where(eq(contacts.id, contact.id));

  await tx.insert(auditLog).values({
    id: newId('aud'),
    workspaceId: input.workspaceId,
    actorType: input.actorType,
    actorId: input.actorId,
    action: input.why === 'retention' ? 'contact.erased_retention' : 'contact.erased',
    targetType: 'contact',
    targetId: contact.id,
    details: { withdrawn: granted.map((g) => g.purpose), suppressed: input.why === 'request', ...(input.dsrRequestId ? { dsrRequestId: input.dsrRequestId } : {}) },
    requestId: input.requestId ?? null,
    at: now,
  });
  return true;
}
