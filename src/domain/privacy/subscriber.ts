/**
 * What a subscriber does from a link in an email: unsubscribe (RFC 8058 one-click, the page's
 * button, or a `mailto:`), undo it, and turn each purpose on or off in the preference centre.
 *
 * The link's token is the only credential (RFC 8058: the one-click POST carries no cookie or
 * auth). It is a JWS bound to its purpose (`aud`) and to one recipient of one campaign
 * (`sub` = contact, `wid` = workspace, `cid` = campaign); a token of another workspace, another
 * purpose, or a tampered one reads as null, and nothing changes.
 *
 * Every change is a ledger event (channel `email_link`, actor the subscriber, the campaign in its
 * evidence); a newsletter withdrawal also suppresses the address in the same transaction. All of
 * it is idempotent: a repeated click, or a flood of POSTs, writes one event.
 */
import { and, eq } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { consentState, contacts, workspaces } from '../../db/schema.js';
import { newId } from '../../lib/ids.js';
import { verifyToken, type TokenPurpose } from '../auth/tokens.js';
import { appendConsentEvents, chainEvents, chainHead, chainWrites } from '../consent/chain.js';
import { pipelined } from '../../db/pipeline.js';
import { currentScripts, type ConsentScript } from '../consent/scripts.js';
import type { AnonymousCtx } from '../context.js';
import type { Contact } from '../contacts/contacts.js';
import type { Workspace } from '../workspaces/workspaces.js';
import { activeSuppression, emailHash, liftSuppression, suppress, suppressStatement } from './suppressions.js';
import { sendEventWrites, sendOf } from '../../tracking/send-events.js';

export interface SubscriberLink {
  workspace: Workspace;
  /** Null once the person was erased: the link still answers, with nothing personal. */
  contact: Contact | null;
  contactId: string;
  /** The campaign whose email carried the link; null for platform emails. */
  campaignId: string | null;
}

/** Reads an emailed link; null when forged, tampered, for another purpose, or naming nobody. */
export async function readSubscriberLink(ctx: AnonymousCtx, purpose: Extract<TokenPurpose, 'unsubscribe' | 'preferences'>, token: string): Promise<SubscriberLink | null> {
  if (token.length > 2000) return null;
  const payload = await verifyToken(ctx.signingKeys, ctx.clock, purpose, token);
  if (!payload || typeof payload.wid !== 'string') return null;
  return linkFor(ctx, { wid: payload.wid, sub: payload.sub, cid: typeof payload.cid === 'string' ? payload.cid : null });
}

/** The link named by verified claims. The contact must belong to the token's workspace (no cross-workspace use). */
export async function linkFor(ctx: Pick<AnonymousCtx, 'db'>, claims: { wid: string; sub: string; cid: string | null }): Promise<SubscriberLink | null> {
  // One query, not two: every emailed link starts here, and on Workers each query is a round trip to Turso.
  const [found] = await ctx.db
    .select({ contact: contacts, workspace: workspaces })
    .from(contacts)
    .innerJoin(workspaces, eq(workspaces.id, contacts.workspaceId))
    .where(and(eq(contacts.id, claims.sub), eq(contacts.workspaceId, claims.wid)))
    .limit(1);
  if (!found) return null;
  const { contact, workspace } = found;
  return { workspace, contact: contact.erasedAt ? null : contact, contactId: contact.id, campaignId: claims.cid };
}

export interface PurposeView {
  purpose: string;
  label: string;
  status: 'granted' | 'refused' | 'withdrawn' | 'none';
  since: Date | null;
  /** The wording a new grant from the preference centre records (what the person sees). */
  script: ConsentScript | null;
}

/** The person's current consents, one per purpose the workspace asks about. */
export async function subscriberPurposes(db: DbOrTx, link: SubscriberLink): Promise<PurposeView[]> {
  const scripts = await currentScripts(db, link.workspace.id);
  const states = await db.select().from(consentState).where(eq(consentState.contactId, link.contactId));
  const byPurpose = new Map(states.map((s) => [s.purpose, s]));
  return scripts.map((script) => {
    const state = byPurpose.get(script.purpose);
    return { purpose: script.purpose, label: script.label, status: state?.status ?? 'none', since: state?.since ?? null, script };
  });
}

/** How the subscriber acted, recorded as evidence (IP and user agent are erasable personal data). */
export type Via = 'list_unsubscribe_post' | 'unsubscribe_page' | 'mailto' | 'preference_centre';

/**
 * Withdraws a purpose; true when something was written (false: it already was withdrawn). For the newsletter the address is also suppressed, in the same
 * transaction (checked again when each batch is claimed, so a send in progress skips them).
 */
export async function withdraw(ctx: AnonymousCtx, link: SubscriberLink, purpose: string, via: Via, evidence: Record<string, string>): Promise<boolean> {
  const contact = link.contact;
  if (!contact?.email) return false;
  const now = ctx.clock.now();
  const hash = contact.emailHash ?? (await emailHash(ctx.db, link.workspace.id, contact.email));
  // Three round trips on Workers/Turso: the reads (with BEGIN), the writes, the COMMIT.
  return ctx.db.transaction(async (tx) => {
    const [states, [head], [send]] = await pipelined(tx, [
      tx.select().from(consentState).where(and(eq(consentState.contactId, contact.id), eq(consentState.purpose, purpose))).limit(1),
      chainHead(tx, link.workspace.id),
      sendOf(tx, link.campaignId ?? '', contact.id),
    ] as const);
    if (states[0]?.status === 'granted') {
      const events = [{ contactId: contact.id, purpose, action: 'withdrawn' as const, channel: 'email_link' as const, actorType: 'subscriber' as const, actorId: contact.id, evidence: evidenceOf(link, via, evidence), occurredAt: now }];
      const stored = chainEvents(head, link.workspace.id, events, now);
      await pipelined(tx, [
        ...chainWrites(tx, link.workspace.id, stored, events),
        ...(purpose === 'newsletter'
          ? [
              suppressStatement(tx, link.workspace.id, hash, 'unsubscribed', source(link, stored[0]!.id), now),
              // Counted against the campaign whose email carried the link.
              ...(send && link.campaignId ? sendEventWrites(tx, send, { campaignId: link.campaignId, type: 'unsubscribe', at: now }) : []),
            ]
          : []),
      ]);
      return true;
    }
    if (purpose === 'newsletter' && !(await activeSuppression(tx, link.workspace.id, hash))) {
      // Never granted, or withdrawn before suppressions existed: the request still suppresses.
      await suppress(tx, link.workspace.id, hash, 'unsubscribed', source(link, null), now);
      return true;
    }
    return false;
  });
}

/**
 * Grants a purpose again (true when something was written), from the link in the person's own mailbox (the undo after an
 * unsubscribe, or a switch in the preference centre). Records the script shown on the page.
 * Having the link proves the address is theirs, so a newsletter grant is confirmed at once
 * (a `confirmed` event follows the `granted` one) and lifts the suppression.
 */
export async function grant(ctx: AnonymousCtx, link: SubscriberLink, purpose: string, via: Via, evidence: Record<string, string>): Promise<boolean> {
  const contact = link.contact;
  if (!contact?.email) return false;
  const script = (await currentScripts(ctx.db, link.workspace.id)).find((s) => s.purpose === purpose);
  if (!script) return false;
  const now = ctx.clock.now();
  const hash = contact.emailHash ?? (await emailHash(ctx.db, link.workspace.id, contact.email));
  return ctx.db.transaction(async (tx) => {
    const state = await tx.query.consentState.findFirst({ where: and(eq(consentState.contactId, contact.id), eq(consentState.purpose, purpose)) });
    const suppressed = purpose === 'newsletter' ? await activeSuppression(tx, link.workspace.id, hash) : null;
    if (state?.status === 'granted' && (purpose !== 'newsletter' || (state.confirmedAt && !suppressed))) return false;
    const base = { contactId: contact.id, purpose, channel: 'email_link' as const, actorType: 'subscriber' as const, actorId: contact.id, occurredAt: now };
    const confirmedId = newId('evt');
    const events = [
      ...(state?.status === 'granted' ? [] : [{ ...base, action: 'granted' as const, scriptId: script.id, scriptSha256: script.sha256, evidence: evidenceOf(link, via, evidence) }]),
      ...(purpose === 'newsletter' ? [{ ...base, id: confirmedId, action: 'confirmed' as const, evidence: { ...evidenceOf(link, via, evidence), proof: 'acted from the link in their mailbox' } }] : []),
    ];
    await appendConsentEvents(tx, link.workspace.id, events, now);
    if (suppressed) await liftSuppression(tx, link.workspace.id, hash, confirmedId, now);
    // Asking to receive the newsletter again is the prospect reaching out (CNIL retention clock).
    await tx.update(contacts).set({ lastProspectActionAt: now, updatedAt: now }).where(eq(contacts.id, contact.id));
    return true;
  });
}

function evidenceOf(link: SubscriberLink, via: Via, evidence: Record<string, string>): Record<string, string> {
  return { ...evidence, via, ...(link.campaignId ? { campaignId: link.campaignId } : {}) };
}

function source(link: SubscriberLink, eventId: string | null): Record<string, string> {
  return { ...(eventId ? { eventId } : {}), ...(link.campaignId ? { campaignId: link.campaignId } : {}) };
}
