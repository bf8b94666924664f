import { and, desc, eq } from 'drizzle-orm';
import { outboxMessages } from '../../db/schema.js';
import type { Ctx } from '../context.js';
import { NotFound } from '../errors.js';

export type OutboxMessage = typeof outboxMessages.$inferSelect;

/** The dev outbox of the caller's workspace, newest first. */
export async function listOutbox({ ctx, input }: { ctx: Pick<Ctx, 'db' | 'workspaceId'>; input: { limit: number } }) {
  return ctx.db
    .select()
    .from(outboxMessages)
    .where(eq(outboxMessages.workspaceId, ctx.workspaceId))
    .orderBy(desc(outboxMessages.createdAt), desc(outboxMessages.id))
    .limit(input.limit);
}

export async function getOutboxMessage({ ctx, input }: { ctx: Pick<Ctx, 'db' | 'workspaceId'>; input: { id: string } }) {
  const row = await ctx.db.query.outboxMessages.findFirst({
    where: and(eq(outboxMessages.id, input.id), eq(outboxMessages.workspaceId, ctx.workspaceId)),
  });
  if (!row) throw new NotFound('message_not_found', 'No such message in this workspace’s outbox.');
  return row;
}
