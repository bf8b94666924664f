/**
 * The Node entry's in-process send runner: resumes campaigns left `sending` by a previous run,
 * starts scheduled campaigns when due, and runs each campaign's loop at most once at a time.
 * (On Workers, Cloudflare Queues and Cron Triggers play this part: src/worker.ts.)
 */
import { and, eq, lte } from 'drizzle-orm';
import { campaigns } from '../db/schema.js';
import { leaseIsFree } from './lease.js';
import { runCampaign, type SenderDeps } from './sender.js';

export interface SendRunner {
  /** Work on this campaign now (after send or resume). */
  kick(campaignId: string): void;
  /** Look for due scheduled campaigns and unfinished sends. */
  tick(): Promise<void>;
  start(intervalMs?: number): void;
  /** Finish the batches in flight, then stop. */
  stop(): Promise<void>;
  /** Resolves when no campaign loop is running. */
  idle(): Promise<void>;
}

/**
 * Starts scheduled campaigns that are due, and lists every campaign that has sending to do;
 * with `unleasedOnly`, only those no worker holds (src/sending/lease.ts: the Workers Cron).
 */
export async function campaignsToWorkOn(deps: Pick<SenderDeps, 'db' | 'clock'>, options: { unleasedOnly?: boolean } = {}): Promise<string[]> {
  const now = deps.clock.now();
  await deps.db
    .update(campaigns)
    .set({ status: 'sending', startedAt: now })
    .where(and(eq(campaigns.status, 'scheduled'), lte(campaigns.scheduledAt, now)));
  const sending = await deps.db.select({ id: campaigns.id, lease: campaigns.sendLeaseUntil }).from(campaigns).where(eq(campaigns.status, 'sending'));
  return sending.filter((c) => !options.unleasedOnly || leaseIsFree(c.lease, now)).map((c) => c.id);
}

export function createSendRunner(deps: SenderDeps): SendRunner {
  const running = new Map<string, Promise<unknown>>();
  let timer: ReturnType<typeof setInterval> | undefined;
  let stopping = false;

  const kick = (campaignId: string) => {
    if (stopping || running.has(campaignId)) return;
    const loop = runCampaign(deps, campaignId, () => stopping)
      .catch((error: unknown) => deps.logger.error('send loop failed', { campaignId, error }))
      .finally(() => running.delete(campaignId));
    running.set(campaignId, loop);
  };

  const tick = async () => {
    for (const id of await campaignsToWorkOn(deps)) kick(id);
  };

  return {
    kick,
    tick,
    start(intervalMs = 5000) {
      void tick().catch((error: unknown) => deps.logger.error('send runner tick failed', { error }));
      timer = setInterval(() => void tick().catch((error: unknown) => deps.logger.error('send runner tick failed', { error })), intervalMs);
      timer.unref?.();
    },
    async stop() {
      stopping = true;
      if (timer) clearInterval(timer);
      await Promise.allSettled([...running.values()]);
    },
    async idle() {
      while (running.size) await Promise.allSettled([...running.values()]);
    },
  };
}
