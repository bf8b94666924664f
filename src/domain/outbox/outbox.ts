import { and, desc, eq } from 'drizzle-orm';
import { outboxMessages } from '../../db/schema.js';
import type { Ctx } from '../context.js';
import { NotFound } from '../errors.js';

export type OutboxMessage = typeof outboxMessages.$inferSelect;

/**
 * Who may read which stored message: admins the whole workspace outbox; everyone else only the
 * messages addressed to them (their test sends). Other people's messages carry live links
 * (invitations set a password, confirmations record consent) and must not be usable by a colleague.
 */
function visibleTo(ctx: Pick<Ctx, 'workspaceId' | 'actor'>) {
  const inWorkspace = eq(outboxMessages.workspaceId, ctx.workspaceId);
  if (ctx.actor.type === 'user' && ctx.actor.role === 'admin') return inWorkspace;
  return and(inWorkspace, eq(outboxMessages.to, ctx.actor.type === 'user' ? ctx.actor.email : '\u0000'));
}

/** The dev outbox of the caller's workspace as they may see it, newest first. */
export async function listOutbox({ ctx, input }: { ctx: Pick<Ctx, 'db' | 'workspaceId' | 'actor'>; input: { limit: number } }) {
  return ctx.db
    .select()
    .from(outboxMessages)
    .where(visibleTo(ctx))
    .orderBy(desc(outboxMessages.createdAt), desc(outboxMessages.id))
    .limit(input.limit);
}

export async function getOutboxMessage({ ctx, input }: { ctx: Pick<Ctx, 'db' | 'workspaceId' | 'actor'>; input: { id: string } }) {
  const row = await ctx.db.query.outboxMessages.findFirst({
    where: and(eq(outboxMessages.id, input.id), visibleTo(ctx)),
  });
  if (!row) throw new NotFound('message_not_found', 'No such message in this workspace’s outbox.');
  return row;
}
