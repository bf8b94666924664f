/**
 * Builds the real app on a fresh temp-file database with a movable clock and the dev outbox,
 * and offers shortcuts for requests as a given person. Requests go through `app.request`.
 */
import { sql } from 'drizzle-orm';
import { createApp } from '../../src/app.js';
import type { Db } from '../../src/db/client.js';
import type { Role } from '../../src/db/schema.js';
import { createMailQueue } from '../../src/email/dispatcher.js';
import { createSendRunner } from '../../src/sending/runner.js';
import { tokenBucket } from '../../src/sending/throttle.js';
import { outboxMailer } from '../../src/email/outbox-mailer.js';
import type { Mailer } from '../../src/email/mailer.js';
import type { SigningKey } from '../../src/env.js';
import { fixedClock } from '../../src/lib/clock.js';
import { silentLogger, type Logger } from '../../src/lib/logger.js';
import { createTestDb } from './db.js';
import { bufferedHitSink } from '../../src/tracking/hits.js';
import { frozenLinksCache } from '../../src/tracking/links.js';

/** The webhook secret of test apps (Svix format: whsec_ + base64). */
export const TEST_WEBHOOK_SECRET = 'whsec_' + btoa('test-webhook-secret-0123456789ab');
import { makeUser, makeWorkspace, TEST_PASSWORD, type TestUser } from './factories.js';

export const BASE = 'http://localhost';
export const testKeys: SigningKey[] = [{ kid: 'test-1', secret: 'test-secret-0123456789-abcdefghijklmnop' }];

export async function createTestApp(
  options: {
    mailer?: (db: Db) => Mailer;
    signingKeys?: SigningKey[];
    logger?: Logger;
    sleep?: (ms: number) => Promise<void>;
    ratePerSecond?: number;
    webhookSecret?: string | undefined;
  } = {},
) {
  const database = await createTestDb();
  const clock = fixedClock(new Date('2026-11-22T09:00:00Z'));
  const mailer = options.mailer ? options.mailer(database.db) : outboxMailer(database.db, clock);
  const logger = options.logger ?? silentLogger;
  const signingKeys = options.signingKeys ?? testKeys;
  // Simulated time: waiting (throttle, backoff) moves the test clock instead of the real one.
  const sleep = async (ms: number) => {
    await options.sleep?.(ms);
    clock.advance(ms);
  };
  // Sends run for real against the mailer.
  const sendRunner = createSendRunner({
    db: database.db,
    mailer,
    clock,
    logger,
    signingKeys,
    get publicBaseUrl() {
      return deps.publicBaseUrl;
    },
    throttle: tokenBucket({ ratePerSecond: options.ratePerSecond ?? 1000, clock, sleep }),
    sleep,
    // One batch at a time: tests can say exactly which batch a change lands before. Several in
    // flight are exercised by the crash-safety test and the benchmark (separate processes).
    maxInFlight: 1,
  });
  const deps = {
    db: database.db,
    mailer,
    mailQueue: createMailQueue({ db: database.db, mailer, clock, logger }),
    sendQueue: sendRunner,
    clock,
    logger,
    signingKeys,
    publicBaseUrl: BASE,
    runtime: 'node' as const,
    // Hits are written when the test's request completes (see `request`), like a flush a moment later.
    hits: bufferedHitSink(database.db, logger, { flushEveryMs: 60_000 }),
    frozenLinks: frozenLinksCache(database.db),
    resendWebhookSecret: 'webhookSecret' in options ? options.webhookSecret : TEST_WEBHOOK_SECRET,
    // Tests name the caller's address with a header, as a proxy would.
    clientIp: (c: { req: { header(name: string): string | undefined } }) => c.req.header('x-test-ip') ?? '203.0.113.1',
    pingDatabase: async () => {
      await database.db.run(sql`SELECT 1`);
    },
  };
  const app = createApp(deps);

  const request = (path: string, init: RequestInit & { json?: unknown; token?: string } = {}) => {
    const headers = new Headers(init.headers);
    if (init.token) headers.set('authorization', `Bearer ${init.token}`);
    let body = init.body;
    if (init.json !== undefined) {
      headers.set('content-type', 'application/json');
      body = JSON.stringify(init.json);
    }
    // Queued platform emails are sent before the caller looks at the outbox, as they would be
    // a moment after the response in production.
    return Promise.resolve(app.request(`${BASE}${path}`, { ...init, headers, body })).then(async (res) => {
      await sendRunner.idle();
      await deps.mailQueue.drain();
      await deps.hits.flush();
      return res;
    });
  };

  async function login(email: string, password = TEST_PASSWORD): Promise<string> {
    const res = await request('/api/v1/auth/login', { method: 'POST', json: { email, password } });
    if (res.status !== 200) throw new Error(`login failed for ${email}: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { token: string }).token;
  }

  /** A workspace with one person per role, each logged in. */
  async function workspaceWithTeam() {
    const workspace = await makeWorkspace(database.db);
    const people = {} as Record<Role, TestUser & { token: string }>;
    for (const role of ['admin', 'marketer', 'agent'] as const) {
      const user = await makeUser(database.db, workspace.id, role);
      people[role] = { ...user, token: await login(user.email) };
    }
    return { workspace, ...people };
  }

  /**
   * Every row of every table as text: to prove a secret is nowhere, or (compared before and
   * after) that a refused request wrote nothing. Login throttling rows are left out on purpose.
   */
  async function dumpDatabase(): Promise<string> {
    const tables = await database.client.execute(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT IN ('login_failures') ORDER BY name",
    );
    const parts: string[] = [];
    for (const { name } of tables.rows) {
      const rows = await database.client.execute(`SELECT * FROM "${String(name)}" ORDER BY rowid`);
      parts.push(`${String(name)}: ${JSON.stringify(rows.rows)}`);
    }
    return parts.join('\n');
  }

  return { app, deps, sendRunner, url: database.url, db: database.db, client: database.client, clock, request, login, workspaceWithTeam, dumpDatabase, dispose: database.dispose };
}

export type TestApp = Awaited<ReturnType<typeof createTestApp>>;

export async function errorOf(res: Response) {
  const body = (await res.json()) as { error: { code: string; message: string; details?: { issues?: { field: string; message: string }[] }; requestId: string } };
  return body.error;
}

/**
 * Fails unless the database is as it was in `before` (a `dumpDatabase()`), naming the tables
 * that changed: a full diff of two dumps is unreadable.
 */
export async function expectDatabaseUnchanged(t: Pick<TestApp, 'dumpDatabase'>, before: string, label = 'database'): Promise<void> {
  const after = await t.dumpDatabase();
  if (after === before) return;
  const rows = (dump: string) => new Map(dump.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line] as const));
  const [b, a] = [rows(before), rows(after)];
  const changed = [...new Set([...b.keys(), ...a.keys()])].filter((table) => b.get(table) !== a.get(table));
  throw new Error(`${label} changed in: ${changed.join(', ')}`);
}
