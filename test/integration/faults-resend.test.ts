/**
 * Resend timeouts and connection resets (issue 10, fault injection), through the real `resend`
 * SDK and our adapter (src/email/resend-mailer.ts) against the fake Resend on 127.0.0.1, which
 * can hang a request (no answer) or reset its connection, before or after accepting it. The
 * case that matters is the one where Resend did the work and only its answer was lost: the retry
 * must carry the same Idempotency-Key, so the provider answers it from its first run
 * (test/helpers/fake-resend.ts counts deliveries with idempotent replay, as Resend does).
 * A campaign and a platform email (the double opt-in confirmation) each go through hangs and
 * resets: no duplicate, nobody lost, the campaign ends `sent`.
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
 * Short, so a hang costs the test a moment (production uses RESEND_TIMEOUT_MS). On a loaded
 * machine a normal answer may take longer too: that is one more retry under the same key, which
 * the assertions below allow (they count deliveries, not requests).
 */
const TIMEOUT_MS = 600;

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

describe('the Resend adapter', () => {
  it('gives up on a request Resend never answers, after its timeout, as a retryable error (the SDK itself would wait on)', async () => {
    const mailer = resendMailer('re_test_key', fake.url, { timeoutMs: TIMEOUT_MS });
    fake.failNext({ network: 'hang' });
    const hung = await mailer.sendBatch([email('hang@example.test')], { idempotencyKey: unique('k') }).catch((e: unknown) => e);
    expect(hung).toBeInstanceOf(MailerError);
    expect(hung).toMatchObject({ status: null, retryable: true, message: `Resend network timeout: no answer within ${TIMEOUT_MS} ms` });

    fake.failNext({ network: 'reset' });
    const reset = await mailer.send(email('reset@example.test'), { idempotencyKey: unique('k') }).catch((e: unknown) => e);
    expect(reset).toBeInstanceOf(MailerError);
    expect(reset).toMatchObject({ status: null, retryable: true });
    expect((reset as Error).message).not.toContain('timeout');

    // A late answer arriving after the timeout is ignored; the retry with the same key is answered from the first run.
    const key = unique('late');
    fake.failNext({ network: 'hang', accepted: true, answerAfterMs: TIMEOUT_MS * 3 });
    await expect(mailer.send(email('late@example.test'), { idempotencyKey: key })).rejects.toMatchObject({ retryable: true });
    const { id } = await mailer.send(email('late@example.test'), { idempotencyKey: key });
    expect(fake.delivered.filter((d) => d.to === 'late@example.test').map((d) => d.id)).toEqual([id]);
  });
});

describe('a campaign send', () => {
  it('survives hangs and resets, before and after Resend accepted the batch: same key on every retry, everyone mailed once, campaign sent', async () => {
    const team = await t.workspaceWithTeam();
    await seedAudience(t.client, team.workspace.id, 250);
    const segment = (await (await t.request('/api/v1/segments', { method: 'POST', token: team.marketer.token, json: { name: 'Tous', rules: { match: 'all', conditions: [] } } })).json()) as { id: string };
    const campaign = (await (await t.request('/api/v1/campaigns', { method: 'POST', token: team.marketer.token, json: { name: 'Rome', templateId: starterTemplates[0].id } })).json()) as { id: string };
    const before = fake.requests.length;
    // The first batch's first five attempts: accepted then the answer hangs; accepted (a
    // replay now) then the connection resets; hangs unseen; resets unseen; then an answer.
    fake.failNext({ network: 'hang', accepted: true });
    fake.failNext({ network: 'reset', accepted: true });
    fake.failNext({ network: 'hang' });
    fake.failNext({ network: 'reset' });
    const res = await t.request(`/api/v1/campaigns/${campaign.id}/send`, { method: 'POST', token: team.marketer.token, json: { segmentId: segment.id } });
    expect(res.status).toBe(200);

    const requests = fake.requests.slice(before).filter((r) => r.idempotencyKey?.startsWith(`${campaign.id}:`));
    // Batch 1 five times (one batch in flight at a time in test apps), then batches 2 and 3.
    expect(requests.slice(0, 5).map((r) => r.idempotencyKey)).toEqual(Array(5).fill(`${campaign.id}:1`));
    expect([...new Set(requests.map((r) => r.idempotencyKey))]).toEqual([1, 2, 3].map((b) => `${campaign.id}:${b}`));
    // Every retry of a batch was the same request, byte for byte (else Resend answers 409).
    for (const b of [1, 2, 3]) expect(new Set(requests.filter((r) => r.idempotencyKey === `${campaign.id}:${b}`).map((r) => JSON.stringify(r.emails))).size).toBe(1);

    const suffix = `@${team.workspace.id.slice(-6)}.example`;
    const delivered = fake.delivered.filter((d) => String(d.to).endsWith(suffix));
    expect(delivered).toHaveLength(250);
    expect(new Set(delivered.map((d) => String(d.to))).size).toBe(250);
    const progress = (await (await t.request(`/api/v1/campaigns/${campaign.id}/progress`, { token: team.marketer.token })).json()) as Record<string, unknown>;
    expect(progress).toMatchObject({ status: 'sent', total: 250, sent: 250, failed: 0, queued: 0 });
    // The provider ids stored are those of the delivery that happened, so Resend's webhooks find their send.
    const stored = await t.client.execute({ sql: 'SELECT provider_id FROM sends WHERE campaign_id = ? ORDER BY id', args: [campaign.id] });
    expect(stored.rows.map((r) => r.provider_id).sort()).toEqual(delivered.map((d) => d.id).sort());
  });
});

describe('platform email', () => {
  it('a confirmation email whose request hangs or resets after Resend accepted it is retried with its key and arrives once', async () => {
    const team = await t.workspaceWithTeam();
    const scripts = await makeScripts(t.db, team.workspace);
    for (const fault of [{ network: 'hang', accepted: true }, { network: 'reset', accepted: true }, { network: 'hang' }, { network: 'reset' }] as const) {
      const to = `${unique('lead')}@example.test`;
      fake.failNext(fault);
      const captured = await t.request('/api/v1/consents', {
        method: 'POST',
        token: team.agent.token,
        json: {
          contact: { email: to },
          call: { ref: unique('CALL'), basis: 'inbound_call' },
          answers: [
            { purpose: 'newsletter', answer: 'granted', scriptId: scripts.newsletter.id },
            { purpose: 'open_tracking', answer: 'refused', scriptId: scripts.open_tracking.id },
          ],
        },
      });
      expect(captured.status).toBe(201);
      const row = async () => (await t.client.execute({ sql: `SELECT idempotency_key, sent_at, attempts, last_error, provider_id FROM email_queue WHERE json_extract(message, '$.to') = ?`, args: [to] })).rows[0]!;
      // The first attempt failed; the queue holds the message for a retry, with the reason.
      expect(await row()).toMatchObject({ sent_at: null, attempts: 1, last_error: expect.stringMatching(fault.network === 'hang' ? /timeout/ : /network/) });

      // The queue tries again after its backoff (twice at most here, should a retry itself be slow).
      for (let i = 0; i < 3 && (await row()).sent_at === null; i++) {
        t.clock.advance(10 * 60_000);
        t.deps.mailQueue.kick();
        await t.deps.mailQueue.drain();
      }
      const sent = await row();
      expect(sent.sent_at).not.toBeNull();
      const attempts = fake.requests.filter((r) => r.idempotencyKey === sent.idempotency_key);
      expect(attempts.length).toBeGreaterThanOrEqual(2);
      expect(new Set(attempts.map((r) => JSON.stringify(r.emails))).size).toBe(1);
      const copies = fake.delivered.filter((d) => d.to === to);
      expect(copies.map((d) => d.id), JSON.stringify(fault)).toEqual([sent.provider_id]);
    }
  });
});
