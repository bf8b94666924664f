/**
 * The authorisation matrix: every route of the app × every kind of caller, with the answer each
 * must get. The table below is the source of truth, written from the product rules (DESIGN.md §2
 * and §6, the README's page and API tables), not read back from the guards: a route whose guard
 * drifts from it fails here, and so does a route added without a row.
 *
 * Callers (the columns, in this order):
 *   anonymous · agent · marketer · admin (people of workspace A; a session token, as Bearer on
 *   /api/v1 and as the session cookie with our Origin on pages and forms) · one API key of A per
 *   scope (consents:write, contacts:read, conversions:write, campaigns:read, campaigns:write,
 *   stats:read; always as Bearer) · otherAdmin: the admin of workspace B, addressing A's ids.
 *
 * Cells:
 *   ok     the row's success status (the call is made on a throwaway resource when it changes or
 *          destroys something, so later rows still find A's seeded resources)
 *   own    otherAdmin succeeds on their own workspace (lists, creations): same status as ok, and
 *          nothing of A in the answer (A's names, addresses, notes: `world.markers`)
 *   login  a page sends the visitor to the login form: 303 to /login?next=<the path>
 *   401    API: error envelope `unauthenticated`
 *   403    API: envelope `forbidden_role` (people) or `missing_scope` (keys); pages: the 403 page
 *   404    API: envelope `*_not_found`; pages: the 404 page. Another workspace's ids are unknown
 *          ids (OWASP ASVS V4.2.1, IDOR): never a 2xx, never a hint that the id exists
 *   err    a form that handles the unknown id itself: 303 back to its list with `?error=`
 *   <n>    exactly that status (a form's own refusal, a redirect that is not a success)
 * Every cell other than ok/own must leave the database exactly as it was (no row inserted,
 * updated or deleted: triggers log every write); every answer to otherAdmin must be free of A's
 * data.
 *
 * Public routes (token links, pixel, click, webhook, login, assets) are public by design: the
 * token, signature or password is the credential, so every caller gets the same answer as
 * anonymous, and `bad` says what a wrong token gets (the tokens' own attacks are tested in the
 * token and webhook suites).
 */
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeyScopes } from '../../src/db/schema.js';
import { starterTemplates } from '../../src/email/templates.generated.js';
import { createTestApp, TEST_WEBHOOK_SECRET, type TestApp } from '../helpers/app.js';
import { TEST_PASSWORD, unique } from '../helpers/factories.js';
import { CALLERS, installWriteLog, send, seedWorld, writeMark, writesSince, type CallerName, type Kind, type Req, type World } from '../helpers/route-matrix.js';
import { BODY } from '../helpers/tracked-campaign.js';

interface Call {
  w: World;
  caller: CallerName;
  /** The cell is ok/own: the call goes through, so it gets throwaway resources where it matters. */
  allowed: boolean;
  /** The caller's own workspace: B for otherAdmin. */
  home: 'A' | 'B';
}
type Build = (c: Call) => Req | Promise<Req>;

interface Row {
  route: string;
  kind: Kind;
  /** Status of a successful call. */
  ok: number;
  cells: string;
  req: Build;
  /** Public routes: what any caller gets with a wrong token or signature. */
  bad?: { status: number; req: Build };
  /** Where a successful redirect must lead (default: anywhere but the login form or an error). */
  location?: RegExp;
  /** A successful call ends the caller's sessions (logout): log them in again afterwards. */
  endsSession?: boolean;
  /** A successful call changes the caller's password: put the old one back afterwards. */
  changesPassword?: boolean;
}

const row = (route: string, kind: Kind, ok: number, cells: string, req: Build, more: Partial<Row> = {}): Row => ({ route, kind, ok, cells, req, ...more });
const api = (route: string, ok: number, cells: string, req: Build, more?: Partial<Row>) => row(route, 'api', ok, cells, req, more);
const page = (route: string, ok: number, cells: string, req: Build, more?: Partial<Row>) => row(route, 'page', ok, cells, req, more);
const pub = (route: string, ok: number, req: Build, more?: Partial<Row>) => row(route, 'public', ok, 'ok ok ok ok | ok ok ok ok ok ok | ok', req, more);

/** Pages are for people: an API key is no login, whatever its scopes. */
const KEYS_LOGIN = 'login login login login login login';
const NO_KEYS = '403 403 403 403 403 403';

const everyone = { match: 'all', conditions: [] };
const NEW_PASSWORD = 'another horse battery staple';
const path = (p: string): Build => () => ({ path: p });
const ws = (c: Call) => (c.home === 'A' ? c.w.a.workspace : c.w.b.workspace);
const scriptText = (c: Call) =>
  `${ws(c).name} souhaite vous envoyer sa newsletter. Vous pourrez vous désinscrire à tout moment. Politique de confidentialité : ${ws(c).privacyUrl}.`;
const webhook = new Webhook(TEST_WEBHOOK_SECRET);

async function draftContent(w: World, id: string) {
  const res = await w.t.request(`/api/v1/campaigns/${id}`, { token: w.adminToken() });
  const c = (await res.json()) as { subject: string; preheader: string; body: string };
  return { name: 'Modifiée', subject: c.subject, preheader: c.preheader, body: c.body };
}

/** The preference centre's export link and its browser-bound nonce, as the page hands them out. */
async function exportLink(w: World): Promise<Req> {
  const res = await w.t.request(`/p/${w.a.publicLinks.preferences}/export`, { method: 'POST', headers: { origin: 'http://localhost' } });
  const href = /href="(\/p\/export\/[^"?]+)\?format=json"/.exec(await res.text())![1]!;
  const nonce = /^[^=]+=[^;]+/.exec(res.headers.get('set-cookie') ?? '')![0];
  return { path: `${href}?format=json`, cookies: [nonce] };
}

// prettier-ignore
const MATRIX: Row[] = [
  //                                                   anon   agent mkt admin | c:w  ct:r cv:w cp:r cp:w st:r | other
  // ── Open to all: health, assets, the API description ──────────────────────────────────────
  pub('GET /healthz', 200, path('/healthz')),
  pub('GET /assets/app.css', 200, path('/assets/app.css')),
  pub('GET /assets/agent.js', 200, path('/assets/agent.js')),
  pub('GET /assets/campaign.js', 200, path('/assets/campaign.js')),
  pub('GET /assets/favicon.svg', 200, path('/assets/favicon.svg')),
  pub('GET /api/openapi.json', 200, path('/api/openapi.json')),
  pub('GET /api/docs', 200, path('/api/docs')),

  // ── API: sign-in ─────────────────────────────────────────────────────────────────────────────
  pub('POST /api/v1/auth/login', 200, ({ w }) => ({ path: '/api/v1/auth/login', json: { email: w.a.agent.email, password: TEST_PASSWORD } })),
  api('GET /api/v1/me', 200,                            '401 ok  ok  ok  | ok  ok  ok  ok  ok  ok  | own', path('/api/v1/me')),
  api('POST /api/v1/auth/logout', 204,                  `401 ok  ok  ok  | ${NO_KEYS} | own`, path('/api/v1/auth/logout'), { endsSession: true }),
  api('POST /api/v1/auth/password', 200,                `401 ok  ok  ok  | ${NO_KEYS} | own`, () => ({ path: '/api/v1/auth/password', json: { currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD } }), { endsSession: true, changesPassword: true }),

  // ── API: workspace, team, keys, audit (the admin's) ──────────────────────────────────────────
  api('GET /api/v1/workspace', 200,                     `401 ok  ok  ok  | ${NO_KEYS} | own`, path('/api/v1/workspace')),
  api('PATCH /api/v1/workspace', 200,                   `401 403 403 ok  | ${NO_KEYS} | own`, () => ({ path: '/api/v1/workspace', json: { contactPhone: '01 23 45 67 89' } })),
  api('GET /api/v1/members', 200,                       `401 403 403 ok  | ${NO_KEYS} | own`, path('/api/v1/members')),
  api('POST /api/v1/members', 201,                      `401 403 403 ok  | ${NO_KEYS} | own`, () => ({ path: '/api/v1/members', json: { email: `${unique('new')}@example.test`, name: 'Nouvelle', role: 'agent' } })),
  api('GET /api/v1/members/:userId', 200,               `401 403 403 ok  | ${NO_KEYS} | 404`, ({ w }) => ({ path: `/api/v1/members/${w.a.marketer.id}` })),
  // Refused callers try to make A's agent an admin (privilege escalation).
  api('PATCH /api/v1/members/:userId', 200,             `401 403 403 ok  | ${NO_KEYS} | 404`, async ({ w, allowed }) =>
    allowed ? { path: `/api/v1/members/${(await w.fresh.member()).userId}`, json: { role: 'marketer' } } : { path: `/api/v1/members/${w.a.agent.id}`, json: { role: 'admin' } }),
  api('DELETE /api/v1/members/:userId', 204,            `401 403 403 ok  | ${NO_KEYS} | 404`, async ({ w, allowed }) => ({ path: `/api/v1/members/${allowed ? (await w.fresh.member()).userId : w.a.marketer.id}` })),
  api('GET /api/v1/api-keys', 200,                      `401 403 403 ok  | ${NO_KEYS} | own`, path('/api/v1/api-keys')),
  api('POST /api/v1/api-keys', 201,                     `401 403 403 ok  | ${NO_KEYS} | own`, () => ({ path: '/api/v1/api-keys', json: { name: 'CRM', scopes: ['consents:write'] } })),
  api('POST /api/v1/api-keys/:id/revoke', 200,          `401 403 403 ok  | ${NO_KEYS} | 404`, async ({ w, allowed }) => ({ path: `/api/v1/api-keys/${allowed ? await w.fresh.apiKey() : w.a.spareKeyId}/revoke` })),
  api('GET /api/v1/audit-log', 200,                     `401 403 403 ok  | ${NO_KEYS} | own`, path('/api/v1/audit-log')),
  // The dev outbox: admins see the workspace's, others only mail addressed to them (this one is the subscriber's).
  api('GET /api/v1/dev/outbox', 200,                    `401 ok  ok  ok  | ${NO_KEYS} | own`, path('/api/v1/dev/outbox')),
  api('GET /api/v1/dev/outbox/:id', 200,                `401 404 404 ok  | ${NO_KEYS} | 404`, ({ w }) => ({ path: `/api/v1/dev/outbox/${w.a.outboxId}` })),

  // ── API: campaigns (marketers and admins; keys campaigns:read / campaigns:write) ─────────────
  api('GET /api/v1/email-templates', 200,               '401 403 ok  ok  | 403 403 403 ok  ok  403 | own', path('/api/v1/email-templates')),
  api('GET /api/v1/campaigns', 200,                     '401 403 ok  ok  | 403 403 403 ok  ok  403 | own', path('/api/v1/campaigns')),
  api('POST /api/v1/campaigns', 201,                    '401 403 ok  ok  | 403 403 403 403 ok  403 | own', () => ({ path: '/api/v1/campaigns', json: { name: 'Nouvelle', templateId: starterTemplates[0].id } })),
  // otherAdmin asks to render the content as A's contact: unknown contact.
  api('POST /api/v1/campaigns/preview', 200,            '401 403 ok  ok  | 403 403 403 ok  ok  403 | 404', ({ w }) => ({ path: '/api/v1/campaigns/preview', json: { subject: 'Offres', preheader: 'Rome', body: BODY, contactId: w.a.contactId } })),
  api('GET /api/v1/campaigns/:id', 200,                 '401 403 ok  ok  | 403 403 403 ok  ok  403 | 404', ({ w }) => ({ path: `/api/v1/campaigns/${w.a.draftId}` })),
  api('PATCH /api/v1/campaigns/:id', 200,               '401 403 ok  ok  | 403 403 403 403 ok  403 | 404', async ({ w, allowed }) => ({ path: `/api/v1/campaigns/${allowed ? await w.fresh.draft() : w.a.draftId}`, json: { name: 'Renommée' } })),
  api('DELETE /api/v1/campaigns/:id', 204,              '401 403 ok  ok  | 403 403 403 403 ok  403 | 404', async ({ w, allowed }) => ({ path: `/api/v1/campaigns/${allowed ? await w.fresh.draft() : w.a.draftId}` })),
  api('POST /api/v1/campaigns/:id/preview', 200,        '401 403 ok  ok  | 403 403 403 ok  ok  403 | 404', ({ w }) => ({ path: `/api/v1/campaigns/${w.a.draftId}/preview`, json: { contactId: w.a.contactId } })),
  // A test goes to the person asking: a key has no mailbox.
  api('POST /api/v1/campaigns/:id/test-send', 202,      `401 403 ok  ok  | ${NO_KEYS} | 404`, ({ w }) => ({ path: `/api/v1/campaigns/${w.a.draftId}/test-send` })),
  api('POST /api/v1/campaigns/:id/send', 200,           '401 403 ok  ok  | 403 403 403 403 ok  403 | 404', async ({ w, allowed }) => ({ path: `/api/v1/campaigns/${allowed ? await w.fresh.draft() : w.a.draftId}/send`, json: { segmentId: w.a.everyoneSegmentId } })),
  api('POST /api/v1/campaigns/:id/schedule', 200,       '401 403 ok  ok  | 403 403 403 403 ok  403 | 404', async ({ w, allowed }) => ({ path: `/api/v1/campaigns/${allowed ? await w.fresh.draft() : w.a.draftId}/schedule`, json: { segmentId: w.a.everyoneSegmentId, at: '2026-12-02T09:00:00Z' } })),
  api('POST /api/v1/campaigns/:id/pause', 200,          '401 403 ok  ok  | 403 403 403 403 ok  403 | 404', async ({ w, allowed }) => ({ path: `/api/v1/campaigns/${allowed ? await w.fresh.scheduled() : w.a.scheduledId}/pause` })),
  api('POST /api/v1/campaigns/:id/resume', 200,         '401 403 ok  ok  | 403 403 403 403 ok  403 | 404', async ({ w, allowed }) => ({ path: `/api/v1/campaigns/${allowed ? await w.fresh.paused() : w.a.pausedId}/resume` })),
  api('POST /api/v1/campaigns/:id/cancel', 200,         '401 403 ok  ok  | 403 403 403 403 ok  403 | 404', async ({ w, allowed }) => ({ path: `/api/v1/campaigns/${allowed ? await w.fresh.scheduled() : w.a.scheduledId}/cancel` })),
  api('GET /api/v1/campaigns/:id/progress', 200,        '401 403 ok  ok  | 403 403 403 ok  ok  403 | 404', ({ w }) => ({ path: `/api/v1/campaigns/${w.a.sentCampaignId}/progress` })),

  // ── API: segments ────────────────────────────────────────────────────────────────────────────
  api('GET /api/v1/segments/fields', 200,               '401 403 ok  ok  | 403 403 403 ok  ok  403 | own', path('/api/v1/segments/fields')),
  api('GET /api/v1/segments', 200,                      '401 403 ok  ok  | 403 403 403 ok  ok  403 | own', path('/api/v1/segments')),
  api('POST /api/v1/segments/preview', 200,             '401 403 ok  ok  | 403 403 403 ok  ok  403 | own', () => ({ path: '/api/v1/segments/preview', json: { rules: everyone } })),
  api('POST /api/v1/segments', 201,                     '401 403 ok  ok  | 403 403 403 403 ok  403 | own', () => ({ path: '/api/v1/segments', json: { name: 'Nouveau', rules: everyone } })),
  api('GET /api/v1/segments/:id', 200,                  '401 403 ok  ok  | 403 403 403 ok  ok  403 | 404', ({ w }) => ({ path: `/api/v1/segments/${w.a.segmentId}` })),
  api('PATCH /api/v1/segments/:id', 200,                '401 403 ok  ok  | 403 403 403 403 ok  403 | 404', async ({ w, allowed }) => ({ path: `/api/v1/segments/${allowed ? await w.fresh.segment() : w.a.segmentId}`, json: { name: 'Renommé', rules: everyone } })),
  api('DELETE /api/v1/segments/:id', 204,               '401 403 ok  ok  | 403 403 403 403 ok  403 | 404', async ({ w, allowed }) => ({ path: `/api/v1/segments/${allowed ? await w.fresh.segment() : w.a.segmentId}` })),

  // ── API: consent capture and contacts ────────────────────────────────────────────────────────
  api('GET /api/v1/consent-scripts', 200,               '401 ok  ok  ok  | ok  ok  403 403 403 403 | own', path('/api/v1/consent-scripts')),
  api('POST /api/v1/consent-scripts', 201,              `401 403 403 ok  | ${NO_KEYS} | own`, (c) => ({ path: '/api/v1/consent-scripts', json: { purpose: 'newsletter', label: 'Newsletter', text: scriptText(c) } })),
  // otherAdmin names A's script versions: not scripts of B, refused (400), nothing written.
  api('POST /api/v1/consents', 201,                     '401 ok  403 ok  | ok  403 403 403 403 403 | 400', ({ w }) => ({
    path: '/api/v1/consents',
    json: {
      contact: { email: `${unique('lead')}@example.test` },
      call: { ref: unique('CALL'), basis: 'inbound_call' },
      answers: [
        { purpose: 'newsletter', answer: 'granted', scriptId: w.a.scripts.newsletter.id },
        { purpose: 'open_tracking', answer: 'refused', scriptId: w.a.scripts.open_tracking.id },
      ],
    },
  })),
  // Agents find the person they are calling (console, conversions); marketers work on segments
  // and see addresses masked (data minimisation, src/domain/contacts/mask.ts), never whole contacts.
  api('GET /api/v1/contacts', 200,                      '401 ok  403 ok  | ok  ok  403 403 403 403 | own', ({ w }) => ({ path: `/api/v1/contacts?email=${encodeURIComponent(w.a.contactEmail)}` })),
  api('GET /api/v1/contacts/:id', 200,                  '401 ok  403 ok  | ok  ok  403 403 403 403 | 404', ({ w }) => ({ path: `/api/v1/contacts/${w.a.contactId}` })),
  api('GET /api/v1/contacts/:id/consent-proof', 200,    `401 403 403 ok  | ${NO_KEYS} | 404`, ({ w }) => ({ path: `/api/v1/contacts/${w.a.contactId}/consent-proof` })),
  api('GET /api/v1/consent-ledger/verification', 200,   `401 403 403 ok  | ${NO_KEYS} | own`, path('/api/v1/consent-ledger/verification')),
  api('GET /api/v1/stats/agents', 200,                  '401 403 ok  ok  | 403 403 403 403 403 ok  | own', path('/api/v1/stats/agents')),

  // ── API: data-subject rights (the DPO, i.e. admins) ──────────────────────────────────────────
  api('GET /api/v1/dsr-requests', 200,                  `401 403 403 ok  | ${NO_KEYS} | own`, path('/api/v1/dsr-requests')),
  api('POST /api/v1/dsr-requests', 201,                 `401 403 403 ok  | ${NO_KEYS} | 404`, ({ w }) => ({ path: '/api/v1/dsr-requests', json: { contactId: w.a.contactId, type: 'access', channel: 'letter' } })),
  api('POST /api/v1/dsr-requests/:id/close', 200,       `401 403 403 ok  | ${NO_KEYS} | 404`, async ({ w, allowed }) => ({ path: `/api/v1/dsr-requests/${allowed ? await w.fresh.dsr() : w.a.dsrId}/close`, json: { status: 'completed', outcome: 'Fait.' } })),
  api('GET /api/v1/contacts/:id/export', 200,           `401 403 403 ok  | ${NO_KEYS} | 404`, ({ w }) => ({ path: `/api/v1/contacts/${w.a.contactId}/export` })),
  api('POST /api/v1/contacts/:id/erasure', 200,         `401 403 403 ok  | ${NO_KEYS} | 404`, async ({ w, allowed }) => ({ path: `/api/v1/contacts/${allowed ? await w.fresh.contact() : w.a.contactId}/erasure`, json: {} })),
  api('PATCH /api/v1/contacts/:id', 200,                `401 403 403 ok  | ${NO_KEYS} | 404`, async ({ w, allowed }) => ({ path: `/api/v1/contacts/${allowed ? await w.fresh.contact() : w.a.contactId}`, json: { firstName: 'Léa' } })),
  api('GET /api/v1/suppressions/check', 200,            `401 403 403 ok  | ${NO_KEYS} | own`, ({ w }) => ({ path: `/api/v1/suppressions/check?email=${encodeURIComponent(w.a.contactEmail)}` })),
  api('POST /api/v1/retention/run', 200,                `401 403 403 ok  | ${NO_KEYS} | own`, path('/api/v1/retention/run')),

  // ── API: measurement ─────────────────────────────────────────────────────────────────────────
  // otherAdmin reports a conversion of A's contact: unknown contact.
  api('POST /api/v1/conversions', 201,                  '401 ok  ok  ok  | 403 403 ok  403 403 403 | 404', ({ w }) => ({ path: '/api/v1/conversions', json: { contactId: w.a.contactId, type: 'booking', value: 120, externalId: unique('BKG') } })),
  api('GET /api/v1/campaigns/:id/stats', 200,           '401 403 ok  ok  | 403 403 403 403 403 ok  | 404', ({ w }) => ({ path: `/api/v1/campaigns/${w.a.sentCampaignId}/stats` })),
  api('GET /api/v1/reports/campaigns', 200,             '401 403 ok  ok  | 403 403 403 403 403 ok  | own', () => ({ path: '/api/v1/reports/campaigns?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z' })),

  // ── Public by design: links in emails, pixel, click, provider webhook, invitations ───────────
  pub('GET /o/:token', 200, ({ w }) => ({ path: w.a.openPath }), { bad: { status: 200, req: path('/o/not-a-token') } }),
  pub('GET /c/:token', 302, ({ w }) => ({ path: w.a.clickPath, headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0' } }), { bad: { status: 404, req: path('/c/not-a-token') }, location: /^https:\/\// }),
  pub('POST /webhooks/resend', 200, () => {
    const id = `msg_${unique('svix')}`;
    const body = JSON.stringify({ type: 'email.opened', created_at: new Date().toISOString(), data: { email_id: 'unknown' } });
    return { path: '/webhooks/resend', body, headers: { 'content-type': 'application/json', 'svix-id': id, 'svix-timestamp': String(Math.floor(Date.now() / 1000)), 'svix-signature': webhook.sign(id, new Date(), body) } };
  }, { bad: { status: 401, req: () => ({ path: '/webhooks/resend', body: '{"type":"email.bounced"}', headers: { 'content-type': 'application/json', 'svix-id': 'msg_x', 'svix-timestamp': String(Math.floor(Date.now() / 1000)), 'svix-signature': 'v1,AAAA' } }) } }),
  pub('GET /confirm/:token', 200, ({ w }) => ({ path: `/confirm/${w.a.confirmToken}` }), { bad: { status: 400, req: path('/confirm/not-a-token') } }),
  pub('POST /confirm/:token', 200, ({ w }) => ({ path: `/confirm/${w.a.confirmToken}`, form: { answer: 'confirm' } }), { bad: { status: 400, req: () => ({ path: '/confirm/not-a-token', form: { answer: 'confirm' } }) } }),
  pub('GET /u/:token', 200, ({ w }) => ({ path: `/u/${w.a.publicLinks.unsubscribe}` }), { bad: { status: 400, req: path('/u/not-a-token') } }),
  pub('POST /u/:token', 200, ({ w }) => ({ path: `/u/${w.a.publicLinks.unsubscribe}`, form: { 'List-Unsubscribe': 'One-Click' } }), { bad: { status: 400, req: () => ({ path: '/u/not-a-token', form: { 'List-Unsubscribe': 'One-Click' } }) } }),
  pub('POST /u/:token/undo', 200, ({ w }) => ({ path: `/u/${w.a.publicLinks.unsubscribe}/undo` }), { bad: { status: 400, req: path('/u/not-a-token/undo') } }),
  pub('GET /p/:token', 200, ({ w }) => ({ path: `/p/${w.a.publicLinks.preferences}` }), { bad: { status: 400, req: path('/p/not-a-token') } }),
  pub('POST /p/:token', 200, ({ w }) => ({ path: `/p/${w.a.publicLinks.preferences}`, form: { purpose: 'open_tracking', action: 'withdraw' } }), { bad: { status: 400, req: () => ({ path: '/p/not-a-token', form: { purpose: 'open_tracking', action: 'withdraw' } }) } }),
  pub('POST /p/:token/details', 200, ({ w }) => ({ path: `/p/${w.a.publicLinks.preferences}/details`, form: { firstName: 'Jeanne', lastName: 'Martin', phone: '' } }), { bad: { status: 400, req: () => ({ path: '/p/not-a-token/details', form: { firstName: 'X' } }) } }),
  pub('POST /p/:token/export', 200, ({ w }) => ({ path: `/p/${w.a.publicLinks.preferences}/export` }), { bad: { status: 400, req: path('/p/not-a-token/export') } }),
  pub('GET /p/export/:token', 200, ({ w }) => exportLink(w), { bad: { status: 410, req: path('/p/export/not-a-token') } }),
  pub('POST /p/:token/erase', 200, async ({ w }) => ({ path: `/p/${(await w.fresh.links()).preferences}/erase`, form: { confirm: 'yes' } }), { bad: { status: 400, req: () => ({ path: '/p/not-a-token/erase', form: { confirm: 'yes' } }) } }),
  pub('GET /preview-link/:kind', 200, path('/preview-link/unsubscribe'), { bad: { status: 404, req: path('/preview-link/nothing') } }),
  pub('POST /preview-link/:kind', 200, path('/preview-link/unsubscribe')),
  pub('GET /invite/:token', 200, ({ w }) => ({ path: `/invite/${w.a.inviteToken}` }), { bad: { status: 400, req: path('/invite/not-a-token') } }),
  pub('POST /invite/:token', 303, async ({ w }) => ({ path: `/invite/${await w.fresh.invitation()}`, form: { password: 'a long enough password', confirm: 'a long enough password' } }), { bad: { status: 400, req: () => ({ path: '/invite/not-a-token', form: { password: 'a long enough password', confirm: 'a long enough password' } }) }, location: /^\/$/ }),

  // ── Sign-in pages ────────────────────────────────────────────────────────────────────────────
  // Someone already signed in (or holding a key) is sent on to where they were going.
  page('GET /login', 200,                               'ok  303 303 303 | 303 303 303 303 303 303 | 303', path('/login')),
  page('POST /login', 303,                              'ok  ok  ok  ok  | ok  ok  ok  ok  ok  ok  | ok', ({ w }) => ({ path: '/login', form: { email: w.a.agent.email, password: TEST_PASSWORD } }), { location: /^\/$/ }),
  page('POST /logout', 303,                             'ok  ok  ok  ok  | ok  ok  ok  ok  ok  ok  | ok', path('/logout'), { location: /^\/login$/, endsSession: true }),

  // ── Pages for everyone signed in ─────────────────────────────────────────────────────────────
  page('GET /', 200,                                    `login ok ok ok | ${KEYS_LOGIN} | own`, path('/')),
  page('GET /account', 200,                             `login ok ok ok | ${KEYS_LOGIN} | own`, path('/account')),
  page('POST /account/password', 303,                   `login ok ok ok | ${KEYS_LOGIN} | own`, () => ({ path: '/account/password', form: { current: TEST_PASSWORD, next: NEW_PASSWORD, confirm: NEW_PASSWORD } }), { location: /^\/account\?changed=1$/, endsSession: true, changesPassword: true }),
  page('GET /dev/outbox', 200,                          `login ok ok ok | ${KEYS_LOGIN} | own`, path('/dev/outbox')),
  page('GET /dev/outbox/:id', 200,                      `login 404 404 ok | ${KEYS_LOGIN} | 404`, ({ w }) => ({ path: `/dev/outbox/${w.a.outboxId}` })),
  page('GET /dev/outbox/:id/html', 200,                 `login 404 404 ok | ${KEYS_LOGIN} | 404`, ({ w }) => ({ path: `/dev/outbox/${w.a.outboxId}/html` })),

  // ── Agents: the call console (admins too), call-back conversions (everyone) ──────────────────
  // ?receipt= names A's call: otherAdmin sees the empty console, not A's receipt.
  page('GET /agent', 200,                               `login ok 403 ok | ${KEYS_LOGIN} | own`, ({ w }) => ({ path: `/agent?receipt=${w.a.callId}` })),
  page('POST /agent', 303,                              `login ok 403 ok | ${KEYS_LOGIN} | own`, () => ({
    path: '/agent',
    form: { email: `${unique('lead')}@example.test`, phone: '', callRef: unique('CALL'), basis: 'inbound_call', 'answer:newsletter': 'granted', 'answer:open_tracking': 'refused' },
  }), { location: /^\/agent\?receipt=/ }),
  page('GET /agent/conversion', 200,                    `login ok ok ok | ${KEYS_LOGIN} | own`, path('/agent/conversion')),
  // otherAdmin names A's contact: "nobody with that address" (the form's 400), nothing recorded.
  page('POST /agent/conversion', 200,                   `login ok ok ok | ${KEYS_LOGIN} | 400`, ({ w }) => ({ path: '/agent/conversion', form: { who: w.a.contactEmail, type: 'booking', value: '12,50', formId: unique('form') } })),

  // ── Marketers and admins: campaigns, segments, results ───────────────────────────────────────
  page('GET /campaigns', 200,                           `login 403 ok ok | ${KEYS_LOGIN} | own`, path('/campaigns')),
  page('POST /campaigns', 303,                          `login 403 ok ok | ${KEYS_LOGIN} | own`, () => ({ path: '/campaigns', form: { name: 'Nouvelle', templateId: starterTemplates[0].id } }), { location: /^\/campaigns\/cmp_/ }),
  page('GET /campaigns/:id', 200,                       `login 403 ok ok | ${KEYS_LOGIN} | 404`, ({ w }) => ({ path: `/campaigns/${w.a.draftId}` })),
  page('GET /campaigns/:id/preview', 200,               `login 403 ok ok | ${KEYS_LOGIN} | 404`, ({ w }) => ({ path: `/campaigns/${w.a.draftId}/preview?as=${w.a.contactId}` })),
  page('POST /campaigns/:id', 303,                      `login 403 ok ok | ${KEYS_LOGIN} | 404`, async ({ w, allowed }) => {
    const id = allowed ? await w.fresh.draft() : w.a.draftId;
    return { path: `/campaigns/${id}`, form: await draftContent(w, id) };
  }, { location: /\?notice=saved$/ }),
  page('POST /campaigns/:id/confirm', 200,              `login 403 ok ok | ${KEYS_LOGIN} | 404`, ({ w }) => ({ path: `/campaigns/${w.a.draftId}/confirm`, form: { segmentId: w.a.everyoneSegmentId, when: 'now' } })),
  page('POST /campaigns/:id/send', 303,                 `login 403 ok ok | ${KEYS_LOGIN} | 404`, async ({ w, allowed }) => ({ path: `/campaigns/${allowed ? await w.fresh.draft() : w.a.draftId}/send`, form: { segmentId: w.a.everyoneSegmentId, when: 'now' } })),
  page('POST /campaigns/:id/:action{pause|resume|cancel}', 303, `login 403 ok ok | ${KEYS_LOGIN} | 404`, async ({ w, allowed }) => ({ path: `/campaigns/${allowed ? await w.fresh.scheduled() : w.a.scheduledId}/pause` })),
  page('GET /segments', 200,                            `login 403 ok ok | ${KEYS_LOGIN} | own`, path('/segments')),
  page('GET /segments/new', 200,                        `login 403 ok ok | ${KEYS_LOGIN} | own`, path('/segments/new')),
  page('POST /segments', 303,                           `login 403 ok ok | ${KEYS_LOGIN} | own`, () => ({ path: '/segments', form: { name: 'Nouveau', match: 'all' } }), { location: /^\/segments\?created=/ }),
  page('POST /segments/preview', 200,                   `login 403 ok ok | ${KEYS_LOGIN} | own`, () => ({ path: '/segments/preview', form: { match: 'all' } })),
  page('GET /segments/:id', 200,                        `login 403 ok ok | ${KEYS_LOGIN} | 404`, ({ w }) => ({ path: `/segments/${w.a.segmentId}` })),
  page('POST /segments/:id', 303,                       `login 403 ok ok | ${KEYS_LOGIN} | 404`, async ({ w, allowed }) => ({ path: `/segments/${allowed ? await w.fresh.segment() : w.a.segmentId}`, form: { name: 'Renommé', match: 'all' } }), { location: /^\/segments\?saved=/ }),
  page('POST /segments/:id/delete', 303,                `login 403 ok ok | ${KEYS_LOGIN} | 404`, async ({ w, allowed }) => ({ path: `/segments/${allowed ? await w.fresh.segment() : w.a.segmentId}/delete`, form: { confirm: 'yes' } }), { location: /^\/segments\?deleted=1$/ }),
  page('GET /reports', 200,                             `login 403 ok ok | ${KEYS_LOGIN} | own`, path('/reports')),
  page('GET /dashboard', 200,                           `login 403 ok ok | ${KEYS_LOGIN} | own`, path('/dashboard')),
  // Objectives are set by an admin (README: "against objectives an admin sets").
  page('POST /dashboard/objectives', 303,               `login 403 403 ok | ${KEYS_LOGIN} | own`, () => ({ path: '/dashboard/objectives', form: { month: '2026-11' } })),

  // ── Admins: contacts ─────────────────────────────────────────────────────────────────────────
  page('GET /contacts', 200,                            `login 403 403 ok | ${KEYS_LOGIN} | own`, path('/contacts')),
  page('GET /contacts/export.csv', 200,                 `login 403 403 ok | ${KEYS_LOGIN} | own`, path('/contacts/export.csv')),
  page('GET /contacts/import', 200,                     `login 403 403 ok | ${KEYS_LOGIN} | own`, path('/contacts/import')),
  page('POST /contacts/import', 200,                    `login 403 403 ok | ${KEYS_LOGIN} | own`, () => {
    const fd = new FormData();
    fd.append('step', 'upload');
    fd.append('file', new File(['email;consentement\nleo@example.test;oui\n'], 'leads.csv', { type: 'text/csv' }));
    return { path: '/contacts/import', multipart: fd };
  }),
  // Without the file's state the report has nothing to say: back to the upload.
  page('POST /contacts/import/report.csv', 303,         `login 403 403 ok | ${KEYS_LOGIN} | own`, () => ({ path: '/contacts/import/report.csv', form: {} }), { location: /^\/contacts\/import$/ }),
  page('GET /contacts/:id', 200,                        `login 403 403 ok | ${KEYS_LOGIN} | 404`, ({ w }) => ({ path: `/contacts/${w.a.contactId}` })),
  page('GET /admin/contacts', 301,                      `login 403 403 ok | ${KEYS_LOGIN} | own`, path('/admin/contacts'), { location: /^\/contacts$/ }),
  page('GET /admin/contacts/:id/proof', 200,            `login 403 403 ok | ${KEYS_LOGIN} | 404`, ({ w }) => ({ path: `/admin/contacts/${w.a.contactId}/proof` })),

  // ── Admins: workspace, team, keys, audit ─────────────────────────────────────────────────────
  page('GET /admin/workspace', 200,                     `login 403 403 ok | ${KEYS_LOGIN} | own`, path('/admin/workspace')),
  page('POST /admin/workspace', 303,                    `login 403 403 ok | ${KEYS_LOGIN} | own`, (c) => {
    const w = ws(c);
    const form: Record<string, string> = { requireDoubleOptIn: w.settings.requireDoubleOptIn ? 'on' : '', retentionDays: String(w.settings.retentionDays), attributionWindowDays: String(w.settings.attributionWindowDays) };
    for (const f of ['name', 'legalName', 'addressLine', 'postalCode', 'city', 'country', 'contactEmail', 'contactPhone', 'privacyUrl', 'dpoContact', 'senderName', 'senderEmail', 'replyTo'] as const) form[f] = String(w[f] ?? '');
    return { path: '/admin/workspace', form };
  }, { location: /^\/admin\/workspace\?ok=/ }),
  page('GET /admin/workspace/preview', 200,             `login 403 403 ok | ${KEYS_LOGIN} | own`, path('/admin/workspace/preview')),
  page('GET /admin/members', 200,                       `login 403 403 ok | ${KEYS_LOGIN} | own`, path('/admin/members')),
  page('POST /admin/members', 303,                      `login 403 403 ok | ${KEYS_LOGIN} | own`, () => ({ path: '/admin/members', form: { email: `${unique('new')}@example.test`, name: 'Nouvelle', role: 'agent' } }), { location: /^\/admin\/members\?ok=invited/ }),
  page('POST /admin/members/:userId/role', 303,         `login 403 403 ok | ${KEYS_LOGIN} | 404`, async ({ w, allowed }) => ({ path: `/admin/members/${allowed ? (await w.fresh.member()).userId : w.a.agent.id}/role`, form: { role: allowed ? 'marketer' : 'admin' } }), { location: /^\/admin\/members\?ok=role$/ }),
  page('POST /admin/members/:userId/remove', 303,       `login 403 403 ok | ${KEYS_LOGIN} | 404`, async ({ w, allowed }) => ({ path: `/admin/members/${allowed ? (await w.fresh.member()).userId : w.a.marketer.id}/remove` }), { location: /^\/admin\/members\?ok=removed$/ }),
  page('GET /admin/api-keys', 200,                      `login 403 403 ok | ${KEYS_LOGIN} | own`, path('/admin/api-keys')),
  page('POST /admin/api-keys', 201,                     `login 403 403 ok | ${KEYS_LOGIN} | own`, () => ({ path: '/admin/api-keys', form: { name: 'Boutique', scopes: ['conversions:write'] } })),
  page('POST /admin/api-keys/:id/revoke', 303,          `login 403 403 ok | ${KEYS_LOGIN} | 404`, async ({ w, allowed }) => ({ path: `/admin/api-keys/${allowed ? await w.fresh.apiKey() : w.a.spareKeyId}/revoke` }), { location: /^\/admin\/api-keys\?ok=revoked$/ }),
  page('GET /admin/audit', 200,                         `login 403 403 ok | ${KEYS_LOGIN} | own`, path('/admin/audit')),

  // ── Admins: compliance (scripts, ledger, retention, suppressions, requests) ──────────────────
  page('GET /admin/compliance', 200,                    `login 403 403 ok | ${KEYS_LOGIN} | own`, path('/admin/compliance')),
  page('GET /admin/scripts', 200,                       `login 403 403 ok | ${KEYS_LOGIN} | own`, path('/admin/scripts')),
  page('POST /admin/scripts', 303,                      `login 403 403 ok | ${KEYS_LOGIN} | own`, (c) => ({ path: '/admin/scripts', form: { purpose: 'newsletter', label: 'Newsletter', text: scriptText(c) } }), { location: /^\/admin\/scripts\?ok=created/ }),
  page('POST /admin/scripts/check', 200,                `login 403 403 ok | ${KEYS_LOGIN} | own`, (c) => ({ path: '/admin/scripts/check', json: { text: scriptText(c) } })),
  page('GET /admin/ledger', 200,                        `login 403 403 ok | ${KEYS_LOGIN} | own`, path('/admin/ledger')),
  page('POST /admin/ledger/verify', 303,                `login 403 403 ok | ${KEYS_LOGIN} | own`, path('/admin/ledger/verify'), { location: /^\/admin\/ledger\?ok=verified$/ }),
  page('GET /admin/retention', 200,                     `login 403 403 ok | ${KEYS_LOGIN} | own`, path('/admin/retention')),
  page('POST /admin/retention', 303,                    `login 403 403 ok | ${KEYS_LOGIN} | own`, () => ({ path: '/admin/retention', form: { retentionDays: '1095' } }), { location: /^\/admin\/retention\?ok=/ }),
  page('POST /admin/retention/run', 303,                `login 403 403 ok | ${KEYS_LOGIN} | own`, () => ({ path: '/admin/retention/run', form: { confirm: 'yes' } }), { location: /^\/admin\/retention\?ok=ran/ }),
  page('GET /admin/suppressions', 200,                  `login 403 403 ok | ${KEYS_LOGIN} | own`, path('/admin/suppressions')),
  page('POST /admin/suppressions/search', 200,          `login 403 403 ok | ${KEYS_LOGIN} | own`, () => ({ path: '/admin/suppressions/search', form: { email: 'someone@example.test' } })),
  page('POST /admin/suppressions', 303,                 `login 403 403 ok | ${KEYS_LOGIN} | own`, () => ({ path: '/admin/suppressions', form: { email: `${unique('stop')}@example.test`, reason: 'admin' } }), { location: /^\/admin\/suppressions\?ok=added$/ }),
  page('GET /admin/requests', 200,                      `login 403 403 ok | ${KEYS_LOGIN} | own`, path('/admin/requests')),
  page('POST /admin/contacts/:id/requests', 303,        `login 403 403 ok | ${KEYS_LOGIN} | err`, ({ w }) => ({ path: `/admin/contacts/${w.a.contactId}/requests`, form: { type: 'access', channel: 'phone', notes: '' } }), { location: /^\/admin\/requests\?ok=logged$/ }),
  page('POST /admin/requests/:id/close', 303,           `login 403 403 ok | ${KEYS_LOGIN} | err`, async ({ w, allowed }) => ({ path: `/admin/requests/${allowed ? await w.fresh.dsr() : w.a.dsrId}/close`, form: { status: 'completed', outcome: 'Fait.' } }), { location: /^\/admin\/requests\?ok=closed$/ }),
  page('POST /admin/contacts/:id/erase', 303,           `login 403 403 ok | ${KEYS_LOGIN} | err`, async ({ w, allowed }) => ({ path: `/admin/contacts/${allowed ? await w.fresh.contact() : w.a.contactId}/erase`, form: { confirm: 'yes' } }), { location: /^\/admin\/requests\?ok=erased$/ }),
];

// ──────────────────────────────────────────────────────────────────────────────────────────────

const HINT = 'Add (or fix) its row in MATRIX in test/integration/authorisation-matrix.test.ts: who may call it, per DESIGN.md.';

function cellsOf(r: Row): Map<CallerName, string> {
  const tokens = r.cells.split(/[\s|]+/).filter(Boolean);
  if (tokens.length !== CALLERS.length) throw new Error(`${r.route}: ${tokens.length} cells for ${CALLERS.length} callers (${CALLERS.join(', ')})`);
  return new Map(CALLERS.map((c, i) => [c, tokens[i]!]));
}

const routeKey = (method: string, p: string) => `${method} ${p}`;

let t: TestApp;
let w: World;

beforeAll(async () => {
  t = await createTestApp();
  w = await seedWorld(t);
  await installWriteLog(t);
}, 60_000);
afterAll(() => t.dispose());

describe('the matrix covers the app', () => {
  it('has one row per route, and no row for a route that is gone', () => {
    const registered = [...new Set(t.app.routes.filter((r) => r.method !== 'ALL').map((r) => routeKey(r.method, r.path)))];
    const rows = MATRIX.map((r) => r.route);
    const duplicates = rows.filter((r, i) => rows.indexOf(r) !== i);
    expect(duplicates, 'rows listed twice').toEqual([]);
    const missing = registered.filter((r) => !rows.includes(r));
    expect(missing, `routes without a row. ${HINT}`).toEqual([]);
    const gone = rows.filter((r) => !registered.includes(r));
    expect(gone, 'rows naming no registered route: remove or rename them').toEqual([]);
    for (const r of MATRIX) cellsOf(r);
  });

  it('sees every write (the proof that refused calls wrote nothing relies on it)', async () => {
    const mark = await writeMark(t);
    await t.request('/api/v1/workspace', { token: w.adminToken() });
    expect(await writesSince(t, mark), 'a read writes nothing').toEqual([]);
    const res = await t.request('/api/v1/workspace', { method: 'PATCH', token: w.adminToken(), json: { contactPhone: '01 98 76 54 32' } });
    expect(res.status).toBe(200);
    expect(await writesSince(t, mark)).toEqual(expect.arrayContaining(['workspaces UPDATE', 'audit_log INSERT']));
  });

  it('agrees with the access rule the OpenAPI document publishes for each API route', async () => {
    const doc = (await (await t.request('/api/openapi.json')).json()) as { paths: Record<string, Record<string, { description?: string }>> };
    const problems: string[] = [];
    for (const r of MATRIX.filter((x) => x.route.includes(' /api/v1/'))) {
      const [method, p] = r.route.split(' ') as [string, string];
      const op = doc.paths[p.replace('/api/v1', '').replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()];
      if (!op) {
        problems.push(`${r.route}: not in the OpenAPI document`);
        continue;
      }
      const cells = cellsOf(r);
      const passes = (c: CallerName) => !['401', '403'].includes(cells.get(c)!);
      let expected: string;
      if (r.kind === 'public') expected = 'Public.';
      else {
        const roles = (['admin', 'marketer', 'agent'] as const).filter(passes);
        const scopes = apiKeyScopes.filter((s) => passes(`key:${s}`));
        expected = `Access: ${[roles.length ? `roles: ${roles.join(', ')}` : null, scopes.length ? `API key scopes: ${scopes.join(', ')}` : null].filter(Boolean).join('; ')}.`;
      }
      const stated = /(Public\.|Access: [^\n]*)$/.exec(op.description ?? '')?.[1] ?? '(none)';
      // Order-insensitive comparison of the two lists.
      const norm = (s: string) => s.replace(/roles: ([^;.]*)/, (_, l: string) => `roles: ${l.split(', ').sort().join(', ')}`).replace(/scopes: ([^;.]*)/, (_, l: string) => `scopes: ${l.split(', ').sort().join(', ')}`);
      if (norm(stated) !== norm(expected)) problems.push(`${r.route}: the document says "${stated}", the matrix "${expected}"`);
    }
    expect(problems).toEqual([]);
  });
});

describe('authorisation matrix', () => {
  it.each(MATRIX.map((r) => [r.route, r] as const))('%s', async (_route, r) => {
    const [method] = r.route.split(' ') as [string, string];
    const cells = cellsOf(r);
    const problems: string[] = [];
    const isOk = (cell: string) => cell === 'ok' || cell === 'own';
    // Refused callers first, on A's real resources; then the allowed ones, on throwaways.
    const order = [...CALLERS].sort((x, y) => Number(isOk(cells.get(x)!)) - Number(isOk(cells.get(y)!)));

    for (const caller of order) {
      const cell = cells.get(caller)!;
      const allowed = isOk(cell);
      const home = caller === 'otherAdmin' ? 'B' : 'A';
      const req = await r.req({ w, caller, allowed, home });
      const before = allowed ? null : await writeMark(t);
      const email = (w.credentials[caller] as { email?: string }).email;
      const passwordHash = r.changesPassword && email ? String((await t.client.execute({ sql: 'SELECT password_hash FROM users WHERE email = ?', args: [email] })).rows[0]!.password_hash) : null;
      const res = await send(t, w.credentials, caller, r.kind, method, req);
      const text = await res.text();
      const where = `${caller} → ${method} ${req.path}`;
      const say = (what: string) => problems.push(`${where}: expected ${cell} (${what}), got ${res.status} ${res.headers.get('location') ?? ''} ${text.slice(0, 160).replace(/\s+/g, ' ')}`);
      const location = res.headers.get('location') ?? '';
      const envelope = () => {
        try {
          return (JSON.parse(text) as { error?: { code?: string; requestId?: string } }).error;
        } catch {
          return undefined;
        }
      };
      const isHtml = (res.headers.get('content-type') ?? '').startsWith('text/html');

      if (allowed) {
        if (res.status !== r.ok) say(`status ${r.ok}`);
        else if (res.status >= 300 && res.status < 400) {
          if (r.location ? !r.location.test(location) : location.startsWith('/login') || location.includes('error=')) say(`a redirect to ${r.location ?? 'the result'}`);
        }
      } else if (cell === 'login') {
        const expectedLocation = `/login?next=${encodeURIComponent(req.path)}`;
        if (res.status !== 303 || location !== expectedLocation) say(`303 to ${expectedLocation}`);
      } else if (cell === 'err') {
        if (res.status !== 303 || !location.includes('error=')) say('303 back with ?error=');
      } else if (cell === '401' || cell === '403' || cell === '404') {
        if (String(res.status) !== cell) say(`status ${cell}`);
        else if (r.kind === 'api') {
          const e = envelope();
          const cred = w.credentials[caller];
          const code = cell === '401' ? /^unauthenticated$/ : cell === '404' ? /_not_found$/ : cred.type === 'key' ? /^missing_scope$/ : /^forbidden_role$/;
          if (!e?.code || !code.test(e.code) || !e.requestId) say(`the error envelope with a code matching ${code}`);
        } else if (!isHtml) say('an HTML error page');
      } else if (String(res.status) !== cell) say(`status ${cell}`);

      if (before !== null) {
        const written = await writesSince(t, before);
        if (written.length) problems.push(`${where} (${cell}) wrote: ${written.join(', ')}`);
      }
      if (caller === 'otherAdmin' && r.kind !== 'public') {
        // What the caller typed may be echoed back (a search box, a form kept after an error): not a leak.
        const sent = JSON.stringify([req.path, req.json, req.form]);
        const leaked = w.markers.filter((m) => !sent.includes(m) && (text.includes(m) || location.includes(m) || location.includes(encodeURIComponent(m))));
        if (leaked.length) problems.push(`${where}: the other workspace's admin was shown A's data: ${leaked.join(', ')}`);
      }
      const cred = w.credentials[caller];
      if (allowed && cred.type === 'session') {
        if (r.changesPassword && passwordHash) await t.client.execute({ sql: 'UPDATE users SET password_hash = ? WHERE email = ?', args: [passwordHash, cred.email] });
        if (r.endsSession) cred.token = await t.login(cred.email);
      }
    }

    // Public routes: a wrong token gets the same refusal whoever asks, and writes nothing.
    if (r.bad) {
      for (const caller of CALLERS) {
        const req = await r.bad.req({ w, caller, allowed: false, home: caller === 'otherAdmin' ? 'B' : 'A' });
        const before = await writeMark(t);
        const res = await send(t, w.credentials, caller, r.kind, method, req);
        await res.arrayBuffer();
        if (res.status !== r.bad.status) problems.push(`${caller} → ${method} ${req.path} (bad token): expected ${r.bad.status}, got ${res.status}`);
        const written = await writesSince(t, before);
        if (written.length) problems.push(`${caller} → ${method} ${req.path} (bad token) wrote: ${written.join(', ')}`);
      }
    }

    expect(problems, r.route).toEqual([]);
  });
});

/**
 * The other way in: the other workspace's admin on their own resources, naming A's ids inside
 * the request (a segment to send to, a contact to preview as, a request to close, a click token).
 * Each must be refused as unknown, or ignored, and change nothing in either workspace.
 */
describe("A's ids inside the other workspace's requests", () => {
  type Expect = number | 'err';
  const cases: [string, Kind, string, (w: World) => Req | Promise<Req>, Expect][] = [
    ['send B’s campaign to A’s segment', 'api', 'POST', (x) => ({ path: `/api/v1/campaigns/${x.b.draftId}/send`, json: { segmentId: x.a.everyoneSegmentId } }), 400],
    ['schedule B’s campaign for A’s segment', 'api', 'POST', (x) => ({ path: `/api/v1/campaigns/${x.b.draftId}/schedule`, json: { segmentId: x.a.everyoneSegmentId, at: '2026-12-02T09:00:00Z' } }), 400],
    ['send B’s campaign to A’s segment (form)', 'page', 'POST', (x) => ({ path: `/campaigns/${x.b.draftId}/send`, form: { segmentId: x.a.everyoneSegmentId, when: 'now' } }), 400],
    ['preview B’s campaign as A’s contact', 'api', 'POST', (x) => ({ path: `/api/v1/campaigns/${x.b.draftId}/preview`, json: { contactId: x.a.contactId } }), 404],
    // The editor's frame falls back to sample data for a contact it does not know.
    ['preview B’s campaign as A’s contact (page)', 'page', 'GET', (x) => ({ path: `/campaigns/${x.b.draftId}/preview?as=${x.a.contactId}` }), 200],
    ['erase B’s contact closing A’s request', 'api', 'POST', (x) => ({ path: `/api/v1/contacts/${x.b.contactId}/erasure`, json: { requestId: x.a.dsrId } }), 404],
    ['export B’s contact closing A’s request', 'api', 'GET', (x) => ({ path: `/api/v1/contacts/${x.b.contactId}/export?requestId=${x.a.dsrId}` }), 404],
    ['rectify B’s contact closing A’s request', 'api', 'PATCH', (x) => ({ path: `/api/v1/contacts/${x.b.contactId}`, json: { firstName: 'Zoé', requestId: x.a.dsrId } }), 404],
    ['erase B’s contact closing A’s request (form)', 'page', 'POST', (x) => ({ path: `/admin/contacts/${x.b.contactId}/erase`, form: { confirm: 'yes', requestId: x.a.dsrId } }), 'err'],
    ['B’s contact proof opened from A’s request', 'page', 'GET', (x) => ({ path: `/admin/contacts/${x.b.contactId}/proof?request=${x.a.dsrId}` }), 200],
    ['a conversion through A’s click token', 'api', 'POST', (x) => ({ path: '/api/v1/conversions', json: { clickToken: x.a.clickPath.slice('/c/'.length), type: 'booking', value: 10, externalId: unique('BKG') } }), 400],
    ['a conversion for A’s contact by address', 'api', 'POST', (x) => ({ path: '/api/v1/conversions', json: { email: x.a.contactEmail, type: 'booking', value: 10, externalId: unique('BKG') } }), 404],
  ];

  it.each(cases)('%s', async (_name, kind, method, build, expected) => {
    const req = await build(w);
    const before = await writeMark(t);
    const res = await send(t, w.credentials, 'otherAdmin', kind, method, req);
    const text = await res.text();
    const got = `${res.status} ${res.headers.get('location') ?? ''} ${text.slice(0, 200)}`;
    if (expected === 'err') {
      expect(res.status, got).toBe(303);
      expect(res.headers.get('location'), got).toContain('error=');
    } else expect(res.status, got).toBe(expected);
    if (res.status >= 300) expect(await writesSince(t, before), 'a refused request wrote').toEqual([]);
    const sent = JSON.stringify([req.path, req.json, req.form]);
    expect(w.markers.filter((m) => !sent.includes(m) && text.includes(m)), "A's data in the answer").toEqual([]);
  });
});
