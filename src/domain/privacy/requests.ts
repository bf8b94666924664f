/**
 * Data-subject requests: access, portability, erasure, rectification, objection (GDPR Art.
 * 15–21). Each is answered within one month of receipt (Art. 12(3)), so each gets a due date and
 * a status, and the admin list shows the soonest deadline first.
 *
 * From the preference centre (the person proved the address by its token) a request is done at
 * once and logged as completed. Requests received otherwise (phone, letter) are logged by an
 * admin, then done with the actions below, which close the request they name.
 *
 * Who may call the `ctx` actions: admins (the DPO's role).
 */
import { and, asc, eq, inArray, isNull, ne } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { contacts, dsrRequests, type DsrChannel, type DsrStatus, type DsrType } from '../../db/schema.js';
import { newId } from '../../lib/ids.js';
import { recordAudit } from '../audit/record.js';
import { actorRef, type Ctx } from '../context.js';
import { normaliseEmail, normalisePhone } from '../contacts/normalise.js';
import { Conflict, Invalid, NotFound } from '../errors.js';
import { getWorkspace } from '../workspaces/workspaces.js';
import { eraseContact } from './erasure.js';
import { exportContactData } from './export.js';
import { emailHash } from './suppressions.js';

export type DsrRequest = typeof dsrRequests.$inferSelect;

/** Art. 12(3): "within one month of receipt": the same day of the next month, or its last day. */
export function dueDateOf(receivedAt: Date): Date {
  const d = new Date(receivedAt);
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + 1);
  const lastDay = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, lastDay));
  return d;
}

async function liveContact(db: DbOrTx, workspaceId: string, contactId: string) {
  const contact = await db.query.contacts.findFirst({ where: and(eq(contacts.id, contactId), eq(contacts.workspaceId, workspaceId)) });
  if (!contact) throw new NotFound('contact_not_found', 'No such contact in this workspace.');
  return contact;
}

/** Logs a request received outside the preference centre. */
export async function logRequest({
  ctx,
  input,
}: {
  ctx: Ctx;
  input: { contactId: string; type: DsrType; channel: DsrChannel; notes?: string | undefined; receivedAt?: Date | undefined };
}): Promise<DsrRequest> {
  const now = ctx.clock.now();
  const receivedAt = input.receivedAt ?? now;
  if (receivedAt.getTime() > now.getTime() + 60_000) throw new Invalid('invalid_input', 'Invalid request.', [{ field: 'receivedAt', message: 'is in the future' }]);
  const contact = await liveContact(ctx.db, ctx.workspaceId, input.contactId);
  if (contact.erasedAt) throw new Conflict('contact_erased', 'This contact was erased: there is nothing left to access, rectify or erase.');
  const { actorType, actorId } = actorRef(ctx.actor);
  const row: DsrRequest = {
    id: newId('dsr'),
    workspaceId: ctx.workspaceId,
    contactId: contact.id,
    type: input.type,
    status: 'open',
    channel: input.channel,
    notes: input.notes?.trim() ?? '',
    receivedAt,
    dueAt: dueDateOf(receivedAt),
    completedAt: null,
    outcome: null,
    createdByType: actorType,
    createdById: actorId,
  };
  await ctx.db.transaction(async (tx) => {
    await tx.insert(dsrRequests).values(row);
    await recordAudit(tx, ctx, { action: 'dsr.logged', targetType: 'dsr_request', targetId: row.id, details: { type: row.type, channel: row.channel, dueAt: row.dueAt.toISOString() } });
  });
  return row;
}

/** A request the person made and we answered on the spot (preference centre). */
export async function recordFulfilledRequest(
  tx: DbOrTx,
  input: { workspaceId: string; contactId: string; type: DsrType; outcome: string; now: Date },
): Promise<DsrRequest> {
  const row: DsrRequest = {
    id: newId('dsr'),
    workspaceId: input.workspaceId,
    contactId: input.contactId,
    type: input.type,
    status: 'completed',
    channel: 'preference_centre',
    notes: '',
    receivedAt: input.now,
    dueAt: dueDateOf(input.now),
    completedAt: input.now,
    outcome: input.outcome,
    createdByType: 'subscriber',
    createdById: input.contactId,
  };
  await tx.insert(dsrRequests).values(row);
  return row;
}

export interface DsrListItem extends DsrRequest {
  /** Who it is about, while they are not erased. */
  contactLabel: string | null;
  overdue: boolean;
}

/** Open requests first, soonest deadline first; then the closed ones, latest first. */
export async function listRequests({ ctx, input }: { ctx: Ctx; input: { status?: DsrStatus | undefined } }): Promise<DsrListItem[]> {
  const rows = await ctx.db
    .select({ request: dsrRequests, email: contacts.email, firstName: contacts.firstName, lastName: contacts.lastName })
    .from(dsrRequests)
    .leftJoin(contacts, eq(contacts.id, dsrRequests.contactId))
    .where(and(eq(dsrRequests.workspaceId, ctx.workspaceId), input.status ? eq(dsrRequests.status, input.status) : undefined))
    .orderBy(asc(dsrRequests.dueAt))
    .limit(500);
  const now = ctx.clock.now().getTime();
  const items = rows.map((r) => ({
    ...r.request,
    contactLabel: r.email ? [r.firstName, r.lastName].filter(Boolean).join(' ') + ` <${r.email}>` : null,
    overdue: r.request.status === 'open' && r.request.dueAt.getTime() < now,
  }));
  return [...items.filter((i) => i.status === 'open'), ...items.filter((i) => i.status !== 'open').sort((a, b) => (b.completedAt?.getTime() ?? 0) - (a.completedAt?.getTime() ?? 0))];
}

async function openRequest(db: DbOrTx, workspaceId: string, id: string, contactId?: string): Promise<DsrRequest> {
  const request = await db.query.dsrRequests.findFirst({ where: and(eq(dsrRequests.id, id), eq(dsrRequests.workspaceId, workspaceId)) });
  if (!request) throw new NotFound('dsr_request_not_found', 'No such request in this workspace.');
  if (request.status !== 'open') throw new Conflict('dsr_request_closed', `This request is already ${request.status}.`);
  if (contactId && request.contactId !== contactId) throw new Invalid('invalid_input', 'Invalid request id.', [{ field: 'requestId', message: 'is about another contact' }]);
  return request;
}

/** Closes a request by hand: done (say what was done) or refused (say why, Art. 12(4)). */
export async function closeRequest({ ctx, input }: { ctx: Ctx; input: { id: string; status: 'completed' | 'refused'; outcome: string } }): Promise<DsrRequest> {
  if (!input.outcome.trim()) throw new Invalid('invalid_input', 'Say what was done, or why it was refused.', [{ field: 'outcome', message: 'is required' }]);
  return ctx.db.transaction(async (tx) => {
    const request = await openRequest(tx, ctx.workspaceId, input.id);
    const now = ctx.clock.now();
    await tx.update(dsrRequests).set({ status: input.status, outcome: input.outcome.trim(), completedAt: now }).where(eq(dsrRequests.id, request.id));
    await recordAudit(tx, ctx, { action: `dsr.${input.status}`, targetType: 'dsr_request', targetId: request.id, details: { type: request.type } });
    return { ...request, status: input.status, outcome: input.outcome.trim(), completedAt: now };
  });
}

/** Erases a contact on request (admin). Closes the named request, or every open request about them. */
export async function eraseOnRequest({ ctx, input }: { ctx: Ctx; input: { contactId: string; requestId?: string | undefined } }): Promise<{ erased: boolean; closedRequests: string[] }> {
  const now = ctx.clock.now();
  const { actorType, actorId } = actorRef(ctx.actor);
  return ctx.db.transaction(async (tx) => {
    const contact = await liveContact(tx, ctx.workspaceId, input.contactId);
    if (input.requestId) await openRequest(tx, ctx.workspaceId, input.requestId, contact.id);
    const erased = await eraseContact(tx, { workspaceId: ctx.workspaceId, contactId: contact.id, why: 'request', actorType, actorId, channel: 'web', dsrRequestId: input.requestId ?? null, requestId: ctx.requestId, now });
    const open = await tx
      .select({ id: dsrRequests.id })
      .from(dsrRequests)
      .where(and(eq(dsrRequests.contactId, contact.id), eq(dsrRequests.status, 'open'), input.requestId ? eq(dsrRequests.id, input.requestId) : undefined));
    const ids = open.map((o) => o.id);
    if (ids.length) await tx.update(dsrRequests).set({ status: 'completed', completedAt: now, outcome: 'Contact erased; address kept only as a keyed hash on the suppression list.' }).where(inArray(dsrRequests.id, ids));
    return { erased, closedRequests: ids };
  });
}

export interface Rectification {
  email?: string | undefined;
  phone?: string | null | undefined;
  firstName?: string | null | undefined;
  lastName?: string | null | undefined;
  attributes?: Record<string, string | number | boolean | null> | undefined;
}

/**
 * Rectification (Art. 16), by an admin or by the person from the preference centre. The audit
 * names the fields changed, not their values (the old values are what the person wants gone).
 */
export async function rectifyContact(
  tx: DbOrTx,
  input: { workspaceId: string; contactId: string; changes: Rectification; now: Date },
): Promise<string[]> {
  const contact = await liveContact(tx, input.workspaceId, input.contactId);
  if (contact.erasedAt) throw new Conflict('contact_erased', 'This contact was erased.');
  const c = input.changes;
  const issues = [];
  const set: Partial<typeof contacts.$inferInsert> = {};
  if (c.email !== undefined) {
    const email = normaliseEmail(c.email);
    if (!email) issues.push({ field: 'email', message: 'is not an email address' });
    else if (email !== contact.email) {
      const taken = await tx.query.contacts.findFirst({ where: and(eq(contacts.workspaceId, input.workspaceId), eq(contacts.email, email), ne(contacts.id, contact.id), isNull(contacts.erasedAt)) });
      if (taken) issues.push({ field: 'email', message: 'belongs to another contact of this workspace' });
      set.email = email;
      set.emailHash = await emailHash(tx, input.workspaceId, email);
    }
  }
  if (c.phone !== undefined) {
    const phone = c.phone ? normalisePhone(c.phone) : null;
    if (c.phone && !phone) issues.push({ field: 'phone', message: 'is not a valid phone number' });
    set.phone = phone;
  }
  if (c.firstName !== undefined) set.firstName = c.firstName?.trim() || null;
  if (c.lastName !== undefined) set.lastName = c.lastName?.trim() || null;
  if (c.attributes !== undefined) {
    const next = { ...contact.attributes };
    for (const [k, v] of Object.entries(c.attributes)) {
      if (v === null) delete next[k];
      else next[k] = v;
    }
    set.attributes = next;
  }
  if (issues.length) throw new Invalid('invalid_input', `Invalid rectification: ${issues.map((i) => `${i.field} ${i.message}`).join('; ')}`, issues);
  // Only what really differs counts as corrected (a form re-sends every field).
  const current = contact as Record<string, unknown>;
  const changed = Object.keys(set).filter((k) => k !== 'emailHash' && JSON.stringify(current[k] ?? null) !== JSON.stringify((set as Record<string, unknown>)[k] ?? null));
  if (changed.length) await tx.update(contacts).set({ ...set, updatedAt: input.now }).where(eq(contacts.id, contact.id));
  return changed;
}

/** Rectification by an admin; closes the named request. */
export async function rectifyOnRequest({ ctx, input }: { ctx: Ctx; input: { contactId: string; changes: Rectification; requestId?: string | undefined } }) {
  const now = ctx.clock.now();
  return ctx.db.transaction(async (tx) => {
    if (input.requestId) await openRequest(tx, ctx.workspaceId, input.requestId, input.contactId);
    const changed = await rectifyContact(tx, { workspaceId: ctx.workspaceId, contactId: input.contactId, changes: input.changes, now });
    if (input.requestId) await tx.update(dsrRequests).set({ status: 'completed', completedAt: now, outcome: `Rectified: ${changed.join(', ') || 'nothing to change'}` }).where(eq(dsrRequests.id, input.requestId));
    await recordAudit(tx, ctx, { action: 'contact.rectified', targetType: 'contact', targetId: input.contactId, details: { fields: changed, ...(input.requestId ? { dsrRequestId: input.requestId } : {}) } });
    return { changed };
  });
}

/** Export for an access or portability request (admin); closes the named request. */
export async function exportOnRequest({ ctx, input }: { ctx: Ctx; input: { contactId: string; requestId?: string | undefined } }) {
  const workspace = await getWorkspace({ ctx });
  const data = await exportContactData(ctx.db, workspace, input.contactId, ctx.clock.now());
  await ctx.db.transaction(async (tx) => {
    if (input.requestId) {
      await openRequest(tx, ctx.workspaceId, input.requestId, input.contactId);
      await tx.update(dsrRequests).set({ status: 'completed', completedAt: ctx.clock.now(), outcome: 'Export produced (JSON/CSV) and handed over.' }).where(eq(dsrRequests.id, input.requestId));
    }
    await recordAudit(tx, ctx, { action: 'contact.exported', targetType: 'contact', targetId: input.contactId, details: input.requestId ? { dsrRequestId: input.requestId } : {} });
  });
  return data;
}
