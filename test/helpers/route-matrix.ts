/**
 * Plumbing of the authorisation matrix (test/integration/authorisation-matrix.test.ts): the
 * callers, a small world of two workspaces to address, throwaway resources for the calls that
 * are allowed to change or destroy something, and a log of every database write to prove
 * a refused call wrote nothing.
 */
import { expect } from 'vitest';
import { apiKeyScopes, type ApiKeyScope, type Role } from '../../src/db/schema.js';
import { signToken } from '../../src/domain/auth/tokens.js';
import { starterTemplates } from '../../src/email/templates.generated.js';
import { BASE, type TestApp } from './app.js';
import { seedAudience } from './audience.js';
import { makeScripts, unique } from './factories.js';
import { subscriber } from './subscriber.js';

export const ORIGIN = BASE;

/** Column order of the matrix. */
export const CALLERS = ['anonymous', 'agent', 'marketer', 'admin', ...apiKeyScopes.map((s) => `key:${s}` as const), 'otherAdmin'] as const;
export type CallerName = (typeof CALLERS)[number];

export type Credential = { type: 'none' } | { type: 'session'; role: Role; email: string; token: string } | { type: 'key'; scope: ApiKeyScope; secret: string };

const everyone = { match: 'all', conditions: [] };
let counter = 0;
const next = () => `${++counter}`;

/** Workspace A (fully seeded, the one addressed) and workspace B (its admin is the intruder). */
export async function seedWorld(t: TestApp) {
  // A: a confirmed subscriber who received one newsletter (capture, confirmation, segment, send).
  const sub = await subscriber(t);
  // Read at each call: a logout row ends the admin's sessions and logs them in again.
  const adminToken = () => (credentials.admin as { token: string }).token;
  const asAdmin = (path: string, init: { method?: string; json?: unknown } = {}) => t.request(path, { ...init, token: adminToken() });
  const ok = async <T>(res: Response | Promise<Response>, status: number, what: string): Promise<T> => {
    const r = await res;
    const text = await r.text();
    expect(r.status, `seeding ${what}: ${text.slice(0, 300)}`).toBe(status);
    return (text ? JSON.parse(text) : undefined) as T;
  };

  const credentials = {} as Record<CallerName, Credential>;
  credentials.anonymous = { type: 'none' };
  for (const role of ['agent', 'marketer', 'admin'] as const) credentials[role] = { type: 'session', role, email: sub[role].email, token: sub[role].token };

  const keys = {} as Record<ApiKeyScope, string>;
  for (const scope of apiKeyScopes) {
    const created = await ok<{ secret: string }>(asAdmin('/api/v1/api-keys', { method: 'POST', json: { name: `Clé A ${scope}`, scopes: [scope] } }), 201, 'key');
    keys[scope] = created.secret;
  }
  const spareKey = await ok<{ apiKey: { id: string } }>(asAdmin('/api/v1/api-keys', { method: 'POST', json: { name: `Clé de réserve ${unique('k')}`, scopes: ['stats:read'] } }), 201, 'spare key');

  const segmentName = `Segment A ${unique('seg')}`;
  const segment = await ok<{ id: string }>(asAdmin('/api/v1/segments', { method: 'POST', json: { name: segmentName, rules: everyone } }), 201, 'segment');
  const draftName = `Brouillon A ${unique('cmp')}`;
  const draft = await ok<{ id: string }>(asAdmin('/api/v1/campaigns', { method: 'POST', json: { name: draftName, templateId: starterTemplates[0].id } }), 201, 'draft');
  const scheduled = await ok<{ id: string }>(asAdmin('/api/v1/campaigns', { method: 'POST', json: { name: 'Programmée A', templateId: starterTemplates[0].id } }), 201, 'scheduled');
  await ok(asAdmin(`/api/v1/campaigns/${scheduled.id}/schedule`, { method: 'POST', json: { segmentId: sub.segmentId, at: '2026-12-01T09:00:00Z' } }), 200, 'schedule');
  const paused = await ok<{ id: string }>(asAdmin('/api/v1/campaigns', { method: 'POST', json: { name: 'En pause A', templateId: starterTemplates[0].id } }), 201, 'paused');
  await ok(asAdmin(`/api/v1/campaigns/${paused.id}/schedule`, { method: 'POST', json: { segmentId: sub.segmentId, at: '2026-12-01T09:00:00Z' } }), 200, 'schedule');
  await ok(asAdmin(`/api/v1/campaigns/${paused.id}/pause`, { method: 'POST' }), 200, 'pause');

  const dsrNotes = `Demande A ${unique('dsr')}`;
  const dsr = await ok<{ id: string }>(asAdmin('/api/v1/dsr-requests', { method: 'POST', json: { contactId: sub.contactId, type: 'access', channel: 'phone', notes: dsrNotes } }), 201, 'dsr');

  const outbox = await t.client.execute({ sql: 'SELECT id FROM outbox_messages WHERE workspace_id = ? AND "to" = ? ORDER BY rowid LIMIT 1', args: [sub.workspace.id, sub.email] });
  const outboxId = String(outbox.rows[0]!.id);
  const call = await t.client.execute({ sql: 'SELECT id FROM calls WHERE workspace_id = ? LIMIT 1', args: [sub.workspace.id] });
  const callId = String(call.rows[0]!.id);

  // The newsletter the subscriber received: its pixel and its first tracked link.
  const mail = await t.client.execute({ sql: "SELECT html FROM outbox_messages WHERE \"to\" = ? AND json_extract(tags, '$.campaign') = ?", args: [sub.email, sub.campaignId] });
  const html = String(mail.rows[0]!.html);
  const openPath = /<img src="https?:\/\/[^/"]+(\/o\/[^"]+)"/.exec(html)![1]!;
  const clickPath = /href="https?:\/\/[^/"]+(\/c\/[^"]+)"/.exec(html)![1]!.replace(/&amp;/g, '&');

  // B: another brand, with its own team and scripts; its admin addresses A's resources.
  const b = await t.workspaceWithTeam();
  await makeScripts(t.db, b.workspace);
  const bDraft = await ok<{ id: string }>(t.request('/api/v1/campaigns', { method: 'POST', token: b.admin.token, json: { name: 'Brouillon B', templateId: starterTemplates[0].id } }), 201, 'B draft');
  const [bContactId] = await seedAudience(t.client, b.workspace.id, 1, { prefix: 'bb' });

  for (const scope of apiKeyScopes) credentials[`key:${scope}`] = { type: 'key', scope, secret: keys[scope] };
  credentials.otherAdmin = { type: 'session', role: 'admin', email: b.admin.email, token: b.admin.token };

  /** Strings only workspace A's data contains: none may reach the other workspace's admin. */
  const markers = [sub.workspace.name, sub.email, sub.lastName, segmentName, draftName, dsrNotes, sub.marketer.email, sub.agent.email];

  const fresh = {
    draft: async () => (await ok<{ id: string }>(asAdmin('/api/v1/campaigns', { method: 'POST', json: { name: `Jetable ${next()}`, templateId: starterTemplates[0].id } }), 201, 'fresh draft')).id,
    scheduled: async () => {
      const id = await fresh.draft();
      await ok(asAdmin(`/api/v1/campaigns/${id}/schedule`, { method: 'POST', json: { segmentId: sub.segmentId, at: '2026-12-01T09:00:00Z' } }), 200, 'fresh schedule');
      return id;
    },
    paused: async () => {
      const id = await fresh.scheduled();
      await ok(asAdmin(`/api/v1/campaigns/${id}/pause`, { method: 'POST' }), 200, 'fresh pause');
      return id;
    },
    segment: async () => (await ok<{ id: string }>(asAdmin('/api/v1/segments', { method: 'POST', json: { name: `Jetable ${next()}`, rules: everyone } }), 201, 'fresh segment')).id,
    member: async () => {
      const email = `${unique('invited')}@example.test`;
      const res = await ok<{ member: { userId: string } }>(asAdmin('/api/v1/members', { method: 'POST', json: { email, name: 'Invité', role: 'agent' } }), 201, 'fresh member');
      return { userId: res.member.userId, email };
    },
    invitation: async () => {
      const { email } = await fresh.member();
      const rows = await t.client.execute({ sql: 'SELECT text FROM outbox_messages WHERE "to" = ? ORDER BY rowid DESC LIMIT 1', args: [email] });
      return /\/invite\/([\w.-]+)/.exec(String(rows.rows[0]!.text))![1]!;
    },
    apiKey: async () => (await ok<{ apiKey: { id: string } }>(asAdmin('/api/v1/api-keys', { method: 'POST', json: { name: `Jetable ${next()}`, scopes: ['stats:read'] } }), 201, 'fresh key')).apiKey.id,
    /** A newsletter subscriber written straight into the tables (granted and confirmed). */
    contact: async () => (await seedAudience(t.client, sub.workspace.id, 1, { prefix: `fresh${next()}x` }))[0]!,
    dsr: async () => (await ok<{ id: string }>(asAdmin('/api/v1/dsr-requests', { method: 'POST', json: { contactId: sub.contactId, type: 'objection', channel: 'email' } }), 201, 'fresh dsr')).id,
    /** A contact's emailed links, signed as the sender signs them. */
    links: async (contactId?: string) => {
      const sub_ = contactId ?? (await fresh.contact());
      const claims = { sub: sub_, wid: sub.workspace.id, cid: sub.campaignId };
      return {
        contactId: sub_,
        unsubscribe: await signToken(t.deps.signingKeys, t.clock, 'unsubscribe', claims, null),
        preferences: await signToken(t.deps.signingKeys, t.clock, 'preferences', claims, null),
      };
    },
    /** A capture awaiting confirmation: the link of its confirmation email. */
    confirmation: async () => {
      const email = `${unique('confirm')}@example.test`;
      const body = {
        contact: { email },
        call: { ref: unique('CALL'), basis: 'inbound_call' },
        answers: [
          { purpose: 'newsletter', answer: 'granted', scriptId: sub.scripts.newsletter.id },
          { purpose: 'open_tracking', answer: 'refused', scriptId: sub.scripts.open_tracking.id },
        ],
      };
      await ok(t.request('/api/v1/consents', { method: 'POST', token: (credentials.agent as { token: string }).token, json: body }), 201, 'capture to confirm');
      const rows = await t.client.execute({ sql: 'SELECT text FROM outbox_messages WHERE "to" = ? ORDER BY rowid DESC LIMIT 1', args: [email] });
      return /\/confirm\/([\w.-]+)/.exec(String(rows.rows[0]!.text))![1]!;
    },
  };

  // Public links of their own contact, so that unsubscribing or erasing through them leaves the
  // subscriber above (the audience of the sends) untouched.
  const publicLinks = await fresh.links();

  return {
    t,
    credentials,
    adminToken,
    markers,
    fresh,
    a: {
      workspace: sub.workspace,
      admin: sub.admin,
      marketer: sub.marketer,
      agent: sub.agent,
      scripts: sub.scripts,
      contactId: sub.contactId,
      contactEmail: sub.email,
      everyoneSegmentId: sub.segmentId,
      segmentId: segment.id,
      sentCampaignId: sub.campaignId,
      draftId: draft.id,
      scheduledId: scheduled.id,
      pausedId: paused.id,
      dsrId: dsr.id,
      outboxId,
      callId,
      spareKeyId: spareKey.apiKey.id,
      openPath,
      clickPath,
      publicLinks,
      confirmToken: await fresh.confirmation(),
      inviteToken: await fresh.invitation(),
    },
    b: { workspace: b.workspace, admin: b.admin, draftId: bDraft.id, contactId: bContactId! },
  };
}
export type World = Awaited<ReturnType<typeof seedWorld>>;

/** A request as the matrix describes it; credentials are added by `send`. */
export interface Req {
  path: string;
  json?: unknown;
  form?: Record<string, string | string[]>;
  multipart?: FormData;
  body?: string;
  headers?: Record<string, string>;
  /** Cookies besides the session one (the export link's nonce). */
  cookies?: string[];
}

export type Kind = 'api' | 'page' | 'public';

/**
 * Sends `req` as `caller`: people with their session token as Bearer on the API and as the
 * session cookie on pages (with our Origin, as a browser's form post carries), keys always as
 * Bearer, anonymous with nothing.
 */
export function send(t: TestApp, credentials: Record<CallerName, Credential>, caller: CallerName, kind: Kind, method: string, req: Req): Promise<Response> {
  const cred = credentials[caller];
  const headers: Record<string, string> = { ...req.headers };
  const cookies = [...(req.cookies ?? [])];
  if (kind !== 'api') {
    headers.accept ??= 'text/html,application/xhtml+xml';
    if (method !== 'GET') headers.origin ??= ORIGIN;
  }
  if (cred.type === 'key') headers.authorization = `Bearer ${cred.secret}`;
  if (cred.type === 'session') {
    if (kind === 'api') headers.authorization = `Bearer ${cred.token}`;
    else cookies.push(`session=${cred.token}`);
  }
  if (cookies.length) headers.cookie = cookies.join('; ');
  let body: BodyInit | undefined = req.body;
  if (req.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(req.json);
  } else if (req.form) {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(req.form)) for (const one of Array.isArray(v) ? v : [v]) form.append(k, one);
    body = form;
  } else if (req.multipart) body = req.multipart;
  return t.request(req.path, { method, headers, body, redirect: 'manual' });
}

/**
 * A log of every row written, by table, filled by triggers on each table of the test database:
 * reading its size before and after a refused call proves that call wrote nothing (no INSERT,
 * UPDATE or DELETE, not even one leaving a row as it was), in one query instead of a dump of
 * the whole database. Left out: the login throttle (failures are meant to be counted), and an
 * accepted key's `last_used_at` (recorded at most once a minute, before any route decides).
 */
export async function installWriteLog(t: TestApp): Promise<void> {
  const tables = await t.client.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT IN ('login_failures', '__drizzle_migrations')");
  const statements = ['CREATE TABLE IF NOT EXISTS _matrix_writes (id INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT NOT NULL, op TEXT NOT NULL)'];
  for (const { name } of tables.rows) {
    const table = String(name);
    let updateOf = '';
    if (table === 'api_keys') {
      const cols = (await t.client.execute('PRAGMA table_info(api_keys)')).rows.map((r) => String(r.name)).filter((c) => c !== 'last_used_at');
      updateOf = ` OF ${cols.map((c) => `"${c}"`).join(', ')}`;
    }
    for (const op of ['INSERT', 'UPDATE', 'DELETE']) {
      statements.push(`CREATE TRIGGER "_matrix_${table}_${op}" AFTER ${op}${op === 'UPDATE' ? updateOf : ''} ON "${table}" BEGIN INSERT INTO _matrix_writes (tbl, op) VALUES ('${table}', '${op}'); END`);
    }
  }
  await t.client.batch(statements, 'write');
}

/** Where the write log stands. */
export async function writeMark(t: TestApp): Promise<number> {
  return Number((await t.client.execute('SELECT coalesce(max(id), 0) AS n FROM _matrix_writes')).rows[0]!.n);
}

/** What was written since `mark`, as "table op" (empty: nothing). */
export async function writesSince(t: TestApp, mark: number): Promise<string[]> {
  const rows = await t.client.execute({ sql: 'SELECT DISTINCT tbl, op FROM _matrix_writes WHERE id > ? ORDER BY tbl, op', args: [mark] });
  return rows.rows.map((r) => `${String(r.tbl)} ${String(r.op)}`);
}
