/**
 * Housekeeping of technical tables: exactly the expired rows of webhook_receipts,
 * idempotency_keys and login_failures go, in chunks; evidence tables are never touched.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, idempotencyKeys, loginFailures, webhookReceipts } from '../../src/db/schema.js';
import {
  IDEMPOTENCY_RETENTION_MS,
  LOGIN_FAILURE_RETENTION_MS,
  runHousekeeping,
  WEBHOOK_RECEIPT_RETENTION_MS,
} from '../../src/domain/housekeeping.js';
import { newId } from '../../src/lib/ids.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { makeScripts, unique } from '../helpers/factories.js';

const DAY = 86_400_000;

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.dispose());

async function clearTechnicalTables() {
  await t.db.delete(webhookReceipts);
  await t.db.delete(idempotencyKeys);
  await t.db.delete(loginFailures);
}

const ids = async (table: 'webhook_receipts' | 'login_failures', col: string) =>
  (await t.client.execute(`SELECT ${col} AS v FROM ${table} ORDER BY ${col}`)).rows.map((r) => String(r.v)).sort();

describe('runHousekeeping', () => {
  it('uses the documented windows: 7 days for receipts and idempotent answers, the 15-minute login window', () => {
    expect(WEBHOOK_RECEIPT_RETENTION_MS).toBe(7 * DAY);
    expect(IDEMPOTENCY_RETENTION_MS).toBe(7 * DAY);
    expect(LOGIN_FAILURE_RETENTION_MS).toBe(15 * 60_000);
  });

  it('deletes exactly the rows older than each cutoff, keeps the rest and the import records, then finds nothing the second time', async () => {
    await clearTechnicalTables();
    const now = t.clock.now();
    const at = (ms: number) => new Date(now.getTime() - ms);

    // Each table: well past, 1 ms past, exactly on the cutoff (kept: strictly older goes), 1 ms inside, fresh.
    const offsets = (window: number) => ({ ancient: window * 10, past: window + 1, edge: window, inside: window - 1, fresh: 0 });

    const receipts = offsets(WEBHOOK_RECEIPT_RETENTION_MS);
    await t.db.insert(webhookReceipts).values(Object.entries(receipts).map(([name, ms]) => ({ id: `msg_${name}`, type: 'email.delivered', receivedAt: at(ms) })));

    const answers = offsets(IDEMPOTENCY_RETENTION_MS);
    const ws = (await t.workspaceWithTeam()).workspace.id;
    const answer = (route: string, key: string, ms: number) => ({ workspaceId: ws, route, key, requestHash: 'h', status: 201, response: { contact: { id: 'ct_x' } }, createdAt: at(ms) });
    await t.db.insert(idempotencyKeys).values([
      ...Object.entries(answers).map(([name, ms]) => answer('consents', `key-${name}`, ms)),
      // The CSV import's records are the "re-importing writes nothing" guarantee: kept, however old.
      answer('contacts.import', 'import:abc:newsletter:2', answers.ancient),
    ]);

    const failures = offsets(LOGIN_FAILURE_RETENTION_MS);
    await t.db.insert(loginFailures).values(Object.entries(failures).map(([name, ms]) => ({ key: `email:${name}@example.test`, at: at(ms) })));

    // Evidence must never be touched, however old.
    await t.db.insert(auditLog).values({ id: newId('aud'), workspaceId: ws, actorType: 'system', actorId: 'test', action: 'test.ancient', at: at(10 * 365 * DAY) });
    const evidenceBefore = await evidenceCounts();

    expect(await runHousekeeping(t.db, now)).toEqual({ webhookReceipts: 2, idempotencyKeys: 2, loginFailures: 2 });

    expect(await ids('webhook_receipts', 'id')).toEqual(['msg_edge', 'msg_fresh', 'msg_inside']);
    const keys = (await t.db.select({ route: idempotencyKeys.route, key: idempotencyKeys.key }).from(idempotencyKeys)).map((r) => `${r.route}/${r.key}`).sort();
    expect(keys).toEqual(['consents/key-edge', 'consents/key-fresh', 'consents/key-inside', 'contacts.import/import:abc:newsletter:2']);
    expect(await ids('login_failures', 'key')).toEqual(['email:edge@example.test', 'email:fresh@example.test', 'email:inside@example.test']);
    expect(await evidenceCounts()).toEqual(evidenceBefore);

    expect(await runHousekeeping(t.db, now)).toEqual({ webhookReceipts: 0, idempotencyKeys: 0, loginFailures: 0 });
  });

  it('deletes a backlog larger than one chunk, chunk by chunk, and counts every row', async () => {
    await clearTechnicalTables();
    const now = t.clock.now();
    const old = new Date(now.getTime() - 8 * DAY);
    await t.db.insert(webhookReceipts).values(Array.from({ length: 23 }, (_, i) => ({ id: `msg_old_${i}`, type: 'email.delivered', receivedAt: old })));
    await t.db.insert(webhookReceipts).values({ id: 'msg_new', type: 'email.delivered', receivedAt: now });
    await t.db.insert(loginFailures).values(Array.from({ length: 10 }, () => ({ key: 'ip:203.0.113.9', at: old })));

    // Chunks of 5: 23 = 4 full chunks + 3; 10 = 2 full chunks + an empty one.
    expect(await runHousekeeping(t.db, now, { chunkSize: 5 })).toEqual({ webhookReceipts: 23, idempotencyKeys: 0, loginFailures: 10 });
    expect(await ids('webhook_receipts', 'id')).toEqual(['msg_new']);
    expect(await runHousekeeping(t.db, now, { chunkSize: 5 })).toEqual({ webhookReceipts: 0, idempotencyKeys: 0, loginFailures: 0 });
  });

  it('a dialer retry arriving after its stored answer was purged is refused as too late, never recorded twice', async () => {
    await clearTechnicalTables();
    const team = await t.workspaceWithTeam();
    const scripts = await makeScripts(t.db, team.workspace);
    const body = {
      contact: { email: `${unique('lead')}@example.test` },
      call: { ref: unique('CALL'), basis: 'inbound_call', occurredAt: t.clock.now().toISOString() },
      answers: [
        { purpose: 'newsletter', answer: 'granted', scriptId: scripts.newsletter.id },
        { purpose: 'open_tracking', answer: 'refused', scriptId: scripts.open_tracking.id },
      ],
    };
    const headers = { 'idempotency-key': unique('retry-key') };
    const first = await t.request('/api/v1/consents', { method: 'POST', token: team.agent.token, json: body, headers });
    expect(first.status).toBe(201);
    const eventsBefore = await count('consent_events');

    t.clock.advance(IDEMPOTENCY_RETENTION_MS + 1);
    expect((await runHousekeeping(t.db, t.clock.now())).idempotencyKeys).toBe(1);

    const token = await t.login(team.agent.email);
    const retry = await t.request('/api/v1/consents', { method: 'POST', token, json: body, headers });
    expect(retry.status).toBe(400);
    expect(await count('consent_events')).toBe(eventsBefore);
  });
});

async function count(table: string): Promise<number> {
  const rows = await t.client.execute(`SELECT count(*) AS n FROM ${table}`);
  return Number(rows.rows[0]!.n);
}

/** Row counts of every table housekeeping must never touch. */
async function evidenceCounts(): Promise<Record<string, number>> {
  const tables = await t.db.all<{ name: string }>(
    sql`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT IN ('webhook_receipts', 'idempotency_keys', 'login_failures') ORDER BY name`,
  );
  const out: Record<string, number> = {};
  for (const { name } of tables) out[name] = await count(`"${name}"`);
  return out;
}
