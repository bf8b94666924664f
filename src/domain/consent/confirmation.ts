/**
 * Double opt-in. After a newsletter grant on the phone, the person gets an email (no tracking
 * pixel) summarising what they agreed to, when and with whom, with a link to confirm and one to
 * refuse. The links carry a JWS token bound to the purpose `confirm` and to that grant; the page
 * they open only shows a button: the change happens on the POST, with IP and user agent recorded
 * (a link scanner's GET changes nothing).
 */
import { and, desc, eq, isNull } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { consentEvents, consentState, contacts } from '../../db/schema.js';
import type { OutgoingEmail } from '../../email/mailer.js';
import { platformMessage } from '../../email/messages/platform.js';
import { formatConsentDate } from '../../email/render.js';
import type { AnonymousCtx, Ctx } from '../context.js';
import { signToken, verifyToken } from '../auth/tokens.js';
import { getWorkspace, type Workspace } from '../workspaces/workspaces.js';
import { appendConsentEvents } from './chain.js';
import { emailHash, liftSuppression, suppress } from '../privacy/suppressions.js';

/** Long enough for someone back from holidays; the grant itself stays recorded either way. */
export const CONFIRMATION_TTL_SECONDS = 30 * 24 * 3600;

const actionLabel: Record<string, string> = { granted: 'oui', refused: 'non', withdrawn: 'retiré', confirmed: 'confirmé' };

/** The confirmation email of a newsletter grant, rendered (and later queued) by the capture. */
export async function confirmationEmail(
  ctx: Ctx,
  workspace: Workspace,
  scripts: { purpose: string; label: string }[],
  input: {
    contactId: string;
    grantEventId: string;
    to: string;
    firstName: string | null;
    agentName: string | null;
    callDate: Date;
    answers: { purpose: string; action: string }[];
  },
): Promise<OutgoingEmail> {
  const token = await signToken(ctx.signingKeys, ctx.clock, 'confirm', { sub: input.contactId, wid: workspace.id, eid: input.grantEventId }, CONFIRMATION_TTL_SECONDS);
  const labels = new Map(scripts.map((s) => [s.purpose, s.label]));
  const summary = input.answers.map((a) => `${labels.get(a.purpose) ?? a.purpose} : ${actionLabel[a.action] ?? a.action}`).join(' · ');
  return platformMessage(workspace, 'consent-confirmation', input.to, {
    greetingName: input.firstName ?? '',
    callDate: formatConsentDate(input.callDate),
    agentName: input.agentName ?? 'l’un de nos conseillers',
    summary,
    confirmUrl: `${ctx.publicBaseUrl}/confirm/${token}`,
    refuseUrl: `${ctx.publicBaseUrl}/confirm/${token}?refuse=1`,
  });
}

/** `superseded`: a newer grant exists; only its own (newer) email can confirm it. */
export type ConfirmationState = 'pending' | 'confirmed' | 'withdrawn' | 'superseded';

export interface Confirmation {
  workspace: Workspace;
  contactId: string;
  grantEventId: string;
  email: string;
  state: ConfirmationState;
}

/** Reads a confirmation link; null when forged, expired, or for a person since erased. */
export async function readConfirmation({ ctx, input }: { ctx: AnonymousCtx; input: { token: string } }): Promise<Confirmation | null> {
  const payload = await verifyToken(ctx.signingKeys, ctx.clock, 'confirm', input.token);
  if (!payload || typeof payload.wid !== 'string' || typeof payload.eid !== 'string') return null;
  const contact = await ctx.db.query.contacts.findFirst({ where: and(eq(contacts.id, payload.sub), eq(contacts.workspaceId, payload.wid), isNull(contacts.erasedAt)) });
  if (!contact?.email) return null;
  const grant = await ctx.db.query.consentEvents.findFirst({ where: and(eq(consentEvents.id, payload.eid), eq(consentEvents.contactId, contact.id)) });
  if (!grant) return null;
  const workspace = await getWorkspace({ ctx: { db: ctx.db, workspaceId: payload.wid } });
  return { workspace, contactId: contact.id, grantEventId: grant.id, email: contact.email, state: await stateOf(ctx.db, contact.id, grant.id) };
}

/**
 * Where this link's grant stands. A link confirms only the grant it was sent for, and only while
 * that grant is the current one: the person confirms what that email summarised, nothing later.
 */
async function stateOf(db: DbOrTx, contactId: string, grantEventId: string): Promise<ConfirmationState> {
  const state = await db.query.consentState.findFirst({ where: and(eq(consentState.contactId, contactId), eq(consentState.purpose, 'newsletter')) });
  if (!state || state.status !== 'granted') return 'withdrawn';
  const [latest] = await db
    .select({ id: consentEvents.id })
    .from(consentEvents)
    .where(and(eq(consentEvents.contactId, contactId), eq(consentEvents.purpose, 'newsletter'), eq(consentEvents.action, 'granted')))
    .orderBy(desc(consentEvents.seq))
    .limit(1);
  if (latest?.id !== grantEventId) return 'superseded';
  return state.confirmedAt ? 'confirmed' : 'pending';
}

/**
 * Records the subscriber's answer. Idempotent: confirming a confirmed grant, or refusing a
 * withdrawn one, writes nothing. Returns the state after.
 */
export async function answerConfirmation({
  ctx,
  input,
}: {
  ctx: AnonymousCtx;
  input: { token: string; answer: 'confirm' | 'refuse'; evidence: Record<string, string> };
}): Promise<Confirmation | null> {
  const confirmation = await readConfirmation({ ctx, input });
  if (!confirmation) return null;
  const { workspace, contactId } = confirmation;
  const now = ctx.clock.now();
  await ctx.db.transaction(async (tx) => {
    // Re-read inside the write transaction: two clicks at once record one event.
    const state = await stateOf(tx, contactId, confirmation.grantEventId);
    if (state === 'withdrawn' || state === 'superseded') return;
    if (input.answer === 'confirm' && state === 'confirmed') return;
    const [event] = await appendConsentEvents(
      tx,
      workspace.id,
      [
        {
          contactId,
          purpose: 'newsletter',
          action: input.answer === 'confirm' ? 'confirmed' : 'withdrawn',
          channel: 'email_link',
          actorType: 'subscriber',
          actorId: contactId,
          evidence: { ...input.evidence, grantEventId: confirmation.grantEventId, via: 'confirmation_email' },
          occurredAt: now,
        },
      ],
      now,
    );
    const hash = await emailHash(tx, workspace.id, confirmation.email);
    // The only way a suppression lifts: the person confirms from their own mailbox. Refusing
    // here is a withdrawal, so it suppresses like an unsubscribe.
    if (input.answer === 'confirm') await liftSuppression(tx, workspace.id, hash, event!.id, now);
    else await suppress(tx, workspace.id, hash, 'unsubscribed', { eventId: event!.id }, now);
    // Confirming is the person acting: it restarts the CNIL retention clock.
    await tx.update(contacts).set({ lastProspectActionAt: now, updatedAt: now }).where(eq(contacts.id, contactId));
  });
  return readConfirmation({ ctx, input });
}
