/**
 * Production entry on Cloudflare Workers: the same app, with libSQL over HTTP (Turso).
 * The environment is parsed once per isolate; a bad one fails every request with a clear
 * message in the logs rather than half-working.
 *
 *  - fetch: the app;
 *  - queue: SEND_QUEUE messages `{ campaignId }`: work through the campaign's batches for a while,
 *    then hand over to a fresh message (the ledger makes any worker able to continue);
 *  - scheduled (Cron): every minute, start due scheduled campaigns, resume unfinished sends, send
 *    queued mail; daily, run retention (erase expired prospects);
 *  - email (Email Routing): the `mailto:` unsubscribe.
 */
import { createClient } from '@libsql/client/web';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/libsql/web';
import type { ExecutionContext } from 'hono';
import { createApp, type App } from './app.js';
import type { Db } from './db/client.js';
import * as schema from './db/schema.js';
import { createMailQueue, type MailQueue } from './email/dispatcher.js';
import { outboxMailer } from './email/outbox-mailer.js';
import { resendMailer } from './email/resend-mailer.js';
import { parseEnv, type WorkerEnv } from './env.js';
import { systemClock } from './lib/clock.js';
import { jsonLogger, type Logger } from './lib/logger.js';
import { runCampaign, type SenderDeps } from './sending/sender.js';
import { campaignsToWorkOn } from './sending/runner.js';
import { tokenBucket } from './sending/throttle.js';
import type { Services } from './domain/context.js';
import { handleInboundUnsubscribe } from './domain/privacy/inbound.js';
import { runRetention } from './domain/privacy/retention.js';
import { directHitSink } from './tracking/hits.js';
import { frozenLinksCache } from './tracking/links.js';

/** The daily Cron Trigger (wrangler.toml) that runs retention; the other one fires every minute. */
const RETENTION_CRON = '17 3 * * *';

/** What Cloudflare Email Routing hands the `email` handler (the parts we read). */
interface InboundEmail {
  from: string;
  to: string;
  headers: Headers;
  setReject(reason: string): void;
}

type Bindings = Record<string, unknown> & { SEND_QUEUE?: { send(body: unknown): Promise<void> } };

interface Runtime {
  app: App;
  env: WorkerEnv;
  db: Db;
  logger: Logger;
  mailQueue: MailQueue;
  sender: SenderDeps;
  services: Services;
}

let runtime: Runtime | undefined;

/** How long one queue invocation works on a campaign before passing the baton. */
const SLICE_MS = 20_000;

function build(bindings: Bindings, origin: string): Runtime {
  const env = parseEnv(bindings, 'worker');
  const client = createClient({ url: env.DATABASE_URL, authToken: env.DATABASE_AUTH_TOKEN });
  const db = drizzle(client, { schema });
  const logger = jsonLogger(env.LOG_LEVEL);
  // Without a Resend key (a preview deployment), mail goes to the outbox like locally.
  const mailer = env.RESEND_API_KEY ? resendMailer(env.RESEND_API_KEY, env.RESEND_BASE_URL) : outboxMailer(db, systemClock);
  const mailQueue = createMailQueue({ db, mailer, clock: systemClock, logger });
  const publicBaseUrl = env.PUBLIC_BASE_URL ?? origin;
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  const sender: SenderDeps = {
    db,
    mailer,
    clock: systemClock,
    logger,
    signingKeys: env.SIGNING_KEYS,
    publicBaseUrl,
    throttle: tokenBucket({ ratePerSecond: env.SEND_RATE, clock: systemClock, sleep }),
    sleep,
  };
  const services: Services = {
    db,
    mailer,
    mailQueue,
    sendQueue: {
      kick(campaignId: string) {
        if (!bindings.SEND_QUEUE) return logger.error('SEND_QUEUE binding missing: the Cron Trigger will start this send', { campaignId });
        void bindings.SEND_QUEUE.send({ campaignId }).catch((error: unknown) => logger.error('enqueue failed', { campaignId, error: String(error) }));
      },
    },
    clock: systemClock,
    logger,
    signingKeys: env.SIGNING_KEYS,
    publicBaseUrl,
  };
  const app = createApp({
    ...services,
    runtime: 'worker',
    demo: false,
    clientIp: (c) => c.req.header('cf-connecting-ip'),
    hits: directHitSink(db, logger),
    frozenLinks: frozenLinksCache(db),
    resendWebhookSecret: env.RESEND_WEBHOOK_SECRET,
    pingDatabase: async () => {
      await db.run(sql`SELECT 1`);
    },
  });
  return { app, env, db, logger, mailQueue, sender, services };
}

function get(bindings: Bindings, origin = 'http://localhost'): Runtime {
  runtime ??= build(bindings, origin);
  return runtime;
}

export default {
  fetch(request: Request, env: Bindings, ctx: ExecutionContext): Response | Promise<Response> {
    return get(env, new URL(request.url).origin).app.fetch(request, env, ctx);
  },

  async queue(batch: { messages: { body: unknown; ack(): void; retry(): void }[] }, env: Bindings): Promise<void> {
    const rt = get(env);
    for (const message of batch.messages) {
      const campaignId = (message.body as { campaignId?: unknown })?.campaignId;
      if (typeof campaignId !== 'string') {
        message.ack();
        continue;
      }
      const deadline = Date.now() + SLICE_MS;
      try {
        const outcome = await runCampaign(rt.sender, campaignId, () => Date.now() > deadline);
        // Not finished within the slice: a new message continues from the ledger.
        if (outcome === 'stopped') await env.SEND_QUEUE?.send({ campaignId });
        message.ack();
      } catch (error) {
        rt.logger.error('send slice failed', { campaignId, error: String(error) });
        message.retry();
      }
    }
  },

  /**
   * Email Routing delivers `unsubscribe@<sending domain>` here: the `mailto:` of List-Unsubscribe
   * (RFC 2369). The subject carries the signed token (src/domain/privacy/inbound.ts).
   */
  async email(message: InboundEmail, env: Bindings): Promise<void> {
    const rt = get(env);
    const outcome = await handleInboundUnsubscribe({ ...rt.services, requestId: crypto.randomUUID() }, { from: message.from, subject: message.headers.get('subject') ?? '' });
    rt.logger.info('inbound unsubscribe', { outcome });
    // Tell the sender when the message could not be matched, as a mail server would.
    if (outcome === 'no_token' || outcome === 'invalid_token') message.setReject('No valid unsubscribe token in the subject; use the link in the email instead.');
  },

  async scheduled(event: { cron?: string }, env: Bindings, ctx: ExecutionContext): Promise<void> {
    const rt = get(env);
    if (event.cron === RETENTION_CRON) {
      ctx.waitUntil(
        runRetention(rt.db, systemClock.now()).then((reports) => rt.logger.info('retention', { erased: reports.reduce((n, r) => n + r.erased, 0) })),
      );
      return;
    }
    ctx.waitUntil(
      (async () => {
        for (const campaignId of await campaignsToWorkOn(rt.sender)) await env.SEND_QUEUE?.send({ campaignId });
        rt.mailQueue.kick();
        await rt.mailQueue.drain();
      })(),
    );
  },
};
