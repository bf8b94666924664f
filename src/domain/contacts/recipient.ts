import { and, desc, eq, isNull } from 'drizzle-orm';
import { calls, consentEvents, contacts, users } from '../../db/schema.js';
import type { Recipient } from '../../email/render.js';
import type { Ctx } from '../context.js';
import { NotFound } from '../errors.js';

/**
 * A contact as the renderer needs them: their details, their advisor (the agent whose call
 * brought them) and the grant the reason block cites (when, with whom).
 */
export async function recipientForContact(ctx: Pick<Ctx, 'db' | 'workspaceId'>, contactId: string): Promise<Recipient> {
  const contact = await ctx.db.query.contacts.findFirst({ where: and(eq(contacts.id, contactId), eq(contacts.workspaceId, ctx.workspaceId), isNull(contacts.erasedAt)) });
  if (!contact?.email) throw new NotFound('contact_not_found', 'No such contact in this workspace.');
  const [grant] = await ctx.db
    .select({ occurredAt: consentEvents.occurredAt, agentName: users.name })
    .from(consentEvents)
    .leftJoin(calls, eq(calls.id, consentEvents.callId))
    .leftJoin(users, eq(users.id, calls.agentId))
    .where(and(eq(consentEvents.contactId, contact.id), eq(consentEvents.purpose, 'newsletter'), eq(consentEvents.action, 'granted')))
    .orderBy(desc(consentEvents.seq))
    .limit(1);
  const owner = contact.ownerAgentId ? await ctx.db.query.users.findFirst({ where: eq(users.id, contact.ownerAgentId) }) : undefined;
  return {
    email: contact.email,
    firstName: contact.firstName,
    lastName: contact.lastName,
    attributes: contact.attributes,
    agentFirstName: owner?.name.split(/\s+/)[0] ?? null,
    agentPhone: null,
    consentDate: grant?.occurredAt ?? contact.createdAt,
    consentAgentName: grant?.agentName ?? null,
  };
}
