import { afterAll, describe, expect, it } from 'vitest';
import { migrateDatabase } from '../../src/db/node.js';
import { createTestDb } from '../helpers/db.js';

describe('migrations', () => {
  const dbs: { dispose(): void }[] = [];
  afterAll(() => dbs.forEach((d) => d.dispose()));

  it('apply on a fresh temp-file database and create the foundation tables', async () => {
    const t = await createTestDb();
    dbs.push(t);
    const tables = await t.client.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
    const names = tables.rows.map((r) => r.name);
    for (const table of ['workspaces', 'users', 'memberships', 'api_keys', 'audit_log', 'login_failures', 'outbox_messages']) {
      expect(names).toContain(table);
    }
    const mode = await t.client.execute('PRAGMA journal_mode');
    expect(mode.rows[0]?.journal_mode).toBe('wal');
  });

  it('are safe to apply twice', async () => {
    const t = await createTestDb();
    dbs.push(t);
    const before = await t.client.execute('SELECT count(*) AS n FROM __drizzle_migrations');
    await migrateDatabase(t.db);
    const after = await t.client.execute('SELECT count(*) AS n FROM __drizzle_migrations');
    expect(after.rows[0]?.n).toBe(before.rows[0]?.n);
    expect(Number(after.rows[0]?.n)).toBeGreaterThan(0);
  });
});
