/**
 * The API half of the fuzzing suite: one property per operation of the OpenAPI document
 * (enumerated from the document itself, so a new endpoint is fuzzed without anyone listing
 * it), run against a workspace with real rows to point at. Shared by the `fuzz-api*.test.ts`
 * files, which each take a share of the operations so vitest runs them side by side.
 *
 * Requests go mostly as an admin (allowed on every operation, so they pass authentication and
 * reach validation), sometimes as another role, another workspace's admin, an API key, a cookie
 * with or without a same-origin header, anonymous, or with a garbage Authorization header.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/domain/auth/password.js';
import { issueSession } from '../../src/domain/auth/session.js';
import { starterTemplates } from '../../src/email/templates.generated.js';
import { createTestApp, type TestApp } from './app.js';
import { TEST_PASSWORD, unique } from './factories.js';
import {
  bodyOf,
  bodyPlans,
  checkAnswer,
  checkNoWrite,
  encodeQuery,
  fromSchema,
  fuzzProperty,
  fuzzRuns,
  fuzzTimeout,
  minSuccesses,
  nastyString,
  poolFor,
  queryArb,
  Ref,
  resolveRefs,
  segmentArb,
  send,
  watchWrites,
  type AllowedWrite,
  type Answer,
  type BodyPlan,
  type Outgoing,
  type QueryPlan,
  type Schema,
  type SchemaContext,
} from './fuzz.js';
import { lastMailText, subscriber } from './subscriber.js';

export interface Operation {
  method: string;
  /** As in the document: `/campaigns/{id}`. */
  path: string;
  /** As registered in the app: `POST /api/v1/campaigns/:id`. */
  route: string;
  params: { name: string; in: 'path' | 'query' | 'header'; required?: boolean; schema: Schema }[];
  body?: Schema;
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, { parameters?: Operation['params']; requestBody?: { content: Record<string, { schema: Schema }> }; description?: string; security?: unknown }>>;
  components: { schemas: Record<string, Schema> };
}

export function operationsOf(doc: OpenApiDocument): Operation[] {
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      ops.push({
        method: method.toUpperCase(),
        path,
        route: `${method.toUpperCase()} /api/v1${path.replace(/\{(\w+)\}/g, ':$1')}`,
        params: op.parameters ?? [],
        body: op.requestBody?.content['application/json']?.schema,
      });
    }
  }
  return ops;
}

/**
 * Writes a refused API request may make, each with its reason, and only on the answer (and for
 * the caller) the reason holds for. Anything else a 4xx answer commits fails the run.
 */
export const ALLOWED_API_WRITES: readonly AllowedWrite[] = [
  {
    route: 'POST /api/v1/auth/login',
    table: 'login_failures',
    op: 'insert',
    status: 401,
    code: 'invalid_credentials',
    why: 'A failed login is recorded to throttle guessing (OWASP ASVS 2.2.1, src/domain/auth/throttle.ts): the refusal is the write. Only for wrong credentials: a body that does not parse or validate, or a login already locked (429), records nothing.',
  },
  {
    route: 'POST /api/v1/auth/login',
    table: 'login_failures',
    op: 'delete',
    status: 401,
    code: 'invalid_credentials',
    why: 'Recording a failure also drops failures older than the throttling window (housekeeping in the same batch).',
  },
  {
    route: 'POST /api/v1/auth/password',
    table: 'login_failures',
    op: 'insert',
    status: 400,
    code: 'wrong_password',
    why: 'A wrong current password counts towards the same lock as failed logins (src/domain/auth/change-password.ts), so a session left open cannot be used to guess it. Only that 400: a malformed body records nothing.',
  },
  {
    route: 'POST /api/v1/auth/password',
    table: 'login_failures',
    op: 'delete',
    status: 400,
    code: 'wrong_password',
    why: 'Recording that failure drops the ones older than the window (same batch as for login).',
  },
  {
    route: '*',
    table: 'api_keys',
    op: 'update',
    columns: ['last_used_at'],
    caller: 'apiKey',
    why: "Authenticating an API key records its last use (at most once a minute) before the route runs: that is the key's use, whatever the route then answers. Only when the caller is the key.",
  },
];

/**
 * Operations whose success uses up its target: a draft is deleted or sent once, the scheduled
 * campaign paused once (it is then paused), the paused one resumed once (it is then scheduled),
 * either cancelled once, a segment (when no campaign uses it), a member or a data-subject
 * request deleted or closed once; each refresh of the fixture gives one or two such rows. One
 * success is all their properties can promise.
 */
export const ONE_SHOT: ReadonlySet<string> = new Set([
  'DELETE /api/v1/campaigns/:id',
  'POST /api/v1/campaigns/:id/send',
  'POST /api/v1/campaigns/:id/pause',
  'POST /api/v1/campaigns/:id/resume',
  'POST /api/v1/campaigns/:id/cancel',
  'DELETE /api/v1/segments/:id',
  'DELETE /api/v1/members/:userId',
  'POST /api/v1/dsr-requests/:id/close',
]);

/**
 * Operations that cannot succeed in the fuzz setup, and why (their property then only checks
 * the refusals). None: the fixture gives every operation something it can succeed on (a
 * scheduled and a paused campaign for pause, resume and cancel; the admin's current password
 * for POST /auth/password; the team's emails and password for POST /auth/login).
 */
export const NEVER_SUCCEEDS: Readonly<Record<string, string>> = {};

/** More successes than the default, where the operation is what the product is for. */
export const MIN_SUCCESSES: Readonly<Record<string, number>> = {
  // The capture is the core write (legal proof of consent): most known-good bodies must land.
  'POST /api/v1/consents': 25,
};

/**
 * The rows the fuzzer points at: ours, and another workspace's (which must answer 404).
 * `refresh()`, run before each operation's property, gives it rows of its own to change or
 * destroy (a draft, a scheduled and a paused campaign, a segment, a confirmed contact with an
 * open request, members, an API key): an earlier property that sent the draft, erased the
 * contact or revoked the key must not leave this one probing only 404s and 409s.
 *
 * Every pool is in a fixed order (by role, or by creation with `ORDER BY rowid`) and of a fixed
 * size, never in the order a query happens to return random ids: the same seed must name the
 * same rows in every process, or a failure cannot be replayed.
 */
export async function apiFixture(t: TestApp) {
  const ours = await subscriber(t);
  const theirs = await subscriber(t);
  const post = async (token: string, path: string, json: unknown, headers: Record<string, string> = {}) => {
    const res = await t.request(path, { method: 'POST', token, json, headers });
    expect(res.status, `${path}: ${await res.clone().text()}`).toBeLessThan(300);
    return (await res.json()) as Record<string, unknown>;
  };
  const currentScripts = async (workspaceId: string) =>
    (
      await t.client.execute({
        sql: 'SELECT purpose, id FROM consent_scripts s WHERE workspace_id = ? AND version = (SELECT max(version) FROM consent_scripts WHERE workspace_id = s.workspace_id AND purpose = s.purpose) ORDER BY purpose',
        args: [workspaceId],
      })
    ).rows.map((r) => ({ purpose: String(r.purpose), id: String(r.id) }));
  const ALL_SCOPES = ['consents:write', 'contacts:read', 'conversions:write', 'campaigns:read', 'campaigns:write', 'stats:read'];
  /** Far enough that nothing the fuzzing does to the clock makes the campaign due. */
  const LATER = '2027-06-01T09:00:00.000Z';
  /** Rows an operation may change or destroy, fresh each time. */
  const volatile = async (team: typeof ours, tokens: Record<'admin' | 'marketer' | 'agent', string>) => {
    const draft = await post(tokens.marketer, '/api/v1/campaigns', { name: 'Brouillon', templateId: starterTemplates[0].id });
    const segment = await post(tokens.marketer, '/api/v1/segments', { name: 'Rome', rules: { match: 'all', conditions: [{ field: 'attributes.destination', operator: 'equals', value: 'Rome' }] } });
    const lead = `${unique('lead')}@example.test`;
    const captured = (await post(
      tokens.agent,
      '/api/v1/consents',
      {
        contact: { email: lead, attributes: { destination: 'Rome' } },
        call: { ref: unique('CALL'), basis: 'inbound_call' },
        // An answer for every purpose with a script: the fuzzing of POST /consent-scripts adds
        // purposes, and a capture must answer each one (never a default).
        answers: await currentScripts(team.workspace.id).then((rows) =>
          rows.map(({ purpose, id }) => ({ purpose, answer: purpose === 'newsletter' ? 'granted' : 'refused', scriptId: id })),
        ),
      },
      { 'idempotency-key': unique('fuzz-capture') },
    )) as { contact: { id: string } };
    // Confirmed (double opt-in), so the Rome segment always has an audience to schedule and
    // send to, even after the fuzzing of erasure took the subscriber.
    const confirm = /\/confirm\/[\w.-]+/.exec(await lastMailText(t, lead))![0];
    const confirmed = await t.request(confirm, { method: 'POST', headers: { origin: 'http://localhost' }, body: new URLSearchParams({ answer: 'confirm' }) });
    expect(confirmed.status, `${confirm}: ${await confirmed.clone().text()}`).toBeLessThan(400);
    // A scheduled campaign and a paused one: pause, resume and cancel have nothing else to act
    // on. Their segment is one of their own, so that the Rome segment stays free to delete (and
    // this one answers DELETE with 409 segment_in_use).
    const planned = await post(tokens.marketer, '/api/v1/segments', { name: 'Rome (planifié)', rules: { match: 'all', conditions: [{ field: 'attributes.destination', operator: 'equals', value: 'Rome' }] } });
    const campaignIn = async (state: 'scheduled' | 'paused') => {
      const campaign = await post(tokens.marketer, '/api/v1/campaigns', { name: state, templateId: starterTemplates[0].id });
      await post(tokens.marketer, `/api/v1/campaigns/${String(campaign.id)}/schedule`, { segmentId: planned.id, at: LATER });
      if (state === 'paused') await post(tokens.marketer, `/api/v1/campaigns/${String(campaign.id)}/pause`, {});
      return String(campaign.id);
    };
    const scheduled = await campaignIn('scheduled');
    const paused = await campaignIn('paused');
    const dsr = (await post(tokens.admin, '/api/v1/dsr-requests', { contactId: captured.contact.id, type: 'access', channel: 'phone' })) as { id: string };
    const key = (await post(tokens.admin, '/api/v1/api-keys', { name: 'Victim', scopes: ALL_SCOPES })) as { apiKey: { id: string } };
    const members: { userId: string; email: string }[] = [];
    for (const role of ['agent', 'marketer']) {
      const email = `${unique('victim')}@example.test`;
      const { member } = (await post(tokens.admin, '/api/v1/members', { email, name: 'Victim', role })) as { member: { userId: string } };
      members.push({ userId: member.userId, email });
    }
    return { draft: String(draft.id), scheduled, paused, segment: String(segment.id), planned: String(planned.id), contact: captured.contact.id, dsr: dsr.id, key: key.apiKey.id, members };
  };
  /** The first messages of the outbox (a fixed slice: the pool does not shift as mail piles up). */
  const outboxOf = async (team: typeof ours) =>
    (await t.client.execute({ sql: 'SELECT id FROM outbox_messages WHERE workspace_id = ? ORDER BY rowid LIMIT 8', args: [team.workspace.id] })).rows.map((r) => String(r.id));
  const poolsOf = (team: typeof ours, v: Awaited<ReturnType<typeof volatile>>, outbox: string[]): Record<string, string[]> => ({
    outbox,
    scripts: [team.scripts.newsletter.id, team.scripts.open_tracking.id],
    scriptTexts: [team.scripts.newsletter.text],
    templates: starterTemplates.map((tpl) => tpl.id),
    workspaces: [team.workspace.id],
    // The subscriber (a contact, not a user), the team in a fixed role order, this refresh's
    // invited members: never the membership table's order, which is the order of random ids.
    emails: [team.email, team.admin.email, team.marketer.email, team.agent.email, ...v.members.map((m) => m.email)],
    passwords: [TEST_PASSWORD],
    campaigns: [v.draft, team.campaignId, v.scheduled, v.paused],
    segments: [v.segment, team.segmentId, v.planned],
    contacts: [v.contact, team.contactId],
    dsrrequests: [v.dsr],
    apikeys: [v.key],
    // Members of this refresh only: removing or demoting the team who calls would end the
    // property's reach for the remaining runs (the last admin's self-demotion is a plain test).
    users: v.members.map((m) => m.userId),
  });
  // The caller's own key, kept out of the pools so that no run revokes it.
  const apiKey = String((await post(ours.admin.token, '/api/v1/api-keys', { name: 'Dialer', scopes: ALL_SCOPES })).secret);
  const theirPools = poolsOf(theirs, await volatile(theirs, { admin: theirs.admin.token, marketer: theirs.marketer.token, agent: theirs.agent.token }), await outboxOf(theirs));
  const pools: Record<string, readonly string[]> = {};
  const sessions = new Map<string, Promise<string>>();
  /**
   * A session for one of the team, signed now: a run that logs the admin out (POST /auth/logout
   * ends every session of the person), changes their password or bumps their session
   * generation must not leave the following runs stuck on 401.
   */
  const session = (who: 'admin' | 'marketer' | 'agent' | 'otherAdmin') => {
    let token = sessions.get(who);
    if (!token) {
      const user = who === 'otherAdmin' ? theirs.admin : ours[who];
      token = issueSession(t.deps, { userId: user.id, workspaceId: who === 'otherAdmin' ? theirs.workspace.id : ours.workspace.id });
      sessions.set(who, token);
    }
    return token;
  };
  const passwordHash = await hashPassword(TEST_PASSWORD);
  const refresh = async () => {
    sessions.clear();
    // Every property starts from the same footing: the team's own passwords (POST /auth/password
    // changes the admin's), and no login lock left by an earlier property's failures.
    await t.client.execute({ sql: 'UPDATE users SET password_hash = ? WHERE id IN (?, ?, ?)', args: [passwordHash, ours.admin.id, ours.marketer.id, ours.agent.id] });
    await t.client.execute('DELETE FROM login_failures');
    locked = 0;
    // Sessions signed now: a run may have logged the team out (POST /auth/logout).
    const tokens = { admin: await session('admin'), marketer: await session('marketer'), agent: await session('agent') };
    Object.assign(pools, poolsOf(ours, await volatile(ours, tokens), await outboxOf(ours)));
    for (const [name, values] of Object.entries(theirPools)) pools[`other:${name}`] = values;
  };
  let locked = 0;
  /**
   * Locked answers before the lock is lifted: enough that most runs of the auth routes stay
   * cheap (a 429 comes before the password check, a PBKDF2 of 100,000 rounds, about 30 ms),
   * few enough that each property still gets dozens of its bodies through that check.
   */
  const LIFT_LOCK_AFTER = 120;
  /** Forget the sessions (after a 401): the next run signs new ones. */
  const forgetSessions = () => sessions.clear();
  /**
   * What a run's answer changes for the next runs: a 401 drops the cached sessions (the next
   * run signs new ones); a changed password becomes the one known-good bodies send; a login
   * lock is lifted after it has refused `LIFT_LOCK_AFTER` runs, or the rest of the property
   * would probe nothing but the 429 (the lock has its own tests, auth.test.ts). Deterministic:
   * it depends on the answers only.
   */
  const observe = async (route: string, caller: Caller, req: Outgoing, answer: Answer) => {
    if (answer.status === 401) forgetSessions();
    if (route === 'POST /api/v1/auth/password' && answer.status === 200) {
      forgetSessions();
      if (caller === 'admin' || caller === 'cookie' || caller === 'cookieSameOrigin') pools.passwords = [String((JSON.parse(req.body!) as { newPassword: string }).newPassword)];
    }
    if (answer.status === 429 && ++locked % LIFT_LOCK_AFTER === 0) await t.client.execute('DELETE FROM login_failures');
  };
  await refresh();
  return { ours, theirs, apiKey, pools, refresh, session, forgetSessions, observe };
}

export type ApiFixture = Awaited<ReturnType<typeof apiFixture>>;

/** Who calls: mostly an admin (allowed everywhere, so requests reach validation), sometimes not. */
export type Caller = 'admin' | 'marketer' | 'agent' | 'apiKey' | 'otherAdmin' | 'anonymous' | 'cookie' | 'cookieSameOrigin' | { garbage: string };

/** Authorization values that are not a credential (all printable ASCII: HTTP header values). */
const garbageAuth = fc.oneof(
  fc.constantFrom('Bearer', 'Bearer ', 'Bearer  x y', 'Basic dXNlcjpwYXNz', 'bearer cnk_', 'Bearer cnk_' + 'A'.repeat(300), 'Bearer ' + 'a'.repeat(5000), 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', 'Token abc', ''),
  fc.string({ unit: 'grapheme-ascii', maxLength: 60 }).map((s) => `Bearer ${s}`),
);

export const callerArb: fc.Arbitrary<Caller> = fc.oneof(
  { weight: 14, arbitrary: fc.constant<Caller>('admin') },
  { weight: 1, arbitrary: fc.constantFrom<Caller>('marketer', 'agent', 'apiKey', 'otherAdmin') },
  { weight: 1, arbitrary: fc.constantFrom<Caller>('anonymous', 'cookie', 'cookieSameOrigin') },
  { weight: 1, arbitrary: garbageAuth.map((g): Caller => ({ garbage: g })) },
);

export async function authHeaders(caller: Caller, fx: ApiFixture): Promise<Record<string, string>> {
  if (typeof caller === 'object') return { authorization: caller.garbage };
  switch (caller) {
    case 'admin':
    case 'marketer':
    case 'agent':
    case 'otherAdmin':
      return { authorization: `Bearer ${await fx.session(caller)}` };
    case 'apiKey':
      return { authorization: `Bearer ${fx.apiKey}` };
    case 'anonymous':
      return {};
    case 'cookie':
      return { cookie: `session=${await fx.session('admin')}` };
    case 'cookieSameOrigin':
      return { cookie: `session=${await fx.session('admin')}`, origin: 'http://localhost' };
  }
}

const acceptArb = fc.constantFrom<string | undefined>(undefined, undefined, 'application/json', 'text/html,application/xhtml+xml', '*/*', 'text/csv');

export interface ApiCase {
  caller: Caller;
  segments: (Ref | string)[];
  query: QueryPlan;
  body: BodyPlan | null;
  accept: string | undefined;
  header: string | undefined;
}

const refTo = (pool: string, max = 7) => fc.nat({ max }).map((i) => new Ref(pool, i));
const attributes = fc.dictionary(fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_-]{0,39}$/), fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.boolean()), { maxKeys: 3 });

/**
 * Bodies that pass every check the schema cannot express (a script that names the controller,
 * a capture whose script ids match its purposes, attribute names, exactly one conversion
 * target), for the operations where schema-made bodies rarely get past the domain's rules:
 * mutated, they reach the code behind those rules.
 */
export const KNOWN_GOOD: Record<string, fc.Arbitrary<unknown>> = {
  'POST /api/v1/consents': fc.record({
    contact: fc.record(
      {
        email: fc.oneof(fc.emailAddress(), refTo('emails')),
        phone: fc.constantFrom('06 12 34 56 78', '+33612345678', '0033 6 12 34 56 78', null),
        firstName: fc.string({ maxLength: 20 }),
        lastName: fc.string({ maxLength: 20 }),
        locale: fc.constantFrom('fr', 'fr-FR', 'en'),
        attributes,
      },
      { requiredKeys: ['email'] },
    ),
    call: fc.record(
      {
        ref: fc.string({ minLength: 1, maxLength: 30 }),
        basis: fc.constantFrom('inbound_call', 'ongoing_contract', 'prior_consent'),
        basisRef: fc.string({ minLength: 1, maxLength: 30 }),
        campaign: fc.string({ maxLength: 30 }),
      },
      { requiredKeys: ['ref', 'basis'] },
    ),
    answers: fc.tuple(fc.constantFrom('granted', 'refused'), fc.constantFrom('granted', 'refused')).map(([a, b]) => [
      { purpose: 'newsletter', answer: a, scriptId: new Ref('scripts', 0) },
      { purpose: 'open_tracking', answer: b, scriptId: new Ref('scripts', 1) },
    ]),
  }),
  'POST /api/v1/conversions': fc.record(
    {
      contactId: refTo('contacts'),
      type: fc.stringMatching(/^[a-z][a-z0-9_]{0,39}$/),
      value: fc.integer({ min: 0, max: 100_000_000 }).map((cents) => cents / 100),
      currency: fc.constantFrom('EUR', 'eur', 'USD'),
      externalId: fc.string({ minLength: 1, maxLength: 40 }),
    },
    { requiredKeys: ['contactId', 'type', 'externalId'] },
  ),
  'POST /api/v1/consent-scripts': fc.record({
    purpose: fc.stringMatching(/^[a-z][a-z0-9_]{1,39}$/),
    label: fc.string({ minLength: 1, maxLength: 40 }),
    // A text the fixture's workspace accepts: its own newsletter script.
    text: fc.constant(new Ref('scriptTexts', 0)),
  }),
  // The team's emails and their password: without them, every login is a 401 or a 429.
  'POST /api/v1/auth/login': fc.record({ email: refTo('emails'), password: fc.constant(new Ref('passwords', 0)) }),
  // The admin's current password (followed when a run changes it) and a new one that differs.
  'POST /api/v1/auth/password': fc.record({ currentPassword: fc.constant(new Ref('passwords', 0)), newPassword: fc.constantFrom('fuzzed password one', 'fuzzed password two') }),
  // Addresses the server takes (fc.emailAddress() makes RFC 5322 ones it rightly refuses).
  'POST /api/v1/members': fc.record({ email: fc.stringMatching(/^[a-z][a-z0-9.]{0,15}@example\.test$/).filter((e) => !e.includes('..') && !e.includes('.@')), name: fc.string({ minLength: 1, maxLength: 40 }), role: fc.constantFrom('admin', 'marketer', 'agent') }),
  'PATCH /api/v1/contacts/:id': fc.record({ firstName: fc.string({ maxLength: 20 }), lastName: fc.option(fc.string({ maxLength: 20 }), { nil: null }), phone: fc.constantFrom('06 12 34 56 78', null), attributes }, { requiredKeys: [] }),
};

function caseArb(op: Operation, ctx: SchemaContext): fc.Arbitrary<ApiCase> {
  const pathParams = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  const segments = pathParams.map((name) => {
    const before = op.path.split(`/{${name}}`)[0]!.split('/').pop()!;
    const pool = name === 'id' ? before.replaceAll('-', '').toLowerCase() : poolFor(name, ctx.pools);
    return segmentArb(pool && ctx.pools.includes(pool) ? pool : undefined);
  });
  const query = op.params.filter((p) => p.in === 'query');
  const header = op.params.find((p) => p.in === 'header');
  const hasBody = op.method !== 'GET' && op.method !== 'HEAD';
  const known = KNOWN_GOOD[op.route];
  const valid = op.body ? (known ? fc.oneof(fromSchema(op.body, ctx), known) : fromSchema(op.body, ctx)) : undefined;
  return fc.record({
    caller: callerArb,
    segments: fc.tuple(...segments),
    query: query.length ? queryArb(query, ctx) : fc.constant<QueryPlan>([]),
    // Operations without a body still get one now and then: it must be ignored or refused.
    body: hasBody ? (op.body ? bodyPlans(valid) : fc.oneof({ weight: 3, arbitrary: fc.constant<BodyPlan | null>(null) }, { weight: 1, arbitrary: bodyPlans(undefined) })) : fc.constant(null),
    accept: acceptArb,
    header: header
      ? fc.option(
          fc.oneof(
            fc.uuid(),
            nastyString.map((s) => (typeof s === 'string' ? s : s.value.slice(0, 1000)).replace(/[^\x20-\x7e]/g, '')),
          ),
          { nil: undefined },
        )
      : fc.constant(undefined),
  });
}

export async function requestOf(op: Operation, c: ApiCase, fx: ApiFixture): Promise<Outgoing> {
  let i = 0;
  const path = op.path.replace(/\{(\w+)\}/g, () => {
    const seg = c.segments[i++]!;
    return seg instanceof Ref ? encodeURIComponent(String(resolveRefs(seg, fx.pools))) : seg;
  });
  const headers: Record<string, string> = { ...(await authHeaders(c.caller, fx)) };
  if (c.accept) headers.accept = c.accept;
  const headerParam = op.params.find((p) => p.in === 'header');
  if (headerParam && c.header !== undefined) headers[headerParam.name] = c.header;
  let body: string | undefined;
  if (c.body) {
    const encoded = bodyOf(c.body, fx.pools);
    body = encoded.body;
    if (encoded.contentType !== null) headers['content-type'] = encoded.contentType;
  }
  return { method: op.method, url: `/api/v1${path}${encodeQuery(c.query, fx.pools)}`, headers, body };
}

/**
 * Declares the fuzzing tests for the operations of the document whose index falls in this
 * shard (`index % shards === shard`).
 */
/**
 * Runs for one operation: the full count where there is input to fuzz (a body, path or query
 * parameters); a tenth for a GET that takes none, where the runs only vary the caller and the
 * headers.
 */
export function runsFor(op: Operation, runs: number): number {
  const hasInput = op.params.length > 0 || op.body !== undefined || (op.method !== 'GET' && op.method !== 'HEAD');
  return hasInput ? runs : Math.ceil(runs / 10);
}

export interface ApiFuzzEnv {
  t: TestApp;
  fx: ApiFixture;
  doc: OpenApiDocument;
  all: Operation[];
  watch: Awaited<ReturnType<typeof watchWrites>>;
}

/** The caller as the write allowlist names it. */
export function callerName(caller: Caller): string {
  return typeof caller === 'object' ? 'garbage' : caller;
}

/** The successes an operation's property must get: one for one-shot operations, more for the capture. */
export function successesFor(op: Operation, runs: number): number {
  if (op.route in NEVER_SUCCEEDS) return 0;
  const base = minSuccesses(runs);
  if (ONE_SHOT.has(op.route)) return Math.min(base, 1);
  return runs >= 1000 ? Math.max(base, MIN_SUCCESSES[op.route] ?? 0) : base;
}

export async function defineApiFuzz(options: { shard: number; shards: number; runs: number; msPerRun: number; before?: (env: ApiFuzzEnv) => void }) {
  const t = await createTestApp();
  afterAll(() => t.dispose());
  const doc = (await (await t.app.request('http://localhost/api/openapi.json')).json()) as OpenApiDocument;
  const all = operationsOf(doc);
  const mine = all.filter((_, i) => i % options.shards === options.shard);
  const fx = await apiFixture(t);
  const watch = await watchWrites(t.client);
  const ctx: SchemaContext = { components: doc.components.schemas, pools: Object.keys(fx.pools).filter((k) => !k.startsWith('other:')) };
  options.before?.({ t, fx, doc, all, watch });

  describe(`every API operation (shard ${options.shard + 1}/${options.shards}: ${mine.length} of ${all.length})`, () => {
    it('every operation is expected to succeed sometimes, or says why not', () => {
      for (const route of [...Object.keys(NEVER_SUCCEEDS), ...ONE_SHOT, ...Object.keys(MIN_SUCCESSES)]) expect(all.map((op) => op.route)).toContain(route);
    });

    for (const op of mine) {
      const runs = runsFor(op, fuzzRuns(options.runs));
      const timeout = fuzzTimeout(runs, options.msPerRun);
      it(
        `${op.method} ${op.path}`,
        async () => {
          await fx.refresh();
          await watch.take();
          await fuzzProperty({
            name: op.route,
            arbitrary: caseArb(op, ctx),
            runs,
            timeoutMs: timeout,
            minSuccesses: successesFor(op, runs),
            client: t.client,
            run: async (c) => {
              const req = await requestOf(op, c, fx);
              const answer = await send(t, req);
              const writes = await watch.take();
              await fx.observe(op.route, c.caller, req, answer);
              // What observe did to the fixture (lifting a login lock) is not the next request's write.
              await watch.take();
              checkAnswer(req, answer, { api: true });
              // A garbage Authorization header is refused before any route runs: it writes
              // nothing at all, whatever the answer.
              checkNoWrite(op.route, req, answer, writes, ALLOWED_API_WRITES, { caller: callerName(c.caller), forged: typeof c.caller === 'object' });
              return { req, answer };
            },
          });
        },
        timeout,
      );
    }
  });
}
