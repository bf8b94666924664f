/**
 * `captureConsent`: what a téléacteur (console) or a dialer (API) records at the end of a call.
 *
 * One write transaction holds everything: the contact (created, or found by email and updated:
 * a person is never duplicated), the call and its legal basis (L.223-1), one ledger event per
 * purpose answered (each naming the exact script version read, GDPR Art. 7(1), EDPB 05/2020
 * §108), the derived consent state, and the idempotency record. Either all of it is stored or
 * none, including the confirmation email a new newsletter grant calls for (double opt-in), which
 * the mail queue sends right after commit.
 *
 * Who may call: agents and admins (console or API), API keys with `consents:write`.
 * Idempotent with an Idempotency-Key.
 */
import { and, eq, isNull } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { calls, consentState, contacts, memberships, users, type CallBasis, type ConsentAction } from '../../db/schema.js';
import { newId } from '../../lib/ids.js';
import { actorRef, type Ctx } from '../context.js';
import { Conflict, Invalid, type FieldIssue } from '../errors.js';
import { recordAudit } from '../audit/record.js';
import { formatConsentDate } from '../../email/render.js';
import { activeSuppression, emailHash } from '../privacy/suppressions.js';
import { checkKey, findAnswer, requestHash, storeAnswer } from '../idempotency.js';
import { normaliseEmail, normalisePhone } from '../contacts/normalise.js';
import { getWorkspace } from '../workspaces/workspaces.js';
import { appendConsentEvents } from './chain.js';
import { confirmationEmail } from './confirmation.js';
import { allScripts, currentScripts, type ConsentScript } from './scripts.js';

export interface CaptureInput {
  contact: {
    email: string;
    phone?: string | null | undefined;
    firstName?: string | null | undefined;
    lastName?: string | null | undefined;
    locale?: string | undefined;
    attributes?: Record<string, string | number | boolean> | undefined;
  };
  call: {
    ref: string;
    basis: CallBasis;
    basisRef?: string | null | undefined;
    campaign?: string | null | undefined;
    /** When the call ended; now when absent. */
    occurredAt?: Date | undefined;
  };
  answers: { purpose: string; answer: 'granted' | 'refused'; scriptId: string }[];
  /** With an API key: the agent who made the call (their login email). */
  agentEmail?: string | null | undefined;
  /**
   * The address is on the suppression list (the person withdrew, or was erased) and the agent
   * confirms the person asked again on this call. The address stays suppressed until the person
   * confirms by email (double opt-in forced); the override and its reason are audited.
   */
  suppressionOverride?: { reason: string } | null | undefined;
}

export interface CaptureResult {
  contact: { id: string; email: string; phone: string | null; firstName: string | null; lastName: string | null; created: boolean };
  call: { id: string; ref: string; basis: CallBasis; occurredAt: string };
  events: { id: string; seq: number; purpose: string; action: ConsentAction; scriptId: string | null; scriptSha256: string | null; hash: string }[];
  /** Double opt-in: a confirmation email is queued (sent right after commit, retried if need be). */
  confirmationEmail: 'queued' | 'not_needed';
  /** `kept_until_confirmed`: the address was suppressed; nothing is mailed until the person confirms by email. */
  suppression: 'none' | 'kept_until_confirmed';
}

/** How far back a dialer may date a call it reports late (offline queues), and forward (clock skew). */
export const MAX_LATE_MS = 7 * 24 * 3600 * 1000;
const MAX_EARLY_MS = 5 * 60 * 1000;

function validate(input: CaptureInput, scripts: ConsentScript[], now: Date) {
  const issues: FieldIssue[] = [];
  const email = normaliseEmail(input.contact.email);
  if (!email) issues.push({ field: 'contact.email', message: 'is not an email address' });
  const phone = input.contact.phone ? normalisePhone(input.contact.phone) : null;
  if (input.contact.phone && !phone) issues.push({ field: 'contact.phone', message: 'is not a valid phone number (French numbers may omit +33)' });
  if (input.call.basis === 'prior_consent' && !input.call.basisRef?.trim()) {
    issues.push({ field: 'call.basisRef', message: 'is required when the call relies on a prior consent (L.223-1: the professional proves it)' });
  }
  const occurredAt = input.call.occurredAt ?? now;
  if (occurredAt.getTime() > now.getTime() + MAX_EARLY_MS) issues.push({ field: 'call.occurredAt', message: 'is in the future' });
  if (occurredAt.getTime() < now.getTime() - MAX_LATE_MS) issues.push({ field: 'call.occurredAt', message: 'is more than 7 days ago' });

  const byPurpose = new Map(scripts.map((s) => [s.purpose, s]));
  const seen = new Set<string>();
  input.answers.forEach((a, i) => {
    if (seen.has(a.purpose)) issues.push({ field: `answers.${i}.purpose`, message: `${a.purpose} is answered twice` });
    seen.add(a.purpose);
    if (!byPurpose.has(a.purpose)) issues.push({ field: `answers.${i}.purpose`, message: `no consent script for ${a.purpose} in this workspace` });
  });
  for (const s of scripts) {
    // Never a default: each purpose the workspace asks about needs an explicit yes or no.
    if (!seen.has(s.purpose)) issues.push({ field: `answers.${s.purpose}`, message: 'is missing: record an explicit granted or refused' });
  }
  if (input.suppressionOverride && !input.suppressionOverride.reason.trim()) {
    issues.push({ field: 'suppressionOverride.reason', message: 'is required: say why the person is re-subscribing despite their withdrawal' });
  }
  if (issues.length) throw new Invalid('invalid_input', `Invalid capture: ${issues.map((i) => `${i.field} ${i.message}`).join('; ')}`, issues);
  return { email: email!, phone, occurredAt };
}

export async function captureConsent({
  ctx,
  input,
  idempotencyKey,
  evidence,
}: {
  ctx: Ctx;
  input: CaptureInput;
  idempotencyKey?: string | undefined;
  /** How the request reached us (IP, user agent, console or API). */
  evidence: Record<string, string>;
}): Promise<{ status: number; body: CaptureResult; replayed: boolean }> {
  if (idempotencyKey !== undefined) checkKey(idempotencyKey);
  const now = ctx.clock.now();
  const scope = { workspaceId: ctx.workspaceId, route: 'consents', key: idempotencyKey ?? '' };
  const hash = idempotencyKey ? await requestHash(input) : '';

  // Everything that only reads, hashes or signs happens before the write transaction, which
  // SQLite serialises: the shorter it is, the more captures per second.
  const all = await allScripts(ctx.db, ctx.workspaceId);
  const scripts = await currentScripts(ctx.db, ctx.workspaceId, all);
  const { email, phone, occurredAt } = validate(input, scripts, now);
  const chosen = chosenScripts(all, input.answers);
  const agent = await creditedAgent(ctx, input.agentEmail);
  const { actorType, actorId } = actorRef(ctx.actor);
  const callEvidence = { ...evidence, ...(agent ? { agentId: agent.id } : {}), ...(input.call.basisRef?.trim() ? { basisRef: input.call.basisRef.trim() } : {}) };
  const details = {
    ...(phone ? { phone } : {}),
    ...(input.contact.firstName?.trim() ? { firstName: input.contact.firstName.trim() } : {}),
    ...(input.contact.lastName?.trim() ? { lastName: input.contact.lastName.trim() } : {}),
    ...(input.contact.locale ? { locale: input.contact.locale } : {}),
  };
  const grantsNewsletter = input.answers.some((a) => a.purpose === 'newsletter' && a.answer === 'granted');
  const grantEventId = newId('evt');
  const workspace = grantsNewsletter ? await getWorkspace({ ctx }) : null;
  const renderConfirmation = (contactId: string, firstName: string | null) =>
    confirmationEmail(ctx, workspace!, scripts, {
      contactId,
      grantEventId,
      to: email,
      firstName,
      agentName: agent?.name ?? null,
      callDate: occurredAt,
      answers: input.answers.map((a) => ({ purpose: a.purpose, action: a.answer })),
    });
  const addressHash = await emailHash(ctx.db, ctx.workspaceId, email);
  const suppressed = await activeSuppression(ctx.db, ctx.workspaceId, addressHash);
  if (suppressed && !input.suppressionOverride) {
    const when = formatConsentDate(suppressed.suppressedAt);
    throw new Conflict(
      'suppressed',
      `This person ${suppressed.reason === 'erased' ? 'asked to be erased' : 'withdrew'} on ${when}: their address is on the suppression list. Record this call only if they asked again to receive the newsletter, with suppressionOverride.reason; nothing will be sent until they confirm by email.`,
      { issues: [{ field: 'contact.email', message: `is suppressed since ${when} (${suppressed.reason})` }], suppressedAt: suppressed.suppressedAt.toISOString(), reason: suppressed.reason },
    );
  }
  // Double opt-in: a new newsletter grant (not one already confirmed) gets a confirmation email.
  const before = await findByEmail(ctx.db, ctx.workspaceId, email);
  let contactId = before?.contact.id ?? newId('ct');
  // A suppressed address needs a fresh confirmation whatever its consent rows say.
  const needsConfirmation = (confirmed: boolean | undefined) => grantsNewsletter && (!confirmed || suppressed !== null);
  let message = needsConfirmation(before?.confirmed) ? await renderConfirmation(contactId, details.firstName ?? before?.contact.firstName ?? null) : null;

  const outcome = await ctx.db.transaction(async (tx) => {
    if (idempotencyKey) {
      const previous = await findAnswer<CaptureResult>(tx, scope, hash);
      if (previous) return { replay: previous, created: null };
    }
    // Read again under the write lock: another capture may have created or confirmed them meanwhile.
    const current = await findByEmail(tx, ctx.workspaceId, email);
    const existing = current?.contact;
    if (existing && existing.id !== contactId) {
      contactId = existing.id;
      if (message) message = await renderConfirmation(contactId, details.firstName ?? existing.firstName ?? null);
    }
    if (!needsConfirmation(current?.confirmed)) message = null;
    // Confirmed before, no longer (withdrawn meanwhile): this grant needs its email after all.
    else if (!message) message = await renderConfirmation(contactId, details.firstName ?? existing?.firstName ?? null);
    if (existing) {
      // Capturing the same person again appends to their ledger; their details take the latest values.
      await tx
        .update(contacts)
        .set({
          ...details,
          attributes: { ...existing.attributes, ...input.contact.attributes },
          updatedAt: now,
          emailHash: addressHash,
          lastProspectActionAt: occurredAt > existing.lastProspectActionAt ? occurredAt : existing.lastProspectActionAt,
        })
        .where(eq(contacts.id, existing.id));
    } else {
      await tx.insert(contacts).values({
        id: contactId,
        workspaceId: ctx.workspaceId,
        email,
        phone: phone ?? null,
        firstName: details.firstName ?? null,
        lastName: details.lastName ?? null,
        locale: details.locale ?? 'fr',
        attributes: input.contact.attributes ?? {},
        ownerAgentId: agent?.id ?? null,
        sourceCampaign: input.call.campaign?.trim() || null,
        createdAt: now,
        updatedAt: now,
        lastProspectActionAt: occurredAt,
        erasedAt: null,
        emailHash: addressHash,
      });
    }

    const call = {
      id: newId('call'),
      workspaceId: ctx.workspaceId,
      contactId,
      callRef: input.call.ref,
      basis: input.call.basis,
      basisRef: input.call.basisRef?.trim() || null,
      callCampaign: input.call.campaign?.trim() || null,
      agentId: agent?.id ?? null,
      actorType,
      actorId,
      occurredAt,
      recordedAt: now,
    };
    await tx.insert(calls).values(call);

    const events = await appendConsentEvents(
      tx,
      ctx.workspaceId,
      input.answers.map((a) => ({
        ...(a.purpose === 'newsletter' ? { id: grantEventId } : {}),
        contactId,
        purpose: a.purpose,
        action: a.answer,
        channel: 'phone' as const,
        actorType,
        actorId,
        callId: call.id,
        callRef: call.callRef,
        callBasis: call.basis,
        scriptId: chosen.get(a.purpose)!.id,
        scriptSha256: chosen.get(a.purpose)!.sha256,
        evidence: callEvidence,
        occurredAt,
      })),
      now,
    );

    if (suppressed) {
      await recordAudit(tx, ctx, {
        action: 'consent.suppression_override',
        targetType: 'contact',
        targetId: contactId,
        details: { reason: input.suppressionOverride!.reason.trim(), suppressedAt: suppressed.suppressedAt.toISOString(), suppressionReason: suppressed.reason, callRef: call.callRef },
      });
    }
    // Queued in this transaction, so a crash after commit cannot lose it.
    if (message) await ctx.mailQueue.enqueue(tx, message, `confirm:${grantEventId}`);

    const body: CaptureResult = {
      contact: {
        id: contactId,
        email,
        phone: phone ?? existing?.phone ?? null,
        firstName: details.firstName ?? existing?.firstName ?? null,
        lastName: details.lastName ?? existing?.lastName ?? null,
        created: !existing,
      },
      call: { id: call.id, ref: call.callRef, basis: call.basis, occurredAt: occurredAt.toISOString() },
      events: events.map((e) => ({ id: e.id, seq: e.seq, purpose: e.purpose, action: e.action, scriptId: e.scriptId, scriptSha256: e.scriptSha256, hash: e.hash })),
      confirmationEmail: message ? 'queued' : 'not_needed',
      suppression: suppressed ? 'kept_until_confirmed' : 'none',
    };
    if (idempotencyKey) await storeAnswer(tx, scope, hash, { status: 201, body }, now);
    return { replay: null, created: body };
  });

  if (outcome.replay) return { status: outcome.replay.status, body: outcome.replay.body, replayed: true };
  if (outcome.created!.confirmationEmail === 'queued') ctx.mailQueue.kick();
  return { status: 201, body: outcome.created!, replayed: false };
}

/** Each answer must name a version of its own purpose's script, of this workspace (any version: the one actually read). */
function chosenScripts(all: ConsentScript[], answers: CaptureInput['answers']): Map<string, { id: string; sha256: string }> {
  const byId = new Map(all.map((r) => [r.id, r]));
  const chosen = new Map<string, { id: string; sha256: string }>();
  const issues: FieldIssue[] = [];
  for (const [i, a] of answers.entries()) {
    const script = byId.get(a.scriptId);
    if (!script) issues.push({ field: `answers.${i}.scriptId`, message: 'is not a consent script of this workspace' });
    else if (script.purpose !== a.purpose) issues.push({ field: `answers.${i}.scriptId`, message: `is the script for ${script.purpose}, not ${a.purpose}` });
    else chosen.set(a.purpose, { id: script.id, sha256: script.sha256 });
  }
  if (issues.length) throw new Invalid('invalid_input', `Invalid capture: ${issues.map((i) => `${i.field} ${i.message}`).join('; ')}`, issues);
  return chosen;
}

/** A live contact by email, and whether their newsletter consent is granted and confirmed. */
async function findByEmail(db: DbOrTx, workspaceId: string, email: string) {
  const [row] = await db
    .select({ contact: contacts, confirmedAt: consentState.confirmedAt, status: consentState.status })
    .from(contacts)
    .leftJoin(consentState, and(eq(consentState.contactId, contacts.id), eq(consentState.purpose, 'newsletter')))
    .where(and(eq(contacts.workspaceId, workspaceId), eq(contacts.email, email), isNull(contacts.erasedAt)))
    .limit(1);
  return row ? { contact: row.contact, confirmed: row.status === 'granted' && row.confirmedAt !== null } : null;
}

/** The agent credited with the call: the person logged in, or the one a dialer names. */
async function creditedAgent(ctx: Ctx, agentEmail: string | null | undefined): Promise<{ id: string; name: string } | null> {
  if (!agentEmail) return ctx.actor.type === 'user' ? { id: ctx.actor.userId, name: ctx.actor.name } : null;
  const normalised = normaliseEmail(agentEmail);
  const [agent] = normalised
    ? await ctx.db
        .select({ id: users.id, name: users.name })
        .from(users)
        .innerJoin(memberships, eq(memberships.userId, users.id))
        .where(and(eq(users.email, normalised), eq(memberships.workspaceId, ctx.workspaceId)))
    : [];
  if (!agent) throw new Invalid('invalid_input', 'Unknown agent.', [{ field: 'agentEmail', message: 'is not a member of this workspace' }]);
  return agent;
}
