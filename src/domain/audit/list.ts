import { and, desc, eq, lt } from 'drizzle-orm';
import { auditLog } from '../../db/schema.js';
import type { Ctx } from '../context.js';

/** Newest first, by pages of `limit`, continuing before `before` (an epoch-ms cursor). Admin only. */
export async function listAuditLog({ ctx, input }: { ctx: Ctx; input: { limit: number; before?: number } }) {
  const rows = await ctx.db
    .select()
    .from(auditLog)
    .where(
      and(
        eq(auditLog.workspaceId, ctx.workspaceId),
        input.before !== undefined ? lt(auditLog.at, new Date(input.before)) : undefined,
      ),
    )
    .orderBy(desc(auditLog.at), desc(auditLog.id))
    .limit(input.limit);
  return rows;
}
