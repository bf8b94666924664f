/**
 * Withdrawal and data-subject rights end to end, from the links of a newsletter really sent to
 * the dev outbox: RFC 8058 one-click as Gmail posts it, scanners that change nothing, bad tokens,
 * the preference centre, export, erasure (the person is gone, the chain verifies, a re-capture is
 * refused and mails nothing until confirmed), admin requests, retention, the mailto handler.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../src/domain/auth/tokens.js';
import { verifyChain } from '../../src/domain/consent/chain.js';
import { handleInboundUnsubscribe } from '../../src/domain/privacy/inbound.js';
import { dueDateOf } from '../../src/domain/privacy/requests.js';
import { runRetention } from '../../src/domain/privacy/retention.js';
import { starterTemplates } from '../../src/email/templates.generated.js';
import { createTestApp, errorOf, testKeys, type TestApp } from '../helpers/app.js';
import { unique } from '../helpers/factories.js';
import { lastMailText, subscriber, type Subscriber } from '../helpers/subscriber.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.dispose());

const everyone = { match: 'all', conditions: [] };


const eventsOf = async (contactId: string) =>
  (await t.client.execute({ sql: 'SELECT purpose, action, channel, actor_type FROM consent_events WHERE contact_id = ? ORDER BY seq', args: [contactId] })).rows.map((r) => `${r.purpose}:${r.action}:${r.channel}:${r.actor_type}`);
const stateOf = async (contactId: string, purpose: string) =>
  String((await t.client.execute({ sql: 'SELECT status FROM consent_state WHERE contact_id = ? AND purpose = ?', args: [contactId, purpose] })).rows[0]?.status);
const audienceCount = async (s: Subscriber) =>
  ((await (await t.request('/api/v1/segments/preview', { method: 'POST', token: s.marketer.token, json: { rules: everyone } })).json()) as { count: number }).count;
const suppressionOf = async (s: Subscriber) =>
  (await (await t.request(`/api/v1/suppressions/check?email=${encodeURIComponent(s.email)}`, { token: s.admin.token })).json()) as { suppressed: boolean; reason: string | null };

/** The request Gmail sends for RFC 8058 one-click: multipart body, no cookie, no Origin. */
function gmailOneClick(path: string) {
  const form = new FormData();
  form.append('List-Unsubscribe', 'One-Click');
  return t.request(path, { method: 'POST', body: form, headers: { 'user-agent': 'Mozilla/5.0 (compatible; Google-List-Unsubscribe)' }, redirect: 'manual' });
}

describe('one-click unsubscribe (RFC 8058)', () => {
  it('a POST exactly as Gmail sends it withdraws and suppresses at once, answers 200 without redirect, and a second writes nothing', async () => {
    const s = await subscriber(t);
    expect(s.headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    expect(await audienceCount(s)).toBe(1);
    const res = await gmailOneClick(s.unsubscribe);
    expect(res.status).toBe(200);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.text()).toContain('vous ne recevrez plus la newsletter');
    expect((await eventsOf(s.contactId)).at(-1)).toBe('newsletter:withdrawn:email_link:subscriber');
    const evidence = (await t.client.execute({ sql: 'SELECT data FROM consent_evidence WHERE event_id = (SELECT id FROM consent_events WHERE contact_id = ? ORDER BY seq DESC LIMIT 1)', args: [s.contactId] })).rows[0]!;
    expect(JSON.parse(String(evidence.data))).toMatchObject({ via: 'list_unsubscribe_post', campaignId: s.campaignId });
    expect(await suppressionOf(s)).toMatchObject({ suppressed: true, reason: 'unsubscribed' });
    expect(await audienceCount(s)).toBe(0);
    // Open tracking is a separate consent: unsubscribing from the newsletter leaves it alone.
    expect(await stateOf(s.contactId, 'open_tracking')).toBe('granted');

    const before = await t.dumpDatabase();
    const again = await gmailOneClick(s.unsubscribe);
    expect(again.status).toBe(200);
    expect(await t.dumpDatabase()).toBe(before);
  });

  it('accepts the urlencoded body too, and a flood of POSTs records one event', async () => {
    const s = await subscriber(t);
    const post = () => t.request(s.unsubscribe, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
    const answers = await Promise.all(Array.from({ length: 20 }, post));
    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect((await eventsOf(s.contactId)).filter((e) => e.startsWith('newsletter:withdrawn'))).toHaveLength(1);
    // A provider's POST gets a short confirmation, not the page with its undo form.
    const text = await answers[0]!.text();
    expect(text).toContain(`vous ne recevrez plus la newsletter de ${s.workspace.name}`);
    expect(text).not.toContain('/undo');
  });

  it('a person pressing the page’s button gets the page back, with the undo form', async () => {
    const s = await subscriber(t);
    const pressed = await t.request(s.unsubscribe, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(pressed.status).toBe(200);
    const html = await pressed.text();
    expect(html).toContain(`vous ne recevrez plus la newsletter de ${s.workspace.name}`);
    expect(html).toContain(`action="${s.unsubscribe}/undo"`);
    expect(await eventsOf(s.contactId)).toContain('newsletter:withdrawn:email_link:subscriber');
  });

  it('a scanner’s GET or HEAD shows the page and changes nothing', async () => {
    const s = await subscriber(t);
    const before = await t.dumpDatabase();
    const page = await t.request(s.unsubscribe, { headers: { 'user-agent': 'Microsoft Defender SafeLinks' } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(`Se désinscrire de la newsletter de ${s.workspace.name}`);
    expect(html).toContain('name="List-Unsubscribe" value="One-Click"');
    expect((await t.request(s.unsubscribe, { method: 'HEAD' })).status).toBe(200);
    expect((await t.request(s.preferences)).status).toBe(200);
    expect(await t.dumpDatabase()).toBe(before);
  });

  it('refuses forged, truncated, wrong-purpose and cross-workspace tokens, and wrong bodies, with a page and no change', async () => {
    const s = await subscriber(t);
    const other = await t.workspaceWithTeam();
    const crossWorkspace = await signToken(testKeys, t.clock, 'unsubscribe', { sub: s.contactId, wid: other.workspace.id, cid: s.campaignId }, null);
    const wrongPurpose = s.preferences.replace('/p/', '/u/');
    const [head, payload, sig] = s.unsubscribe.slice(3).split('.');
    const tampered = `/u/${head}.${payload}.${sig!.slice(0, -2)}${sig!.endsWith('AA') ? 'BB' : 'AA'}`;
    const before = await t.dumpDatabase();
    for (const path of [`/u/${crossWorkspace}`, wrongPurpose, tampered, s.unsubscribe.slice(0, 40), '/u/not-a-token', `/p/${crossWorkspace}`]) {
      const get = await t.request(path);
      expect(get.status, path).toBe(400);
      const text = await get.text();
      expect(text).toContain('Lien invalide');
      expect(text).not.toMatch(/at \w+ \(|Error:/);
      if (path.startsWith('/u/')) expect((await gmailOneClick(path)).status, path).toBe(400);
    }
    // A valid token with a body that is not the one-click form.
    const json = await t.request(s.unsubscribe, { method: 'POST', json: { 'List-Unsubscribe': 'One-Click' } });
    expect(json.status).toBe(400);
    expect(await json.text()).toContain('Rien n’a été modifié');
    const empty = await t.request(s.unsubscribe, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=Yes' });
    expect(empty.status).toBe(400);
    expect(await t.dumpDatabase()).toBe(before);
  });

  it('undo re-subscribes with a new explicit grant from the subscriber, confirmed by the link, and lifts the suppression', async () => {
    const s = await subscriber(t);
    await gmailOneClick(s.unsubscribe);
    const page = await (await t.request(s.unsubscribe)).text();
    expect(page).toContain('Me réinscrire à la newsletter');
    const undo = await t.request(`${s.unsubscribe}/undo`, { method: 'POST', headers: { origin: 'http://localhost' } });
    expect(undo.status).toBe(200);
    expect(await undo.text()).toContain('Vous êtes à nouveau inscrit');
    expect((await eventsOf(s.contactId)).slice(-3)).toEqual(['newsletter:withdrawn:email_link:subscriber', 'newsletter:granted:email_link:subscriber', 'newsletter:confirmed:email_link:subscriber']);
    const grant = (await t.client.execute({ sql: "SELECT script_sha256 FROM consent_events WHERE contact_id = ? AND action = 'granted' ORDER BY seq DESC LIMIT 1", args: [s.contactId] })).rows[0]!;
    expect(grant.script_sha256).toBe(s.scripts.newsletter.sha256);
    expect(await suppressionOf(s)).toMatchObject({ suppressed: false });
    expect(await audienceCount(s)).toBe(1);
    // Undo from another site is refused.
    expect((await t.request(`${s.unsubscribe}/undo`, { method: 'POST', headers: { origin: 'https://evil.example' } })).status).toBe(403);
  });

  it('the mailto: address unsubscribes from an inbound message carrying the token in its subject', async () => {
    const s = await subscriber(t);
    const ctx = { ...t.deps, requestId: 'inbound-test' };
    expect(s.mailtoSubject).toMatch(/^unsubscribe eyJ/);
    expect(await handleInboundUnsubscribe(ctx, { from: `Marie <${s.email}>`, subject: `Re: ${s.mailtoSubject}` })).toBe('unsubscribed');
    expect(await handleInboundUnsubscribe(ctx, { from: s.email, subject: s.mailtoSubject })).toBe('already_unsubscribed');
    expect(await handleInboundUnsubscribe(ctx, { from: s.email, subject: 'unsubscribe please' })).toBe('no_token');
    expect(await handleInboundUnsubscribe(ctx, { from: s.email, subject: `unsubscribe ${s.mailtoSubject.slice(12, -3)}xyz` })).toBe('invalid_token');
    expect((await eventsOf(s.contactId)).filter((e) => e.startsWith('newsletter:withdrawn'))).toHaveLength(1);
    expect(await suppressionOf(s)).toMatchObject({ suppressed: true });
  });

  it('a send in progress skips an address suppressed after it started', async () => {
    const s = await subscriber(t);
    await gmailOneClick(s.unsubscribe);
    // Consent granted again behind the list's back (e.g. an import): the suppression still holds at claim.
    await t.client.execute({ sql: "UPDATE consent_state SET status = 'granted' WHERE contact_id = ? AND purpose = 'newsletter'", args: [s.contactId] });
    const campaign = (await (await t.request('/api/v1/campaigns', { method: 'POST', token: s.marketer.token, json: { name: 'Again', templateId: starterTemplates[0].id } })).json()) as { id: string };
    await t.client.execute({ sql: 'INSERT INTO sends (workspace_id, campaign_id, contact_id, status, segment_labels, created_at) VALUES (?, ?, ?, ?, ?, ?)', args: [s.workspace.id, campaign.id, s.contactId, 'queued', '[]', Date.now()] });
    const { claimBatch } = await import('../../src/sending/ledger.js');
    expect(await claimBatch(t.db, campaign.id)).toBeNull();
    const row = (await t.client.execute({ sql: 'SELECT status FROM sends WHERE campaign_id = ?', args: [campaign.id] })).rows[0]!;
    expect(row.status).toBe('suppressed');
  });
});

describe('preference centre', () => {
  it('turns open tracking off alone, then on again, each a ledger event', async () => {
    const s = await subscriber(t);
    const page = await (await t.request(`${s.preferences}?stop=opens`)).text();
    expect(page).toContain('refuser ici la mesure d’ouverture');
    const off = await t.request(s.preferences, { method: 'POST', headers: { origin: 'http://localhost' }, body: new URLSearchParams({ purpose: 'open_tracking', action: 'withdraw' }) });
    expect(off.status).toBe(200);
    expect(await off.text()).toContain('Votre choix est enregistré');
    expect(await stateOf(s.contactId, 'open_tracking')).toBe('withdrawn');
    expect(await stateOf(s.contactId, 'newsletter')).toBe('granted');
    expect(await suppressionOf(s)).toMatchObject({ suppressed: false });
    const before = await t.dumpDatabase();
    const again = await t.request(s.preferences, { method: 'POST', headers: { origin: 'http://localhost' }, body: new URLSearchParams({ purpose: 'open_tracking', action: 'withdraw' }) });
    expect(await again.text()).toContain('rien n’a changé');
    expect(await t.dumpDatabase()).toBe(before);
    await t.request(s.preferences, { method: 'POST', headers: { origin: 'http://localhost' }, body: new URLSearchParams({ purpose: 'open_tracking', action: 'grant' }) });
    expect((await eventsOf(s.contactId)).slice(-2)).toEqual(['open_tracking:withdrawn:email_link:subscriber', 'open_tracking:granted:email_link:subscriber']);
    // An unknown purpose or action changes nothing.
    const bad = await t.request(s.preferences, { method: 'POST', headers: { origin: 'http://localhost' }, body: new URLSearchParams({ purpose: 'partners', action: 'grant' }) });
    expect(bad.status).toBe(400);
  });

  it('corrects the person’s own details (rectification) and logs the request', async () => {
    const s = await subscriber(t);
    const res = await t.request(`${s.preferences}/details`, { method: 'POST', headers: { origin: 'http://localhost' }, body: new URLSearchParams({ firstName: 'Marie-Anne', lastName: 'Dupont', phone: 'not a phone' }) });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('phone is not a valid phone number');
    const ok = await t.request(`${s.preferences}/details`, { method: 'POST', headers: { origin: 'http://localhost' }, body: new URLSearchParams({ firstName: 'Marie-Anne', lastName: s.lastName, phone: '06 11 22 33 44' }) });
    expect(await ok.text()).toContain('Marie-Anne');
    const requests = (await (await t.request('/api/v1/dsr-requests', { token: s.admin.token })).json()) as { requests: { type: string; status: string; channel: string; outcome: string }[] };
    expect(requests.requests).toEqual([expect.objectContaining({ type: 'rectification', status: 'completed', channel: 'preference_centre', outcome: 'Corrected by the person: phone, firstName' })]);
  });

  it('downloads everything as JSON and CSV through a 15-minute link bound to the browser that asked', async () => {
    const s = await subscriber(t);
    const asked = await t.request(`${s.preferences}/export`, { method: 'POST', headers: { origin: 'http://localhost' } });
    const cookie = asked.headers.get('set-cookie')!.split(';')[0]!;
    expect(asked.headers.get('set-cookie')).toMatch(/HttpOnly/i);
    const page = await asked.text();
    const jsonLink = /href="(\/p\/export\/[\w.-]+\?format=json)"/.exec(page)![1]!;
    const csvLink = jsonLink.replace('format=json', 'format=csv');
    const res = await t.request(jsonLink, { headers: { cookie } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toMatch(/attachment; filename="mes-donnees-/);
    const data = (await res.json()) as { contact: { email: string; phone: string }; ledger: { action: string; script: { text: string } | null; hash: string }[]; emails: { campaign: string; status: string }[]; requests: { type: string }[] };
    expect(data.contact).toMatchObject({ email: s.email, phone: s.phone });
    expect(data.ledger.map((e) => e.action)).toEqual(['granted', 'granted', 'confirmed']);
    expect(data.ledger[0]!.script!.text).toBe(s.scripts.newsletter.text);
    expect(data.emails).toEqual([expect.objectContaining({ campaign: 'Rome', status: 'sent' })]);
    expect(data.requests).toEqual([expect.objectContaining({ type: 'access' })]);
    const bytes = new Uint8Array(await (await t.request(csvLink, { headers: { cookie } })).arrayBuffer());
    // A UTF-8 byte order mark, so spreadsheet software reads the accents right.
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const csv = new TextDecoder().decode(bytes);
    expect(csv.split('\r\n')[0]).toBe('section,item,field,value');
    expect(csv).toContain(`contact,${s.contactId},email,${s.email}`);

    // Someone else with the link (no cookie), or anyone after 15 minutes: a clear 410, no data.
    const stranger = await t.request(jsonLink);
    expect(stranger.status).toBe(410);
    expect(await stranger.text()).not.toContain(s.email);
    t.clock.advance(16 * 60_000);
    expect((await t.request(jsonLink, { headers: { cookie } })).status).toBe(410);
  });
});

describe('erasure', () => {
  it('from the preference centre: the person is no longer findable, the chain verifies, a re-capture is refused and, overridden, mails nothing until confirmed', async () => {
    const s = await subscriber(t);
    const refused = await t.request(`${s.preferences}/erase`, { method: 'POST', headers: { origin: 'http://localhost' }, body: new URLSearchParams({}) });
    expect(refused.status).toBe(400);
    const erased = await t.request(`${s.preferences}/erase`, { method: 'POST', headers: { origin: 'http://localhost' }, body: new URLSearchParams({ confirm: 'yes' }) });
    expect(erased.status).toBe(200);
    expect(await erased.text()).toContain('Vos données ont été effacées');

    // Nowhere in the database: not the address, the phone, the names.
    const dump = await t.dumpDatabase();
    for (const personal of [s.email, s.phone, s.lastName]) {
      const tables = dump.split('\n').filter((line) => line.includes(personal)).map((line) => line.split(':')[0]);
      expect(tables, personal).toEqual([]);
    }
    expect((await t.request(`/api/v1/contacts?email=${encodeURIComponent(s.email)}`, { token: s.agent.token }).then((r) => r.json())) as unknown).toEqual({ contacts: [] });
    expect((await t.request(`/api/v1/contacts/${s.contactId}`, { token: s.admin.token })).status).toBe(404);
    // The ledger kept the proof of withdrawal, and still verifies.
    expect((await eventsOf(s.contactId)).slice(-2)).toEqual(['newsletter:withdrawn:email_link:subscriber', 'open_tracking:withdrawn:email_link:subscriber']);
    expect(await verifyChain(t.db, s.workspace.id)).toMatchObject({ ok: true });
    // Links in old mail still answer, with nothing personal.
    const old = await (await t.request(s.unsubscribe)).text();
    expect(old).toContain('Vos données ont été effacées');
    expect(old).not.toContain(s.email);
    // Campaign figures did not move.
    const progress = (await (await t.request(`/api/v1/campaigns/${s.campaignId}/progress`, { token: s.marketer.token })).json()) as { sent: number };
    expect(progress.sent).toBe(1);

    // Re-captured on a later call: refused with the date, unless the agent overrides with a reason.
    const again = { ...s.body, call: { ...s.body.call, ref: unique('CALL') } };
    const res = await t.request('/api/v1/consents', { method: 'POST', token: s.agent.token, json: again });
    expect(res.status).toBe(409);
    const error = await errorOf(res);
    expect(error.code).toBe('suppressed');
    expect(error.message).toMatch(/asked to be erased on \d{1,2} \S+ \d{4}/);
    expect(error.details!.issues![0]!.field).toBe('contact.email');
    expect(await t.dumpDatabase()).toBe(dump);
    const blank = await t.request('/api/v1/consents', { method: 'POST', token: s.agent.token, json: { ...again, suppressionOverride: { reason: '  ' } } });
    expect((await errorOf(blank)).details!.issues![0]!.field).toBe('suppressionOverride.reason');

    const overridden = await t.request('/api/v1/consents', { method: 'POST', token: s.agent.token, json: { ...again, suppressionOverride: { reason: 'Rappelle pour recevoir les offres' } } });
    expect(overridden.status).toBe(201);
    const result = (await overridden.json()) as { contact: { id: string; created: boolean }; confirmationEmail: string; suppression: string };
    expect(result).toMatchObject({ confirmationEmail: 'queued', suppression: 'kept_until_confirmed', contact: { created: true } });
    const audit = await t.client.execute({ sql: "SELECT details FROM audit_log WHERE action = 'consent.suppression_override' AND target_id = ?", args: [result.contact.id] });
    expect(JSON.parse(String(audit.rows[0]!.details))).toMatchObject({ reason: 'Rappelle pour recevoir les offres', suppressionReason: 'erased' });
    // Granted and even confirmed in the state table, but suppressed: no newsletter goes out.
    await t.client.execute({ sql: 'UPDATE consent_state SET confirmed_at = 1 WHERE contact_id = ?', args: [result.contact.id] });
    expect(await audienceCount(s)).toBe(0);
    await t.client.execute({ sql: 'UPDATE consent_state SET confirmed_at = NULL WHERE contact_id = ?', args: [result.contact.id] });
    // The person confirms from the email: the suppression lifts, and only then are they in the audience.
    const confirm = /\/confirm\/[\w.-]+/.exec(await lastMailText(t, s.email))![0];
    await t.request(confirm, { method: 'POST', headers: { origin: 'http://localhost' }, body: new URLSearchParams({ answer: 'confirm' }) });
    expect(await suppressionOf(s)).toMatchObject({ suppressed: false });
    expect(await audienceCount(s)).toBe(1);
  });
});

describe('requests logged by an admin', () => {
  it('are due one month out, listed by deadline, flagged overdue, and closed by the action that answers them', async () => {
    const s = await subscriber(t);
    const log = (json: unknown) => t.request('/api/v1/dsr-requests', { method: 'POST', token: s.admin.token, json });
    const access = await log({ contactId: s.contactId, type: 'access', channel: 'phone', receivedAt: '2026-10-31T10:00:00Z' });
    expect(access.status).toBe(201);
    expect(await access.json()).toMatchObject({ status: 'open', dueAt: '2026-11-30T10:00:00.000Z' });
    const rect = (await (await log({ contactId: s.contactId, type: 'rectification', channel: 'letter' })).json()) as { id: string };
    const erase = (await (await log({ contactId: s.contactId, type: 'erasure', channel: 'email', notes: 'Demande reçue au service client' })).json()) as { id: string; dueAt: string };
    expect((await errorOf(await log({ contactId: s.contactId, type: 'nope', channel: 'phone' }))).details!.issues![0]!.field).toBe('type');
    expect((await log({ contactId: 'ct_missing', type: 'access', channel: 'phone' })).status).toBe(404);
    expect((await t.request('/api/v1/dsr-requests', { token: s.marketer.token })).status).toBe(403);

    t.clock.advance(0);
    const listed = (await (await t.request('/api/v1/dsr-requests?status=open', { token: s.admin.token })).json()) as { requests: { type: string; overdue: boolean; contact: string }[] };
    expect(listed.requests.map((r) => r.type)).toEqual(['access', 'rectification', 'erasure']);
    expect(listed.requests[0]!.contact).toContain(s.email);

    const accessId = ((await (await t.request('/api/v1/dsr-requests', { token: s.admin.token })).json()) as { requests: { id: string; type: string }[] }).requests.find((r) => r.type === 'access')!.id;
    const csv = await t.request(`/api/v1/contacts/${s.contactId}/export?format=csv&requestId=${accessId}`, { token: s.admin.token });
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect(await csv.text()).toContain(s.email);

    const patched = await t.request(`/api/v1/contacts/${s.contactId}`, { method: 'PATCH', token: s.admin.token, json: { lastName: 'Durand', attributes: { destination: null }, requestId: rect.id } });
    expect(await patched.json()).toEqual({ changed: ['lastName', 'attributes'] });
    const audit = await t.client.execute({ sql: "SELECT details FROM audit_log WHERE action = 'contact.rectified' AND target_id = ?", args: [s.contactId] });
    expect(String(audit.rows[0]!.details)).not.toContain('Durand');
    expect((await t.request(`/api/v1/contacts/${s.contactId}`, { method: 'PATCH', token: s.admin.token, json: { email: 'not-an-email' } })).status).toBe(400);

    const erased = await t.request(`/api/v1/contacts/${s.contactId}/erasure`, { method: 'POST', token: s.admin.token, json: { requestId: erase.id } });
    expect(await erased.json()).toEqual({ erased: true, closedRequests: [erase.id] });
    const all = (await (await t.request('/api/v1/dsr-requests', { token: s.admin.token })).json()) as { requests: { type: string; status: string }[] };
    expect(all.requests.every((r) => r.status === 'completed')).toBe(true);
    expect(await suppressionOf(s)).toMatchObject({ suppressed: true, reason: 'erased' });
    expect(await verifyChain(t.db, s.workspace.id)).toMatchObject({ ok: true });
    expect((await log({ contactId: s.contactId, type: 'access', channel: 'phone' })).status).toBe(409);
  });

  it('a month is a calendar month, ending on the last day when shorter', () => {
    expect(dueDateOf(new Date('2026-01-31T09:00:00Z')).toISOString()).toBe('2026-02-28T09:00:00.000Z');
    expect(dueDateOf(new Date('2028-01-31T09:00:00Z')).toISOString()).toBe('2028-02-29T09:00:00.000Z');
    expect(dueDateOf(new Date('2026-12-15T09:00:00Z')).toISOString()).toBe('2027-01-15T09:00:00.000Z');
  });
});

describe('retention', () => {
  it('erases prospects whose last own action is older than the retention, logs it, and is safe to run twice', async () => {
    const s = await subscriber(t);
    const day = 86_400_000;
    const now = t.clock.now();
    const old = `${unique('old')}@example.test`;
    const fresh = `${unique('fresh')}@example.test`;
    for (const email of [old, fresh]) {
      const res = await t.request('/api/v1/consents', { method: 'POST', token: s.agent.token, json: { ...s.body, contact: { ...s.body.contact, email }, call: { ...s.body.call, ref: unique('CALL') } } });
      expect(res.status).toBe(201);
    }
    const idOf = async (email: string) => String((await t.client.execute({ sql: 'SELECT id FROM contacts WHERE email = ?', args: [email] })).rows[0]!.id);
    const oldId = await idOf(old);
    const freshId = await idOf(fresh);
    // Three years and a day since the old lead's last action; the fresh one acted a year ago.
    await t.client.execute({ sql: 'UPDATE contacts SET last_prospect_action_at = ? WHERE id = ?', args: [now.getTime() - (3 * 365 + 1) * day, oldId] });
    await t.client.execute({ sql: 'UPDATE contacts SET last_prospect_action_at = ? WHERE id = ?', args: [now.getTime() - 365 * day, freshId] });
    const [report] = await runRetention(t.db, now, { workspaceId: s.workspace.id });
    expect(report).toMatchObject({ erased: 1 });
    const rows = await t.client.execute({ sql: 'SELECT id, email, erased_at FROM contacts WHERE id IN (?, ?)', args: [oldId, freshId] });
    expect(rows.rows.find((r) => r.id === oldId)).toMatchObject({ email: null });
    expect(rows.rows.find((r) => r.id === freshId)).toMatchObject({ email: fresh, erased_at: null });
    // Not suppressed: the person did not object, the data just expired.
    const check = (await (await t.request(`/api/v1/suppressions/check?email=${encodeURIComponent(old)}`, { token: s.admin.token })).json()) as { suppressed: boolean };
    expect(check.suppressed).toBe(false);
    const audit = await t.client.execute({ sql: "SELECT details FROM audit_log WHERE workspace_id = ? AND action = 'retention.run'", args: [s.workspace.id] });
    expect(JSON.parse(String(audit.rows[0]!.details))).toMatchObject({ erased: 1, retentionDays: 3 * 365 });
    expect(await verifyChain(t.db, s.workspace.id)).toMatchObject({ ok: true });

    // A second run erases nobody and changes nothing but the purge log, which records the run.
    const withoutAudit = (dump: string) => dump.split('\n').filter((line) => !line.startsWith('audit_log:')).join('\n');
    const before = await t.dumpDatabase();
    expect((await runRetention(t.db, now, { workspaceId: s.workspace.id }))[0]).toMatchObject({ erased: 0 });
    expect(withoutAudit(await t.dumpDatabase())).toBe(withoutAudit(before));
    const runs = await t.client.execute({ sql: "SELECT details FROM audit_log WHERE workspace_id = ? AND action = 'retention.run' ORDER BY at, rowid", args: [s.workspace.id] });
    expect(runs.rows.map((r) => JSON.parse(String(r.details)).erased)).toEqual([1, 0]);
    // Two years on, the fresh lead expires too; the admin can run it on demand.
    t.clock.advance(2 * 365 * day + day);
    const run = await t.request('/api/v1/retention/run', { method: 'POST', token: await t.login(s.admin.email) });
    expect(await run.json()).toMatchObject({ erased: 1 });
  });
});
