/**
 * Browser-side attacks on the web app (issue 10, item 3; SECURITY.md, "Browser to app"):
 *  - CSRF on every state-changing page route, enumerated from the app's own routing table: with
 *    a session cookie, a POST from another site (or with no way to tell) is refused with 403 and
 *    writes nothing; the same POST from our own pages is not. Public token forms follow their
 *    documented defence: same-origin check, except RFC 8058 one-click, where the token is the
 *    credential and a mail provider posts without Origin. A new route must be classified here.
 *  - open redirects: `?next=` after login, the click redirect, and every other redirect the app
 *    answers (every GET route swept with hostile query parameters);
 *  - security headers on every HTML page (CSP, frame-ancestors, referrer policy, nosniff, caching)
 *    and the session cookie's flags.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { clickToken } from '../../src/tracking/tokens.js';
import { BASE, createTestApp, testKeys, type TestApp, expectDatabaseUnchanged } from '../helpers/app.js';
import { TEST_PASSWORD, unique } from '../helpers/factories.js';
import { lastMailText, subscriber, type Subscriber } from '../helpers/subscriber.js';
import { trackedCampaign } from '../helpers/tracked-campaign.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.dispose());

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'ALL']);
const form = (fields: Record<string, string>) => new URLSearchParams(fields);
const cookie = (token: string) => ({ cookie: `session=${token}` });
type Role = 'admin' | 'marketer' | 'agent';
/** Least privileged first: the role found allowed on a route is the narrowest one. */
const ROLES: Role[] = ['agent', 'marketer', 'admin'];

const expectUnchanged = (before: string, label?: string) => expectDatabaseUnchanged(t, before, label);

/** The routes the app registers, once each (Hono lists a route once per middleware). */
function routes(): { method: string; path: string }[] {
  const seen = new Map<string, { method: string; path: string }>();
  for (const r of t.app.routes) if (r.method !== 'ALL') seen.set(`${r.method} ${r.path}`, { method: r.method, path: r.path });
  return [...seen.values()];
}
const isApi = (path: string) => path.startsWith('/api/');
const isWebhook = (path: string) => path.startsWith('/webhooks/');

interface Site {
  s: Subscriber;
  draftId: string;
  apiKeyId: string;
  dsrId: string;
  outboxId: string;
  tokens: { invite: string; confirm: string; export: string; open: string; click: string };
  exportCookie: string;
}

/** One workspace with something behind every kind of id and token the routes take. */
async function site(): Promise<Site> {
  const s = await subscriber(t);
  const json = async (path: string, body: unknown, token = s.admin.token) => {
    const res = await t.request(path, { method: 'POST', token, json: body });
    expect(res.status, `${path}: ${await res.clone().text()}`).toBe(201);
    return res.json() as Promise<Record<string, unknown>>;
  };
  const draft = await json('/api/v1/campaigns', { name: 'Brouillon', subject: 'Nos offres', preheader: 'Rome', body: '<mj-section><mj-column><mj-text><p><a href="https://voyage.example/">Voir</a></p></mj-text></mj-column></mj-section>' }, s.marketer.token);
  const key = await json('/api/v1/api-keys', { name: 'Dialer', scopes: ['stats:read'] });
  const dsr = await json('/api/v1/dsr-requests', { contactId: s.contactId, type: 'access', channel: 'phone' });
  const inviteeEmail = `${unique('invitee')}@example.test`;
  await json('/api/v1/members', { email: inviteeEmail, name: 'Nouvelle Recrue', role: 'agent' });
  const invite = /\/invite\/([\w.-]+)/.exec(await lastMailText(t, inviteeEmail))![1]!;
  const pending = `${unique('pending')}@example.test`;
  await json(
    '/api/v1/consents',
    { contact: { email: pending }, call: { ref: unique('CALL'), basis: 'inbound_call' }, answers: [{ purpose: 'newsletter', answer: 'granted', scriptId: s.scripts.newsletter.id }, { purpose: 'open_tracking', answer: 'refused', scriptId: s.scripts.open_tracking.id }] },
    s.agent.token,
  );
  const confirm = /\/confirm\/([\w.-]+)/.exec(await lastMailText(t, pending))![1]!;
  const asked = await t.request(`${s.preferences}/export`, { method: 'POST', headers: { origin: BASE } });
  const exportCookie = asked.headers.get('set-cookie')!.split(';')[0]!;
  const exportToken = /href="\/p\/export\/([\w.-]+)\?format=json"/.exec(await asked.text())![1]!;
  const [mail] = (await t.client.execute({ sql: "SELECT id, html FROM outbox_messages WHERE \"to\" = ? AND json_extract(tags, '$.campaign') = ?", args: [s.email, s.campaignId] })).rows;
  const html = String(mail!.html);
  // A link the reader sees (not the hidden honeypot, which has no destination).
  const honeypot = /<a href="[^"]+\/c\/([\w.-]+)" aria-hidden="true"/.exec(html)![1]!;
  const click = [...html.matchAll(/\/c\/([\w.-]+)/g)].map((m) => m[1]!).find((c) => c !== honeypot)!;
  return {
    s,
    draftId: String(draft.id),
    apiKeyId: String((key.apiKey as { id: string }).id),
    dsrId: String(dsr.id),
    outboxId: String(mail!.id),
    tokens: { invite, confirm, export: exportToken, open: /\/o\/([\w.-]+)/.exec(html)![1]!, click },
    exportCookie,
  };
}

/**
 * A concrete path for a route pattern: each parameter gets a real value of its kind (or, with
 * `fake`, an id that names nothing, so a probe cannot act). An unknown parameter fails the test:
 * a new kind of route must say here what stands behind it.
 */
function concrete(pattern: string, w: Site, fake = false): string {
  const segments = pattern.split('/');
  return segments
    .map((seg, i) => {
      if (!seg.startsWith(':')) return seg;
      const name = seg.slice(1).replace(/\{.*\}$/, '');
      const choices = /\{(.*)\}$/.exec(seg)?.[1];
      if (choices) return choices.split('|')[0]!;
      const [area, sub] = [segments[1], segments[i - 1]];
      const pick = (real: string) => (fake ? `${real.split('_')[0]}_00000000000000000000000000000000` : real);
      if (name === 'kind') return 'unsubscribe';
      if (name === 'userId') return pick(w.s.agent.id);
      if (name === 'token') {
        const byArea: Record<string, string> = {
          u: w.s.unsubscribe.slice(3),
          p: sub === 'export' ? w.tokens.export : w.s.preferences.slice(3),
          confirm: w.tokens.confirm,
          invite: w.tokens.invite,
          o: w.tokens.open,
          c: w.tokens.click,
        };
        if (byArea[area!]) return byArea[area!]!;
      }
      if (name === 'id') {
        if (area === 'campaigns') return pick(w.draftId);
        if (area === 'segments') return pick(w.s.segmentId);
        if (area === 'contacts') return pick(w.s.contactId);
        if (area === 'dev') return pick(w.outboxId);
        if (area === 'admin' && segments[2] === 'api-keys') return pick(w.apiKeyId);
        if (area === 'admin' && segments[2] === 'contacts') return pick(w.s.contactId);
        if (area === 'admin' && segments[2] === 'requests') return pick(w.dsrId);
      }
      throw new Error(`no value for :${name} in ${pattern}: add it to concrete()`);
    })
    .join('/');
}

/** A same-site redirect target: a path on this origin, never a scheme, host or backslash trick. */
function expectSameSite(location: string, label: string) {
  expect(location, label).toMatch(/^\/(?![/\\])/);
  expect(location, label).not.toMatch(/[\s\\]/);
  const resolved = new URL(location, 'http://localhost');
  expect(resolved.origin, label).toBe('http://localhost');
}

const isCsrfRefusal = async (res: Response) => res.status === 403 && ((await res.clone().json().catch(() => null)) as { error?: { code?: string } } | null)?.error?.code === 'cross_origin_request';

/** Every way a POST can come from somewhere other than our own pages (OWASP CSRF cheat sheet, "Verifying origin with standard headers"). */
const CROSS_SITE: [string, Record<string, string>][] = [
  ['another site', { origin: 'https://evil.example' }],
  ['another site claiming same-origin fetch metadata', { origin: 'https://evil.example', 'sec-fetch-site': 'same-origin' }],
  ['a look-alike host', { origin: 'http://localhost.evil.example' }],
  ['another port', { origin: 'http://localhost:8080' }],
  ['another scheme', { origin: 'https://localhost' }],
  ['an opaque origin (sandboxed frame, data: URL)', { origin: 'null' }],
  ['no Origin, cross-site fetch metadata', { 'sec-fetch-site': 'cross-site' }],
  ['no Origin, a sibling subdomain', { 'sec-fetch-site': 'same-site' }],
  ['no Origin and no fetch metadata', {}],
];
const SAME_SITE: [string, Record<string, string>][] = [
  ['same Origin', { origin: BASE }],
  ['no Origin, same-origin fetch metadata', { 'sec-fetch-site': 'same-origin' }],
];
/** What a forged form would carry: enough for any of our forms to do damage if it went through. */
const HOSTILE = () =>
  form({
    confirm: 'yes', answer: 'confirm', action: 'withdraw', purpose: 'newsletter', 'List-Unsubscribe': 'One-Click',
    name: 'Pwned', email: 'attacker@evil.example', role: 'admin', scopes: 'consents:write', password: 'attacker-password-1',
    subject: 'Pwned', text: 'Pwned', label: 'Pwned', firstName: 'Pwned', city: 'Pwned', retentionDays: '1', reason: 'Pwned',
  });

/**
 * Public form routes (no session) and the defence each has, from the code and DESIGN.md:
 *  - origin: the same-origin check of `sameOriginForm` (login CSRF, and forms whose URL token a
 *    third site could know from a forwarded email);
 *  - one-click: RFC 8058 §3.1 — the mail provider's POST carries no cookie and no Origin; the
 *    opaque signed token in the URL is the secret, so it must work from anywhere;
 *  - inert: answers 200 and writes nothing, whoever posts.
 */
const PUBLIC_FORMS: Record<string, 'origin' | 'one-click' | 'inert'> = {
  '/login': 'origin',
  '/invite/:token': 'origin',
  '/confirm/:token': 'origin',
  '/u/:token': 'one-click',
  '/u/:token/undo': 'origin',
  '/p/:token': 'origin',
  '/p/:token/details': 'origin',
  '/p/:token/export': 'origin',
  '/p/:token/erase': 'origin',
  '/preview-link/:kind': 'inert',
};

let w: Site;
beforeAll(async () => {
  w = await site();
});

describe('CSRF on every form POST', () => {
  const formRoutes = () => routes().filter((r) => !SAFE_METHODS.has(r.method) && !isApi(r.path) && !isWebhook(r.path));
  const sessionForms = () => formRoutes().filter((r) => !(r.path in PUBLIC_FORMS));

  it('every public form route listed here exists (the list cannot go stale)', () => {
    const posted = new Set(formRoutes().map((r) => r.path));
    expect(Object.keys(PUBLIC_FORMS).filter((p) => !posted.has(p))).toEqual([]);
    expect(sessionForms().length).toBeGreaterThan(30);
  });

  it('every other form route needs a session: anonymous POSTs go to the login form and write nothing (a new public form must be classified above)', async () => {
    const before = await t.dumpDatabase();
    for (const r of sessionForms()) {
      const res = await t.request(concrete(r.path, w), { method: r.method, headers: { origin: BASE }, body: HOSTILE() });
      expect(res.status, `${r.method} ${r.path}`).toBe(303);
      expect(res.headers.get('location'), `${r.method} ${r.path}`).toMatch(/^\/login(\?|$)/);
    }
    await expectUnchanged(before);
  });

  it('with a session cookie of a role allowed there, a cross-site POST is refused with 403 on every session form and writes nothing; from our own pages it is not refused', async () => {
    const allowed = new Map<string, Role>();
    // Logging out ends every session of that person: /logout is probed by people of their own.
    const leavers = await t.workspaceWithTeam();
    // 1. Our own pages may post: find, per route, a role the route accepts (an id naming nothing
    // and an empty body, so the probe acts on nothing), and check no probe is taken for CSRF.
    for (const r of sessionForms()) {
      for (const role of ROLES) {
        const answers: Response[] = [];
        for (const [label, headers] of SAME_SITE) {
          const token = r.path === '/logout' ? await t.login(leavers[role].email) : w.s[role].token;
          const res = await t.request(concrete(r.path, w, true), { method: r.method, headers: { ...cookie(token), ...headers } });
          expect(await isCsrfRefusal(res), `${r.method} ${r.path} as ${role}, ${label}`).toBe(false);
          expect(res.status, `${r.method} ${r.path} as ${role}, ${label}`).toBeLessThan(500);
          const location = res.headers.get('location');
          if (location) expectSameSite(location, `${r.method} ${r.path}`);
          answers.push(res);
        }
        const forbidden = await Promise.all(answers.map(async (res) => res.status === 403 && ((await res.clone().json().catch(() => null)) as { error?: { code?: string } } | null)?.error?.code === 'forbidden_role'));
        if (!forbidden.some(Boolean)) {
          allowed.set(`${r.method} ${r.path}`, role);
          break;
        }
      }
      expect(allowed.has(`${r.method} ${r.path}`), `no role may POST ${r.path}`).toBe(true);
    }
    // Both kinds of route: some only for admins, some for everyone.
    expect(new Set(allowed.values()).size).toBeGreaterThan(1);

    // 2. Every cross-site shape, with real ids and a hostile body, is refused before acting.
    const before = await t.dumpDatabase();
    let refused = 0;
    for (const r of sessionForms()) {
      const role = allowed.get(`${r.method} ${r.path}`)!;
      for (const [label, headers] of CROSS_SITE) {
        const res = await t.request(concrete(r.path, w), { method: r.method, headers: { ...cookie(w.s[role].token), ...headers }, body: HOSTILE() });
        expect(await isCsrfRefusal(res), `${r.method} ${r.path} as ${role}, ${label}: ${res.status}`).toBe(true);
        expect(res.headers.get('set-cookie'), `${r.path}: the session survives`).toBeNull();
        refused++;
      }
    }
    expect(refused).toBe(sessionForms().length * CROSS_SITE.length);
    await expectUnchanged(before, 'after cross-site POSTs');
    // The sessions used are intact (a cross-site /logout did not end them).
    for (const role of ROLES) expect((await t.request('/api/v1/me', { token: w.s[role].token })).status, role).toBe(200);
  });

  it('a browser shows the refusal as a page, not JSON', async () => {
    const res = await t.request('/admin/api-keys', { method: 'POST', headers: { ...cookie(w.s.admin.token), origin: 'https://evil.example', accept: 'text/html' }, body: HOSTILE() });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toContain('text/html');
    const page = await res.text();
    expect(page).toContain('This form was sent from another site');
    expect(page).not.toContain('Pwned');
  });

  it('public forms with a same-origin defence refuse cross-site POSTs, with or without a cookie, and write nothing', async () => {
    const checked = Object.entries(PUBLIC_FORMS).filter(([, kind]) => kind === 'origin');
    const before = await t.dumpDatabase();
    for (const [pattern] of checked) {
      for (const [label, headers] of [...CROSS_SITE, ['another site, with a session cookie', { ...cookie(w.s.admin.token), origin: 'https://evil.example' }] as [string, Record<string, string>]]) {
        const res = await t.request(concrete(pattern, w), { method: 'POST', headers, body: HOSTILE() });
        expect(await isCsrfRefusal(res), `${pattern}, ${label}: ${res.status}`).toBe(true);
        expect(res.headers.get('set-cookie'), pattern).toBeNull();
      }
    }
    await expectUnchanged(before);
    // From our own page they are not refused for CSRF (an empty body: refused for its content, if at all).
    for (const [pattern] of checked) {
      for (const [label, headers] of SAME_SITE) {
        const res = await t.request(concrete(pattern, w), { method: 'POST', headers, body: form({}) });
        expect(await isCsrfRefusal(res), `${pattern}, ${label}`).toBe(false);
        expect(res.status, pattern).toBeLessThan(500);
      }
    }
  });

  it('RFC 8058 one-click works from anywhere (the signed token is the secret), and only with the one-click body', async () => {
    const s = await subscriber(t);
    const stateOf = async () => String((await t.client.execute({ sql: "SELECT status FROM consent_state WHERE contact_id = ? AND purpose = 'newsletter'", args: [s.contactId] })).rows[0]!.status);
    const before = await t.dumpDatabase();
    // Not the one-click body: refused whatever the origin.
    for (const body of [form({ 'List-Unsubscribe': 'Yes' }), form({}), HOSTILE().toString().replace('One-Click', 'one-click')]) {
      const res = await t.request(s.unsubscribe, { method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' }, body });
      expect(res.status).toBe(400);
    }
    // RFC 8058 §3.2: the POST carries no cookie. A browser never sends our SameSite=Lax cookie on
    // a cross-site POST either; if one came anyway, the cookie-write rule refuses it (fail closed).
    const withCookie = await t.request(s.unsubscribe, { method: 'POST', headers: { origin: 'https://evil.example', ...cookie(w.s.admin.token) }, body: form({ 'List-Unsubscribe': 'One-Click' }) });
    expect(await isCsrfRefusal(withCookie)).toBe(true);
    await expectUnchanged(before);
    expect(await stateOf()).toBe('granted');

    // A mail provider's POST from its own servers: another origin, or none at all.
    for (const headers of [{ origin: 'https://mail.provider.example' }, {}] as Record<string, string>[]) {
      const res = await t.request(s.unsubscribe, { method: 'POST', headers, body: form({ 'List-Unsubscribe': 'One-Click' }) });
      expect(res.status).toBe(200);
      expect(res.headers.get('location')).toBeNull();
      expect(res.headers.get('set-cookie')).toBeNull();
      expect(await stateOf()).toBe('withdrawn');
    }
    const actor = (await t.client.execute({ sql: 'SELECT actor_type, actor_id FROM consent_events WHERE contact_id = ? ORDER BY seq DESC LIMIT 1', args: [s.contactId] })).rows[0]!;
    expect({ type: actor.actor_type, id: actor.actor_id }).toEqual({ type: 'subscriber', id: s.contactId });
  });

  it('the preview links’ POST answers 200 from anywhere and writes nothing', async () => {
    const before = await t.dumpDatabase();
    for (const [, headers] of [...CROSS_SITE, ...SAME_SITE]) {
      const res = await t.request('/preview-link/unsubscribe', { method: 'POST', headers, body: form({ 'List-Unsubscribe': 'One-Click' }) });
      expect(res.status).toBe(200);
    }
    await expectUnchanged(before);
  });

  it('API writes are covered too: a cookie-authenticated call from another site is refused on every non-GET API route', async () => {
    const before = await t.dumpDatabase();
    const api = routes().filter((r) => !SAFE_METHODS.has(r.method) && isApi(r.path));
    expect(api.length).toBeGreaterThan(20);
    for (const r of api) {
      const path = r.path.replace(/\{(\w+)\}|:(\w+)/g, 'x_00000000000000000000000000000000');
      const res = await t.request(path, { method: r.method, headers: { ...cookie(w.s.admin.token), origin: 'https://evil.example', 'content-type': 'application/json' }, body: '{"name":"Pwned"}' });
      expect(await isCsrfRefusal(res), `${r.method} ${r.path}: ${res.status}`).toBe(true);
    }
    await expectUnchanged(before);
  });
});

describe('open redirects', () => {
  const login = (next: string, headers: Record<string, string> = {}) =>
    t.request(`/login?next=${encodeURIComponent(next)}`, { method: 'POST', headers: { origin: BASE, ...headers }, body: form({ email: w.s.agent.email, password: TEST_PASSWORD }) });

  /** `?next=` values that must land on `/` (OWASP Unvalidated Redirects cheat sheet; the WHATWG URL parser's quirks). */
  const HOSTILE_NEXT = [
    '//evil.example',
    '//evil.example/campaigns',
    '///evil.example',
    '/\\evil.example',
    '\\\\evil.example',
    '\\/evil.example',
    '/.//evil.example',
    '/..//evil.example',
    '/%2e//evil.example',
    'https://evil.example',
    'https:evil.example',
    'HTTPS://evil.example/',
    'javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    ' //evil.example',
    '\t//evil.example',
    '/\t/evil.example',
    '/\n/evil.example',
    '/\r\n/evil.example',
    '%2F%2Fevil.example',
    '%2f%2fevil.example',
    'evil.example',
    '@evil.example',
    '',
  ];
  /** Harmless values must come back as the same path (and query), percent-encoded. */
  const OWN_NEXT: [string, string][] = [
    ['/campaigns', '/campaigns'],
    ['/agent?campaign=Voyage à Rome&callRef=V-1', '/agent?campaign=Voyage%20%C3%A0%20Rome&callRef=V-1'],
    ['/contacts?q=a%2Fb', '/contacts?q=a%2Fb'],
    ['/%2F/evil.example', '/%2F/evil.example'],
    ['/x\r\nSet-Cookie: pwned=1', '/xSet-Cookie:%20pwned=1'],
  ];

  it('?next= after logging in (the form, and the login page of someone already logged in) only ever goes to a path of this site', async () => {
    for (const next of HOSTILE_NEXT) {
      const posted = await login(next);
      expect(posted.status, JSON.stringify(next)).toBe(303);
      expect(posted.headers.get('location'), JSON.stringify(next)).toBe('/');
      const visited = await t.request(`/login?next=${encodeURIComponent(next)}`, { headers: cookie(w.s.agent.token) });
      expect(visited.status, JSON.stringify(next)).toBe(303);
      expect(visited.headers.get('location'), JSON.stringify(next)).toBe('/');
      // The anonymous form carries `next` into its action: never the foreign host.
      const page = await (await t.request(`/login?next=${encodeURIComponent(next)}`)).text();
      expect(page, JSON.stringify(next)).toContain('action="/login?next=%2F"');
    }
    for (const [next, expected] of OWN_NEXT) {
      const posted = await login(next);
      expect(posted.headers.get('location'), next).toBe(expected);
      expectSameSite(posted.headers.get('location')!, next);
    }
  });

  it('the login redirect also holds when `next` is given twice or double-encoded', async () => {
    const twice = await t.request('/login?next=%2Fcampaigns&next=%2F%2Fevil.example', { headers: cookie(w.s.agent.token) });
    expectSameSite(twice.headers.get('location')!, 'twice');
    const double = await t.request(`/login?next=${encodeURIComponent(encodeURIComponent('//evil.example'))}`, { headers: cookie(w.s.agent.token) });
    expect(double.headers.get('location')).toBe('/');
  });

  it('the click redirect goes only to a link recorded for that campaign, never to a URL the token or the query names', async () => {
    const team = await t.workspaceWithTeam();
    const body = `<mj-section><mj-column><mj-text><p>
      <a href="https://voyage.example/ok">ok</a> <a href="mailto:contact@voyage.example">mail</a> <a href="tel:+33100000000">tel</a>
    </p></mj-text></mj-column></mj-section>`;
    const c = await trackedCampaign(t, team, [{ prefix: 'x', n: 1, openTracking: false }], { body });
    const r = c.recipients[0]!;
    const recorded = (await t.client.execute({ sql: 'SELECT idx, url, tracked FROM campaign_links WHERE campaign_id = ? ORDER BY idx', args: [c.campaignId] })).rows.map((x) => ({ idx: Number(x.idx), url: String(x.url), tracked: Number(x.tracked) }));
    const trackedUrls = recorded.filter((x) => x.tracked).map((x) => x.url);
    expect(trackedUrls.length).toBeGreaterThan(0);
    // Every link in the message leads to a recorded destination, whatever is appended to the URL.
    for (const click of r.clicks) {
      for (const suffix of ['', '?next=https://evil.example', '?url=//evil.example&to=https://evil.example']) {
        const res = await t.request(`${click}${suffix}`);
        expect(res.status).toBe(302);
        expect(trackedUrls).toContain(res.headers.get('location'));
        expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      }
    }
    // Validly signed tokens for the untracked links (mailto:, tel:) and for no link: a page, no Location.
    for (const x of [...recorded.filter((l) => !l.tracked).map((l) => l.idx), recorded.length, 99]) {
      const res = await t.request(`/c/${clickToken(testKeys, { campaignId: c.campaignId, sendId: r.sendId, link: x })}`);
      expect(res.status, `link ${x}`).toBe(404);
      expect(res.headers.get('location')).toBeNull();
    }
  });

  it('a campaign cannot make its tracked links into script or data URLs', async () => {
    const team = await t.workspaceWithTeam();
    const body = `<mj-section><mj-column><mj-text><p>
      <a href="javascript:alert(1)">js</a> <a href="data:text/html,x">data</a> <a href="//evil.example/x">relative</a> <a href="https://voyage.example/ok">ok</a>
    </p></mj-text></mj-column></mj-section>`;
    const created = await t.request('/api/v1/campaigns', { method: 'POST', token: team.marketer.token, json: { name: 'Liens', subject: 'Liens', preheader: 'Liens', body } });
    if (created.status === 201) {
      // Accepted as a draft: once sent, only http(s) links are tracked and redirected to.
      const c = await trackedCampaign(t, team, [{ prefix: 'y', n: 1, openTracking: false }], { body });
      const recorded = (await t.client.execute({ sql: 'SELECT url FROM campaign_links WHERE campaign_id = ? AND tracked = 1', args: [c.campaignId] })).rows.map((x) => String(x.url));
      for (const url of recorded) expect(url).toMatch(/^https?:\/\/[^/]/);
      for (const click of c.recipients[0]!.clicks) expect((await t.request(click)).headers.get('location')).toMatch(/^https:\/\/voyage\.example\//);
    } else {
      expect(created.status).toBe(400);
    }
  });

  it('no other redirect of the app leaves the site, even with hostile query parameters, for anyone', async () => {
    const hostile = '?next=%2F%2Fevil.example&redirect=https%3A%2F%2Fevil.example&url=%2F%5Cevil.example&return_to=javascript%3Aalert(1)&to=%2F%2Fevil.example';
    let redirects = 0;
    for (const r of routes().filter((x) => x.method === 'GET' && !isApi(x.path))) {
      for (const who of [null, ...ROLES]) {
        const path = concrete(r.path, w);
        const res = await t.request(`${path}${hostile}`, { headers: { accept: 'text/html', ...(who ? cookie(w.s[who].token) : {}) } });
        const location = res.headers.get('location');
        if (!location) continue;
        redirects++;
        if (r.path === '/c/:token') expect(location, 'click').toMatch(/^https:\/\/voyage-online\.test\//);
        else expectSameSite(location, `${r.path} as ${who ?? 'anonymous'} → ${location}`);
      }
    }
    expect(redirects).toBeGreaterThan(20);
  });
});

describe('security headers', () => {
  /** Pages that are documented to be shown inside our own frames (email HTML previews). */
  const FRAMED = new Set(['/dev/outbox/:id/html', '/campaigns/:id/preview', '/admin/workspace/preview']);
  /** Pages whose URL holds a credential: the token must not travel in a Referer header. */
  const TOKEN_PAGE = /^\/(u|p|confirm|invite)\//;
  const STRICT_REFERRER = new Set(['no-referrer', 'same-origin', 'strict-origin', 'strict-origin-when-cross-origin']);

  const csp = (header: string | null) =>
    new Map(
      (header ?? '')
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .filter((d) => d[0])
        .map(([name, ...values]) => [name!.toLowerCase(), values]),
    );

  function expectPageHeaders(res: Response, pattern: string, label: string, method = 'GET') {
    const policy = csp(res.headers.get('content-security-policy'));
    expect(policy.size, `${label}: a Content-Security-Policy`).toBeGreaterThan(0);
    const framed = FRAMED.has(pattern);
    expect(policy.get('frame-ancestors'), `${label}: frame-ancestors`).toEqual([framed ? "'self'" : "'none'"]);
    expect(res.headers.get('x-frame-options'), `${label}: X-Frame-Options`).toBe(framed ? 'SAMEORIGIN' : 'DENY');
    // Scripts only from our origin: never inline, eval, data: or any host.
    const scripts = policy.get('script-src') ?? policy.get('default-src');
    expect(scripts, `${label}: script-src or default-src`).toBeDefined();
    for (const bad of ["'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", '*', 'data:', 'http:', 'https:', 'blob:']) expect(scripts, `${label}: script source ${bad}`).not.toContain(bad);
    expect(policy.get('object-src') ?? policy.get('default-src'), `${label}: object-src`).toEqual(["'none'"]);
    if (framed) expect(policy.has('sandbox'), `${label}: the framed email is sandboxed`).toBe(true);
    else {
      expect(policy.get('base-uri'), `${label}: base-uri`).toEqual(["'none'"]);
      expect(policy.get('form-action'), `${label}: form-action`).toEqual(["'self'"]);
    }
    expect(res.headers.get('x-content-type-options'), `${label}: nosniff`).toBe('nosniff');
    const referrer = res.headers.get('referrer-policy');
    if (TOKEN_PAGE.test(label)) expect(referrer, `${label}: a token page sends no Referer`).toBe('no-referrer');
    else expect(STRICT_REFERRER.has(referrer ?? ''), `${label}: Referrer-Policy ${referrer}`).toBe(true);
    // Pages show personal data, or carry a token: nothing in shared or back/forward caches. (The
    // bad-click page is served before that middleware; it shows nothing about anyone. An answer
    // to a POST is never reused from a cache without explicit freshness, RFC 9110 §9.3.3.)
    if (pattern !== '/c/:token' && method === 'GET') expect(res.headers.get('cache-control'), `${label}: Cache-Control`).toContain('no-store');
  }

  it('every HTML page, fetched as someone allowed to see it, carries the headers', async () => {
    const pages: string[] = [];
    const notHtml: string[] = [];
    for (const r of routes().filter((x) => x.method === 'GET' && !isApi(x.path))) {
      const path = concrete(r.path, w);
      const extra = r.path.startsWith('/p/export/') ? { cookie: w.exportCookie } : {};
      // A page for whoever may see it; failing that, a redirect that is the route's own answer.
      const answers: Response[] = [];
      for (const who of [...ROLES, null]) answers.push(await t.request(path, { headers: { accept: 'text/html', ...extra, ...(who ? cookie(w.s[who].token) : {}) } }));
      const shown = answers.find((res) => res.status < 300) ?? answers.find((res) => res.status < 400 && !res.headers.get('location')!.startsWith('/login'));
      expect(shown, `nobody may GET ${r.path}`).toBeDefined();
      if (shown!.status >= 300 || !(shown!.headers.get('content-type') ?? '').includes('text/html')) {
        notHtml.push(r.path);
        continue;
      }
      expectPageHeaders(shown!, r.path, path);
      pages.push(r.path);
    }
    expect(pages.length).toBeGreaterThan(30);
    // Only assets, downloads, the pixel, redirects and machine-readable answers are not pages.
    expect(notHtml.sort()).toEqual(
      ['/admin/contacts', '/assets/agent.js', '/assets/app.css', '/assets/campaign.js', '/assets/favicon.svg', '/c/:token', '/contacts/export.csv', '/healthz', '/o/:token', '/p/export/:token'].sort(),
    );
  });

  it('error and refusal pages carry them too', async () => {
    const agent = cookie(w.s.agent.token);
    const cases: [string, string, RequestInit, number][] = [
      ['/no/such/page', '/no/such/page', {}, 404],
      ['/admin/members', '/admin/members', { headers: agent }, 403],
      ['/u/:token', '/u/not-a-token', {}, 400],
      ['/p/:token', '/p/not-a-token', {}, 400],
      ['/confirm/:token', '/confirm/not-a-token', {}, 400],
      ['/invite/:token', '/invite/not-a-token', {}, 400],
      ['/p/export/:token', '/p/export/not-a-token', {}, 410],
      ['/c/:token', '/c/not-a-token', {}, 404],
      ['/login', '/login', { method: 'POST', headers: { origin: BASE }, body: form({ email: w.s.agent.email, password: 'wrong password' }) }, 401],
      ['/admin/api-keys', '/admin/api-keys', { method: 'POST', headers: { ...cookie(w.s.admin.token), origin: 'https://evil.example' } }, 403],
    ];
    for (const [pattern, path, init, status] of cases) {
      const res = await t.request(path, { ...init, headers: { accept: 'text/html', ...(init.headers as Record<string, string>) } });
      expect(res.status, path).toBe(status);
      expect(res.headers.get('content-type'), path).toContain('text/html');
      expectPageHeaders(res, pattern, path, init.method);
    }
  });

  it('downloads of personal data are not cached either', async () => {
    const csv = await t.request('/contacts/export.csv', { headers: cookie(w.s.admin.token) });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('cache-control')).toContain('no-store');
    expect(csv.headers.get('x-content-type-options')).toBe('nosniff');
    const mine = await t.request(`/p/export/${w.tokens.export}?format=json`, { headers: { cookie: w.exportCookie } });
    expect(mine.status).toBe(200);
    expect(mine.headers.get('cache-control')).toContain('no-store');
    expect(mine.headers.get('referrer-policy')).toBe('no-referrer');
  });

  describe('session cookie', () => {
    const attrs = (setCookie: string) => new Map(setCookie.split(';').map((p) => p.trim().split('=')).map(([k, ...v]) => [k!.toLowerCase(), v.join('=')]));

    it('login over http (local) sets HttpOnly, SameSite=Lax, Path=/ and the session lifetime, without Secure', async () => {
      const res = await t.request('/login', { method: 'POST', headers: { origin: BASE }, body: form({ email: w.s.marketer.email, password: TEST_PASSWORD }) });
      const set = res.headers.get('set-cookie')!;
      expect(set).toMatch(/^session=[\w-]+\.[\w-]+\.[\w-]+;/);
      const a = attrs(set);
      expect(a.has('httponly')).toBe(true);
      expect(a.get('samesite')).toBe('Lax');
      expect(a.get('path')).toBe('/');
      expect(a.get('max-age')).toBe(String(8 * 3600));
      expect(a.has('secure')).toBe(false);
      expect(a.has('domain')).toBe(false);
    });

    it('over https, or behind a TLS proxy whose public URL is https, the cookie is Secure', async () => {
      const app = createApp({ ...t.deps });
      const direct = await app.request('https://localhost/login', { method: 'POST', headers: { origin: 'https://localhost' }, body: form({ email: w.s.marketer.email, password: TEST_PASSWORD }) });
      expect(direct.status).toBe(303);
      expect(attrs(direct.headers.get('set-cookie')!).has('secure')).toBe(true);
      const proxied = createApp({ ...t.deps, publicBaseUrl: 'https://news.example' });
      const behind = await proxied.request(`${BASE}/login`, { method: 'POST', headers: { origin: 'https://news.example' }, body: form({ email: w.s.marketer.email, password: TEST_PASSWORD }) });
      expect(behind.status).toBe(303);
      const a = attrs(behind.headers.get('set-cookie')!);
      expect(a.has('secure')).toBe(true);
      expect(a.has('httponly')).toBe(true);
      expect(a.get('samesite')).toBe('Lax');
    });

    it('accepting an invitation sets the same cookie; the export nonce is HttpOnly, SameSite=Strict and scoped to its path', async () => {
      const email = `${unique('joiner')}@example.test`;
      await t.request('/api/v1/members', { method: 'POST', token: w.s.admin.token, json: { email, name: 'Joiner', role: 'agent' } });
      const token = /\/invite\/([\w.-]+)/.exec(await lastMailText(t, email))![1]!;
      const joined = await t.request(`/invite/${token}`, { method: 'POST', headers: { origin: BASE }, body: form({ password: 'joiner-password-1', confirm: 'joiner-password-1' }) });
      expect(joined.status).toBe(303);
      const a = attrs(joined.headers.get('set-cookie')!);
      expect([a.has('httponly'), a.get('samesite'), a.get('path')]).toEqual([true, 'Lax', '/']);

      const asked = await t.request(`${w.s.preferences}/export`, { method: 'POST', headers: { origin: BASE } });
      const e = attrs(asked.headers.get('set-cookie')!);
      expect([e.has('httponly'), e.get('samesite'), e.get('path'), e.get('max-age')]).toEqual([true, 'Strict', '/p/export', String(15 * 60)]);
    });
  });
});
