/**
 * Production entry on Cloudflare Workers: the same app, with libSQL over HTTP (Turso).
 * The environment is parsed once per isolate; a bad one fails every request with a clear
 * message in the logs rather than half-working.
 */
import { createClient } from '@libsql/client/web';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/libsql/web';
import type { ExecutionContext } from 'hono';
import { createApp, type App } from './app.js';
import * as schema from './db/schema.js';
import { createMailQueue } from './email/dispatcher.js';
import { outboxMailer } from './email/outbox-mailer.js';
import { resendMailer } from './email/resend-mailer.js';
import { parseEnv } from './env.js';
import { systemClock } from './lib/clock.js';
import { jsonLogger } from './lib/logger.js';

let app: App | undefined;

function build(bindings: Record<string, unknown>, requestUrl: string): App {
  const env = parseEnv(bindings, 'worker');
  const client = createClient({ url: env.DATABASE_URL, authToken: env.DATABASE_AUTH_TOKEN });
  const db = drizzle(client, { schema });
  const logger = jsonLogger(env.LOG_LEVEL);
  // Without a Resend key (a preview deployment), mail goes to the outbox like locally.
  const mailer = env.RESEND_API_KEY ? resendMailer(env.RESEND_API_KEY, env.RESEND_BASE_URL) : outboxMailer(db, systemClock);
  return createApp({
    db,
    mailer,
    // Kicked after each commit that queues mail; the Cron Trigger sweeps what is left (issue 9).
    mailQueue: createMailQueue({ db, mailer, clock: systemClock, logger }),
    clock: systemClock,
    logger,
    signingKeys: env.SIGNING_KEYS,
    publicBaseUrl: env.PUBLIC_BASE_URL ?? new URL(requestUrl).origin,
    runtime: 'worker',
    demo: false,
    clientIp: (c) => c.req.header('cf-connecting-ip'),
    pingDatabase: async () => {
      await db.run(sql`SELECT 1`);
    },
  });
}

export default {
  fetch(request: Request, env: Record<string, unknown>, ctx: ExecutionContext): Response | Promise<Response> {
    app ??= build(env, request.url);
    return app.fetch(request, env, ctx);
  },
};
