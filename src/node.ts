/**
 * The embedded default: one Node process, a libSQL file database, migrations applied at start,
 * the demo workspace on an empty database. `npm start` runs this.
 */
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Server, ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { sql } from 'drizzle-orm';
import { createApp } from './app.js';
import { serveBuiltAssets } from './http/node-static.js';
import { migrateDatabase, openDatabase } from './db/node.js';
import { demoUsers, DEMO_PASSWORD, seedDemo } from './db/seed-demo.js';
import { createMailQueue } from './email/dispatcher.js';
import { createSendRunner } from './sending/runner.js';
import { backfillEmailHashes } from './domain/privacy/suppressions.js';
import { runRetention } from './domain/privacy/retention.js';
import { runHousekeeping } from './domain/housekeeping.js';
import { tokenBucket } from './sending/throttle.js';
import { outboxMailer } from './email/outbox-mailer.js';
import { resendMailer } from './email/resend-mailer.js';
import { EnvError, parseEnv, type SigningKey } from './env.js';
import { systemClock } from './lib/clock.js';
import { randomToken } from './lib/crypto.js';
import { jsonLogger } from './lib/logger.js';
import { bufferedHitSink } from './tracking/hits.js';
import { frozenLinksCache } from './tracking/links.js';

/**
 * Without SIGNING_KEYS, a key is generated once and kept beside the database file, so sessions
 * and links in emails survive restarts. Production sets SIGNING_KEYS explicitly.
 */
function localSigningKeys(databaseUrl: string): SigningKey[] {
  const dbPath = databaseUrl.startsWith('file:') ? databaseUrl.slice(5).split('?')[0] : undefined;
  if (!dbPath || dbPath === ':memory:') return [{ kid: 'ephemeral', secret: randomToken(32) }];
  const file = resolve(dirname(resolve(dbPath)), 'dev-signing-keys.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as SigningKey[];
  const keys = [{ kid: `dev-${new Date().toISOString().slice(0, 10)}`, secret: randomToken(32) }];
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(keys, null, 2), { mode: 0o600 });
  return keys;
}

async function main() {
  let env;
  try {
    env = parseEnv(process.env, 'node');
  } catch (error) {
    if (error instanceof EnvError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const logger = jsonLogger(env.LOG_LEVEL);
  const { db, close } = await openDatabase(env.DATABASE_URL, env.DATABASE_AUTH_TOKEN);
  await migrateDatabase(db);
  const seeded = env.DEMO ? await seedDemo(db, systemClock.now()) : false;
  // After the seed: its contacts need their keyed hash too, or a suppression would not match them.
  await backfillEmailHashes(db);

  const mailer = env.RESEND_API_KEY ? resendMailer(env.RESEND_API_KEY, env.RESEND_BASE_URL) : outboxMailer(db, systemClock);
  const signingKeys = env.SIGNING_KEYS ?? localSigningKeys(env.DATABASE_URL);
  const mailQueue = createMailQueue({ db, mailer, clock: systemClock, logger });
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  const sendRunner = createSendRunner({
    db,
    mailer,
    clock: systemClock,
    logger,
    signingKeys,
    get publicBaseUrl() {
      return deps.publicBaseUrl;
    },
    throttle: tokenBucket({ ratePerSecond: env.SEND_RATE, clock: systemClock, sleep }),
    sleep,
  });
  // Retries and mail left by a previous run; each capture also kicks the queue itself.
  const sweep = setInterval(() => mailQueue.kick(), 15_000);
  sweep.unref();
  mailQueue.kick();
  // Storage limitation (CNIL 3 years): erase expired prospects at start, then every 6 hours;
  // then the technical tables (housekeeping.ts), separately so one failing does not stop the other.
  const retention = () =>
    runRetention(db, systemClock.now())
      .then((reports) => {
        const erased = reports.reduce((n, r) => n + r.erased, 0);
        if (erased) logger.info('retention', { erased });
      })
      .catch((error: unknown) => logger.error('retention failed', { error }))
      .then(() => runHousekeeping(db, systemClock.now()))
      .then((deleted) => {
        if (Object.values(deleted).some(Boolean)) logger.info('housekeeping', { ...deleted });
      })
      .catch((error: unknown) => logger.error('housekeeping failed', { error }));
  const retentionTimer = setInterval(retention, 6 * 3600 * 1000);
  retentionTimer.unref();
  void retention();

  // Opens and clicks are written in batches; shutdown writes what is left.
  const hits = bufferedHitSink(db, logger);

  // PUBLIC_BASE_URL is known only after listening when PORT=0; resolve it lazily through this holder.
  const deps = {
    db,
    mailer,
    mailQueue,
    sendQueue: sendRunner,
    clock: systemClock,
    logger,
    signingKeys,
    publicBaseUrl: env.PUBLIC_BASE_URL ?? `http://localhost:${env.PORT}`,
    runtime: 'node' as const,
    demo: env.DEMO,
    hits,
    frozenLinks: frozenLinksCache(db),
    resendWebhookSecret: env.RESEND_WEBHOOK_SECRET,
    clientIp: (c: Parameters<typeof getConnInfo>[0]) => getConnInfo(c).remote.address,
    pingDatabase: async () => {
      await db.run(sql`SELECT 1`);
    },
  };
  const app = createApp(deps);
  serveBuiltAssets(app);

  const server = serve({ fetch: app.fetch, port: env.PORT, hostname: env.HOST }, (info: AddressInfo) => {
    const host = env.HOST === '0.0.0.0' || env.HOST === '::' ? 'localhost' : env.HOST;
    const url = `http://${host}:${info.port}`;
    if (!env.PUBLIC_BASE_URL) deps.publicBaseUrl = url;
    const lines = [
      '',
      `  Consent & Newsletter is running at ${url}`,
      `  Database: ${env.DATABASE_URL}${seeded ? ' (demo workspace "Voyage Online" created)' : ''}`,
      `  Mail: ${mailer.kind === 'outbox' ? `dev outbox (no RESEND_API_KEY), see ${url}/dev/outbox` : 'Resend'}`,
    ];
    if (env.DEMO) {
      lines.push('  Demo logins (password "' + DEMO_PASSWORD + '"):');
      for (const u of demoUsers) lines.push(`    ${u.role.padEnd(9)} ${u.email}`);
    }
    lines.push('  API docs: ' + url + '/api/docs', '');
    console.log(lines.join('\n'));
    logger.info('listening', { url, port: info.port });
    // Resume sends a previous run left unfinished, and start scheduled ones when due.
    sendRunner.start();
  });

  // Graceful shutdown: stop accepting, let in-flight requests finish, then close the database.
  let stopping = false;
  // http.Server's close() drops idle keep-alive connections at once (resetting requests already
  // on their way) and leaves busy ones open: a client that keeps sending on them (a proxy, a mail
  // provider) held the server until the forced exit. So from SIGTERM on, every response says
  // `Connection: close` (RFC 9112 §9.6), including those of requests already running.
  const running = new Set<ServerResponse>();
  (server as Server).prependListener('request', (_req, res) => {
    if (stopping) return void res.setHeader('Connection', 'close');
    running.add(res);
    res.once('close', () => running.delete(res));
  });
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    for (const res of running) if (!res.headersSent) res.setHeader('Connection', 'close');
    const force = setTimeout(() => {
      logger.error('forced exit: requests still running after 10 s');
      // Opens and clicks already answered are still written (bounded: the database may be what hangs).
      setTimeout(() => process.exit(1), 2_000);
      void hits.close().finally(() => process.exit(1));
    }, 10_000);
    force.unref();
    // Stop accepting (net.Server's close, without http.Server's immediate drop of idle sockets);
    // the callback runs once every connection has closed.
    net.Server.prototype.close.call(server, async () => {
      clearInterval(sweep);
      clearInterval(retentionTimer);
      // Let the batches in flight finish and be marked; the rest resumes at next start.
      await sendRunner.stop();
      await hits.close();
      // Send what the last requests queued, then close the database.
      void mailQueue.drain().finally(() => {
        close();
        logger.info('stopped');
        process.exit(0);
      });
    });
    // Every second, connections sitting idle (their client sent nothing since SIGTERM: any request
    // since was answered with `Connection: close`) are dropped rather than held until their
    // keep-alive timeout.
    setInterval(() => (server as Server).closeIdleConnections(), 1_000).unref();
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error('Failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
