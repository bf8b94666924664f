/**
 * Many newsletter-eligible contacts at once, written straight into the tables (thousands in a
 * second): for sending tests and benches where how they were captured does not matter.
 */
import type { Client } from '@libsql/client';

export async function seedAudience(
  client: Client,
  workspaceId: string,
  n: number,
  opts: { prefix?: string; confirmed?: boolean; attributes?: Record<string, string>; ownerAgentId?: string; sourceCampaign?: string; openTracking?: boolean } = {},
): Promise<string[]> {
  const prefix = opts.prefix ?? 'r';
  const now = Date.now();
  const ids: string[] = [];
  for (let start = 0; start < n; start += 500) {
    const statements = [];
    for (let i = start; i < Math.min(n, start + 500); i++) {
      const id = `ct_${prefix}_${workspaceId.slice(-6)}_${String(i).padStart(7, '0')}`;
      ids.push(id);
      statements.push({
        sql: `INSERT INTO contacts (id, workspace_id, email, first_name, attributes, locale, owner_agent_id, source_campaign, created_at, updated_at, last_prospect_action_at) VALUES (?, ?, ?, ?, ?, 'fr', ?, ?, ?, ?, ?)`,
        args: [id, workspaceId, `${prefix}${i}@${workspaceId.slice(-6)}.example`, `Prénom${i}`, JSON.stringify(opts.attributes ?? {}), opts.ownerAgentId ?? null, opts.sourceCampaign ?? null, now, now, now],
      });
      if (opts.openTracking) {
        statements.push({
          sql: `INSERT INTO consent_state (workspace_id, contact_id, purpose, status, confirmed_at, since, last_event_id) VALUES (?, ?, 'open_tracking', 'granted', NULL, ?, 'seed')`,
          args: [workspaceId, id, now],
        });
      }
      statements.push({
        sql: `INSERT INTO consent_state (workspace_id, contact_id, purpose, status, confirmed_at, since, last_event_id) VALUES (?, ?, 'newsletter', 'granted', ?, ?, 'seed')`,
        args: [workspaceId, id, opts.confirmed === false ? null : now, now],
      });
    }
    await client.batch(statements, 'write');
  }
  return ids;
}
