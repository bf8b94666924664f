/**
 * Resend timeouts and connection resets (issue 10, fault injection), through the real `resend`
 * SDK and our adapter (src/email/resend-mailer.ts) against the fake Resend on 127.0.0.1, which
 * can hang a request (no answer) or reset its connection, before or after accepting it, or still
 * be working on it when its retry arrives. The case that matters is the one where Resend did (or
 * is doing) the work and only its answer was lost: the retry must carry the same Idempotency-Key,
 * so the provider answers it from its first run (test/helpers/fake-resend.ts counts deliveries
 * with idempotent replay, as Resend does), and a `409 concurrent_idempotent_requests` ("still in
 * progress, try again later") must be retried later, not taken for a refusal.
 * A campaign and a platform email (the double opt-in confirmation) each go through all of it:
 * no duplicate, nobody lost, nobody marked failed, the campaign ends `sent`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailerError } from '../../src/email/mailer.js';
import { resendMailer } from '../../src/email/resend-mailer.js';
import { starterTemplates } from '../../src/email/templates.generated.js';
import { seedAudience } from '../helpers/audience.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { makeScripts, unique } from '../helpers/factories.js';
import { startFakeResend, type FakeResend } from '../helpers/fake-resend.js';

/**
 * Short, so a hang costs the test a moment (production uses RESEND_TIMEOUT_MS), yet far above
 * what the fake on loopback takes to answer even on a loaded 2-core machine. Should a normal
 * answer still come late, that is one more retry under the same key: the faults below are aimed
 * at one batch each (`failNext(…, forKey)`), leaving it most of its attempts, and the
 * assertions count deliveries, not requests.
 */
const TIMEOUT_MS = 2_000;

let fake: FakeResend;
let t: TestApp;
beforeAll(async () => {
  fake = await startFakeResend();
  // Backoff between retries moves the test clock, not the real one.
  t = await createTestApp({ mailer: () => resendMailer('re_test_key', fake.url, { timeoutMs: TIMEOUT_MS }), sleep: async () => {} });
});
afterAll(async () => {
  t.dispose();
  await fake.close();
});

const email = (to: string) => ({ from: '"Brand" <news@brand.test>', to, subject: 'Bonjour', html: '<p>Bonjour</p>', text: 'Bonjour' });

/** A campaign on `size` seeded recipients, ready to send to all of them. */
async function campaignFor(size: number) {
  const team = await t.workspaceWithTeam();
  await seedAudience(t.client, team.workspace.id, size);
  const segment = (await (await t.request('/api/v1/segments', { method: 'POST', token: team.marketer.token, json: { name: 'Tous', rules: { match: 'all', conditions: [] } } })).json()) as { id: string };
  const campaign = (await (await t.request('/api/v1/campaigns', { method: 'POST', token: team.marketer.token, json: { name: 'Rome', templateId: starterTemplates[0].id } })).json()) as { id: string };
  const send = () => t.request(`/api/v1/campaigns/${campaign.id}/send`, { method: 'POST', token: team.marketer.token, json: { segmentId: segment.id } });
  const progress = async () => (await (await t.request(`/api/v1/campaigns/${campaign.id}/progress`, { token: team.marketer.token })).json()) as Record<string, unknown>;
  const suffix = `@${team.workspace.id.slice(-6)}.example`;
  const delivered = () => fake.delivered.filter((d) => String(d.to).endsWith(suffix));
  const requests = () => fake.requests.filter((r) => r.idempotencyKey?.startsWith(`${campaign.id}:`));
  return { team, campaign, send, progress, delivered, requests };
}

/** Everyone mailed once, nobody failed, the ids stored are those of the one delivery each. */
async function expectSentOnce(c: Awaited<ReturnType<typeof campaignFor>>, size: number) {
  const delivered = c.delivered();
  expect(delivered).toHaveLength(size);
  expect(new Set(delivered.map((d) => String(d.to))).size).toBe(size);
  expect(await c.progress()).toMatchObject({ status: 'sent', total: size, sent: size, failed: 0, queued: 0 });
  // Resend's webhooks name the provider id: it must be that of the delivery that happened.
  const stored = await t.client.execute({ sql: 'SELECT provider_id FROM sends WHERE campaign_id = ? ORDER BY id', args: [c.campaign.id] });
  expect(stored.rows.map((r) => r.provider_id).sort()).toEqual(delivered.map((d) => d.id).sort());
  // Every retry of a batch was the same request, byte for byte (else Resend answers 409 invalid_idempotent_request).
  for (const key of new Set(c.requests().map((r) => r.idempotencyKey))) {
    expect(new Set(c.requests().filter((r) => r.idempotencyKey === key).map((r) => JSON.stringify(r.emails))).size, key).toBe(1);
  }
  expect(fake.conflicts.filter((x) => x.idempotencyKey.startsWith(`${c.campaign.id}:`) && x.name === 'invalid_idempotent_request')).toEqual([]);
}

describe('the Resend adapter', () => {
  it('gives up on a request Resend never answers, after its timeout, as a retryable error (the SDK itself would wait on)', async () => {
    const mailer = resendMailer('re_test_key', fake.url, { timeoutMs: TIMEOUT_MS });
    // Accepted, and the answer comes only long after the timeout: ignored when it comes.
    const key = unique('late');
    fake.failNext({ network: 'hang', accepted: true, answerAfterMs: TIMEOUT_MS * 3 });
    const hung = await mailer.sendBatch([email('late@example.test')], { idempotencyKey: key }).catch((e: unknown) => e);
    expect(hung).toBeInstanceOf(MailerError);
    expect(hung).toMatchObject({ status: null, retryable: true, message: `Resend network timeout: no answer within ${TIMEOUT_MS} ms` });
    // The retry with the same key is answered from the first run.
    const { ids } = await mailer.sendBatch([email('late@example.test')], { idempotencyKey: key });
    expect(fake.delivered.filter((d) => d.to === 'late@example.test').map((d) => d.id)).toEqual(ids);

    fake.failNext({ network: 'reset' });
    const reset = await mailer.send(email('reset@example.test'), { idempotencyKey: unique('k') }).catch((e: unknown) => e);
    expect(reset).toBeInstanceOf(MailerError);
    expect(reset).toMatchObject({ status: null, retryable: true });
    expect((reset as Error).message).not.toContain('timeout');
  });
});

describe('a campaign send', () => {
  it('survives hangs and resets, before and after Resend accepted the batch: same key on every retry, everyone mailed once, campaign sent', async () => {
    const c = await campaignFor(250);
    const [one, two] = [1, 2].map((b) => `${c.campaign.id}:${b}`) as [string, string];
    // Batch 1: accepted then the answer hangs; accepted (a replay now) then the connection
    // resets; then an answer. Batch 2: hangs unseen; resets unseen; then an answer.
    fake.failNext({ network: 'hang', accepted: true }, 1, one);
    fake.failNext({ network: 'reset', accepted: true }, 1, one);
    fake.failNext({ network: 'hang' }, 1, two);
    fake.failNext({ network: 'reset' }, 1, two);
    expect((await c.send()).status).toBe(200);

    const keys = c.requests().map((r) => r.idempotencyKey);
    expect([...new Set(keys)]).toEqual([1, 2, 3].map((b) => `${c.campaign.id}:${b}`));
    // Each faulty batch was sent again under its key until answered (at least three times).
    expect(keys.filter((k) => k === one).length).toBeGreaterThanOrEqual(3);
    expect(keys.filter((k) => k === two).length).toBeGreaterThanOrEqual(3);
    await expectSentOnce(c, 250);
  });

  it('retries a batch Resend was still processing when the retry came (409 concurrent_idempotent_requests) once Resend is done: sent once, nobody failed', async () => {
    const c = await campaignFor(150);
    const one = `${c.campaign.id}:1`;
    // Batch 1 is still being processed when our timeout gives up on it; the immediate retry
    // finds it in progress (409 concurrent); by the next, Resend is done and answers from it.
    fake.failNext({ network: 'slow' }, 1, one);
    const before = t.clock.now().getTime();
    expect((await c.send()).status).toBe(200);

    expect(fake.conflicts.filter((x) => x.idempotencyKey === one)).toEqual([{ idempotencyKey: one, name: 'concurrent_idempotent_requests' }]);
    expect(c.requests().filter((r) => r.idempotencyKey === one).length).toBeGreaterThanOrEqual(3);
    // Retried no sooner than Resend can be expected to be done (the adapter's 5 s, as Resend
    // sends no Retry-After with this 409): on the test clock, which backoff moves.
    expect(t.clock.now().getTime() - before).toBeGreaterThanOrEqual(5_000);
    // Taking the 409 for a refusal would have marked these 100 failed although Resend mailed them.
    await expectSentOnce(c, 150);
  });
});

describe('platform email', () => {
  async function capture(scripts: Awaited<ReturnType<typeof makeScripts>>, token: string, to: string) {
    return t.request('/api/v1/consents', {
      method: 'POST',
      token,
      json: {
        contact: { email: to },
        call: { ref: unique('CALL'), basis: 'inbound_call' },
        answers: [
          { purpose: 'newsletter', answer: 'granted', scriptId: scripts.newsletter.id },
          { purpose: 'open_tracking', answer: 'refused', scriptId: scripts.open_tracking.id },
        ],
      },
    });
  }
  const row = async (to: string) =>
    (await t.client.execute({ sql: `SELECT idempotency_key, sent_at, failed_at, attempts, last_error, provider_id, next_attempt_at FROM email_queue WHERE json_extract(message, '$.to') = ?`, args: [to] })).rows[0]!;
  /** The queue's next run, once its backoff is over. */
  async function nextRun() {
    t.clock.advance(10 * 60_000);
    t.deps.mailQueue.kick();
    await t.deps.mailQueue.drain();
  }

  it('a confirmation email whose request hangs or resets after Resend accepted it is retried with its key and arrives once', async () => {
    const team = await t.workspaceWithTeam();
    const scripts = await makeScripts(t.db, team.workspace);
    for (const fault of [{ network: 'hang', accepted: true }, { network: 'reset', accepted: true }, { network: 'hang' }, { network: 'reset' }] as const) {
      const to = `${unique('lead')}@example.test`;
      fake.failNext(fault);
      expect((await capture(scripts, team.agent.token, to)).status).toBe(201);
      // The first attempt failed; the queue holds the message for a retry, with the reason.
      expect(await row(to)).toMatchObject({ sent_at: null, failed_at: null, attempts: 1, last_error: expect.stringMatching(fault.network === 'hang' ? /timeout/ : /network/) });

      // The queue tries again after its backoff (twice at most here, should a retry itself be slow).
      for (let i = 0; i < 3 && (await row(to)).sent_at === null; i++) await nextRun();
      const sent = await row(to);
      expect(sent.sent_at).not.toBeNull();
      const attempts = fake.requests.filter((r) => r.idempotencyKey === sent.idempotency_key);
      expect(attempts.length).toBeGreaterThanOrEqual(2);
      expect(new Set(attempts.map((r) => JSON.stringify(r.emails))).size).toBe(1);
      const copies = fake.delivered.filter((d) => d.to === to);
      expect(copies.map((d) => d.id), JSON.stringify(fault)).toEqual([sent.provider_id]);
    }
  });

  it('a confirmation email Resend is still processing when the queue retries it (409 concurrent) is retried after Resend is done, not marked failed', async () => {
    const team = await t.workspaceWithTeam();
    const scripts = await makeScripts(t.db, team.workspace);
    const to = `${unique('lead')}@example.test`;
    fake.failNext({ network: 'slow' });
    expect((await capture(scripts, team.agent.token, to)).status).toBe(201);
    expect(await row(to)).toMatchObject({ sent_at: null, failed_at: null, attempts: 1, last_error: expect.stringMatching(/timeout/) });
    const key = String((await row(to)).idempotency_key);

    // The retry finds the first request still in progress: kept for later, not given up.
    await nextRun();
    const busy = await row(to);
    expect(busy).toMatchObject({ sent_at: null, failed_at: null, attempts: 2, last_error: expect.stringContaining('409 concurrent_idempotent_requests') });
    expect(fake.conflicts.filter((x) => x.idempotencyKey === key)).toEqual([{ idempotencyKey: key, name: 'concurrent_idempotent_requests' }]);
    // No sooner than the adapter's 5 s (the queue's own backoff after 2 attempts is 2 to 4 s).
    expect(Number(busy.next_attempt_at) - t.clock.now().getTime()).toBeGreaterThanOrEqual(5_000);

    // Resend is done by now: the next retry is answered from the first request.
    for (let i = 0; i < 3 && (await row(to)).sent_at === null; i++) await nextRun();
    const sent = await row(to);
    expect(sent).toMatchObject({ failed_at: null, sent_at: expect.anything() });
    expect(fake.delivered.filter((d) => d.to === to).map((d) => d.id)).toEqual([sent.provider_id]);
    expect(fake.requests.filter((r) => r.idempotencyKey === key).length).toBeGreaterThanOrEqual(3);
  });
});
