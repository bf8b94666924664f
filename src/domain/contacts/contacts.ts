/**
 * Contacts (leads) of a workspace: search for agents, one contact with its consent state.
 * Erased contacts are never returned (their email is gone; the row stays only as a pseudonym
 * the ledger points to).
 */
import { and, asc, desc, eq, isNull, or } from 'drizzle-orm';
import { calls, consentEvents, consentState, contacts, users, type ConsentStatus } from '../../db/schema.js';
import type { Ctx } from '../context.js';
import { Invalid, NotFound } from '../errors.js';
import { normaliseEmail, normalisePhone } from './normalise.js';

export type Contact = typeof contacts.$inferSelect;

export interface ContactView extends Contact {
  consents: { purpose: string; status: ConsentStatus; since: Date; confirmedAt: Date | null }[];
  ownerAgentName: string | null;
}

export async function getContact({ ctx, input }: { ctx: Pick<Ctx, 'db' | 'workspaceId'>; input: { id: string } }): Promise<ContactView> {
  const contact = await ctx.db.query.contacts.findFirst({
    where: and(eq(contacts.id, input.id), eq(contacts.workspaceId, ctx.workspaceId), isNull(contacts.erasedAt)),
  });
  if (!contact) throw new NotFound('contact_not_found', 'No such contact in this workspace.');
  const consents = await ctx.db
    .select({ purpose: consentState.purpose, status: consentState.status, since: consentState.since, confirmedAt: consentState.confirmedAt })
    .from(consentState)
    .where(eq(consentState.contactId, contact.id))
    .orderBy(asc(consentState.purpose));
  const owner = contact.ownerAgentId ? await ctx.db.query.users.findFirst({ where: eq(users.id, contact.ownerAgentId) }) : undefined;
  return { ...contact, consents, ownerAgentName: owner?.name ?? null };
}

/** Finds contacts by email or phone (exact, after normalisation). Agents use it before a capture. */
export async function searchContacts({ ctx, input }: { ctx: Pick<Ctx, 'db' | 'workspaceId'>; input: { email?: string; phone?: string } }) {
  const email = input.email ? normaliseEmail(input.email) : null;
  const phone = input.phone ? normalisePhone(input.phone) : null;
  if (input.email && !email) throw new Invalid('invalid_input', 'Invalid email.', [{ field: 'email', message: 'is not an email address' }]);
  if (input.phone && !phone) throw new Invalid('invalid_input', 'Invalid phone number.', [{ field: 'phone', message: 'is not a valid phone number' }]);
  if (!email && !phone) throw new Invalid('invalid_input', 'Give an email or a phone number.', [{ field: 'email', message: 'email or phone is required' }]);
  const found = await ctx.db
    .select()
    .from(contacts)
    .where(
      and(
        eq(contacts.workspaceId, ctx.workspaceId),
        isNull(contacts.erasedAt),
        or(email ? eq(contacts.email, email) : undefined, phone ? eq(contacts.phone, phone) : undefined),
      ),
    )
    .orderBy(desc(contacts.updatedAt))
    .limit(20);
  return Promise.all(found.map((c) => getContact({ ctx, input: { id: c.id } })));
}

/** The contact's ledger, oldest first, with the calls it came from. */
export async function contactHistory(ctx: Pick<Ctx, 'db' | 'workspaceId'>, contactId: string) {
  const events = await ctx.db
    .select()
    .from(consentEvents)
    .where(and(eq(consentEvents.workspaceId, ctx.workspaceId), eq(consentEvents.contactId, contactId)))
    .orderBy(asc(consentEvents.seq));
  const callRows = await ctx.db.select().from(calls).where(and(eq(calls.workspaceId, ctx.workspaceId), eq(calls.contactId, contactId))).orderBy(asc(calls.occurredAt));
  return { events, calls: callRows };
}
