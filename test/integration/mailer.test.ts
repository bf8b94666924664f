/** Both Mailer adapters: the dev outbox (database) and Resend (real SDK against a fake server on loopback). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailerError, type OutgoingEmail } from '../../src/email/mailer.js';
import { resendMailer } from '../../src/email/resend-mailer.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { startFakeResend, type FakeResend } from '../helpers/fake-resend.js';

const email = (to: string): OutgoingEmail => ({
  from: '"Voyage Online" <newsletter@voyage-online.test>',
  to,
  subject: 'Bonjour',
  html: '<p>Bonjour</p>',
  text: 'Bonjour',
  headers: { 'List-Unsubscribe': '<https://example.test/u/abc>' },
  tags: { campaign: 'c1' },
});

describe('dev outbox', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.dispose());

  it('records a sent message, shown in the API and at /dev/outbox', async () => {
    const { admin, marketer, workspace } = await t.workspaceWithTeam();
    const { id } = await t.deps.mailer.send({ ...email('reader@example.test'), workspaceId: workspace.id });
    const list = (await (await t.request('/api/v1/dev/outbox', { token: admin.token })).json()) as { messages: { id: string; to: string; headers: Record<string, string> }[] };
    expect(list.messages[0]).toMatchObject({ id, to: 'reader@example.test', headers: { 'List-Unsubscribe': '<https://example.test/u/abc>' } });
    // Other roles see only what was addressed to them: stored messages carry live links.
    expect(((await (await t.request('/api/v1/dev/outbox', { token: marketer.token })).json()) as { messages: unknown[] }).messages).toEqual([]);
    expect((await t.request(`/api/v1/dev/outbox/${id}`, { token: marketer.token })).status).toBe(404);
    const own = await t.deps.mailer.send({ ...email(marketer.email), workspaceId: workspace.id });
    expect((await t.request(`/api/v1/dev/outbox/${own.id}`, { token: marketer.token })).status).toBe(200);

    const cookie = `session=${admin.token}`;
    const page = await t.request('/dev/outbox', { headers: { cookie } });
    expect(await page.text()).toContain(`/dev/outbox/${id}`);
    const html = await t.request(`/dev/outbox/${id}/html`, { headers: { cookie } });
    expect(await html.text()).toBe('<p>Bonjour</p>');
    // The email's HTML runs no script and cannot be framed by another site.
    expect(html.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('honours idempotency keys like Resend', async () => {
    const { workspace } = await t.workspaceWithTeam();
    const batch = [email('a@example.test'), email('b@example.test')].map((e) => ({ ...e, workspaceId: workspace.id }));
    const first = await t.deps.mailer.sendBatch(batch, { idempotencyKey: 'campaign-1:batch-1' });
    const again = await t.deps.mailer.sendBatch(batch, { idempotencyKey: 'campaign-1:batch-1' });
    expect(again.ids).toEqual(first.ids);
    const rows = await t.client.execute({ sql: 'SELECT count(*) AS n FROM outbox_messages WHERE workspace_id = ?', args: [workspace.id] });
    expect(rows.rows[0]?.n).toBe(2);
  });
});

describe('Resend adapter', () => {
  let fake: FakeResend;
  beforeAll(async () => {
    fake = await startFakeResend();
  });
  afterAll(() => fake.close());

  it('sends one email and a batch with its idempotency key', async () => {
    const mailer = resendMailer('re_test_key', fake.url);
    const { id } = await mailer.send(email('one@example.test'));
    expect(id).toMatch(/^fake-/);
    const { ids } = await mailer.sendBatch([email('x@example.test'), email('y@example.test')], { idempotencyKey: 'c:1' });
    expect(ids).toHaveLength(2);
    const batchRequest = fake.requests.at(-1)!;
    expect(batchRequest).toMatchObject({ path: '/emails/batch', idempotencyKey: 'c:1', authorization: 'Bearer re_test_key' });
    expect(batchRequest.emails[0]).toMatchObject({ to: 'x@example.test', headers: { 'List-Unsubscribe': '<https://example.test/u/abc>' }, tags: [{ name: 'campaign', value: 'c1' }] });

    const replay = await mailer.sendBatch([email('x@example.test'), email('y@example.test')], { idempotencyKey: 'c:1' });
    expect(replay.ids).toEqual(ids);
    expect(fake.delivered.filter((e) => e.to === 'x@example.test')).toHaveLength(1);
  });

  it('says which failures are worth retrying', async () => {
    const mailer = resendMailer('re_test_key', fake.url);
    fake.failNext({ status: 429, name: 'rate_limit_exceeded', message: 'Too many requests', headers: { 'retry-after': '2' } });
    const limited = await mailer.send(email('r@example.test')).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(MailerError);
    expect(limited).toMatchObject({ status: 429, retryable: true, retryAfterSeconds: 2 });

    fake.failNext({ status: 503, name: 'internal_server_error', message: 'Unavailable' });
    expect(await mailer.send(email('r@example.test')).catch((e: unknown) => e)).toMatchObject({ status: 503, retryable: true });

    fake.failNext({ status: 422, name: 'validation_error', message: 'Invalid `to` field.' });
    const invalid = await mailer.send(email('r@example.test')).catch((e: unknown) => e);
    expect(invalid).toMatchObject({ status: 422, retryable: false });
    expect((invalid as Error).message).toContain('Invalid `to` field.');

    expect(await mailer.sendBatch(Array.from({ length: 101 }, (_, i) => email(`n${i}@example.test`))).catch((e: unknown) => e)).toMatchObject({ retryable: false });
  });

  it('retries a key Resend is still working on (409 concurrent_idempotent_requests), never a key reused for another payload (409 invalid_idempotent_request)', async () => {
    const mailer = resendMailer('re_test_key', fake.url);
    // The first request is still in progress at Resend when the same request comes again.
    fake.failNext({ network: 'slow' });
    const first = mailer.send(email('busy@example.test'), { idempotencyKey: 'welcome/busy' });
    await fake.nextHang();
    // Another payload under its key, even while it is in progress: refused for good.
    const other = await mailer.send({ ...email('busy@example.test'), subject: 'Autre' }, { idempotencyKey: 'welcome/busy' }).catch((e: unknown) => e);
    expect(other).toMatchObject({ status: 409, retryable: false });
    const concurrent = await mailer.send(email('busy@example.test'), { idempotencyKey: 'welcome/busy' }).catch((e: unknown) => e);
    expect(concurrent).toBeInstanceOf(MailerError);
    // Resend: "safe to retry this request later". It sends no Retry-After: the adapter waits 5 s.
    expect(concurrent).toMatchObject({ status: 409, retryable: true, retryAfterSeconds: 5 });
    expect((concurrent as Error).message).toContain('concurrent_idempotent_requests');
    // Done now: the first request gets its answer, and a later retry the same one; one email.
    const { id } = await first;
    expect(await mailer.send(email('busy@example.test'), { idempotencyKey: 'welcome/busy' })).toEqual({ id });
    expect(fake.delivered.filter((e) => e.to === 'busy@example.test').map((e) => e.id)).toEqual([id]);

    // The same key for another payload: Resend refuses it, and it would refuse it again.
    const reused = await mailer.send({ ...email('busy@example.test'), subject: 'Autre' }, { idempotencyKey: 'welcome/busy' }).catch((e: unknown) => e);
    expect(reused).toMatchObject({ status: 409, retryable: false });
    expect((reused as Error).message).toContain('invalid_idempotent_request');
    expect(fake.conflicts.filter((c) => c.idempotencyKey === 'welcome/busy').map((c) => c.name)).toEqual(['invalid_idempotent_request', 'concurrent_idempotent_requests', 'invalid_idempotent_request']);
  });
});
