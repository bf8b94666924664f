/**
 * The libSQL HTTP fixture (test/fixtures/libsql-http-server.ts) must behave like sqld/Turso for
 * what the app does over HTTP, or the workerd suite proves nothing: statements, batches,
 * interactive transactions that serialise, errors with SQLite codes, the auth token, and the
 * drizzle migrations applied through `npm run db:migrate`'s code path.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient as createNodeClient, LibsqlError, type Client } from '@libsql/client';
import { createClient as createWebClient } from '@libsql/client/web';
import { count } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateDatabase, openDatabase } from '../../src/db/node.js';
import { workspaces } from '../../src/db/schema.js';
import { startLibsqlHttpServer, type LibsqlHttpServer } from '../fixtures/libsql-http-server.js';

let dir: string;
let server: LibsqlHttpServer;
let web: Client;
const TOKEN = 'test-database-token';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cn-hrana-'));
  server = await startLibsqlHttpServer({ path: join(dir, 'db.sqlite'), authToken: TOKEN });
  web = createWebClient({ url: server.url, authToken: TOKEN });
  await web.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, score REAL, data BLOB, big INTEGER)');
});

afterAll(async () => {
  web.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('libSQL over HTTP fixture', () => {
  it('round-trips every value type, with positional and named arguments', async () => {
    const inserted = await web.execute({ sql: 'INSERT INTO t (name, score, data, big) VALUES (?, ?, ?, ?)', args: ['ana', 2.5, new Uint8Array([1, 2, 255]), 9007199254740993n] });
    expect(inserted.rowsAffected).toBe(1);
    expect(Number(inserted.lastInsertRowid)).toBeGreaterThan(0);
    const named = await web.execute({ sql: 'SELECT name, score, data, NULL AS empty FROM t WHERE name = :name', args: { name: 'ana' } });
    expect(named.columns).toEqual(['name', 'score', 'data', 'empty']);
    const row = named.rows[0]!;
    expect(row.name).toBe('ana');
    expect(row.score).toBe(2.5);
    expect([...new Uint8Array(row.data as ArrayBuffer)]).toEqual([1, 2, 255]);
    expect(row.empty).toBeNull();
    const big = await createWebClient({ url: server.url, authToken: TOKEN, intMode: 'bigint' }).execute('SELECT big FROM t');
    expect(big.rows[0]!.big).toBe(9007199254740993n);
  });

  it('reports constraint errors with their SQLite code and writes nothing of a failed batch', async () => {
    await web.execute({ sql: 'INSERT INTO t (name) VALUES (?)', args: ['dup'] });
    const error = await web.execute({ sql: 'INSERT INTO t (name) VALUES (?)', args: ['dup'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LibsqlError);
    expect((error as LibsqlError).code).toMatch(/SQLITE_CONSTRAINT/);

    const before = await web.execute('SELECT count(*) AS n FROM t');
    const failed = await web
      .batch([{ sql: 'INSERT INTO t (name) VALUES (?)', args: ['batch-1'] }, { sql: 'INSERT INTO t (name) VALUES (?)', args: ['dup'] }], 'write')
      .catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(LibsqlError);
    const after = await web.execute('SELECT count(*) AS n FROM t');
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
  });

  it('serialises interactive transactions: concurrent read-modify-write loses no update', async () => {
    await web.execute("INSERT INTO t (name, big) VALUES ('counter', 0)");
    const increment = async () => {
      const tx = await web.transaction('write');
      try {
        const { rows } = await tx.execute("SELECT big FROM t WHERE name = 'counter'");
        await new Promise((resolve) => setTimeout(resolve, 5));
        await tx.execute({ sql: "UPDATE t SET big = ? WHERE name = 'counter'", args: [Number(rows[0]!.big) + 1] });
        await tx.commit();
      } finally {
        tx.close();
      }
    };
    await Promise.all(Array.from({ length: 8 }, increment));
    const { rows } = await web.execute("SELECT big FROM t WHERE name = 'counter'");
    expect(Number(rows[0]!.big)).toBe(8);
  });

  it('rolls back a transaction, and frees the database when a client abandons one', async () => {
    const tx = await web.transaction('write');
    await tx.execute("INSERT INTO t (name) VALUES ('rolled-back')");
    await tx.rollback();
    tx.close();
    expect((await web.execute("SELECT count(*) AS n FROM t WHERE name = 'rolled-back'")).rows[0]!.n).toBe(0);

    const short = await startLibsqlHttpServer({ path: join(dir, 'abandon.sqlite'), streamTimeoutMs: 200 });
    const client = createWebClient({ url: short.url });
    await client.execute('CREATE TABLE x (v TEXT)');
    const abandoned = await client.transaction('write');
    await abandoned.execute("INSERT INTO x VALUES ('never committed')");
    // No commit, no close: another writer gets in once the stream expires.
    await client.execute("INSERT INTO x VALUES ('next writer')");
    expect((await client.execute('SELECT v FROM x')).rows.map((r) => r.v)).toEqual(['next writer']);
    client.close();
    await short.close();
  });

  it('refuses a request without the database token', async () => {
    const anonymous = createWebClient({ url: server.url });
    const error = await anonymous.execute('SELECT 1').catch((e: unknown) => e);
    expect(String(error)).toMatch(/401|Unauthorized/);
    anonymous.close();
  });

  it('answers 503 while an outage is injected, then recovers', async () => {
    server.failWith(503);
    const error = await web.execute('SELECT 1').catch((e: unknown) => e);
    expect(String(error)).toMatch(/503/);
    server.failWith(null);
    expect((await web.execute('SELECT 1 AS one')).rows[0]!.one).toBe(1);
  });

  it('takes the drizzle migrations over HTTP (the npm run db:migrate code path), twice', async () => {
    const fresh = await startLibsqlHttpServer({ path: join(dir, 'app.sqlite') });
    const { db, close } = await openDatabase(fresh.url);
    await migrateDatabase(db);
    await migrateDatabase(db);
    const [row] = await db.select({ n: count() }).from(workspaces);
    expect(row!.n).toBe(0);
    const node = createNodeClient({ url: fresh.url });
    const tables = await node.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'consent_events'");
    expect(tables.rows).toHaveLength(1);
    node.close();
    close();
    await fresh.close();
  });
});
