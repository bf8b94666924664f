/**
 * Sends the queued platform emails (table email_queue): claim up to 100 due rows in one
 * statement, hand each to the Mailer under its own idempotency key, mark them sent in one statement. Failures are retried with backoff (429/5xx) or
 * marked failed (other 4xx) with the reason. Claims expire, so rows claimed by a process that
 * died are picked up again; the queue's idempotency key makes such a resend harmless.
 *
 * `kick()` after a commit that queued mail; `drain()` waits until nothing is due (graceful
 * shutdown, tests); `sweep` intervals pick up retries.
 */
import { and, asc, eq, inArray, isNull, lt, lte, or, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../db/client.js';
import { emailQueue } from '../db/schema.js';
import type { Clock } from '../lib/clock.js';
import { newId } from '../lib/ids.js';
import type { Logger } from '../lib/logger.js';
import { MAX_BATCH, MailerError, type Mailer, type OutgoingEmail } from './mailer.js';

const CLAIM_MS = 60_000;
const MAX_ATTEMPTS = 8;

export interface MailQueue {
  /** Call inside the transaction that causes the email. */
  enqueue(tx: DbOrTx, message: OutgoingEmail, idempotencyKey: string): Promise<void>;
  /** Ask for a dispatch soon (after commit). Never throws. */
  kick(): void;
  /** Resolves when no dispatch is running and nothing is due. */
  drain(): Promise<void>;
  /** Dispatches once: returns how many were handled. */
  runOnce(): Promise<number>;
}

export function createMailQueue(deps: { db: Db; mailer: Mailer; clock: Clock; logger: Logger }): MailQueue {
  const { db, mailer, clock, logger } = deps;
  let running: Promise<void> | null = null;
  let again = false;

  async function runOnce(): Promise<number> {
    const now = clock.now();
    // One statement claims the batch atomically: two dispatchers never take the same row.
    const due = db
      .select({ id: emailQueue.id })
      .from(emailQueue)
      .where(and(isNull(emailQueue.sentAt), isNull(emailQueue.failedAt), lte(emailQueue.nextAttemptAt, now), or(isNull(emailQueue.claimedUntil), lt(emailQueue.claimedUntil, now))))
      .orderBy(asc(emailQueue.nextAttemptAt))
      .limit(MAX_BATCH);
    const claimed = await db
      .update(emailQueue)
      .set({ claimedUntil: new Date(now.getTime() + CLAIM_MS) })
      .where(inArray(emailQueue.id, due))
      .returning();
    if (claimed.length === 0) return 0;

    // One statement for the whole batch, whatever its size.
    const markSent = async (rows: typeof claimed, ids: string[]) => {
      const providerId = sql.join([sql`CASE ${emailQueue.id}`, ...rows.map((r, i) => sql`WHEN ${r.id} THEN ${ids[i] ?? null}`), sql`END`], sql` `);
      await db
        .update(emailQueue)
        .set({ sentAt: clock.now(), providerId, claimedUntil: null })
        .where(inArray(emailQueue.id, rows.map((r) => r.id)));
    };
    const markFailed = async (row: (typeof claimed)[number], error: unknown) => {
      const retryable = !(error instanceof MailerError) || error.retryable;
      const attempts = row.attempts + 1;
      const give_up = !retryable || attempts >= MAX_ATTEMPTS;
      // Exponential backoff with jitter, at least what the provider asked (Retry-After).
      const asked = error instanceof MailerError && error.retryAfterSeconds !== null ? error.retryAfterSeconds * 1000 : 0;
      const delay = Math.max(asked, 2 ** attempts * 1000 * (0.5 + Math.random() / 2));
      await db
        .update(emailQueue)
        .set({
          attempts,
          claimedUntil: null,
          lastError: String(error instanceof Error ? error.message : error).slice(0, 500),
          ...(give_up ? { failedAt: clock.now() } : { nextAttemptAt: new Date(clock.now().getTime() + delay) }),
        })
        .where(eq(emailQueue.id, row.id));
      logger[give_up ? 'error' : 'warn']('platform email not sent', { id: row.id, attempts, retryable, error });
    };

    // One request per message, each under its own key: whatever happens (a timeout after the
    // provider accepted, a crash before we marked it), a retry is the same request and sends once.
    const sent: (typeof claimed)[number][] = [];
    const ids: string[] = [];
    for (const row of claimed) {
      try {
        const { id } = await mailer.send(row.message, { idempotencyKey: row.idempotencyKey });
        sent.push(row);
        ids.push(id);
      } catch (error) {
        await markFailed(row, error);
      }
    }
    if (sent.length) await markSent(sent, ids);
    return claimed.length;
  }

  async function loop() {
    do {
      again = false;
      try {
        while ((await runOnce()) > 0) {
          /* keep going while there is due mail */
        }
      } catch (error) {
        logger.error('mail dispatch failed', { error });
      }
    } while (again);
  }

  return {
    async enqueue(tx, message, idempotencyKey) {
      const now = clock.now();
      await tx
        .insert(emailQueue)
        .values({ id: newId('msg'), workspaceId: message.workspaceId ?? null, message, idempotencyKey, createdAt: now, nextAttemptAt: now })
        .onConflictDoNothing();
    },
    kick() {
      if (running) {
        again = true;
        return;
      }
      running = loop().finally(() => {
        running = null;
      });
    },
    async drain() {
      while (running) await running;
    },
    runOnce,
  };
}
