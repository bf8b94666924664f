import { and, desc, eq, lt, or } from 'drizzle-orm';
import { auditLog } from '../../db/schema.js';
import type { Ctx } from '../context.js';

/** Where the previous page stopped: entries are ordered by time, then id (several can share a millisecond). */
export interface AuditCursor {
  at: number;
  id: string;
}

/** The largest time JavaScript dates can hold (ECMA-262 §21.4.1.1): a cursor past it is "from the newest". */
const MAX_TIME = 8.64e15;

export function parseAuditCursor(raw: string | undefined): AuditCursor | undefined {
  const m = raw ? /^(\d{1,16})(?:\.([\w-]{1,100}))?$/.exec(raw) : null;
  if (!m) return undefined;
  return { at: Math.min(Number(m[1]), MAX_TIME), id: m[2] ?? '\uffff' };
}

export const auditCursorOf = (entry: { at: Date; id: string }) => `${entry.at.getTime()}.${entry.id}`;

/** Newest first, by pages of `limit`, continuing after `before`. Admin only. */
export async function listAuditLog({ ctx, input }: { ctx: Ctx; input: { limit: number; before?: AuditCursor | undefined } }) {
  const { before } = input;
  return ctx.db
    .select()
    .from(auditLog)
    .where(
      and(
        eq(auditLog.workspaceId, ctx.workspaceId),
        before ? or(lt(auditLog.at, new Date(before.at)), and(eq(auditLog.at, new Date(before.at)), lt(auditLog.id, before.id))) : undefined,
      ),
    )
    .orderBy(desc(auditLog.at), desc(auditLog.id))
    .limit(input.limit);
}
