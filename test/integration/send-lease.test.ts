/**
 * One worker per campaign send on Workers (src/sending/lease.ts): Queues deliver at least once and
 * the Cron re-enqueues, so the lease is what keeps two consumers off the same campaign; and the
 * Cron must not re-enqueue a campaign someone holds, but must once the holder died (lease expired).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaignsToWorkOn } from '../../src/sending/runner.js';
import { handOverSendLease, releaseSendLease, SEND_LEASE_MS, takeSendLease } from '../../src/sending/lease.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.dispose());

async function campaignIn(status: string): Promise<string> {
  const team = await t.workspaceWithTeam();
  const created = await t.request('/api/v1/campaigns', { method: 'POST', token: team.marketer.token, json: { name: 'Lease', templateId: 'voyage-online-starter' } });
  const { id } = (await created.json()) as { id: string };
  await t.client.execute({ sql: 'UPDATE campaigns SET status = ? WHERE id = ?', args: [status, id] });
  return id;
}

describe('send lease', () => {
  it('lets one worker hold a sending campaign until it releases it', async () => {
    const id = await campaignIn('sending');
    const now = t.clock.now();
    const lease = await takeSendLease(t.db, id, now);
    expect(lease).toEqual(new Date(now.getTime() + SEND_LEASE_MS));
    expect(await takeSendLease(t.db, id, now)).toBeNull();
    // Releasing someone else's lease does nothing.
    await releaseSendLease(t.db, id, new Date(0));
    expect(await takeSendLease(t.db, id, now)).toBeNull();
    await releaseSendLease(t.db, id, lease!);
    // Concurrent takers: exactly one wins.
    const takers = await Promise.all(Array.from({ length: 5 }, () => takeSendLease(t.db, id, now)));
    expect(takers.filter(Boolean)).toHaveLength(1);
  });

  it('hands the lease over to the follow-up message only: a duplicate message finds it held', async () => {
    const id = await campaignIn('sending');
    const now = t.clock.now();
    const first = (await takeSendLease(t.db, id, now))!;
    const later = new Date(now.getTime() + 20_000);
    const token = (await handOverSendLease(t.db, id, first, later))!;
    // The Cron or a duplicate delivery, without the token: dropped. The follow-up, with it: works.
    expect(await takeSendLease(t.db, id, later)).toBeNull();
    expect(await takeSendLease(t.db, id, later, { token: first.getTime() })).toBeNull();
    expect(await campaignsToWorkOn({ db: t.db, clock: { now: () => later } }, { unleasedOnly: true })).not.toContain(id);
    expect(await takeSendLease(t.db, id, later, { token: token.getTime() })).not.toBeNull();
    // A worker whose lease was taken over cannot hand it over any more.
    expect(await handOverSendLease(t.db, id, first, later)).toBeNull();
  });

  it('passes to another worker once a dead holder’s lease expires', async () => {
    const id = await campaignIn('sending');
    const now = t.clock.now();
    expect(await takeSendLease(t.db, id, now)).not.toBeNull();
    expect(await takeSendLease(t.db, id, new Date(now.getTime() + SEND_LEASE_MS - 1))).toBeNull();
    expect(await takeSendLease(t.db, id, new Date(now.getTime() + SEND_LEASE_MS))).not.toBeNull();
  });

  it('is never taken on a campaign that is not sending', async () => {
    for (const status of ['draft', 'paused', 'sent', 'cancelled']) expect(await takeSendLease(t.db, await campaignIn(status), t.clock.now())).toBeNull();
  });

  it('the Workers Cron lists only sending campaigns nobody holds', async () => {
    const held = await campaignIn('sending');
    const free = await campaignIn('sending');
    await takeSendLease(t.db, held, t.clock.now());
    const all = await campaignsToWorkOn({ db: t.db, clock: t.clock });
    expect(all).toEqual(expect.arrayContaining([held, free]));
    const unleased = await campaignsToWorkOn({ db: t.db, clock: t.clock }, { unleasedOnly: true });
    expect(unleased).toContain(free);
    expect(unleased).not.toContain(held);
  });
});
