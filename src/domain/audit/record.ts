import type { DbOrTx } from '../../db/client.js';
import { auditLog } from '../../db/schema.js';
import { newId } from '../../lib/ids.js';
import { actorRef, type Ctx } from '../context.js';

export interface AuditEntry {
  action: string;
  targetType?: string;
  targetId?: string;
  details?: Record<string, unknown>;
}

/**
 * Appends an audit entry. Call it with the transaction of the change it describes, so that if
 * the entry cannot be written, the change is not either (fail closed).
 */
export async function recordAudit(
  tx: DbOrTx,
  ctx: Pick<Ctx, 'actor' | 'workspaceId' | 'requestId' | 'clock'>,
  entry: AuditEntry,
): Promise<void> {
  await tx.insert(auditLog).values({
    id: newId('aud'),
    workspaceId: ctx.workspaceId,
    ...actorRef(ctx.actor),
    action: entry.action,
    targetType: entry.targetType ?? null,
    targetId: entry.targetId ?? null,
    details: entry.details ?? null,
    requestId: ctx.requestId,
    at: ctx.clock.now(),
  });
}
