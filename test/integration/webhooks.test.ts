/**
 * Resend's delivery reports (`POST /webhooks/resend`), signed as Resend signs them (Svix /
 * Standard Webhooks) about sends of a campaign really sent to the dev outbox: processed once by
 * svix-id, refused when the signature, the body or the timestamp is wrong (writing nothing),
 * bounces and complaints suppressing the address (a complaint also withdrawing the newsletter
 * consent in the ledger, which still verifies), and everything else acknowledged and ignored.
 */
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/domain/consent/chain.js';
import { backfillEmailHashes } from '../../src/domain/privacy/suppressions.js';
import { createTestApp, errorOf, TEST_WEBHOOK_SECRET, type TestApp } from '../helpers/app.js';
import { unique } from '../helpers/factories.js';
import { subscriber } from '../helpers/subscriber.js';
import { BODY, trackedCampaign } from '../helpers/tracked-campaign.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.dispose());

const signer = new Webhook(TEST_WEBHOOK_SECRET);
const everyone = { match: 'all', conditions: [] };

interface Signed {
  id: string;
  body: string;
  headers: Record<string, string>;
}

/** A delivery signed like Resend's: `svix-id`, `svix-timestamp` (unix seconds), `svix-signature`. */
function sign(body: string, opts: { id?: string; at?: Date } = {}): Signed {
  const id = opts.id ?? `msg_${unique('svix')}`;
  const at = opts.at ?? new Date();
  return {
    id,
    body,
    headers: { 'content-type': 'application/json', 'svix-id': id, 'svix-timestamp': String(Math.floor(at.getTime() / 1000)), 'svix-signature': signer.sign(id, at, body) },
  };
}

const post = (body: string, headers: Record<string, string>) => t.request('/webhooks/resend', { method: 'POST', body, headers });
const deliver = (s: Signed) => post(s.body, s.headers);

async function providerIdOf(sendId: number): Promise<string> {
  const id = (await t.client.execute({ sql: 'SELECT provider_id FROM sends WHERE id = ?', args: [sendId] })).rows[0]?.provider_id;
  expect(id, `send ${sendId} has a provider id`).toEqual(expect.any(String));
  return String(id);
}

/** A report in Resend's shape about one message, at the app's "now". */
async function report(type: string, to: { sendId: number; email: string }, extra: Record<string, unknown> = {}) {
  const at = t.clock.now().toISOString();
  return JSON.stringify({
    type,
    created_at: at,
    data: { email_id: await providerIdOf(to.sendId), created_at: at, to: [to.email], from: 'Brand <news@brand.test>', subject: 'Nos offres', ...extra },
  });
}

const eventsOf = async (sendId: number) =>
  (await t.client.execute({ sql: 'SELECT type, detail, occurred_at, machine FROM events WHERE send_id = ? ORDER BY id', args: [sendId] })).rows.map((r) => ({
    type: String(r.type),
    detail: r.detail === null ? null : String(r.detail),
    occurredAt: Number(r.occurred_at),
  }));
const sendRow = async (sendId: number) =>
  (await t.client.execute({ sql: 'SELECT status, delivered_at, bounced_at, complained_at FROM sends WHERE id = ?', args: [sendId] })).rows[0]!;
const suppressionsOf = async (workspaceId: string) =>
  (await t.client.execute({ sql: 'SELECT reason, source, lifted_at FROM suppressions WHERE workspace_id = ? ORDER BY rowid', args: [workspaceId] })).rows.map((r) => ({
    reason: String(r.reason),
    source: JSON.parse(String(r.source)) as Record<string, string>,
    liftedAt: r.lifted_at,
  }));
const receiptsOf = async (id: string) => (await t.client.execute({ sql: 'SELECT id, type, received_at FROM webhook_receipts WHERE id = ?', args: [id] })).rows;
const ledgerOf = async (contactId: string) =>
  (await t.client.execute({ sql: 'SELECT purpose, action, channel, actor_type, actor_id FROM consent_events WHERE contact_id = ? ORDER BY seq', args: [contactId] })).rows.map(
    (r) => `${r.purpose}:${r.action}:${r.channel}:${r.actor_type}:${r.actor_id}`,
  );
const stateOf = async (contactId: string, purpose: string) =>
  String((await t.client.execute({ sql: 'SELECT status FROM consent_state WHERE contact_id = ? AND purpose = ?', args: [contactId, purpose] })).rows[0]?.status);
const audienceCount = async (token: string) =>
  ((await (await t.request('/api/v1/segments/preview', { method: 'POST', token, json: { rules: everyone } })).json()) as { count: number }).count;
const suppressionCheck = async (token: string, email: string) =>
  (await (await t.request(`/api/v1/suppressions/check?email=${encodeURIComponent(email)}`, { token })).json()) as { suppressed: boolean; reason: string | null };

/** A sent campaign to `n` seeded recipients. */
async function sentCampaign(n = 2) {
  const team = await t.workspaceWithTeam();
  const c = await trackedCampaign(t, team, [{ prefix: 'r', n, openTracking: false }]);
  return { team, c, r: c.recipients[0]!, others: c.recipients.slice(1) };
}

describe('POST /webhooks/resend: signature and idempotency', () => {
  it('processes a signed delivery report: one delivered event at the reported time, the send’s delivered_at, a receipt', async () => {
    const { r, others } = await sentCampaign();
    const when = t.clock.now().getTime();
    const s = sign(await report('email.delivered', r));
    const res = await deliver(s);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'processed' });
    expect(await eventsOf(r.sendId)).toEqual([{ type: 'delivered', detail: null, occurredAt: when }]);
    expect(await sendRow(r.sendId)).toMatchObject({ status: 'sent', delivered_at: when, bounced_at: null, complained_at: null });
    expect(await receiptsOf(s.id)).toEqual([expect.objectContaining({ id: s.id, type: 'email.delivered', received_at: when })]);
    // Nobody else's send moved.
    for (const o of others) {
      expect(await eventsOf(o.sendId)).toEqual([]);
      expect((await sendRow(o.sendId)).delivered_at).toBeNull();
    }
  });

  it('acknowledges a replay of the same svix-id as a duplicate and writes nothing, even re-signed later (a Svix retry)', async () => {
    const { r } = await sentCampaign(1);
    const s = sign(await report('email.delivered', r));
    expect(await (await deliver(s)).json()).toEqual({ status: 'processed' });
    const before = await t.dumpDatabase();

    const replay = await deliver(s);
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({ status: 'duplicate' });
    // The same message id, signed again at a later attempt, later in (app) time.
    t.clock.advance(30_000);
    const retry = await deliver(sign(s.body, { id: s.id, at: new Date(Date.now() + 1000) }));
    expect(await retry.json()).toEqual({ status: 'duplicate' });

    expect(await t.dumpDatabase()).toBe(before);
    expect(await eventsOf(r.sendId)).toHaveLength(1);
  });

  it('refuses a tampered body, a signature by another secret, or a signature of another message id with 401 invalid_signature, writing nothing', async () => {
    const { r, others } = await sentCampaign();
    const genuine = sign(await report('email.delivered', r));
    const forOther = await report('email.bounced', others[0]!, { bounce: { type: 'Permanent', subType: 'General', message: 'no such user' } });
    const otherSecret = new Webhook('whsec_' + btoa('another-secret-entirely-0123456789'));
    const before = await t.dumpDatabase();

    const attempts: [string, string, Record<string, string>][] = [
      // The body of another report under the genuine signature.
      ['tampered body', forOther, genuine.headers],
      // One character changed.
      ['edited body', genuine.body.replace('email.delivered', 'email.complained'), genuine.headers],
      ['other secret', genuine.body, { ...genuine.headers, 'svix-signature': otherSecret.sign(genuine.id, new Date(), genuine.body) }],
      ['other svix-id', genuine.body, { ...genuine.headers, 'svix-id': `${genuine.id}x` }],
      ['garbage signature', genuine.body, { ...genuine.headers, 'svix-signature': 'v1,AAAA' }],
    ];
    for (const [label, body, headers] of attempts) {
      const res = await post(body, headers);
      expect(res.status, label).toBe(401);
      const error = await errorOf(res);
      expect(error.code, label).toBe('invalid_signature');
      expect(error.message, label).not.toContain(TEST_WEBHOOK_SECRET);
    }
    expect(await t.dumpDatabase()).toBe(before);
    // The genuine one still goes through afterwards: nothing was burnt by the refusals.
    expect(await (await deliver(genuine)).json()).toEqual({ status: 'processed' });
  });

  it('refuses timestamps more than 5 minutes away (replay protection) and missing headers, writing nothing', async () => {
    const { r } = await sentCampaign(1);
    const body = await report('email.delivered', r);
    const before = await t.dumpDatabase();

    const stale = await deliver(sign(body, { at: new Date(Date.now() - 10 * 60_000) }));
    expect(stale.status).toBe(401);
    expect((await errorOf(stale)).code).toBe('invalid_signature');
    const future = await deliver(sign(body, { at: new Date(Date.now() + 10 * 60_000) }));
    expect(future.status).toBe(401);
    expect((await errorOf(future)).code).toBe('invalid_signature');

    const good = sign(body);
    for (const missing of ['svix-id', 'svix-timestamp', 'svix-signature']) {
      const headers = { ...good.headers };
      delete headers[missing];
      const res = await post(body, headers);
      expect(res.status, missing).toBe(401);
      expect((await errorOf(res)).code, missing).toBe('invalid_signature');
    }
    const bare = await post(body, { 'content-type': 'application/json' });
    expect(bare.status).toBe(401);
    expect(await t.dumpDatabase()).toBe(before);

    // Within the tolerance it is accepted.
    expect(await (await deliver(sign(body, { at: new Date(Date.now() - 2 * 60_000) }))).json()).toEqual({ status: 'processed' });
  });

  it('the same delivery arriving several times at once is processed once', async () => {
    const { r } = await sentCampaign(1);
    const s = sign(await report('email.delivered', r));
    const answers = await Promise.all(Array.from({ length: 6 }, () => deliver(s)));
    expect(answers.map((a) => a.status)).toEqual(Array(6).fill(200));
    const outcomes = (await Promise.all(answers.map((a) => a.json()))) as { status: string }[];
    expect(outcomes.map((o) => o.status).sort()).toEqual(['duplicate', 'duplicate', 'duplicate', 'duplicate', 'duplicate', 'processed']);
    expect(await eventsOf(r.sendId)).toHaveLength(1);
    expect(await receiptsOf(s.id)).toHaveLength(1);
  });

  it('refuses a body far larger than any report (413) before looking at it, writing nothing', async () => {
    const { r } = await sentCampaign(1);
    const huge = JSON.stringify({ ...(JSON.parse(await report('email.delivered', r)) as object), padding: 'x'.repeat(300 * 1024) });
    const before = await t.dumpDatabase();
    const res = await deliver(sign(huge));
    expect(res.status).toBe(413);
    expect((await errorOf(res)).code).toBe('payload_too_large');
    expect(await t.dumpDatabase()).toBe(before);
  });

  it('answers 503 and writes nothing when no webhook secret is configured', async () => {
    const unconfigured = await createTestApp({ webhookSecret: undefined });
    try {
      const before = await unconfigured.dumpDatabase();
      const s = sign(JSON.stringify({ type: 'email.delivered', created_at: new Date().toISOString(), data: { email_id: 'whatever' } }));
      const res = await unconfigured.request('/webhooks/resend', { method: 'POST', body: s.body, headers: s.headers });
      expect(res.status).toBe(503);
      expect((await errorOf(res)).code).toBe('webhooks_not_configured');
      expect(await unconfigured.dumpDatabase()).toBe(before);
    } finally {
      unconfigured.dispose();
    }
  });

  it('accepts either secret while an endpoint is replaced (two secrets separated by a space), and neither once it is dropped', async () => {
    const next = 'whsec_' + btoa('the-replacement-endpoint-secret-0123');
    const rotating = await createTestApp({ webhookSecret: `${next} ${TEST_WEBHOOK_SECRET}` });
    const after = await createTestApp({ webhookSecret: next });
    try {
      const body = JSON.stringify({ type: 'email.opened', created_at: new Date().toISOString(), data: { email_id: 'whatever' } });
      const byOld = sign(body);
      const at = new Date();
      const id = `msg_${unique('svix')}`;
      const byNew = { body, headers: { ...byOld.headers, 'svix-id': id, 'svix-timestamp': String(Math.floor(at.getTime() / 1000)), 'svix-signature': new Webhook(next).sign(id, at, body) } };
      for (const s of [byOld, byNew]) {
        expect((await rotating.request('/webhooks/resend', { method: 'POST', body: s.body, headers: s.headers })).status).toBe(200);
      }
      const refused = await after.request('/webhooks/resend', { method: 'POST', body: byOld.body, headers: byOld.headers });
      expect(refused.status).toBe(401);
      expect((await errorOf(refused)).code).toBe('invalid_signature');
    } finally {
      rotating.dispose();
      after.dispose();
    }
  });
});

describe('POST /webhooks/resend: effects', () => {
  it('a hard (Permanent) bounce records the event and suppresses the address: the next campaign does not mail it', async () => {
    const { team, c, r, others } = await sentCampaign(3);
    // Contacts captured through the app carry the hash of their address from the start; these
    // were seeded straight into the table, so fill it as the server does when it starts.
    await backfillEmailHashes(t.db);
    expect(await audienceCount(team.marketer.token)).toBe(3);

    const s = sign(await report('email.bounced', r, { bounce: { type: 'Permanent', subType: 'General', message: 'The recipient does not exist.' } }));
    const res = await deliver(s);
    expect(await res.json()).toEqual({ status: 'processed' });
    const now = t.clock.now().getTime();
    expect(await eventsOf(r.sendId)).toEqual([{ type: 'bounced', detail: 'Permanent/General: The recipient does not exist.', occurredAt: now }]);
    expect(await sendRow(r.sendId)).toMatchObject({ bounced_at: now, delivered_at: null });
    expect(await suppressionsOf(team.workspace.id)).toEqual([{ reason: 'hard_bounce', source: { campaignId: c.campaignId, svixId: s.id }, liftedAt: null }]);
    expect(await suppressionCheck(team.admin.token, r.email)).toMatchObject({ suppressed: true, reason: 'hard_bounce' });
    // A bounce is not an objection: the consent itself is untouched.
    expect(await stateOf(r.contactId, 'newsletter')).toBe('granted');
    expect(await ledgerOf(r.contactId)).toEqual([]);

    // The audience no longer holds the address, and a second campaign does not mail it.
    expect(await audienceCount(team.marketer.token)).toBe(2);
    const created = await t.request('/api/v1/campaigns', { method: 'POST', token: team.marketer.token, json: { name: 'Encore', subject: 'Encore', preheader: 'Nouvelles offres', body: BODY } });
    expect(created.status, await created.clone().text()).toBe(201);
    const second = (await created.json()) as { id: string };
    expect((await t.request(`/api/v1/campaigns/${second.id}/send`, { method: 'POST', token: team.marketer.token, json: { segmentId: c.segmentId } })).status).toBe(200);
    const mailed = (await t.client.execute({ sql: "SELECT \"to\" FROM outbox_messages WHERE json_extract(tags, '$.campaign') = ? ORDER BY \"to\"", args: [second.id] })).rows.map((m) => String(m.to));
    expect(mailed).toEqual(others.map((o) => o.email).sort());
    const secondSends = (await t.client.execute({ sql: "SELECT contact_id FROM sends WHERE campaign_id = ? AND status = 'sent'", args: [second.id] })).rows.map((x) => String(x.contact_id));
    expect(secondSends).not.toContain(r.contactId);
  });

  it('a soft (Transient) bounce records the event but suppresses nothing', async () => {
    const { team, r } = await sentCampaign(1);
    await backfillEmailHashes(t.db);
    const res = await deliver(sign(await report('email.bounced', r, { bounce: { type: 'Transient', subType: 'MailboxFull', message: 'Mailbox full.' } })));
    expect(await res.json()).toEqual({ status: 'processed' });
    expect(await eventsOf(r.sendId)).toEqual([expect.objectContaining({ type: 'bounced', detail: 'Transient/MailboxFull: Mailbox full.' })]);
    expect((await sendRow(r.sendId)).bounced_at).toBe(t.clock.now().getTime());
    expect(await suppressionsOf(team.workspace.id)).toEqual([]);
    expect(await suppressionCheck(team.admin.token, r.email)).toMatchObject({ suppressed: false });
    expect(await audienceCount(team.marketer.token)).toBe(1);
  });

  it('a complaint records the event, suppresses the address and withdraws the newsletter consent in the ledger, which still verifies', async () => {
    // A subscriber captured and confirmed through the API, so the ledger already holds their events.
    const s = await subscriber(t);
    const [send] = (await t.client.execute({ sql: 'SELECT id FROM sends WHERE campaign_id = ? AND contact_id = ?', args: [s.campaignId, s.contactId] })).rows;
    const sendId = Number(send!.id);
    const ledgerBefore = await ledgerOf(s.contactId);
    expect(ledgerBefore.map((e) => e.split(':').slice(0, 2).join(':'))).toEqual(['newsletter:granted', 'open_tracking:granted', 'newsletter:confirmed']);
    const chainBefore = await verifyChain(t.db, s.workspace.id);
    expect(chainBefore.ok).toBe(true);
    expect(await audienceCount(s.marketer.token)).toBe(1);

    const complaint = sign(await report('email.complained', { sendId, email: s.email }));
    const res = await deliver(complaint);
    expect(await res.json()).toEqual({ status: 'processed' });
    const now = t.clock.now().getTime();
    expect(await eventsOf(sendId)).toEqual([{ type: 'complained', detail: null, occurredAt: now }]);
    expect((await sendRow(sendId)).complained_at).toBe(now);
    expect(await suppressionsOf(s.workspace.id)).toEqual([{ reason: 'complained', source: { campaignId: s.campaignId, svixId: complaint.id }, liftedAt: null }]);
    expect(await suppressionCheck(s.admin.token, s.email)).toMatchObject({ suppressed: true, reason: 'complained' });

    // Withdrawn in the ledger, by the system, with the evidence of the complaint.
    expect(await ledgerOf(s.contactId)).toEqual([...ledgerBefore, 'newsletter:withdrawn:system:system:resend_complaint']);
    const withdrawal = (await t.client.execute({ sql: "SELECT id, occurred_at FROM consent_events WHERE contact_id = ? AND action = 'withdrawn'", args: [s.contactId] })).rows[0]!;
    expect(Number(withdrawal.occurred_at)).toBe(now);
    const evidence = (await t.client.execute({ sql: 'SELECT data FROM consent_evidence WHERE event_id = ?', args: [String(withdrawal.id)] })).rows[0]!;
    expect(JSON.parse(String(evidence.data))).toMatchObject({ via: 'spam_complaint', provider: 'resend', campaignId: s.campaignId, svixId: complaint.id });
    expect(await stateOf(s.contactId, 'newsletter')).toBe('withdrawn');
    // Open tracking is a separate consent; the complaint is about the newsletter.
    expect(await stateOf(s.contactId, 'open_tracking')).toBe('granted');
    expect(await audienceCount(s.marketer.token)).toBe(0);

    // The chain verifies, one event longer, in the code and through the admin API.
    expect(await verifyChain(t.db, s.workspace.id)).toMatchObject({ ok: true, count: chainBefore.count + 1 });
    const verification = await t.request('/api/v1/consent-ledger/verification', { token: s.admin.token });
    expect(await verification.json()).toMatchObject({ ok: true, count: chainBefore.count + 1 });

    // Resend reporting the same complaint again (another delivery id): no second withdrawal.
    expect(await (await deliver(sign(await report('email.complained', { sendId, email: s.email })))).json()).toEqual({ status: 'processed' });
    expect((await ledgerOf(s.contactId)).filter((e) => e.startsWith('newsletter:withdrawn'))).toHaveLength(1);
    expect(await suppressionsOf(s.workspace.id)).toHaveLength(1);
    expect(await verifyChain(t.db, s.workspace.id)).toMatchObject({ ok: true, count: chainBefore.count + 1 });
  });

  it('ignores (200, receipt only) reports about unknown messages and types it does not act on', async () => {
    const { r } = await sentCampaign(1);
    const before = await t.dumpDatabase();
    const at = t.clock.now().toISOString();
    const unknown = sign(JSON.stringify({ type: 'email.delivered', created_at: at, data: { email_id: '4ef9a417-02e9-4d39-ad75-9611e0fcc33c', created_at: at, to: [r.email] } }));
    const opened = sign(await report('email.opened', r));
    const clicked = sign(await report('email.clicked', r, { click: { link: 'https://voyage.example/rome' } }));
    const noData = sign(JSON.stringify({ type: 'email.delivered', created_at: at }));
    for (const s of [unknown, opened, clicked, noData]) {
      const res = await deliver(s);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ignored' });
      expect(await receiptsOf(s.id)).toHaveLength(1);
    }
    expect(await eventsOf(r.sendId)).toEqual([]);
    expect(await sendRow(r.sendId)).toMatchObject({ delivered_at: null, bounced_at: null, complained_at: null });
    // Only the four receipts were written.
    const after = await t.dumpDatabase();
    const changed = after.split('\n').filter((line) => !before.split('\n').includes(line)).map((line) => line.split(':')[0]);
    expect(changed).toEqual(['webhook_receipts']);
  });
});
