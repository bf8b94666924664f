/**
 * Campaign sends through the real `resend` SDK to a fake Resend on 127.0.0.1: batches and
 * headers as Resend receives them, retries with the same key, 429/5xx/422, pausing, consent
 * re-checked at claim time, lifecycle.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resendMailer } from '../../src/email/resend-mailer.js';
import { starterTemplates } from '../../src/email/templates.generated.js';
import { seedAudience } from '../helpers/audience.js';
import { createTestApp, errorOf, type TestApp } from '../helpers/app.js';
import { startFakeResend, type FakeResend } from '../helpers/fake-resend.js';

let fake: FakeResend;
let t: TestApp;
const sleeps: number[] = [];
beforeAll(async () => {
  fake = await startFakeResend();
  t = await createTestApp({
    mailer: () => resendMailer('re_test_key', fake.url),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
});
afterAll(async () => {
  t.dispose();
  await fake.close();
});

const everyone = { match: 'all', conditions: [] };

async function setup(recipients: number) {
  const team = await t.workspaceWithTeam();
  const ids = await seedAudience(t.client, team.workspace.id, recipients);
  const segment = (await (await t.request('/api/v1/segments', { method: 'POST', token: team.marketer.token, json: { name: 'Tous', rules: everyone } })).json()) as { id: string };
  const campaign = (await (await t.request('/api/v1/campaigns', { method: 'POST', token: team.marketer.token, json: { name: 'Rome', templateId: starterTemplates[0].id } })).json()) as { id: string };
  return { ...team, ids, segmentId: segment.id, campaignId: campaign.id };
}

type Progress = { status: string; total: number; sent: number; failed: number; suppressed: number; queued: number; statusReason: string | null };
const progress = async (s: Awaited<ReturnType<typeof setup>>) =>
  (await (await t.request(`/api/v1/campaigns/${s.campaignId}/progress`, { token: s.marketer.token })).json()) as Progress;
const send = (s: Awaited<ReturnType<typeof setup>>) => t.request(`/api/v1/campaigns/${s.campaignId}/send`, { method: 'POST', token: s.marketer.token, json: { segmentId: s.segmentId } });
const toOf = (s: Awaited<ReturnType<typeof setup>>) => (r: { to: string | string[] }) => String(r.to).endsWith(`@${s.workspace.id.slice(-6)}.example`);

describe('a send', () => {
  it('goes out in batches of at most 100 with the one-click headers, and ends sent', async () => {
    const s = await setup(230);
    const before = fake.requests.length;
    const res = await send(s);
    expect(res.status).toBe(200);
    const requests = fake.requests.slice(before).filter((r) => r.emails.some(toOf(s)));
    expect(requests.map((r) => [r.path, r.emails.length, r.idempotencyKey])).toEqual([
      ['/emails/batch', 100, `${s.campaignId}:1`],
      ['/emails/batch', 100, `${s.campaignId}:2`],
      ['/emails/batch', 30, `${s.campaignId}:3`],
    ]);
    const first = requests[0]!.emails[0]!;
    expect(first.from).toBe(`"${s.workspace.senderName}" <${s.workspace.senderEmail}>`);
    expect(first.headers!['List-Unsubscribe']).toMatch(/^<http:\/\/localhost\/u\/[\w.-]+>, <mailto:unsubscribe@[^?]+\?subject=unsubscribe%20[\w.-]+>$/);
    expect(first.headers!['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    expect(first.tags).toEqual([
      { name: 'campaign', value: s.campaignId },
      { name: 'batch', value: '1' },
    ]);
    expect(first.subject).toMatch(/^Prénom\d+, vos prochaines destinations avec Voyage Online$/);
    expect(first.html).toContain('Se désinscrire en un clic');
    // Everyone exactly once.
    const delivered = fake.delivered.filter(toOf(s)).map((d) => String(d.to));
    expect(delivered).toHaveLength(230);
    expect(new Set(delivered).size).toBe(230);
    expect(await progress(s)).toMatchObject({ status: 'sent', total: 230, sent: 230, failed: 0, suppressed: 0, queued: 0 });
  });

  it('reaches only people whose consent is granted (and confirmed) now, in this workspace', async () => {
    const s = await setup(3);
    await seedAudience(t.client, s.workspace.id, 2, { prefix: 'unconfirmed', confirmed: false });
    const withdrawn = await seedAudience(t.client, s.workspace.id, 1, { prefix: 'withdrawn' });
    await t.client.execute({ sql: "UPDATE consent_state SET status = 'withdrawn' WHERE contact_id = ?", args: [withdrawn[0]!] });
    const erased = await seedAudience(t.client, s.workspace.id, 1, { prefix: 'erased' });
    await t.client.execute({ sql: 'UPDATE contacts SET email = NULL, erased_at = 1 WHERE id = ?', args: [erased[0]!] });
    const other = await t.workspaceWithTeam();
    await seedAudience(t.client, other.workspace.id, 4);
    await send(s);
    expect(await progress(s)).toMatchObject({ status: 'sent', total: 3, sent: 3 });
  });

  it('retries a 5xx and a 429 with the same key, after the Retry-After, mailing each person once', async () => {
    const s = await setup(150);
    fake.failNext({ status: 503, name: 'internal_server_error', message: 'down' });
    fake.failNext({ status: 429, name: 'rate_limit_exceeded', message: 'slow down', headers: { 'retry-after': '3' } });
    sleeps.length = 0;
    const before = fake.requests.length;
    await send(s);
    const keys = fake.requests.slice(before).map((r) => r.idempotencyKey);
    expect(keys).toEqual([`${s.campaignId}:1`, `${s.campaignId}:1`, `${s.campaignId}:1`, `${s.campaignId}:2`]);
    expect(sleeps.some((ms) => ms >= 3000)).toBe(true);
    expect(fake.delivered.filter(toOf(s))).toHaveLength(150);
    expect(await progress(s)).toMatchObject({ status: 'sent', sent: 150 });
  });

  it('marks a batch the provider refuses (422) as failed with the reason, and goes on', async () => {
    const s = await setup(150);
    fake.failNext({ status: 422, name: 'validation_error', message: 'Invalid `from` field.' });
    await send(s);
    const p = await progress(s);
    expect(p).toMatchObject({ status: 'sent', sent: 50, failed: 100 });
    const failed = await t.client.execute({ sql: "SELECT DISTINCT error FROM sends WHERE campaign_id = ? AND status = 'failed'", args: [s.campaignId] });
    expect(String(failed.rows[0]?.error)).toContain('Invalid `from` field.');
  });

  it('pauses after five batches in a row fail, and says why', async () => {
    const s = await setup(700);
    fake.failNext({ status: 422, name: 'validation_error', message: 'Domain not verified.' }, 5);
    await send(s);
    const p = await progress(s);
    expect(p.status).toBe('paused');
    expect(p.statusReason).toContain('5 lots en échec');
    expect(p.statusReason).toContain('Domain not verified.');
    expect(p).toMatchObject({ failed: 500, sent: 0 });
    // Resumed once the cause is fixed, it finishes the rest.
    const resumed = await t.request(`/api/v1/campaigns/${s.campaignId}/resume`, { method: 'POST', token: s.marketer.token });
    expect(resumed.status).toBe(200);
    expect(await progress(s)).toMatchObject({ status: 'sent', sent: 200, failed: 500 });
  });

  it('does not mail someone who withdrew after the send started', async () => {
    const s = await setup(150);
    const latecomer = s.ids[140]!;
    // Withdraw right after the first batch is accepted by the provider.
    const originalSend = t.deps.mailer.sendBatch.bind(t.deps.mailer);
    let calls = 0;
    t.deps.mailer.sendBatch = async (emails, opts) => {
      const result = await originalSend(emails, opts);
      if (++calls === 1) await t.client.execute({ sql: "UPDATE consent_state SET status = 'withdrawn' WHERE contact_id = ?", args: [latecomer] });
      return result;
    };
    try {
      await send(s);
    } finally {
      t.deps.mailer.sendBatch = originalSend;
    }
    expect(await progress(s)).toMatchObject({ status: 'sent', sent: 149, suppressed: 1 });
    expect(fake.delivered.filter((d) => d.to === `r140@${s.workspace.id.slice(-6)}.example`)).toHaveLength(0);
  });
});

describe('lifecycle', () => {
  it('schedules, pauses, resumes and cancels, refusing impossible moves', async () => {
    const s = await setup(5);
    const post = (path: string, json?: unknown) => t.request(`/api/v1/campaigns/${s.campaignId}/${path}`, { method: 'POST', token: s.marketer.token, ...(json ? { json } : {}) });
    const past = await post('schedule', { segmentId: s.segmentId, at: '2020-01-01T00:00:00Z' });
    expect(past.status).toBe(400);
    const at = new Date(t.clock.now().getTime() + 3600_000).toISOString();
    expect((await post('schedule', { segmentId: s.segmentId, at })).status).toBe(200);
    expect((await post('resume')).status).toBe(409);
    expect((await post('pause')).status).toBe(200);
    expect((await post('resume')).status).toBe(200);
    expect((await progress(s)).status).toBe('scheduled');
    // Not due yet: the runner leaves it; an hour later it goes.
    await t.sendRunner.tick();
    await t.sendRunner.idle();
    expect((await progress(s)).status).toBe('scheduled');
    t.clock.advance(3600_000);
    await t.sendRunner.tick();
    await t.sendRunner.idle();
    expect(await progress(s)).toMatchObject({ status: 'sent', sent: 5 });
    expect((await post('cancel')).status).toBe(409);
    // Content is frozen once sent.
    expect((await t.request(`/api/v1/campaigns/${s.campaignId}`, { method: 'PATCH', token: s.marketer.token, json: { subject: 'x {{firstName|"y"}}' } })).status).toBe(409);
    const audit = (await (await t.request('/api/v1/audit-log', { token: s.admin.token })).json()) as { entries: { action: string }[] };
    expect(audit.entries.map((e) => e.action)).toEqual(expect.arrayContaining(['campaign.scheduled', 'campaign.paused', 'campaign.resumed']));
  });

  it('refuses an empty audience, a foreign segment, and agents', async () => {
    const s = await setup(0);
    const empty = await send(s);
    expect(empty.status).toBe(409);
    expect((await errorOf(empty)).code).toBe('empty_audience');
    const other = await setup(1);
    const foreign = await t.request(`/api/v1/campaigns/${s.campaignId}/send`, { method: 'POST', token: s.marketer.token, json: { segmentId: other.segmentId } });
    expect(foreign.status).toBe(400);
    expect((await t.request(`/api/v1/campaigns/${s.campaignId}/send`, { method: 'POST', token: s.agent.token, json: { segmentId: s.segmentId } })).status).toBe(403);
  });
});
