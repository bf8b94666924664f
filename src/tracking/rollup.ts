/**
 * Keeps each send's outcome columns (delivered, opened, clicked, converted…) equal to what its
 * events and conversions say, recomputed from them. The hit writer adds new opens and clicks to
 * the counters directly (their verdict is final when written) and calls this only for messages
 * whose stored clicks were re-classified; webhooks and conversions always call it. Stats then
 * read one row per recipient.
 */
import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';

const CHUNK = 500;

export async function recomputeSendOutcomes(db: DbOrTx, sendIds: Iterable<number>): Promise<void> {
  for (const statement of recomputeStatements(db, sendIds)) await statement;
}

/** The same as lazy statements, for `pipelined` (one UPDATE per 500 sends). */
export function recomputeStatements(db: DbOrTx, sendIds: Iterable<number>) {
  const ids = [...new Set(sendIds)];
  const statements = [];
  for (let i = 0; i < ids.length; i += CHUNK) {
    const chunk = sql.join(
      ids.slice(i, i + CHUNK).map((id) => sql`${id}`),
      sql`, `,
    );
    const first = (type: string) => sql.raw(`(SELECT min(occurred_at) FROM events e WHERE e.send_id = sends.id AND e.type = '${type}')`);
    const hits = (type: string, machine: 0 | 1) =>
      sql.raw(`coalesce((SELECT sum(hits) FROM events e WHERE e.send_id = sends.id AND e.type = '${type}' AND e.machine = ${machine}), 0)`);
    statements.push(
      db.run(sql`
      UPDATE sends SET
        delivered_at = ${first('delivered')},
        bounced_at = ${first('bounced')},
        complained_at = ${first('complained')},
        unsubscribed_at = ${first('unsubscribe')},
        human_opens = ${hits('open', 0)},
        machine_opens = ${hits('open', 1)},
        human_clicks = ${hits('click', 0)},
        machine_clicks = ${hits('click', 1)},
        conversions = (SELECT count(*) FROM conversions v WHERE v.send_id = sends.id),
        conversion_value = coalesce((SELECT sum(value) FROM conversions v WHERE v.send_id = sends.id), 0)
      WHERE id IN (${chunk})`),
    );
  }
  return statements;
}
