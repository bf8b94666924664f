import { describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.js';
import { tokenBucket } from '../../src/sending/throttle.js';

function bucket(rate: number) {
  const clock = fixedClock(new Date('2026-11-22T10:00:00Z'));
  const start = clock.now().getTime();
  const throttle = tokenBucket({ ratePerSecond: rate, clock, sleep: async (ms) => clock.advance(ms) });
  return { throttle, elapsed: () => clock.now().getTime() - start };
}

describe('token bucket', () => {
  it('allows a burst of one second, then paces at the rate', async () => {
    const { throttle, elapsed } = bucket(4);
    for (let i = 0; i < 4; i++) await throttle.take();
    expect(elapsed()).toBe(0);
    for (let i = 0; i < 4; i++) await throttle.take();
    expect(elapsed()).toBe(1000);
  });

  it('follows the limit the provider states, and waits a slot when none is left', async () => {
    const { throttle, elapsed } = bucket(100);
    throttle.observe({ limit: 2, remaining: 1, resetSeconds: 1 });
    await throttle.take();
    await throttle.take();
    await throttle.take();
    expect(elapsed()).toBe(500);
    throttle.observe({ limit: 2, remaining: 0, resetSeconds: 1 });
    const before = elapsed();
    await throttle.take();
    expect(elapsed() - before).toBeGreaterThanOrEqual(500);
  });

  it('holds everything for a Retry-After', async () => {
    const { throttle, elapsed } = bucket(10);
    throttle.holdFor(3000);
    await throttle.take();
    expect(elapsed()).toBeGreaterThanOrEqual(3000);
  });
});
