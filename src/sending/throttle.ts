/**
 * A token bucket for the provider's rate limit. It starts from a configured rate (Resend's
 * default is 2 requests per second per team) and defers to what the provider says: when a
 * response reports no requests left, the next one waits for the announced reset.
 */
import type { Clock } from '../lib/clock.js';
import type { RateLimitInfo } from '../email/mailer.js';

export interface Throttle {
  /** Resolves when one request may go. */
  take(): Promise<void>;
  /** Feed what the provider answered. */
  observe(info: RateLimitInfo | undefined): void;
  /** Hold everything for a while (a 429's Retry-After). */
  holdFor(ms: number): void;
}

export function tokenBucket(opts: { ratePerSecond: number; clock: Clock; sleep: (ms: number) => Promise<void> }): Throttle {
  const { clock, sleep } = opts;
  let ratePerSecond = opts.ratePerSecond;
  let capacity = Math.max(1, ratePerSecond);
  let tokens = capacity;
  let last = clock.now().getTime();
  let holdUntil = 0;
  const refill = () => {
    const now = clock.now().getTime();
    tokens = Math.min(capacity, tokens + ((now - last) / 1000) * ratePerSecond);
    last = now;
  };
  return {
    async take() {
      for (;;) {
        const now = clock.now().getTime();
        if (now < holdUntil) {
          await sleep(holdUntil - now);
          continue;
        }
        refill();
        if (tokens >= 1) {
          tokens -= 1;
          return;
        }
        await sleep(Math.ceil(((1 - tokens) / ratePerSecond) * 1000));
      }
    },
    observe(info) {
      if (!info) return;
      // The provider states its limit (per second at Resend): pace to it, whatever we started from.
      if (info.limit && info.limit !== ratePerSecond) {
        refill();
        ratePerSecond = info.limit;
        capacity = Math.max(1, ratePerSecond);
        tokens = Math.min(tokens, capacity);
      }
      // None left in this window: wait for the next slot. `ratelimit-reset` is whole seconds, so
      // waiting for it in full would idle most of a one-second window; a 429's Retry-After still
      // holds everything if we were too early.
      if (info.remaining === 0) this.holdFor(Math.min((info.resetSeconds ?? 1) * 1000, 1000 / ratePerSecond));
    },
    holdFor(ms) {
      holdUntil = Math.max(holdUntil, clock.now().getTime() + ms);
    },
  };
}
