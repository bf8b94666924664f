/**
 * The public half of the fuzzing suite (issue 10, item 1), shared by fuzz-public.test.ts and
 * fuzz-public-2.test.ts: every public token route and the JSON routes outside the OpenAPI
 * document. The pages a subscriber reaches from an email (confirm, unsubscribe, preferences,
 * export), the pixel and the click redirect, invitations, the preview links, Resend's webhook,
 * and the two JSON helpers of the pages. Generators and invariants: fuzz.ts.
 *
 * Tokens are the emailed ones, as is, tampered (truncated, a character flipped, segments
 * dropped or swapped, `alg: none`, re-encoded), of the wrong kind, re-signed with the real key
 * around hostile claims, or plain garbage. Bodies are the forms the pages post, with every
 * field wrong in turn, in every encoding a client may use (and broken multipart), or no form.
 *
 * Invariants, on every run: never a 5xx; an error is an HTML page of ours or the JSON envelope,
 * with no stack trace; the pixel is always the GIF; a GET of a page writes nothing (link
 * scanners fetch every URL of an email: DESIGN.md §3); a refused request writes nothing; a
 * request whose token does not verify (as the handler reads it: percent-decoded) writes
 * nothing whatever it answers, nor does a webhook whose signature does not. Each route must
 * also answer some runs with its success (a page, the redirect): tokens get past the check.
 */
import fc from 'fast-check';
import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, describe, expect, it } from 'vitest';
import { signToken, verifyToken } from '../../src/domain/auth/tokens.js';
import { clickToken, openToken, readClickToken, readOpenToken } from '../../src/tracking/tokens.js';
import { createTestApp, TEST_WEBHOOK_SECRET, testKeys } from './app.js';
import { unique } from './factories.js';
import {
  asText,
  Big,
  checkAnswer,
  checkNoWrite,
  edgeString,
  encodeJson,
  encodeSegment,
  fuzzProperty,
  fuzzRuns,
  fuzzTimeout,
  malformedJson,
  minSuccesses,
  mutate,
  mutationArb,
  nastyString,
  nastyValue,
  OVERSIZED,
  Ref,
  resolveRefs,
  segmentArb,
  send,
  tryDecode,
  watchWrites,
  wrongContentTypes,
  type AllowedWrite,
  type Answer,
  type Outgoing,
} from './fuzz.js';
import { lastMailText, subscriber } from './subscriber.js';

/**
 * Declares the properties of one part: part 1 takes the first half of the token routes, part 2
 * the others and the JSON routes outside the document (two files, so vitest runs them side by
 * side). `runs` is per route (FUZZ_RUNS overrides).
 */
export async function definePublicFuzz(options: { part: 1 | 2; runs: number }) {
  const RUNS = fuzzRuns(options.runs);
  const MS_PER_RUN = 3;

  const t = await createTestApp();
  afterAll(() => t.dispose());
  const watch = await watchWrites(t.client);

  // ---------------------------------------------------------------------------------------------
  // The fixture: a subscriber who received a newsletter, and fresh links before each route.

  const s = await subscriber(t);
  const ws = s.workspace;

  async function post(path: string, init: { token?: string; json?: unknown; form?: Record<string, string>; headers?: Record<string, string> }) {
    const res = await t.request(path, {
      method: 'POST',
      ...(init.token ? { token: init.token } : {}),
      ...(init.json !== undefined ? { json: init.json } : {}),
      ...(init.form ? { body: new URLSearchParams(init.form) } : {}),
      headers: { origin: 'http://localhost', ...init.headers },
    });
    expect(res.status, `${path}: ${await res.clone().text()}`).toBeLessThan(400);
    return res;
  }

  const mail = (await t.client.execute({ sql: "SELECT html FROM outbox_messages WHERE \"to\" = ? AND json_extract(tags, '$.campaign') = ?", args: [s.email, s.campaignId] })).rows[0]!;
  const tracked = String(mail.html);
  const pixel = /\/o\/([\w.-]+)"/.exec(tracked)![1]!;
  const clicks = [...tracked.matchAll(/\/c\/([\w.-]+)"/g)].map((m) => m[1]!);
  const sendIds = (await t.client.execute('SELECT id FROM sends ORDER BY id')).rows.map((r) => Number(r.id));
  const providerIds = (await t.client.execute('SELECT provider_id FROM sends WHERE provider_id IS NOT NULL ORDER BY id')).rows.map((r) => String(r.provider_id));

  /**
   * Links of their own for each route's property: a new contact who granted the newsletter
   * (unsubscribe and preference links, as the sender signs them), one awaiting confirmation, an
   * invitation, and an export link with its cookie. Erasing, confirming or accepting in one run
   * must not leave the next route only the "already done" pages to probe.
   */
  async function freshTokens(): Promise<Record<string, readonly string[]>> {
    const capture = async (confirm: boolean) => {
      const email = `${unique('fuzz')}@example.test`;
      const res = await post('/api/v1/consents', {
        token: s.agent.token,
        headers: { 'idempotency-key': unique('fuzz') },
        json: {
          contact: { email, firstName: 'Léa', lastName: 'Martin', phone: '06 12 34 56 78' },
          call: { ref: unique('CALL'), basis: 'inbound_call' },
          answers: [
            { purpose: 'newsletter', answer: 'granted', scriptId: s.scripts.newsletter.id },
            { purpose: 'open_tracking', answer: 'granted', scriptId: s.scripts.open_tracking.id },
          ],
        },
      });
      const contactId = ((await res.json()) as { contact: { id: string } }).contact.id;
      const confirmToken = /\/confirm\/([\w.-]+)/.exec(await lastMailText(t, email))![1]!;
      if (confirm) await post(`/confirm/${confirmToken}`, { form: { answer: 'confirm' } });
      return { contactId, confirmToken };
    };
    const confirmed = await capture(true);
    const pending = await capture(false);
    const claims = { sub: confirmed.contactId, wid: ws.id, cid: s.campaignId };
    const unsubscribe = await signToken(t.deps.signingKeys, t.clock, 'unsubscribe', claims, null);
    const preferences = await signToken(t.deps.signingKeys, t.clock, 'preferences', claims, null);
    // Two invitations: accepting one is a one-shot success, and a second gives the property
    // another chance after the first was used up or mangled.
    const invites: string[] = [];
    for (let i = 0; i < 2; i++) {
      const inviteEmail = `${unique('invitee')}@example.test`;
      await post('/api/v1/members', { token: s.admin.token, json: { email: inviteEmail, name: 'Invitée', role: 'agent' } });
      invites.push(/\/invite\/([\w.-]+)/.exec(await lastMailText(t, inviteEmail))![1]!);
    }
    const exported = await post(`/p/${preferences}/export`, {});
    const exportToken = /\/p\/export\/([\w.-]+)\?/.exec(await exported.text())![1]!;
    const nonce = /cn_export=([^;]+)/.exec(exported.headers.get('set-cookie') ?? '')![1]!;
    const session = await signToken(t.deps.signingKeys, t.clock, 'session', { sub: s.admin.id, wid: ws.id, gen: 0 }, 3600);
    await watch.take();
    return {
      unsubscribe: [unsubscribe, s.unsubscribe.slice(3)],
      preferences: [preferences, s.preferences.slice(3)],
      confirm: [pending.confirmToken, confirmed.confirmToken],
      invite: invites,
      export: [exportToken],
      exportNonce: [nonce],
      open: [pixel],
      click: clicks,
      session: [session],
      workspaces: [ws.id],
      contacts: [confirmed.contactId, s.contactId],
      campaigns: [s.campaignId],
      sends: sendIds.map(String),
      providerIds,
    };
  }

  const pools: Record<string, readonly string[]> = {};
  const KINDS = ['unsubscribe', 'preferences', 'confirm', 'invite', 'export', 'open', 'click', 'session'] as const;
  type Kind = (typeof KINDS)[number];

  // ---------------------------------------------------------------------------------------------
  // Tokens

  type Tamper =
    | { kind: 'as-is' }
    | { kind: 'truncate'; at: number }
    | { kind: 'flip'; at: number; to: string }
    | { kind: 'append'; text: string }
    | { kind: 'drop-part'; at: number }
    | { kind: 'swap-parts' }
    | { kind: 'upper' }
    | { kind: 'alg-none' }
    | { kind: 'double' }
    | { kind: 'percent-encoded' };

  type TokenPlan = { from: Ref; tamper: Tamper } | { resigned: 'jws'; purpose: string; claims: Record<string, unknown> } | { resigned: 'open'; send: number } | { resigned: 'click'; campaign: Ref | string; send: number; link: number } | { raw: string };

  const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

  const tamperArb: fc.Arbitrary<Tamper> = fc.oneof(
    { weight: 3, arbitrary: fc.constant<Tamper>({ kind: 'as-is' }) },
    { weight: 2, arbitrary: fc.nat().map((at): Tamper => ({ kind: 'truncate', at })) },
    { weight: 3, arbitrary: fc.tuple(fc.nat(), fc.constantFrom(...B64URL)).map(([at, to]): Tamper => ({ kind: 'flip', at, to })) },
    { weight: 1, arbitrary: fc.oneof(fc.constantFrom('.', '..', '.x', '=', '%00', '/..', '.eyJhbGciOiJIUzI1NiJ9'), fc.string({ maxLength: 6 })).map((text): Tamper => ({ kind: 'append', text })) },
    { weight: 1, arbitrary: fc.nat({ max: 3 }).map((at): Tamper => ({ kind: 'drop-part', at })) },
    { weight: 1, arbitrary: fc.constantFrom<Tamper>({ kind: 'swap-parts' }, { kind: 'upper' }, { kind: 'alg-none' }, { kind: 'double' }, { kind: 'percent-encoded' }) },
  );

  const b64url = (text: string) => Buffer.from(text).toString('base64url');

  function applyTamper(token: string, tamper: Tamper): string {
    const parts = token.split('.');
    switch (tamper.kind) {
      case 'as-is':
        return token;
      case 'truncate':
        return token.slice(0, tamper.at % token.length);
      case 'flip': {
        const at = tamper.at % token.length;
        const to = token[at] === tamper.to ? (tamper.to === 'A' ? 'B' : 'A') : tamper.to;
        return token.slice(0, at) + to + token.slice(at + 1);
      }
      case 'append':
        return token + tamper.text;
      case 'drop-part':
        return parts.filter((_, i) => i !== tamper.at % parts.length).join('.');
      case 'swap-parts':
        return [...parts].reverse().join('.');
      case 'upper':
        return token.toUpperCase();
      case 'alg-none':
        // RFC 8725 §2.1: a verifier must never accept "none".
        return `${b64url('{"alg":"none","typ":"JWT"}')}.${parts[1] ?? ''}.`;
      case 'double':
        return `${token}.${token}`;
      case 'percent-encoded':
        return [...token].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('');
    }
  }

  /** Claims a token could carry if someone held the key: hostile values in every slot. */
  const claimValue = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom<unknown>(new Ref('contacts', 0), new Ref('contacts', 1), new Ref('workspaces', 0), new Ref('campaigns', 0)) },
    { weight: 3, arbitrary: nastyValue },
  );
  const claimsArb = fc.record(
    { sub: claimValue, wid: claimValue, cid: claimValue, eid: claimValue, nh: claimValue, gen: claimValue, exp: fc.oneof(fc.constant(1), fc.constant(4102444800), nastyValue), iss: fc.constantFrom('consent-newsletter', 'evil') },
    { requiredKeys: ['sub', 'wid'] },
  );

  function tokenArb(kind: Kind): fc.Arbitrary<TokenPlan> {
    const resigned: fc.Arbitrary<TokenPlan> =
      kind === 'open'
        ? fc.oneof(fc.constantFrom(...sendIds), fc.nat(), fc.constant(36 ** 11 - 1), fc.constant(Number.MAX_SAFE_INTEGER)).map((send): TokenPlan => ({ resigned: 'open', send }))
        : kind === 'click'
          ? fc
              .record({
                campaign: fc.oneof(fc.constant(new Ref('campaigns', 0)), fc.stringMatching(/^cmp_[0-9a-f]{32}$/)),
                send: fc.oneof(fc.constantFrom(...sendIds), fc.nat(), fc.constant(36 ** 11 - 1)),
                link: fc.oneof(fc.integer({ min: -2, max: 8 }), fc.integer({ min: -(36 ** 4) + 1, max: 36 ** 4 - 1 })),
              })
              .map((c): TokenPlan => ({ resigned: 'click', ...c }))
          : fc.record({ purpose: fc.oneof({ weight: 4, arbitrary: fc.constant(kind) }, { weight: 1, arbitrary: fc.constantFrom(...KINDS) }), claims: claimsArb }).map((r): TokenPlan => ({ resigned: 'jws', ...r }));
    return fc.oneof(
      { weight: 6, arbitrary: fc.record({ from: fc.nat({ max: 3 }).map((i) => new Ref(`token:${kind}`, i)), tamper: tamperArb }) },
      { weight: 1, arbitrary: fc.record({ from: fc.tuple(fc.constantFrom(...KINDS), fc.nat({ max: 3 })).map(([k, i]) => new Ref(`token:${k}`, i)), tamper: fc.constant<Tamper>({ kind: 'as-is' }) }) },
      { weight: 2, arbitrary: resigned },
      { weight: 3, arbitrary: segmentArb(undefined).map((raw): TokenPlan => ({ raw: raw as string })) },
      { weight: 1, arbitrary: fc.base64String({ minLength: 4, maxLength: 200 }).map((b): TokenPlan => ({ raw: b.replaceAll('+', '-').replaceAll('/', '_').replaceAll('=', '') })) },
      { weight: 1, arbitrary: fc.array(fc.base64String({ maxLength: 40 }), { minLength: 2, maxLength: 5 }).map((bs): TokenPlan => ({ raw: bs.map((b) => b.replaceAll('+', '-').replaceAll('/', '_').replaceAll('=', '')).join('.') })) },
    );
  }

  async function tokenOf(plan: TokenPlan): Promise<string> {
    if ('raw' in plan) return plan.raw;
    if ('from' in plan) {
      const token = String(resolveRefs(plan.from, pools));
      return encodeSegment(applyTamper(token, plan.tamper)).replaceAll('%25', '%');
    }
    if (plan.resigned === 'open') return openToken(testKeys, plan.send);
    if (plan.resigned === 'click') return clickToken(testKeys, { campaignId: String(resolveRefs(plan.campaign, pools)), sendId: plan.send, link: plan.link });
    // The real key around claims of any type, signed by hand (RFC 7515 §5.1): jose would refuse to
    // sign a non-numeric `exp`, but a verifier must survive one.
    const claims = resolveRefs(plan.claims, pools) as Record<string, unknown>;
    const payload = Object.fromEntries(Object.entries(claims).map(([k, v]) => [k, v instanceof Big ? v.value.slice(0, 2000) : v]));
    const input = `${b64url(JSON.stringify({ alg: 'HS256', kid: testKeys[0]!.kid }))}.${b64url(encodeJson({ ...payload, aud: plan.purpose }))}`;
    return `${input}.${createHmac('sha256', testKeys[0]!.secret).update(input).digest('base64url')}`;
  }

  // ---------------------------------------------------------------------------------------------
  // Forms

  type Encoding = 'urlencoded' | 'multipart' | 'broken-multipart' | 'json' | 'text' | 'none' | 'oversized';
  type BrokenMultipart = 'wrong-boundary' | 'no-boundary' | 'truncated' | 'garbage' | 'no-name' | 'file-part' | 'long-boundary' | 'no-final';
  interface FormPlan {
    encoding: Encoding;
    fields: [string, unknown][];
    broken: BrokenMultipart;
    cut: number;
    contentType: string;
    text: string;
  }

  function formArb(known: Record<string, readonly string[]>): fc.Arbitrary<FormPlan> {
    const names = Object.keys(known);
    const fieldArb = (name: string) =>
      fc.oneof(
        { weight: 2, arbitrary: fc.constant<[string, unknown][]>([]) },
        { weight: 5, arbitrary: fc.constantFrom(...(known[name]!.length ? known[name]! : [''])).map((v): [string, unknown][] => [[name, v]]) },
        { weight: 4, arbitrary: nastyString.map((v): [string, unknown][] => [[name, v]]) },
        { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...(known[name]!.length ? known[name]! : [''])), nastyString).map(([a, b]): [string, unknown][] => [[name, a], [name, b]]) },
      );
    return fc.record({
      encoding: fc.oneof(
        { weight: 6, arbitrary: fc.constant<Encoding>('urlencoded') },
        { weight: 3, arbitrary: fc.constant<Encoding>('multipart') },
        { weight: 3, arbitrary: fc.constant<Encoding>('broken-multipart') },
        { weight: 1, arbitrary: fc.constantFrom<Encoding>('json', 'text', 'none') },
        { weight: 1, arbitrary: fc.constant<Encoding>('oversized') },
      ),
      fields: fc.tuple(fc.tuple(...names.map(fieldArb)), fc.array(fc.tuple(fc.oneof(edgeString, fc.string({ maxLength: 10 })), nastyString), { maxLength: 2 })).map(([known, extra]) => [...known.flat(), ...extra] as [string, unknown][]),
      broken: fc.constantFrom<BrokenMultipart>('wrong-boundary', 'no-boundary', 'truncated', 'garbage', 'no-name', 'file-part', 'long-boundary', 'no-final'),
      cut: fc.nat(),
      contentType: wrongContentTypes,
      text: fc.oneof(malformedJson, fc.string({ unit: 'binary', maxLength: 80 })),
    });
  }

  const BOUNDARY = '----fuzz7MA4YWxkTrZu0gW';

  function multipart(fields: [string, string][], boundary = BOUNDARY, opts: { noName?: boolean; file?: boolean; noFinal?: boolean } = {}) {
    let body = '';
    fields.forEach(([name, value], i) => {
      body += `--${boundary}\r\n`;
      if (opts.noName && i === 0) body += 'Content-Disposition: form-data\r\n\r\n';
      else if (opts.file && i === 0) body += `Content-Disposition: form-data; name="${name}"; filename="x.txt"\r\nContent-Type: text/plain\r\n\r\n`;
      else body += `Content-Disposition: form-data; name="${name.replaceAll('"', '%22')}"\r\n\r\n`;
      body += `${value}\r\n`;
    });
    return body + (opts.noFinal ? '' : `--${boundary}--\r\n`);
  }

  function formBody(plan: FormPlan): { body?: string; contentType?: string } {
    const fields = plan.fields.map(([k, v]): [string, string] => [k, asText(resolveRefs(v, pools))]);
    switch (plan.encoding) {
      case 'urlencoded':
        return { body: fields.map(([k, v]) => `${encodeSegment(k)}=${encodeSegment(v)}`).join('&'), contentType: 'application/x-www-form-urlencoded' };
      case 'multipart':
        return { body: multipart(fields), contentType: `multipart/form-data; boundary=${BOUNDARY}` };
      case 'broken-multipart': {
        const good = multipart(fields.length ? fields : [['a', 'b']]);
        switch (plan.broken) {
          case 'wrong-boundary':
            return { body: good, contentType: 'multipart/form-data; boundary=other' };
          case 'no-boundary':
            return { body: good, contentType: 'multipart/form-data' };
          case 'truncated':
            return { body: good.slice(0, plan.cut % good.length), contentType: `multipart/form-data; boundary=${BOUNDARY}` };
          case 'garbage':
            return { body: plan.text, contentType: `multipart/form-data; boundary=${BOUNDARY}` };
          case 'no-name':
            return { body: multipart(fields.length ? fields : [['a', 'b']], BOUNDARY, { noName: true }), contentType: `multipart/form-data; boundary=${BOUNDARY}` };
          case 'file-part':
            return { body: multipart(fields.length ? fields : [['a', 'b']], BOUNDARY, { file: true }), contentType: `multipart/form-data; boundary=${BOUNDARY}` };
          case 'long-boundary':
            return { body: multipart(fields, 'b'.repeat(200)), contentType: `multipart/form-data; boundary=${'b'.repeat(200)}` };
          case 'no-final':
            return { body: multipart(fields.length ? fields : [['a', 'b']], BOUNDARY, { noFinal: true }), contentType: `multipart/form-data; boundary=${BOUNDARY}` };
        }
        break;
      }
      case 'json':
        return { body: encodeJson(Object.fromEntries(fields)), contentType: 'application/json' };
      case 'text':
        return { body: plan.text, contentType: plan.contentType };
      case 'none':
        return {};
      case 'oversized':
        return { body: `a=${OVERSIZED.value}`, contentType: 'application/x-www-form-urlencoded' };
    }
    return {};
  }

  // ---------------------------------------------------------------------------------------------
  // Headers

  /** Header values are byte strings: printable ASCII only (what an HTTP client can send at all). */
  const ascii = (s: string | Big) => (typeof s === 'string' ? s : s.value.slice(0, 2000)).replace(/[^\x20-\x7e]/g, '');

  interface HeaderPlan {
    origin: string | undefined;
    fetchSite: string | undefined;
    accept: string | undefined;
    userAgent: string | undefined;
    ip: string | undefined;
    cookie: { nonce: boolean } | string | undefined;
  }

  const headerArb: fc.Arbitrary<HeaderPlan> = fc.record({
    // Same origin most of the time, so that the forms' CSRF check lets the body be read.
    origin: fc.oneof({ weight: 6, arbitrary: fc.constant<string | undefined>('http://localhost') }, { weight: 2, arbitrary: fc.constantFrom(undefined, 'https://evil.example', 'null', 'http://localhost.evil.example', 'http://LOCALHOST') }),
    fetchSite: fc.constantFrom(undefined, undefined, undefined, 'same-origin', 'cross-site', 'none', 'same-site'),
    accept: fc.constantFrom(undefined, 'text/html,application/xhtml+xml', 'application/json', '*/*', 'image/*'),
    userAgent: fc.option(fc.oneof(fc.constantFrom('Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0', 'Microsoft Office/16.0', 'Mozilla/5.0 AppleWebKit/605.1.15 (KHTML, like Gecko)', 'python-requests/2.31'), nastyString.map(ascii)), { nil: undefined }),
    ip: fc.option(fc.oneof(fc.ipV4(), fc.ipV6(), nastyString.map(ascii)), { nil: undefined }),
    cookie: fc.option(fc.oneof(fc.constant({ nonce: true }), fc.constant({ nonce: false }), fc.string({ unit: 'grapheme-ascii', maxLength: 40 }).map((v) => `cn_export=${v}`), fc.constant('session=garbage')), { nil: undefined }),
  });

  function headersOf(plan: HeaderPlan, method: string): Record<string, string> {
    const h: Record<string, string> = {};
    if (method !== 'GET' && method !== 'HEAD' && plan.origin !== undefined) h.origin = plan.origin;
    if (plan.fetchSite) h['sec-fetch-site'] = plan.fetchSite;
    if (plan.accept) h.accept = plan.accept;
    if (plan.userAgent !== undefined) h['user-agent'] = plan.userAgent;
    if (plan.ip !== undefined) h['x-test-ip'] = plan.ip;
    if (typeof plan.cookie === 'string') h.cookie = plan.cookie;
    else if (plan.cookie) h.cookie = `cn_export=${plan.cookie.nonce ? pools.exportNonce![0] : 'forged-nonce'}`;
    return h;
  }

  // ---------------------------------------------------------------------------------------------
  // The routes

  interface PublicRoute {
    method: 'GET' | 'POST';
    /** As registered: `/u/:token`. */
    path: string;
    /** Whose links it takes (`:kind` for the preview links). */
    token: Kind | 'kind';
    /** The form the page posts, with the values that mean something. */
    form?: Record<string, readonly string[]>;
    query?: Record<string, readonly string[]>;
    /** A GET that must never write, whatever it answers. */
    readOnly?: boolean;
    /** The statuses that mean the request got through (200 unless said): a page's redirect. */
    success?: number[];
    /** Its success uses up its token (an invitation is accepted once): one success is enough. */
    oneShot?: boolean;
  }

  const PUBLIC_ROUTES: PublicRoute[] = [
    { method: 'GET', path: '/o/:token', token: 'open' },
    { method: 'GET', path: '/c/:token', token: 'click', success: [302] },
    { method: 'GET', path: '/confirm/:token', token: 'confirm', query: { refuse: ['1', '0'] }, readOnly: true },
    { method: 'POST', path: '/confirm/:token', token: 'confirm', form: { answer: ['confirm', 'refuse'] } },
    { method: 'GET', path: '/u/:token', token: 'unsubscribe', readOnly: true },
    { method: 'POST', path: '/u/:token', token: 'unsubscribe', form: { 'List-Unsubscribe': ['One-Click'] } },
    { method: 'POST', path: '/u/:token/undo', token: 'unsubscribe', form: {} },
    { method: 'GET', path: '/p/:token', token: 'preferences', query: { stop: ['opens'] }, readOnly: true },
    { method: 'POST', path: '/p/:token', token: 'preferences', form: { purpose: ['newsletter', 'open_tracking', 'partners'], action: ['grant', 'withdraw'] } },
    { method: 'POST', path: '/p/:token/details', token: 'preferences', form: { firstName: ['Léa', ''], lastName: ['Martin'], phone: ['06 12 34 56 78', '+33612345678', ''] } },
    { method: 'POST', path: '/p/:token/export', token: 'preferences', form: {} },
    { method: 'POST', path: '/p/:token/erase', token: 'preferences', form: { confirm: ['yes', 'no'] } },
    { method: 'GET', path: '/p/export/:token', token: 'export', query: { format: ['json', 'csv'] }, readOnly: true },
    { method: 'GET', path: '/invite/:token', token: 'invite', readOnly: true },
    { method: 'POST', path: '/invite/:token', token: 'invite', form: { password: ['a long enough password', 'short'], confirm: ['a long enough password'] }, success: [303], oneShot: true },
    { method: 'GET', path: '/preview-link/:kind', token: 'kind', readOnly: true },
    { method: 'POST', path: '/preview-link/:kind', token: 'kind', form: { 'List-Unsubscribe': ['One-Click'] } },
  ];

  /**
   * Writes a refused public request may make, each with its reason (none so far: a refused
   * request of a subscriber, a scanner or a forger leaves no trace in the database).
   */
  const ALLOWED_PUBLIC_WRITES: readonly AllowedWrite[] = [];

  interface PublicCase {
    method: string;
    token: TokenPlan | string;
    query: [string, unknown][];
    form: FormPlan | null;
    headers: HeaderPlan;
  }

  function caseArb(route: PublicRoute): fc.Arbitrary<PublicCase> {
    const queryArb = fc.array(
      fc.oneof(
        ...Object.entries(route.query ?? {}).map(([k, values]) => fc.constantFrom(...values).map((v): [string, unknown] => [k, v])),
        fc.tuple(fc.constantFrom(...Object.keys(route.query ?? { x: [] })), nastyValue),
        fc.tuple(fc.oneof(edgeString, fc.string({ maxLength: 8 })), nastyValue),
      ),
      { maxLength: 3 },
    );
    return fc.record({
      // HEAD is answered by the GET handler (Hono): it must behave the same, bodiless.
      method: route.method === 'GET' ? fc.constantFrom('GET', 'GET', 'GET', 'HEAD') : fc.constant('POST'),
      token: route.token === 'kind' ? fc.oneof(fc.constantFrom('unsubscribe', 'preferences', 'stop-tracking'), segmentArb(undefined).map(String)) : tokenArb(route.token),
      query: queryArb,
      form: route.form ? fc.option(formArb(route.form), { nil: null, freq: 12 }) : fc.constant(null),
      headers: headerArb,
    });
  }

  async function requestOf(route: PublicRoute, c: PublicCase): Promise<Outgoing> {
    const token = typeof c.token === 'string' ? c.token : await tokenOf(c.token);
    const path = route.path.replace(/:(token|kind)/, token);
    const query = c.query.length ? `?${c.query.map(([k, v]) => `${encodeSegment(k)}=${encodeSegment(asText(v))}`).join('&')}` : '';
    const headers = headersOf(c.headers, c.method);
    let body: string | undefined;
    if (c.form && c.method === 'POST') {
      const encoded = formBody(c.form);
      body = encoded.body;
      if (encoded.contentType !== undefined) headers['content-type'] = encoded.contentType;
    }
    return { method: c.method, url: `${path}${query}`, headers, body };
  }

  /**
   * A click on a validly signed link that has no destination (the honeypot every newsletter
   * hides, by design) is recorded, then answered 404: the hidden link is how scanners are told
   * apart (src/tracking/machine.ts). Only for tokens that verify: a forged one records nothing.
   */
  const CLICK_HIT_WRITES: readonly AllowedWrite[] = [
    { route: 'GET /c/:token', table: 'events', op: 'insert', why: 'the click on a signed link without destination (honeypot)' },
    { route: 'GET /c/:token', table: 'events', op: 'update', why: 'a repeated click is counted on its row' },
    { route: 'GET /c/:token', table: 'sends', op: 'update', why: "the send's click counters and verdict" },
  ];

  /**
   * Whether the request carries a token this route accepts: the path parameter as Hono hands it
   * to the handler (percent-decoded, `tryDecode`), checked as the route checks it. A path that
   * no longer reaches the route (`..` resolved away) carries none.
   */
  async function tokenVerifies(route: PublicRoute, reached: string): Promise<boolean> {
    const match = new RegExp(`^${route.path.replace(/:(token|kind)/, '([^/]+)')}$`).exec(reached);
    if (!match) return false;
    const token = tryDecode(match[1]!);
    if (route.token === 'open') return readOpenToken(t.deps.signingKeys, token) !== null;
    if (route.token === 'click') return readClickToken(t.deps.signingKeys, token) !== null;
    if (route.token === 'kind' || route.token === 'session') return true;
    return (await verifyToken(t.deps.signingKeys, t.clock, route.token, token)) !== null;
  }

  async function checkPublic(route: PublicRoute, req: Outgoing, answer: Answer, writes: Awaited<ReturnType<typeof watch.take>>) {
    checkAnswer(req, answer, { api: false });
    const reached = new URL(req.url, 'http://localhost').pathname;
    if (route.path === '/o/:token' && /^\/o\/[^/]+$/.test(reached) && (answer.status !== 200 || answer.contentType !== 'image/gif')) {
      // The pixel never fails the reader: whatever the token, a 1×1 GIF.
      throw new Error(`the pixel answered ${answer.status} ${answer.contentType} to ${req.method} ${req.url}`);
    }
    if (route.readOnly && writes.length) throw new Error(`${req.method} ${route.path} wrote to the database (${answer.status}): ${JSON.stringify(writes)}\n${req.method} ${req.url}`);
    // The preview links take a kind, not a token: only the status rule applies to them.
    const verified = route.token === 'kind' || (await tokenVerifies(route, reached));
    const allowed = route.path === '/c/:token' && verified ? [...ALLOWED_PUBLIC_WRITES, ...CLICK_HIT_WRITES] : ALLOWED_PUBLIC_WRITES;
    checkNoWrite(`${route.method} ${route.path}`, req, answer, writes, allowed, { forged: !verified });
  }

  /** Part 1 fuzzes the first nine routes (the pixel, the redirect, confirm, unsubscribe, preferences). */
  const FIRST_PART = 9;
  const mine = PUBLIC_ROUTES.filter((_, i) => (i < FIRST_PART) === (options.part === 1));

  describe(`every public token route (part ${options.part}: ${mine.map((r) => `${r.method} ${r.path}`).join(', ')})`, () => {
    if (options.part === 1) it('the list covers every route with a token or kind in its path', () => {
      const registered = new Set(t.app.routes.filter((r) => r.method !== 'ALL' && /:(token|kind)\b/.test(r.path)).map((r) => `${r.method} ${r.path}`));
      expect(new Set(PUBLIC_ROUTES.map((r) => `${r.method} ${r.path}`))).toEqual(registered);
    });

    for (const route of mine) {
      const success = route.success ?? [200];
      it(
        `${route.method} ${route.path}`,
        async () => {
          Object.assign(pools, await freshTokens());
          for (const kind of KINDS) pools[`token:${kind}`] = pools[kind]!;
          await fuzzProperty({
            name: `${route.method} ${route.path}`,
            arbitrary: caseArb(route),
            runs: RUNS,
            timeoutMs: fuzzTimeout(RUNS, MS_PER_RUN),
            ...(route.oneShot ? { minSuccesses: Math.min(1, minSuccesses(RUNS)) } : {}),
            success: (answer) => success.includes(answer.status),
            client: t.client,
            run: async (c) => {
              const req = await requestOf(route, c);
              const answer = await send(t, req);
              const writes = await watch.take();
              await checkPublic(route, req, answer, writes);
              return { req, answer };
            },
          });
        },
        fuzzTimeout(RUNS, MS_PER_RUN),
      );
    }
  });

  // ---------------------------------------------------------------------------------------------
  // JSON routes outside the OpenAPI document

  const signer = new Webhook(TEST_WEBHOOK_SECRET);
  const otherSigner = new Webhook('whsec_' + btoa('another-secret-0123456789abcdef'));

  type Signature = 'valid' | 'stale' | 'future' | 'wrong-secret' | 'missing-id' | 'missing-timestamp' | 'missing-signature' | 'tampered' | { garbage: [string, string, string] };

  const TYPES = ['email.delivered', 'email.delivery_delayed', 'email.bounced', 'email.complained', 'email.failed', 'email.opened', 'email.clicked', 'email.sent', 'contact.created'];

  type WebhookBody = { json: unknown } | { text: string };

  /** Resend's shape with any field wrong, any JSON, or not JSON. */
  const webhookBody = (() => {
    const date = fc.oneof(fc.date({ min: new Date('2020-01-01'), max: new Date('2030-01-01'), noInvalidDate: true }).map((d) => d.toISOString()), nastyValue);
    const shaped = fc.record(
      {
        type: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...TYPES) }, { weight: 1, arbitrary: nastyValue }),
        created_at: date,
        data: fc.record(
          {
            email_id: fc.oneof({ weight: 4, arbitrary: fc.nat({ max: 7 }).map((i) => new Ref('providerIds', i)) }, { weight: 1, arbitrary: nastyValue }),
            created_at: date,
            to: fc.array(fc.oneof(fc.emailAddress(), edgeString), { maxLength: 2 }),
            bounce: fc.record({ type: fc.oneof(fc.constantFrom('Permanent', 'Transient', 'Undetermined'), nastyValue), subType: nastyValue, message: nastyValue }, { requiredKeys: [] }),
            failed: fc.record({ reason: nastyValue }, { requiredKeys: [] }),
          },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    );
    return fc.oneof(
      { weight: 5, arbitrary: fc.tuple(shaped, fc.array(mutationArb, { maxLength: 2 })).map(([v, ms]): WebhookBody => ({ json: mutate(v, ms) })) },
      { weight: 2, arbitrary: fc.oneof(fc.jsonValue({ maxDepth: 3 }), nastyValue).map((v): WebhookBody => ({ json: v })) },
      { weight: 2, arbitrary: malformedJson.map((text): WebhookBody => ({ text })) },
      // Over the webhook's own limit (256 KiB), and over the app's (1 MiB).
      { weight: 1, arbitrary: fc.constantFrom<WebhookBody>({ json: { type: 'email.delivered', pad: new Big('x', 300 * 1024) } }, { json: { pad: OVERSIZED } }) },
    );
  })();

  const signatureArb: fc.Arbitrary<Signature> = fc.oneof(
    { weight: 8, arbitrary: fc.constant<Signature>('valid') },
    { weight: 3, arbitrary: fc.constantFrom<Signature>('stale', 'future', 'wrong-secret', 'missing-id', 'missing-timestamp', 'missing-signature', 'tampered') },
    { weight: 1, arbitrary: fc.tuple(nastyString.map(ascii), fc.oneof(fc.constantFrom('0', '-1', '1e10', '99999999999999999999', 'NaN'), nastyString.map(ascii)), fc.oneof(fc.constantFrom('v1,', 'v1,AAAA', 'v2,abc v1,', ' '), nastyString.map(ascii))).map((g): Signature => ({ garbage: g })) },
  );

  const webhookCase = fc.record({
    body: webhookBody,
    signature: signatureArb,
    // A few ids repeat, so duplicates are delivered too.
    id: fc.oneof(fc.constantFrom('msg_dup_1', 'msg_dup_2'), fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 40 }).map((s) => `msg_${s}`), nastyString.map(ascii).filter((s) => s.length > 0)),
    contentType: fc.constantFrom('application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded', undefined),
    accept: fc.constantFrom(undefined, 'application/json', 'text/html'),
  });

  function webhookRequest(c: { body: WebhookBody; signature: Signature; id: string; contentType: string | undefined; accept: string | undefined }): Outgoing {
    const body = 'text' in c.body ? c.body.text : encodeJson(resolveRefs(c.body.json, pools));
    const now = new Date();
    const headers: Record<string, string> = {};
    if (c.contentType) headers['content-type'] = c.contentType;
    if (c.accept) headers.accept = c.accept;
    const sign = (at: Date, who = signer, payload = body) => {
      headers['svix-id'] = c.id;
      headers['svix-timestamp'] = String(Math.floor(at.getTime() / 1000));
      headers['svix-signature'] = who.sign(c.id, at, payload);
    };
    if (typeof c.signature === 'object') {
      [headers['svix-id'], headers['svix-timestamp'], headers['svix-signature']] = c.signature.garbage;
    } else {
      switch (c.signature) {
        case 'valid':
          sign(now);
          break;
        case 'stale':
          // Standard Webhooks: timestamps more than 5 minutes away are replays.
          sign(new Date(now.getTime() - 10 * 60_000));
          break;
        case 'future':
          sign(new Date(now.getTime() + 10 * 60_000));
          break;
        case 'wrong-secret':
          sign(now, otherSigner);
          break;
        case 'tampered':
          sign(now, signer, `${body} `);
          break;
        default:
          sign(now);
          delete headers[`svix-${c.signature.slice('missing-'.length)}`];
      }
    }
    return { method: 'POST', url: '/webhooks/resend', headers, body };
  }

  if (options.part === 2) describe('JSON routes outside the OpenAPI document', () => {
    it(
      'POST /webhooks/resend',
      async () => {
        Object.assign(pools, await freshTokens());
        await fuzzProperty({
          name: 'POST /webhooks/resend',
          arbitrary: webhookCase,
          runs: RUNS,
          timeoutMs: fuzzTimeout(RUNS, MS_PER_RUN),
          client: t.client,
          run: async (c) => {
            const req = webhookRequest(c);
            const answer = await send(t, req);
            const writes = await watch.take();
            checkAnswer(req, answer, { api: false });
            // A delivery whose signature does not verify (stale, future, another secret, a
            // header missing or garbage, the body changed) writes nothing, whatever it answers.
            checkNoWrite('POST /webhooks/resend', req, answer, writes, [], { forged: c.signature !== 'valid' });
            return { req, answer };
          },
        });
      },
      fuzzTimeout(RUNS, MS_PER_RUN),
    );

    // The pages' live helpers: JSON answers to cookie-authenticated posts.
    const helpers = [
      { path: '/admin/scripts/check', who: 'admin' as const, form: false },
      { path: '/segments/preview', who: 'marketer' as const, form: true },
    ];
    for (const helper of helpers) {
      it(
        `POST ${helper.path}`,
        async () => {
          const session = await signToken(t.deps.signingKeys, t.clock, 'session', { sub: s[helper.who].id, wid: ws.id, gen: 0 }, 3600);
          const jsonBody = fc.oneof(
            { weight: 4, arbitrary: fc.record({ text: fc.oneof(nastyString, fc.constant(s.scripts.newsletter.text)) }, { requiredKeys: [] }).map((v) => ({ encoding: 'json' as const, value: v })) },
            { weight: 2, arbitrary: nastyValue.map((v) => ({ encoding: 'json' as const, value: v })) },
            { weight: 2, arbitrary: malformedJson.map((text) => ({ encoding: 'text' as const, text })) },
          );
          const ruleForm = formArb({
            match: ['all', 'any'],
            'conditions.0.field': ['attributes.destination', 'email', 'consent.newsletter', 'createdAt', 'ownerAgent'],
            'conditions.0.operator': ['equals', 'contains', 'before', 'in', 'is_set'],
            'conditions.0.value': ['Rome', '2026-01-01', ''],
            'conditions.1.match': ['any'],
            'conditions.1.conditions.0.field': ['attributes.destination'],
            'conditions.1.conditions.0.operator': ['equals'],
            'conditions.1.conditions.0.value': ['Paris'],
            'conditions.99.field': ['email'],
            add: ['', 'conditions.0.'],
          });
          const caseArb = fc.record({
            body: helper.form ? ruleForm.map((f) => ({ encoding: 'form' as const, form: f })) : jsonBody,
            origin: fc.constantFrom<string | undefined>('http://localhost', 'http://localhost', 'http://localhost', undefined, 'https://evil.example'),
            cookie: fc.constantFrom<string | undefined>(session, session, session, session, 'garbage', undefined),
            accept: fc.constantFrom(undefined, 'application/json', 'text/html'),
          });
          await fuzzProperty({
            name: `POST ${helper.path}`,
            arbitrary: caseArb,
            runs: RUNS,
            timeoutMs: fuzzTimeout(RUNS, MS_PER_RUN),
            client: t.client,
            run: async (c) => {
              const headers: Record<string, string> = {};
              if (c.origin) headers.origin = c.origin;
              if (c.cookie) headers.cookie = `session=${c.cookie}`;
              if (c.accept) headers.accept = c.accept;
              let body: string | undefined;
              if (c.body.encoding === 'form') {
                const encoded = formBody(c.body.form);
                body = encoded.body;
                if (encoded.contentType) headers['content-type'] = encoded.contentType;
              } else {
                headers['content-type'] = 'application/json';
                body = c.body.encoding === 'json' ? encodeJson(c.body.value) : c.body.text;
              }
              const req: Outgoing = { method: 'POST', url: helper.path, headers, body };
              const answer = await send(t, req);
              const writes = await watch.take();
              checkAnswer(req, answer, { api: false });
              // Both only read: whatever they answer, nothing is written.
              if (writes.length) throw new Error(`POST ${helper.path} wrote: ${JSON.stringify(writes)}`);
              return { req, answer };
            },
          });
        },
        fuzzTimeout(RUNS, MS_PER_RUN),
      );
    }

    const healthRuns = Math.ceil(RUNS / 10);
    it(
      'GET /healthz and GET /api/openapi.json ignore any query string and method',
      async () => {
        await fuzzProperty({
          name: 'GET /healthz, GET /api/openapi.json',
          arbitrary: fc.record({ path: fc.constantFrom('/healthz', '/api/openapi.json'), method: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'), query: fc.array(fc.tuple(nastyString, nastyString), { maxLength: 3 }) }),
          runs: healthRuns,
          timeoutMs: fuzzTimeout(healthRuns, MS_PER_RUN),
          client: t.client,
          run: async (c) => {
            const query = c.query.length ? `?${c.query.map(([k, v]) => `${encodeSegment(asText(k))}=${encodeSegment(asText(v))}`).join('&')}` : '';
            const req: Outgoing = { method: c.method, url: `${c.path}${query}`, headers: {} };
            const answer = await send(t, req);
            checkAnswer(req, answer, { api: true });
            if (c.method === 'GET') expect(answer.status).toBe(200);
            return { req, answer };
          },
        });
      },
      fuzzTimeout(healthRuns, MS_PER_RUN),
    );
  });

  /** Whether the fuzzing counts this request's token as one the route accepts (for the tests of the checks). */
  const verifies = (route: string, url: string) => {
    const found = PUBLIC_ROUTES.find((r) => `${r.method} ${r.path}` === route);
    if (!found) throw new Error(`no public route ${route}`);
    return tokenVerifies(found, new URL(url, 'http://localhost').pathname);
  };

  return { t, s, watch, freshTokens, verifies, tracked };
}
