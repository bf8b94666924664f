import { and, eq, inArray, isNull, max } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { calls, consentEvents, contacts, users } from '../../db/schema.js';
import type { Recipient } from '../../email/render.js';
import type { Ctx } from '../context.js';
import { NotFound } from '../errors.js';

/**
 * A contact as the renderer needs them: their details, their advisor (the agent whose call
 * brought them) and the grant the reason block cites (when, with whom).
 */
export async function recipientForContact(ctx: Pick<Ctx, 'db' | 'workspaceId'>, contactId: string): Promise<Recipient> {
  const recipient = (await recipientsForContacts(ctx.db, ctx.workspaceId, [contactId])).get(contactId);
  if (!recipient) throw new NotFound('contact_not_found', 'No such contact in this workspace.');
  return recipient;
}

/**
 * The same for a whole batch in three queries (contacts with their advisor, then their latest
 * newsletter grants with the agent of that call), instead of three per recipient.
 */
export async function recipientsForContacts(db: DbOrTx, workspaceId: string, ids: string[]): Promise<Map<string, Recipient>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .select({ contact: contacts, ownerName: users.name })
    .from(contacts)
    .leftJoin(users, eq(users.id, contacts.ownerAgentId))
    .where(and(eq(contacts.workspaceId, workspaceId), inArray(contacts.id, ids), isNull(contacts.erasedAt)));
  const latest = db
    .select({ contactId: consentEvents.contactId, lastSeq: max(consentEvents.seq).as('last_seq') })
    .from(consentEvents)
    .where(and(inArray(consentEvents.contactId, ids), eq(consentEvents.purpose, 'newsletter'), eq(consentEvents.action, 'granted')))
    .groupBy(consentEvents.contactId)
    .as('latest');
  const grants = await db
    .select({ contactId: consentEvents.contactId, occurredAt: consentEvents.occurredAt, agentName: users.name })
    .from(consentEvents)
    .innerJoin(latest, and(eq(latest.contactId, consentEvents.contactId), eq(latest.lastSeq, consentEvents.seq)))
    .leftJoin(calls, eq(calls.id, consentEvents.callId))
    .leftJoin(users, eq(users.id, calls.agentId))
    .where(eq(consentEvents.workspaceId, workspaceId));
  const grantOf = new Map(grants.map((g) => [g.contactId, g]));
  const out = new Map<string, Recipient>();
  for (const { contact, ownerName } of rows) {
    if (!contact.email) continue;
    const grant = grantOf.get(contact.id);
    out.set(contact.id, {
      email: contact.email,
      firstName: contact.firstName,
      lastName: contact.lastName,
      attributes: contact.attributes,
      agentFirstName: ownerName?.split(/\s+/)[0] ?? null,
      agentPhone: null,
      consentDate: grant?.occurredAt ?? contact.createdAt,
      consentAgentName: grant?.agentName ?? null,
    });
  }
  return out;
}
