import { and, eq } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { events, sends, type EventType } from '../db/schema.js';
import { pipelined } from '../db/pipeline.js';
import { recomputeStatements } from './rollup.js';

/**
 * Records something that happened to one recipient's copy of a campaign (an unsubscribe from its
 * link), when that copy exists; part of the caller's transaction.
 */
export async function recordSendEvent(tx: DbOrTx, input: { campaignId: string; contactId: string; type: EventType; at: Date }): Promise<void> {
  const [send] = await sendOf(tx, input.campaignId, input.contactId);
  if (send) await pipelined(tx, sendEventWrites(tx, send, input));
}

/** The recipient's copy of a campaign, if it exists (a lazy query). */
export function sendOf(tx: DbOrTx, campaignId: string, contactId: string) {
  return tx
    .select({ id: sends.id, workspaceId: sends.workspaceId })
    .from(sends)
    .where(and(eq(sends.campaignId, campaignId), eq(sends.contactId, contactId)))
    .limit(1);
}

/** The statements recording the event on that copy and refreshing its outcome columns (lazy, in order). */
export function sendEventWrites(tx: DbOrTx, send: { id: number; workspaceId: string }, input: { campaignId: string; type: EventType; at: Date }) {
  return [
    tx.insert(events).values({ workspaceId: send.workspaceId, campaignId: input.campaignId, sendId: send.id, type: input.type, occurredAt: input.at }),
    ...recomputeStatements(tx, [send.id]),
  ];
}
