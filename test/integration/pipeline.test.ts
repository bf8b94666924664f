/**
 * `pipelined` (src/db/pipeline.ts) sends a transaction's statements in one round trip, on both
 * drivers the app uses: the embedded file database (Node) and libSQL over HTTP (Turso, Workers).
 * It leans on drizzle internals, so this pins the behaviour: results mapped as drizzle maps them,
 * statements in order, one HTTP request for all of them, and an error rolling everything back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { migrateDatabase, openDatabase, type OpenDatabase } from '../../src/db/node.js';
import { pipelined } from '../../src/db/pipeline.js';
import { webhookReceipts } from '../../src/db/schema.js';
import { startLibsqlHttpServer, type LibsqlHttpServer } from '../fixtures/libsql-http-server.js';

let dir: string;
let server: LibsqlHttpServer;
const opened: OpenDatabase[] = [];
const drivers: Record<string, Db> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cn-pipeline-'));
  server = await startLibsqlHttpServer({ path: join(dir, 'http.db') });
  for (const [name, url] of [
    ['embedded file', `file:${join(dir, 'file.db')}`],
    ['libSQL over HTTP', server.url],
  ] as const) {
    const db = await openDatabase(url);
    await migrateDatabase(db.db);
    opened.push(db);
    drivers[name] = db.db;
  }
});

afterAll(async () => {
  for (const db of opened) db.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const at = new Date('2026-11-22T09:00:00Z');

describe.each(['embedded file', 'libSQL over HTTP'])('pipelined on the %s driver', (name) => {
  it('runs the statements in order and maps each result as drizzle does', async () => {
    const db = drivers[name]!;
    const id = `msg_${name.replace(/\W/g, '')}_1`;
    const [inserted, selected, updated] = await db.transaction((tx) =>
      pipelined(tx, [
        tx.insert(webhookReceipts).values({ id, type: 'email.sent', receivedAt: at }).returning(),
        tx.select().from(webhookReceipts).where(eq(webhookReceipts.id, id)),
        tx.update(webhookReceipts).set({ type: 'email.delivered' }).where(eq(webhookReceipts.id, id)).returning({ type: webhookReceipts.type }),
      ] as const),
    );
    expect(inserted).toEqual([{ id, type: 'email.sent', receivedAt: at }]);
    expect(selected).toEqual([{ id, type: 'email.sent', receivedAt: at }]);
    expect(updated).toEqual([{ type: 'email.delivered' }]);
  });

  it('rolls the whole transaction back when a statement fails', async () => {
    const db = drivers[name]!;
    const id = `msg_${name.replace(/\W/g, '')}_2`;
    const failed = await db
      .transaction((tx) =>
        pipelined(tx, [
          tx.insert(webhookReceipts).values({ id, type: 'first', receivedAt: at }),
          tx.insert(webhookReceipts).values({ id, type: 'same id again', receivedAt: at }),
        ]),
      )
      .catch((e: unknown) => e);
    expect(String(failed)).toMatch(/UNIQUE|constraint/i);
    expect(await db.select().from(webhookReceipts).where(eq(webhookReceipts.id, id))).toEqual([]);
  });

  it('outside a transaction, runs them one after the other', async () => {
    const db = drivers[name]!;
    const id = `msg_${name.replace(/\W/g, '')}_3`;
    const [, rows] = await pipelined(db, [db.insert(webhookReceipts).values({ id, type: 'x', receivedAt: at }), db.select().from(webhookReceipts).where(eq(webhookReceipts.id, id))] as const);
    expect(rows).toHaveLength(1);
  });
});

it('sends every statement of a pipelined step in one HTTP request', async () => {
  const db = drivers['libSQL over HTTP']!;
  const before = server.pipelines;
  await db.transaction(async (tx) => {
    await pipelined(
      tx,
      Array.from({ length: 6 }, (_, i) => tx.insert(webhookReceipts).values({ id: `msg_round_trip_${i}`, type: 'x', receivedAt: at })),
    );
  });
  // BEGIN with the six inserts, then COMMIT.
  expect(server.pipelines - before).toBe(2);
});
