import { and, eq } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { events, sends, type EventType } from '../db/schema.js';
import { recomputeSendOutcomes } from './rollup.js';

/**
 * Records something that happened to one recipient's copy of a campaign (an unsubscribe from its
 * link), when that copy exists; part of the caller's transaction.
 */
export async function recordSendEvent(tx: DbOrTx, input: { campaignId: string; contactId: string; type: EventType; at: Date }): Promise<void> {
  const [send] = await tx
    .select({ id: sends.id, workspaceId: sends.workspaceId })
    .from(sends)
    .where(and(eq(sends.campaignId, input.campaignId), eq(sends.contactId, input.contactId)));
  if (!send) return;
  await tx.insert(events).values({ workspaceId: send.workspaceId, campaignId: input.campaignId, sendId: send.id, type: input.type, occurredAt: input.at });
  await recomputeSendOutcomes(tx, [send.id]);
}
