import { and, asc, eq } from 'drizzle-orm';
import { calls, consentEvents, contacts } from '../../db/schema.js';
import type { Ctx } from '../context.js';
import { NotFound } from '../errors.js';

/** What the agent sees after recording a call: who, which answers, which call. */
export async function callReceipt({ ctx, input }: { ctx: Pick<Ctx, 'db' | 'workspaceId'>; input: { callId: string } }) {
  const call = await ctx.db.query.calls.findFirst({ where: and(eq(calls.id, input.callId), eq(calls.workspaceId, ctx.workspaceId)) });
  if (!call) throw new NotFound('call_not_found', 'No such call in this workspace.');
  const contact = await ctx.db.query.contacts.findFirst({ where: eq(contacts.id, call.contactId) });
  const events = await ctx.db
    .select({ purpose: consentEvents.purpose, action: consentEvents.action, seq: consentEvents.seq })
    .from(consentEvents)
    .where(eq(consentEvents.callId, call.id))
    .orderBy(asc(consentEvents.seq));
  return { call, contact, events };
}
