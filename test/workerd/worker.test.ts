/**
 * The production Worker (src/worker.ts, wrangler.toml), run by `wrangler dev` inside workerd, over
 * real HTTP on 127.0.0.1, against a libSQL server speaking Hrana over HTTP (the Turso protocol,
 * test/fixtures/libsql-http-server.ts) and the fake Resend. The database is prepared with the
 * commands the README's deploy guide gives: `npm run db:migrate`, `npm run workspace:create`.
 *
 * One story, in order, as production runs it: static assets, a consent capture (its confirmation
 * email sent after the response through waitUntil), a campaign sent through the Queue consumer,
 * the pixel (its hit written after the response), a Resend webhook, the one-click unsubscribe
 * POST, the mailto: unsubscribe through the email handler, a campaign started by the minute Cron,
 * and the daily Cron's retention and housekeeping.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@libsql/client';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeResend, type FakeResend, type ReceivedEmail } from '../helpers/fake-resend.js';
import { DATABASE_TOKEN, loginAdmin, prepareDatabase, startWorker, type RunningWorker, type TursoLike } from '../helpers/workerd.js';

const WEBHOOK_SECRET = 'whsec_' + btoa('workerd-webhook-secret-0123456789');
const SIGNING_KEYS = JSON.stringify([{ kid: 'wk-1', secret: 'workerd-signing-secret-0123456789abcdef' }]);

let dir: string;
let turso: TursoLike;
let db: Client;
let resend: FakeResend;
let worker: RunningWorker;
let session: string;

/** Polls until `check` returns a value (the Worker finishes work after its response). */
async function eventually<T>(check: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}\n${worker.output().slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function api(path: string, init: { method?: string; json?: unknown; headers?: Record<string, string>; token?: string } = {}) {
  return fetch(`${worker.url}${path}`, {
    method: init.method ?? (init.json === undefined ? 'GET' : 'POST'),
    headers: {
      ...(init.json === undefined ? {} : { 'content-type': 'application/json' }),
      ...(init.token ?? session ? { authorization: `Bearer ${init.token ?? session}` } : {}),
      ...init.headers,
    },
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
    redirect: 'manual',
  });
}

async function row(sql: string, args: (string | number)[] = []) {
  return (await db.execute({ sql, args })).rows[0];
}

const mailsTo = (to: string) => resend.delivered.filter((m) => (Array.isArray(m.to) ? m.to : [m.to]).includes(to));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cn-workerd-'));
  turso = await prepareDatabase(dir);
  db = turso.db;
  resend = await startFakeResend();
  worker = await startWorker({
    persistDir: join(dir, 'wrangler-state'),
    vars: {
      DATABASE_URL: turso.database.url,
      DATABASE_AUTH_TOKEN: DATABASE_TOKEN,
      SIGNING_KEYS,
      RESEND_API_KEY: 're_workerd_test',
      RESEND_BASE_URL: resend.url,
      RESEND_WEBHOOK_SECRET: WEBHOOK_SECRET,
      SEND_RATE: '50',
      LOG_LEVEL: 'info',
    },
  });
  session = await loginAdmin(worker.url);
}, 180_000);

afterAll(async () => {
  await worker?.stop();
  await resend?.close();
  await turso?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const everyone = { match: 'all', conditions: [] };
const people = { marie: 'marie.dupont@example.test', julien: 'julien.moreau@example.test' };
let newsletter: ReceivedEmail;
let campaignId: string;
const scripts: Record<string, string> = {};

describe('the Worker in workerd, against libSQL over HTTP', () => {
  it('answers health on the Turso database and serves the browser scripts as static assets', async () => {
    const health = await api('/healthz');
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', database: 'ok', runtime: 'worker' });
    const asset = await fetch(`${worker.url}/static/segment-builder.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect((await asset.text()).length).toBeGreaterThan(100);
  });

  it('records a consent capture and sends its confirmation email after the response', async () => {
    for (const purpose of ['newsletter', 'open_tracking'] as const) {
      const text =
        purpose === 'newsletter'
          ? 'Voyage Online, 12 avenue Kléber à Paris, souhaite vous envoyer sa newsletter. Vous pourrez vous désinscrire à tout moment, en un clic. Politique de confidentialité : voyage-online.test/confidentialite.'
          : 'Voyage Online souhaite mesurer l’ouverture de ses e-mails. Vous pourrez retirer ce choix à tout moment. Politique de confidentialité : voyage-online.test/confidentialite.';
      const created = await api('/api/v1/consent-scripts', { json: { purpose, label: purpose, text } });
      expect(created.status, await created.clone().text()).toBe(201);
      scripts[purpose] = ((await created.json()) as { id: string }).id;
    }
    for (const [first, email] of Object.entries(people)) {
      const body = {
        contact: { email, firstName: first, lastName: 'Test', attributes: { destination: 'Rome' } },
        call: { ref: `CALL-${first}`, basis: 'inbound_call', campaign: 'Voyage à Rome' },
        answers: [
          { purpose: 'newsletter', answer: 'granted', scriptId: scripts.newsletter },
          { purpose: 'open_tracking', answer: 'granted', scriptId: scripts.open_tracking },
        ],
      };
      const key = `dialer-${first}-0001`;
      const captured = await api('/api/v1/consents', { json: body, headers: { 'idempotency-key': key } });
      expect(captured.status, await captured.clone().text()).toBe(201);
      // The dialer retries: same answer, nothing written twice.
      const replayed = await api('/api/v1/consents', { json: body, headers: { 'idempotency-key': key } });
      expect(await replayed.json()).toEqual(await captured.json());
    }
    expect((await row('SELECT count(*) AS n FROM consent_events'))!.n).toBe(4);

    // Confirmation emails went out after the responses (waitUntil), through the fake Resend.
    for (const email of Object.values(people)) {
      const [confirmation] = await eventually(async () => mailsTo(email).length > 0 && mailsTo(email), `the confirmation email to ${email}`);
      const link = /https?:\/\/[^\s"<>]+(\/confirm\/[\w.-]+)/.exec(confirmation!.html ?? '')![1]!;
      const confirmed = await fetch(`${worker.url}${link}`, {
        method: 'POST',
        headers: { origin: worker.url, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'answer=confirm',
        redirect: 'manual',
      });
      expect(confirmed.status).toBeLessThan(400);
    }
    expect((await row("SELECT count(*) AS n FROM consent_state WHERE purpose = 'newsletter' AND confirmed_at IS NOT NULL"))!.n).toBe(2);
    // Four answers and two confirmations, chained and verifiable.
    const chain = await api('/api/v1/consent-ledger/verification');
    expect(await chain.json()).toMatchObject({ ok: true, count: 6 });
  });

  it('sends a campaign through the Queue consumer to Resend, once per person', async () => {
    const segment = (await (await api('/api/v1/segments', { json: { name: 'Tous', rules: everyone } })).json()) as { id: string };
    const created = await api('/api/v1/campaigns', { json: { name: 'Rome en automne', templateId: 'voyage-online-starter' } });
    expect(created.status, await created.clone().text()).toBe(201);
    campaignId = ((await created.json()) as { id: string }).id;
    const sent = await api(`/api/v1/campaigns/${campaignId}/send`, { json: { segmentId: segment.id } });
    expect(sent.status, await sent.clone().text()).toBe(200);

    await eventually(async () => (await row('SELECT status FROM campaigns WHERE id = ?', [campaignId]))?.status === 'sent', 'the campaign to be sent');
    const newsletters = resend.delivered.filter((m) => m.tags?.some((tag) => tag.name === 'campaign' && tag.value === campaignId));
    expect(newsletters.map((m) => m.to).sort()).toEqual(Object.values(people).sort());
    newsletter = newsletters.find((m) => m.to === people.marie)!;
    expect(newsletter.headers!['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    // Links point at the public URL, built inside the Queue consumer (no request there).
    expect(newsletter.headers!['List-Unsubscribe']).toContain(`<${worker.url}/u/`);
    expect((await row("SELECT count(*) AS n FROM sends WHERE campaign_id = ? AND status = 'sent'", [campaignId]))!.n).toBe(2);
    // The lease is released when the consumer's slice ends, a moment after the status says sent.
    await eventually(async () => (await row('SELECT send_lease_until FROM campaigns WHERE id = ?', [campaignId]))?.send_lease_until === null, 'the send lease to be released');
  });

  it('serves the pixel at once and writes the open after the response', async () => {
    const pixel = /src="https?:\/\/[^/"]+(\/o\/[\w.-]+)"/.exec(newsletter.html!)![1]!;
    const res = await fetch(`${worker.url}${pixel}`, { headers: { 'user-agent': 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/gif');
    await eventually(
      async () => (await row("SELECT count(*) AS n FROM events e JOIN sends s ON s.id = e.send_id WHERE s.campaign_id = ? AND e.type = 'open'", [campaignId]))!.n === 1,
      'the open to be written',
    );
  });

  it('takes a signed Resend webhook once, and refuses a forged one', async () => {
    const providerId = (await row('SELECT s.provider_id AS id FROM sends s JOIN contacts c ON c.id = s.contact_id WHERE s.campaign_id = ? AND c.email = ?', [campaignId, people.marie]))!.id;
    const at = new Date();
    const body = JSON.stringify({ type: 'email.delivered', created_at: at.toISOString(), data: { email_id: providerId, created_at: at.toISOString(), to: [people.marie], subject: 'x' } });
    const id = 'msg_workerd_1';
    const headers = { 'content-type': 'application/json', 'svix-id': id, 'svix-timestamp': String(Math.floor(at.getTime() / 1000)), 'svix-signature': new Webhook(WEBHOOK_SECRET).sign(id, at, body) };
    expect((await fetch(`${worker.url}/webhooks/resend`, { method: 'POST', headers, body })).status).toBe(200);
    expect((await fetch(`${worker.url}/webhooks/resend`, { method: 'POST', headers, body })).status).toBe(200);
    expect((await row("SELECT count(*) AS n FROM events WHERE type = 'delivered'"))!.n).toBe(1);
    const forged = await fetch(`${worker.url}/webhooks/resend`, { method: 'POST', headers: { ...headers, 'svix-id': 'msg_forged' }, body });
    expect(forged.status).toBe(401);
  });

  it('unsubscribes with the one-click POST a mailbox provider sends (RFC 8058)', async () => {
    const url = /<(https?:\/\/[^>]+\/u\/[^>]+)>/.exec(newsletter.headers!['List-Unsubscribe']!)![1]!;
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
    expect(res.status).toBe(200);
    const state = await row("SELECT cs.status FROM consent_state cs JOIN contacts c ON c.id = cs.contact_id WHERE c.email = ? AND cs.purpose = 'newsletter'", [people.marie]);
    expect(state!.status).toBe('withdrawn');
  });

  it('unsubscribes through the email handler (the mailto: of List-Unsubscribe), and rejects a message without a token', async () => {
    const julien = resend.delivered.find((m) => m.to === people.julien && m.tags?.some((tag) => tag.value === campaignId))!;
    const subject = decodeURIComponent(/subject=([^>]+)>/.exec(julien.headers!['List-Unsubscribe']!)![1]!);
    const handled = await worker.email({ from: people.julien, to: 'unsubscribe@voyage-online.test', subject });
    expect(handled.rejected).toBeNull();
    const state = await row("SELECT cs.status FROM consent_state cs JOIN contacts c ON c.id = cs.contact_id WHERE c.email = ? AND cs.purpose = 'newsletter'", [people.julien]);
    expect(state!.status).toBe('withdrawn');
    const junk = await worker.email({ from: 'someone@example.test', to: 'unsubscribe@voyage-online.test', subject: 'hello' });
    expect(junk.rejected).toMatch(/No valid unsubscribe token/);
  });

  it('starts a scheduled campaign from the minute Cron, and the daily Cron runs retention and housekeeping', async () => {
    // Someone new, confirmed, for the scheduled campaign to reach.
    const email = 'camille.laurent@example.test';
    const captured = await api('/api/v1/consents', {
      json: {
        contact: { email, firstName: 'Camille', lastName: 'Laurent', attributes: { destination: 'Lisbonne' } },
        call: { ref: 'CALL-camille', basis: 'inbound_call' },
        answers: [
          { purpose: 'newsletter', answer: 'granted', scriptId: scripts.newsletter },
          { purpose: 'open_tracking', answer: 'refused', scriptId: scripts.open_tracking },
        ],
      },
    });
    expect(captured.status, await captured.clone().text()).toBe(201);
    const [confirmation] = await eventually(async () => mailsTo(email).length > 0 && mailsTo(email), 'the confirmation email');
    const link = /https?:\/\/[^\s"<>]+(\/confirm\/[\w.-]+)/.exec(confirmation!.html ?? '')![1]!;
    await fetch(`${worker.url}${link}`, { method: 'POST', headers: { origin: worker.url, 'content-type': 'application/x-www-form-urlencoded' }, body: 'answer=confirm', redirect: 'manual' });

    const lisbon = { match: 'all', conditions: [{ field: 'attributes.destination', operator: 'equals', value: 'Lisbonne' }] };
    const segment = (await (await api('/api/v1/segments', { json: { name: 'Lisbonne', rules: lisbon } })).json()) as { id: string };
    const created = (await (await api('/api/v1/campaigns', { json: { name: 'Planifiée', templateId: 'voyage-online-starter' } })).json()) as { id: string };
    const at = new Date(Date.now() + 2_000).toISOString();
    const scheduled = await api(`/api/v1/campaigns/${created.id}/schedule`, { json: { segmentId: segment.id, at } });
    expect(scheduled.status, await scheduled.clone().text()).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    // Nothing starts it but the Cron Trigger.
    expect((await row('SELECT status FROM campaigns WHERE id = ?', [created.id]))!.status).toBe('scheduled');
    await worker.scheduled('* * * * *');
    await eventually(async () => (await row('SELECT status FROM campaigns WHERE id = ?', [created.id]))?.status === 'sent', 'the scheduled campaign to be sent');
    expect(resend.delivered.filter((m) => m.to === email && m.tags?.some((tag) => tag.value === created.id))).toHaveLength(1);

    // A second Cron run re-enqueues nothing: no campaign is left sending, nobody is mailed twice.
    const before = resend.delivered.length;
    await worker.scheduled('* * * * *');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(resend.delivered.length).toBe(before);

    // Daily: a webhook receipt older than its 7 days goes, a fresh one stays; retention logs its run.
    await db.execute({ sql: 'INSERT INTO webhook_receipts (id, type, received_at) VALUES (?, ?, ?)', args: ['msg_old', 'email.delivered', Date.now() - 8 * 86_400_000] });
    const auditsBefore = Number((await row("SELECT count(*) AS n FROM audit_log WHERE action LIKE 'retention%'"))!.n);
    await worker.scheduled('17 3 * * *');
    expect(await row("SELECT id FROM webhook_receipts WHERE id = 'msg_old'")).toBeUndefined();
    expect(await row("SELECT id FROM webhook_receipts WHERE id = 'msg_workerd_1'")).toBeDefined();
    expect(Number((await row("SELECT count(*) AS n FROM audit_log WHERE action LIKE 'retention%'"))!.n)).toBeGreaterThan(auditsBefore);
  });
});
