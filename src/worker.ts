/**
 * Production entry on Cloudflare Workers: the same app, with libSQL over HTTP (Turso).
 * The environment is parsed once per isolate; a bad one fails every request with a clear
 * message in the logs rather than half-working.
 *
 *  - fetch: the app. Work a request starts but does not wait for (the confirmation email after a
 *    capture, the Queue message after "send now") is handed to `waitUntil`, or the isolate could
 *    drop it once the response is out;
 *  - queue: SEND_QUEUE messages `{ campaignId }`. One consumer per campaign at a time (a lease in
 *    the database, src/sending/lease.ts); it works through batches for a slice, then hands over to
 *    a fresh message. A slice that throws is retried by the Queue, then dead-lettered;
 *  - scheduled (Cron): every minute, start due scheduled campaigns, re-enqueue unfinished sends
 *    nobody holds, send queued platform mail; daily, retention and housekeeping;
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
import { handOverSendLease, releaseSendLease, takeSendLease } from './sending/lease.js';
import { tokenBucket } from './sending/throttle.js';
import type { Services } from './domain/context.js';
import { handleInboundUnsubscribe } from './domain/privacy/inbound.js';
import { runRetention } from './domain/privacy/retention.js';
import { runHousekeeping } from './domain/housekeeping.js';
import { directHitSink } from './tracking/hits.js';
import { frozenLinksCache } from './tracking/links.js';

/** The daily Cron Trigger (wrangler.toml) that runs retention; the other one fires every minute. */
const DAILY_CRON = '17 3 * * *';

/** How long one queue invocation works on a campaign before passing the baton (consumers may run 15 min; short slices share the one consumer between campaigns). */
const SLICE_MS = 20_000;

/** What Cloudflare Email Routing hands the `email` handler (the parts we read). */
interface InboundEmail {
  from: string;
  to: string;
  headers: Headers;
  /** Synchronous in production; awaited because local workerd only reports a rejection once it settles. */
  setReject(reason: string): void | Promise<void>;
}

interface QueueMessage {
  id: string;
  body: unknown;
  attempts: number;
  ack(): void;
  retry(): void;
}

/** `lease`: the token a slice hands to its follow-up message (src/sending/lease.ts). */
interface SendQueue {
  send(body: { campaignId: string; lease?: number }): Promise<void>;
}

type Bindings = Record<string, unknown> & { SEND_QUEUE?: SendQueue };

interface Runtime {
  app: App;
  env: WorkerEnv;
  db: Db;
  logger: Logger;
  mailQueue: MailQueue;
  sender: SenderDeps;
  services: Services;
  /** Work started during a request and not awaited by it; the fetch handler hands it to waitUntil. */
  background: Set<Promise<unknown>>;
}

let runtime: Runtime | undefined;

function build(bindings: Bindings): Runtime {
  const env = parseEnv(bindings, 'worker');
  const client = createClient({ url: env.DATABASE_URL, authToken: env.DATABASE_AUTH_TOKEN });
  const db = drizzle(client, { schema });
  const logger = jsonLogger(env.LOG_LEVEL);
  const background = new Set<Promise<unknown>>();
  const inBackground = (work: Promise<unknown>) => {
    const tracked = work.catch((error: unknown) => logger.error('background work failed', { error })).finally(() => background.delete(tracked));
    background.add(tracked);
  };
  // Without a Resend key (a preview deployment), mail goes to the outbox like locally.
  const mailer = env.RESEND_API_KEY ? resendMailer(env.RESEND_API_KEY, env.RESEND_BASE_URL) : outboxMailer(db, systemClock);
  const dispatcher = createMailQueue({ db, mailer, clock: systemClock, logger });
  const mailQueue: MailQueue = {
    ...dispatcher,
    kick() {
      dispatcher.kick();
      inBackground(dispatcher.drain());
    },
  };
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  const sender: SenderDeps = {
    db,
    mailer,
    clock: systemClock,
    logger,
    signingKeys: env.SIGNING_KEYS,
    publicBaseUrl: env.PUBLIC_BASE_URL,
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
        inBackground(bindings.SEND_QUEUE.send({ campaignId }));
      },
    },
    clock: systemClock,
    logger,
    signingKeys: env.SIGNING_KEYS,
    publicBaseUrl: env.PUBLIC_BASE_URL,
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
  return { app, env, db, logger, mailQueue, sender, services, background };
}

function get(bindings: Bindings): Runtime {
  runtime ??= build(bindings);
  return runtime;
}

/** Keeps the isolate alive until the request's background work is done. */
function settleBackground(rt: Runtime, ctx: ExecutionContext): void {
  if (rt.background.size) ctx.waitUntil(Promise.allSettled([...rt.background]));
}

/**
 * One slice of a campaign send, under its lease. `token` is the lease handed over by the previous
 * slice. Throws (for the Queue to retry) only when the slice failed, after letting go of the lease.
 */
async function sendSlice(rt: Runtime, env: Bindings, campaignId: string, token: number | undefined): Promise<'worked' | 'held elsewhere'> {
  const lease = await takeSendLease(rt.db, campaignId, systemClock.now(), { token });
  if (!lease) return 'held elsewhere';
  const deadline = Date.now() + SLICE_MS;
  let outcome;
  try {
    outcome = await runCampaign(rt.sender, campaignId, () => Date.now() > deadline);
  } catch (error) {
    await releaseSendLease(rt.db, campaignId, lease);
    throw error;
  }
  if (outcome !== 'stopped') {
    await releaseSendLease(rt.db, campaignId, lease);
    return 'worked';
  }
  // Work left: a new message continues from the ledger, and the lease waits for it.
  const next = await handOverSendLease(rt.db, campaignId, lease, systemClock.now());
  if (next) await env.SEND_QUEUE?.send({ campaignId, lease: next.getTime() });
  return 'worked';
}

export default {
  async fetch(request: Request, env: Bindings, ctx: ExecutionContext): Promise<Response> {
    const rt = get(env);
    const response = await rt.app.fetch(request, env, ctx);
    settleBackground(rt, ctx);
    return response;
  },

  async queue(batch: { queue: string; messages: readonly QueueMessage[] }, env: Bindings, ctx: ExecutionContext): Promise<void> {
    const rt = get(env);
    if (batch.queue.endsWith('-dlq')) {
      // A slice failed on every retry (database or provider down for long). Nothing is lost: the
      // campaign is still `sending` in the ledger and the minute Cron re-enqueues it once its lease
      // has expired. This consumer only makes the failure loud.
      for (const message of batch.messages) {
        rt.logger.error('send slice dead-lettered; the Cron Trigger will resume this campaign', { body: message.body, attempts: message.attempts });
        message.ack();
      }
      return;
    }
    for (const message of batch.messages) {
      const body = message.body as { campaignId?: unknown; lease?: unknown } | null;
      const campaignId = body?.campaignId;
      if (typeof campaignId !== 'string') {
        rt.logger.warn('send message without a campaignId, dropped', { body: message.body });
        message.ack();
        continue;
      }
      try {
        const result = await sendSlice(rt, env, campaignId, typeof body?.lease === 'number' ? body.lease : undefined);
        // A duplicate (at-least-once delivery, or the Cron racing a kick): the holder carries on.
        if (result === 'held elsewhere') rt.logger.warn('campaign held by another slice; duplicate message dropped', { campaignId });
        message.ack();
      } catch (error) {
        rt.logger.error('send slice failed; the Queue retries it', { campaignId, attempts: message.attempts, error });
        message.retry();
      }
    }
    settleBackground(rt, ctx);
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
    if (outcome === 'no_token' || outcome === 'invalid_token') await message.setReject('No valid unsubscribe token in the subject; use the link in the email instead.');
  },

  async scheduled(event: { cron: string }, env: Bindings): Promise<void> {
    const rt = get(env);
    const now = systemClock.now();
    if (event.cron === DAILY_CRON) {
      // Storage limitation (CNIL: 3 years for prospects), then the technical tables.
      // Separately, so one failing does not stop the other (each throws for the Cron log).
      const [retention, housekeeping] = await Promise.allSettled([runRetention(rt.db, now), runHousekeeping(rt.db, now)]);
      if (retention.status === 'fulfilled') rt.logger.info('retention', { erased: retention.value.reduce((n, r) => n + r.erased, 0) });
      if (housekeeping.status === 'fulfilled') rt.logger.info('housekeeping', { ...housekeeping.value });
      const failed = [retention, housekeeping].filter((r) => r.status === 'rejected');
      if (failed.length) throw new AggregateError(failed.map((r) => r.reason), 'daily Cron failed');
      return;
    }
    const campaignIds = await campaignsToWorkOn(rt.sender, { unleasedOnly: true });
    for (const campaignId of campaignIds) await env.SEND_QUEUE?.send({ campaignId });
    if (campaignIds.length && !env.SEND_QUEUE) rt.logger.error('SEND_QUEUE binding missing: campaigns cannot be sent', { campaignIds });
    // Platform mail whose first attempt failed (retries with backoff) or was cut short.
    rt.mailQueue.kick();
    await rt.mailQueue.drain();
  },
};
