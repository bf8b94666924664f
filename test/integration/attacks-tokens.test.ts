/**
 * Attacks on every credential the platform issues or accepts (issue 10, item 3; SECURITY.md,
 * "Inbox to app" and "Resend to app"):
 *  - the signed tokens: sessions, invitations, double opt-in confirmations, unsubscribe and
 *    preference links, export downloads (JWS HS256 with a `kid` and the purpose in `aud`), and the
 *    open-pixel and click tokens (truncated HMAC with a key of their own). Each genuine token,
 *    obtained through the real flows, is tampered, truncated, extended, re-signed with a removed
 *    or unknown key, presented for another purpose and bound to another workspace; every attempt
 *    gets its documented refusal and writes nothing. Key rotation: an old key verifies while it
 *    is listed and stops the moment it is removed;
 *  - sessions and API keys: tampered, logged out, of a removed member, revoked;
 *  - Resend's webhook: Standard Webhooks signatures (several at once, other versions), replay by
 *    svix-id, the 5-minute tolerance, and comparisons that do not stop at the first wrong byte.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { signToken, type TokenPurpose } from '../../src/domain/auth/tokens.js';
import { handleInboundUnsubscribe } from '../../src/domain/privacy/inbound.js';
import type { SigningKey } from '../../src/env.js';
import { clickToken, openToken, readOpenToken } from '../../src/tracking/tokens.js';
import { verifyResendWebhook } from '../../src/tracking/webhooks.js';
import { BASE, createTestApp, errorOf, TEST_WEBHOOK_SECRET, testKeys, type TestApp, expectDatabaseUnchanged } from '../helpers/app.js';
import { seedAudience } from '../helpers/audience.js';
import { unique } from '../helpers/factories.js';
import { lastMailText, subscriber, type Subscriber } from '../helpers/subscriber.js';
import { LINKS, trackedCampaign } from '../helpers/tracked-campaign.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.dispose());

const SAME_ORIGIN = { origin: BASE };
const form = (fields: Record<string, string>) => new URLSearchParams(fields);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const unb64 = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>;

const expectUnchanged = (before: string, label?: string) => expectDatabaseUnchanged(t, before, label);

/** Changes the character at `i` to another base64url character (the middle of a part: all its bits count). */
function flip(s: string, i: number): string {
  return s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
}

/** A key that signed tokens once and has since been removed from SIGNING_KEYS. */
const REMOVED: SigningKey = { kid: '2025-10', secret: 'removed-secret-0123456789-abcdefghijklmn' };
/** A key the deployment never had, under the current key's kid. */
const STRANGER: SigningKey = { kid: testKeys[0]!.kid, secret: 'stranger-secret-0123456789-abcdefghijkl' };

const JWS_KINDS = ['session', 'invite', 'confirm', 'unsubscribe', 'preferences', 'export'] as const satisfies readonly TokenPurpose[];
type JwsKind = (typeof JWS_KINDS)[number];
const KINDS = [...JWS_KINDS, 'open', 'click'] as const;
type Kind = (typeof KINDS)[number];

type Send = (path: string, init?: RequestInit) => Promise<Response>;
const viaT: Send = (path, init) => t.request(path, init);
/** The same database and services behind an app configured with other signing keys. */
function appWith(signingKeys: SigningKey[]): Send {
  const app = createApp({ ...t.deps, signingKeys });
  return async (path, init) => {
    const res = await app.request(`${BASE}${path}`, init);
    await t.deps.hits.flush();
    return res;
  };
}

interface World {
  s: Subscriber;
  /** Another brand, with a contact of its own. */
  other: Awaited<ReturnType<TestApp['workspaceWithTeam']>> & { contactId: string };
  tokens: Record<Kind, string>;
  /** The cookie the export link is bound to (the browser that asked). */
  exportCookie: string;
  /** The claims each JWS was signed with, and its lifetime, to re-sign them. */
  claims: Record<JwsKind, { claims: Record<string, unknown> & { sub: string }; ttl: number | null; iat: number }>;
}

const pathOf = (url: string) => url.replace(/^https?:\/\/[^/]+/, '');

/**
 * One genuine token of every kind, each obtained the way its holder gets it: a login, an
 * invitation email, a confirmation email, a newsletter's links, the preference centre's export,
 * a tracked campaign's pixel and link.
 */
async function world(): Promise<World> {
  const s = await subscriber(t);
  const inviteeEmail = `${unique('invitee')}@example.test`;
  const invited = await t.request('/api/v1/members', { method: 'POST', token: s.admin.token, json: { email: inviteeEmail, name: 'Nouvelle Recrue', role: 'agent' } });
  expect(invited.status).toBe(201);
  const invite = /\/invite\/([\w.-]+)/.exec(await lastMailText(t, inviteeEmail))![1]!;

  // A second call, still awaiting its confirmation.
  const pendingEmail = `${unique('pending')}@example.test`;
  const captured = await t.request('/api/v1/consents', {
    method: 'POST',
    token: s.agent.token,
    json: {
      contact: { email: pendingEmail },
      call: { ref: unique('CALL'), basis: 'inbound_call' },
      answers: [
        { purpose: 'newsletter', answer: 'granted', scriptId: s.scripts.newsletter.id },
        { purpose: 'open_tracking', answer: 'refused', scriptId: s.scripts.open_tracking.id },
      ],
    },
  });
  expect(captured.status, await captured.clone().text()).toBe(201);
  const confirm = /\/confirm\/([\w.-]+)/.exec(await lastMailText(t, pendingEmail))![1]!;

  const asked = await t.request(`${s.preferences}/export`, { method: 'POST', headers: SAME_ORIGIN });
  expect(asked.status).toBe(200);
  const exportCookie = asked.headers.get('set-cookie')!.split(';')[0]!;
  const exportToken = /href="\/p\/export\/([\w.-]+)\?format=json"/.exec(await asked.text())![1]!;

  const prefix = unique('t').replace(/[^a-z0-9]/gi, '').slice(-10).toLowerCase();
  const c = await trackedCampaign(t, s, [{ prefix, n: 1, openTracking: true }]);
  const r = c.byPrefix(prefix)[0]!;

  const other = await t.workspaceWithTeam();
  const [otherContact] = await seedAudience(t.client, other.workspace.id, 1, { prefix: 'b' });

  const tokens: Record<Kind, string> = {
    session: s.marketer.token,
    invite,
    confirm,
    unsubscribe: s.unsubscribe.slice('/u/'.length),
    preferences: s.preferences.slice('/p/'.length),
    export: exportToken,
    open: pathOf(r.pixel!).slice('/o/'.length),
    click: r.clicks[0]!.slice('/c/'.length),
  };
  const claims = {} as World['claims'];
  for (const kind of JWS_KINDS) {
    const { iss: _iss, aud: _aud, iat, exp, ...rest } = unb64(tokens[kind].split('.')[1]!);
    claims[kind] = { claims: rest as Record<string, unknown> & { sub: string }, ttl: typeof exp === 'number' ? exp - (iat as number) : null, iat: iat as number };
  }
  return { s, other: { ...other, contactId: otherContact! }, tokens, exportCookie, claims };
}

/**
 * How each kind of token is used, and what a refusal looks like. `read` is the harmless GET (or
 * the API call) a holder makes; `act` the state-changing request an attacker would want.
 */
function consumers(w: World, send: Send = viaT) {
  const html = async (res: Response) => expect(res.headers.get('content-type')).toContain('text/html');
  return {
    session: {
      read: (tok: string) => send('/api/v1/me', { headers: { authorization: `Bearer ${tok}` } }),
      act: (tok: string) => send('/api/v1/workspace', { method: 'PATCH', headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json' }, body: JSON.stringify({ city: 'Pwned' }) }),
      refused: async (res: Response) => {
        expect(res.status).toBe(401);
        expect(['invalid_credentials', 'invalid_authorization']).toContain((await errorOf(res)).code);
      },
    },
    invite: {
      read: (tok: string) => send(`/invite/${tok}`),
      act: (tok: string) => send(`/invite/${tok}`, { method: 'POST', headers: SAME_ORIGIN, body: form({ password: 'attacker-password-1', confirm: 'attacker-password-1' }) }),
      refused: async (res: Response) => {
        expect(res.status).toBe(400);
        await html(res);
        expect(res.headers.get('set-cookie')).toBeNull();
      },
    },
    confirm: {
      read: (tok: string) => send(`/confirm/${tok}`),
      act: (tok: string) => send(`/confirm/${tok}`, { method: 'POST', headers: SAME_ORIGIN, body: form({ answer: 'confirm' }) }),
      refused: async (res: Response) => {
        expect(res.status).toBe(400);
        await html(res);
      },
    },
    unsubscribe: {
      read: (tok: string) => send(`/u/${tok}`),
      // As a mail provider posts RFC 8058 one-click: no Origin, no cookie.
      act: (tok: string) => send(`/u/${tok}`, { method: 'POST', body: form({ 'List-Unsubscribe': 'One-Click' }) }),
      refused: async (res: Response) => {
        expect(res.status).toBe(400);
        await html(res);
        expect(await res.text()).toContain('Lien invalide');
      },
    },
    preferences: {
      read: (tok: string) => send(`/p/${tok}`),
      act: (tok: string) => send(`/p/${tok}/erase`, { method: 'POST', headers: SAME_ORIGIN, body: form({ confirm: 'yes' }) }),
      refused: async (res: Response) => {
        expect(res.status).toBe(400);
        await html(res);
        expect(await res.text()).toContain('Lien invalide');
      },
    },
    export: {
      // With the right browser cookie: only the token is wrong.
      read: (tok: string) => send(`/p/export/${tok}?format=json`, { headers: { cookie: w.exportCookie } }),
      act: (tok: string) => send(`/p/export/${tok}?format=csv`, { headers: { cookie: w.exportCookie } }),
      refused: async (res: Response) => {
        expect(res.status).toBe(410);
        await html(res);
        expect(res.headers.get('content-disposition')).toBeNull();
      },
    },
    open: {
      read: (tok: string) => send(`/o/${tok}`),
      act: (tok: string) => send(`/o/${tok}`),
      // The pixel never fails the reader's mail client: the same GIF, whatever the token.
      refused: async (res: Response) => {
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('image/gif');
        expect(res.headers.get('cache-control')).toContain('no-store');
      },
    },
    click: {
      read: (tok: string) => send(`/c/${tok}`),
      act: (tok: string) => send(`/c/${tok}`),
      // A page, never a redirect (to anywhere).
      refused: async (res: Response) => {
        expect(res.status).toBe(404);
        expect(res.headers.get('location')).toBeNull();
        await html(res);
      },
    },
  } satisfies Record<Kind, { read: (tok: string) => Promise<Response>; act: (tok: string) => Promise<Response>; refused: (res: Response) => Promise<void> }>;
}

/** Every way of spoiling a JWS that does not need the signing key. */
async function jwsVariants(token: string, kind: JwsKind, w: World): Promise<[string, string][]> {
  const [h, p, s] = token.split('.') as [string, string, string];
  const header = unb64(h);
  const payload = unb64(p);
  const { claims, ttl } = w.claims[kind];
  const now = Math.floor(t.clock.now().getTime() / 1000);
  const raw = (hdr: Record<string, unknown>, body: Record<string, unknown>, secret: string) =>
    new SignJWT(body).setProtectedHeader(hdr as { alg: string }).sign(new TextEncoder().encode(secret));
  return [
    ['a character of the payload changed', `${h}.${flip(p, Math.floor(p.length / 2))}.${s}`],
    ['the payload names someone else', `${h}.${b64({ ...payload, sub: `${String(payload.sub)}x` })}.${s}`],
    ['the payload lives longer', `${h}.${b64({ ...payload, exp: now + 10 * 365 * 86400 })}.${s}`],
    ['a character of the signature changed', `${h}.${p}.${flip(s, Math.floor(s.length / 2))}`],
    ['the header changed (another kid)', `${b64({ ...header, kid: REMOVED.kid })}.${p}.${s}`],
    ['alg none, no signature', `${b64({ alg: 'none', kid: header.kid })}.${p}.`],
    ['alg none with the old signature', `${b64({ alg: 'none', kid: header.kid })}.${p}.${s}`],
    ['truncated signature', `${h}.${p}.${s.slice(0, -3)}`],
    ['empty signature', `${h}.${p}.`],
    ['no signature part', `${h}.${p}`],
    ['one part', p],
    ['extended signature', `${token}AAAA`],
    ['a fourth part', `${token}.AAAA`],
    ['a fifth part (JWE shape)', `${token}.AAAA.AAAA`],
    ['not a token', 'not-a-token'],
    ['signed with a removed key', await signToken([REMOVED], t.clock, kind, claims, ttl)],
    ['signed with an unknown kid', await signToken([{ kid: 'no-such-kid', secret: testKeys[0]!.secret }], t.clock, kind, claims, ttl)],
    ['the current kid, another secret', await signToken([STRANGER], t.clock, kind, claims, ttl)],
    ['HS512 with the right secret', await raw({ alg: 'HS512', kid: testKeys[0]!.kid }, { ...payload }, testKeys[0]!.secret)],
    ['another issuer', await raw({ alg: 'HS256', kid: testKeys[0]!.kid }, { ...payload, iss: 'someone-else' }, testKeys[0]!.secret)],
    ['no audience', await raw({ alg: 'HS256', kid: testKeys[0]!.kid }, { ...payload, aud: undefined }, testKeys[0]!.secret)],
  ];
}

/** Every way of spoiling an open or click token that does not need the key. */
function trackingVariants(kind: 'open' | 'click', token: string, w: World): [string, string][] {
  const parts = token.split('.');
  const mac = parts.at(-1)!;
  const body = parts.slice(0, -1);
  const sendId = parseInt(body[kind === 'open' ? 0 : 1]!, 36);
  const variants: [string, string][] = [
    ['a character of the MAC changed', [...body, flip(mac, Math.floor(mac.length / 2))].join('.')],
    ['truncated MAC', [...body, mac.slice(0, -2)].join('.')],
    ['extended MAC', `${token}AA`],
    ['an extra part', `${token}.AA`],
    ['no MAC', body.join('.')],
    ['not a token', 'not-a-token'],
    ['a JWS', w.tokens.unsubscribe],
  ];
  if (kind === 'open') {
    variants.push(
      ['another send with this MAC', `${(sendId + 1).toString(36)}.${mac}`],
      ['signed with a removed key', openToken([REMOVED], sendId)],
      ['the current kid, another secret', openToken([STRANGER], sendId)],
      // The MACs are bound to their purpose: a click MAC is no pixel MAC.
      ['the click token’s MAC', `${sendId.toString(36)}.${w.tokens.click.split('.').at(-1)}`],
      ['a click token', w.tokens.click],
    );
  } else {
    const [campaignId, , link] = body as [string, string, string];
    variants.push(
      ['another send with this MAC', [campaignId, (sendId + 1).toString(36), link, mac].join('.')],
      ['another link with this MAC', [campaignId, sendId.toString(36), link === '1' ? '2' : '1', mac].join('.')],
      ['signed with a removed key', clickToken([REMOVED], { campaignId, sendId, link: parseInt(link, 36) })],
      ['the current kid, another secret', clickToken([STRANGER], { campaignId, sendId, link: parseInt(link, 36) })],
      ['the pixel’s MAC', [campaignId, sendId.toString(36), link, w.tokens.open.split('.')[1]].join('.')],
      ['an open token', w.tokens.open],
      ['a URL', 'https%3A%2F%2Fevil.example%2F'],
    );
  }
  return variants;
}

let w: World;
describe('signed tokens of every kind', () => {
  beforeAll(async () => {
    w = await world();
  });

  it('covers every purpose the code signs or verifies (a new kind of token must be added here)', () => {
    // The purposes named at each signToken/verifyToken call site in src/.
    const found = new Set<string>();
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (/\.tsx?$/.test(name)) for (const m of readFileSync(path, 'utf8').matchAll(/(?:signToken|verifyToken)\(\s*[^,()]+,\s*[^,()]+,\s*'([a-z_]+)'/g)) found.add(m[1]!);
      }
    };
    walk(fileURLToPath(new URL('../../src', import.meta.url)));
    expect(found.size).toBeGreaterThan(0);
    expect([...found].filter((p) => !(JWS_KINDS as readonly string[]).includes(p))).toEqual([]);
  });

  it('every genuine token works where it belongs (so the refusals below are about the attack, not a broken fixture)', async () => {
    const use = consumers(w);
    for (const kind of ['session', 'invite', 'confirm', 'unsubscribe', 'preferences', 'export'] as const) {
      const res = await use[kind].read(w.tokens[kind]);
      expect(res.status, kind).toBe(200);
    }
    const before = await t.dumpDatabase();
    expect((await use.open.read(w.tokens.open)).status).toBe(200);
    expect(await t.dumpDatabase(), 'a genuine open is recorded').not.toBe(before);
    const click = await use.click.read(w.tokens.click);
    expect(click.status).toBe(302);
    expect(click.headers.get('location')).toMatch(new RegExp(`^${LINKS[0]!.replace(/[?.]/g, '\\$&')}`));
  });

  it('tampered, truncated, extended, alg-swapped, removed-key and unknown-kid tokens are refused, for reading and for acting, and write nothing', async () => {
    const use = consumers(w);
    const before = await t.dumpDatabase();
    let tried = 0;
    for (const kind of KINDS) {
      const variants = kind === 'open' || kind === 'click' ? trackingVariants(kind, w.tokens[kind], w) : await jwsVariants(w.tokens[kind], kind, w);
      for (const [label, token] of variants) {
        for (const how of ['read', 'act'] as const) {
          const res = await use[kind][how](token);
          await use[kind].refused(res).catch((e: Error) => {
            throw new Error(`${kind} ${how}, ${label}: ${e.message}`);
          });
          tried++;
        }
      }
    }
    expect(tried).toBeGreaterThan(250);
    await expectUnchanged(before);
  });

  it('a token of one purpose is refused for every other purpose, even when validly signed with the same claims', async () => {
    const use = consumers(w);
    const before = await t.dumpDatabase();
    for (const target of KINDS) {
      for (const source of KINDS) {
        if (source === target) continue;
        const attempts: [string, string][] = [[`the genuine ${source} token`, w.tokens[source]]];
        // The target's own claims, validly signed, with another purpose in `aud`.
        if ((JWS_KINDS as readonly string[]).includes(target) && (JWS_KINDS as readonly string[]).includes(source)) {
          const { claims, ttl } = w.claims[target as JwsKind];
          attempts.push([`${target}'s claims signed for ${source}`, await signToken(testKeys, t.clock, source as JwsKind, claims, ttl)]);
        }
        for (const [label, token] of attempts) {
          for (const how of ['read', 'act'] as const) {
            await use[target].refused(await use[target][how](token)).catch((e: Error) => {
              throw new Error(`${target} ${how} with ${label}: ${e.message}`);
            });
          }
        }
      }
    }
    // The mailto: unsubscribe reads the same tokens from a subject line.
    const ctx = { ...t.deps, requestId: 'attacks' };
    for (const kind of JWS_KINDS.filter((k) => k !== 'unsubscribe')) {
      expect(await handleInboundUnsubscribe(ctx, { from: w.s.email, subject: `unsubscribe ${w.tokens[kind]}` }), kind).toBe('invalid_token');
    }
    await expectUnchanged(before);
  });

  it('a validly signed token binding a contact or person to another workspace is refused (the contact must belong to the token’s workspace)', async () => {
    const use = consumers(w);
    const other = w.other.workspace.id;
    const before = await t.dumpDatabase();
    const attempts: [JwsKind, string, Record<string, unknown> & { sub: string }][] = [];
    for (const kind of JWS_KINDS) {
      const { claims } = w.claims[kind];
      // A's contact (or person) under B's workspace id; and B's contact under A's.
      attempts.push([kind, 'A’s subject, B’s workspace', { ...claims, wid: other }]);
      if (kind !== 'session' && kind !== 'invite') attempts.push([kind, 'B’s contact, A’s workspace', { ...claims, sub: w.other.contactId }]);
    }
    // A member of A naming B (where they are not a member) in a session.
    attempts.push(['session', 'A’s admin in B', { sub: w.s.admin.id, wid: other, gen: w.claims.session.claims.gen }]);
    for (const [kind, label, claims] of attempts) {
      const token = await signToken(testKeys, t.clock, kind, claims, w.claims[kind].ttl);
      for (const how of ['read', 'act'] as const) {
        await use[kind].refused(await use[kind][how](token)).catch((e: Error) => {
          throw new Error(`${kind} ${how}, ${label}: ${e.message}`);
        });
      }
    }
    await expectUnchanged(before);

    // A click token names a send of brand A: brand B's shop cannot claim a conversion with it.
    const conversion = await t.request('/api/v1/conversions', { method: 'POST', token: w.other.agent.token, json: { clickToken: w.tokens.click, type: 'booking', value: 10, externalId: unique('X') } });
    expect(conversion.status).toBe(400);
    expect((await errorOf(conversion)).details?.issues?.map((i) => i.field)).toEqual(['clickToken']);
    await expectUnchanged(before);
  });

  it('an empty token is no route (404), and writes nothing', async () => {
    const before = await t.dumpDatabase();
    for (const [method, path] of [['GET', '/u/'], ['POST', '/u/'], ['GET', '/p/'], ['POST', '/p/'], ['GET', '/confirm/'], ['GET', '/invite/'], ['GET', '/p/export/'], ['GET', '/c/'], ['GET', '/o/']] as const) {
      const res = await t.request(path, { method, headers: SAME_ORIGIN, ...(method === 'POST' ? { body: form({ 'List-Unsubscribe': 'One-Click' }) } : {}) });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.headers.get('location'), path).toBeNull();
    }
    const empty = await t.request('/api/v1/me', { headers: { authorization: 'Bearer ' } });
    expect(empty.status).toBe(401);
    await expectUnchanged(before);
  });

  it('key rotation: a token signed with an older key works while that key is listed after the new one, and stops once it is removed', async () => {
    const NEW: SigningKey = { kid: '2026-12', secret: 'new-secret-0123456789-abcdefghijklmnopqrs' };
    const OLD = testKeys[0]!;
    const rotated = appWith([NEW, OLD]);
    const dropped = appWith([NEW]);
    const [campaignId, send, link] = w.tokens.click.split('.') as [string, string, string];
    const sendId = parseInt(send, 36);
    // Minted the way the app mints them when NEW is first (the only difference is the key).
    const underNew = {
      ...Object.fromEntries(await Promise.all(JWS_KINDS.map(async (k) => [k, await signToken([NEW], t.clock, k, w.claims[k].claims, w.claims[k].ttl)] as const))),
      open: openToken([NEW], sendId),
      click: clickToken([NEW], { campaignId, sendId, link: parseInt(link, 36) }),
    } as Record<Kind, string>;

    for (const kind of KINDS) {
      // Tokens already out there (signed by OLD) keep working after NEW takes over signing.
      const withOld = consumers(w, rotated);
      const res = await withOld[kind].read(w.tokens[kind]);
      expect(res.status, `${kind} signed by the old key, old key listed`).toBe(kind === 'click' ? 302 : 200);
      expect((await withOld[kind].read(underNew[kind])).status, `${kind} signed by the new key`).toBe(kind === 'click' ? 302 : 200);
      // The old key removed (it leaked): everything it signed is refused, at once.
      const withoutOld = consumers(w, dropped);
      await withoutOld[kind].refused(await withoutOld[kind].read(w.tokens[kind])).catch((e: Error) => {
        throw new Error(`${kind} signed by a removed key: ${e.message}`);
      });
      expect((await withoutOld[kind].read(underNew[kind])).status, `${kind} signed by the new key, old removed`).toBe(kind === 'click' ? 302 : 200);
    }
    // A removed key records no open (the GIF alone proves nothing; the database does).
    const before = await t.dumpDatabase();
    await consumers(w, dropped).open.read(w.tokens.open);
    await consumers(w, dropped).click.read(w.tokens.click);
    await expectUnchanged(before);
  });
});

describe('expiry', () => {
  it('sessions (8 h), invitations (7 days), confirmations (30 days) and export links (15 min) expire; unsubscribe and preference links never do', async () => {
    // An app of its own, as the clock moves far: world() and consumers() use the file's `t`.
    const saved = t;
    const x = await createTestApp();
    t = x;
    try {
      const v = await world();
      const use = consumers(v);
      const lifetimes: [JwsKind, number][] = [
        ['export', 15 * 60],
        ['session', 8 * 3600],
        ['invite', 7 * 86400],
        ['confirm', 30 * 86400],
      ];
      for (const [kind, ttl] of lifetimes) expect(v.claims[kind].ttl, kind).toBe(ttl);
      for (const [kind, ttl] of lifetimes) {
        const issued = v.claims[kind].iat * 1000;
        x.clock.set(new Date(issued + (ttl - 1) * 1000));
        expect((await use[kind].read(v.tokens[kind])).status, `${kind} a second before it expires`).toBe(200);
        x.clock.set(new Date(issued + ttl * 1000));
        const before = await x.dumpDatabase();
        await use[kind].refused(await use[kind].read(v.tokens[kind]));
        await use[kind].refused(await use[kind].act(v.tokens[kind]));
        expect(await x.dumpDatabase(), kind).toBe(before);
      }
      // GDPR Art. 7(3), RFC 8058: withdrawing stays as easy years later.
      x.clock.set(new Date(v.claims.unsubscribe.iat * 1000 + 2 * 365 * 86400_000));
      expect((await use.unsubscribe.read(v.tokens.unsubscribe)).status).toBe(200);
      expect((await use.preferences.read(v.tokens.preferences)).status).toBe(200);
    } finally {
      t = saved;
      x.dispose();
    }
  });
});

describe('sessions and API keys', () => {
  const cookieOf = (token: string) => ({ cookie: `session=${token}` });

  it('a tampered, truncated or forged session cookie is no session: pages send to the login form, writes are not made', async () => {
    const team = await t.workspaceWithTeam();
    const [h, p, s] = team.admin.token.split('.') as [string, string, string];
    const before = await t.dumpDatabase();
    for (const token of [`${h}.${flip(p, 20)}.${s}`, `${h}.${p}.${flip(s, 20)}`, `${h}.${p}`, team.admin.token.slice(0, -1), `${team.admin.token}A`, await signToken([REMOVED], t.clock, 'session', unb64(p) as { sub: string }, 3600)]) {
      const page = await t.request('/admin/members', { headers: cookieOf(token) });
      expect(page.status).toBe(303);
      expect(page.headers.get('location')).toBe('/login?next=%2Fadmin%2Fmembers');
      // Same origin, so only the session is missing: the login form, nothing written.
      const write = await t.request('/admin/api-keys', { method: 'POST', headers: { ...cookieOf(token), ...SAME_ORIGIN }, body: form({ name: 'Backdoor', scopes: 'consents:write' }) });
      expect(write.status).toBe(303);
      expect(write.headers.get('location')).toMatch(/^\/login\?next=/);
    }
    await expectUnchanged(before);
  });

  it('a logged-out session is dead on every device, as bearer and as cookie; logging in again works', async () => {
    const team = await t.workspaceWithTeam();
    const second = await t.login(team.marketer.email);
    expect((await t.request('/api/v1/me', { token: second })).status).toBe(200);
    // Logging out from the page (one device) ends the other device's session too.
    const out = await t.request('/logout', { method: 'POST', headers: { ...cookieOf(team.marketer.token), ...SAME_ORIGIN } });
    expect(out.status).toBe(303);
    expect(out.headers.get('set-cookie')).toMatch(/^session=;.*Max-Age=0/i);
    for (const token of [team.marketer.token, second]) {
      const api = await t.request('/api/v1/me', { token });
      expect(api.status).toBe(401);
      expect((await errorOf(api)).code).toBe('invalid_credentials');
      expect((await t.request('/campaigns', { headers: cookieOf(token) })).status).toBe(303);
    }
    const before = await t.dumpDatabase();
    const reused = await t.request('/campaigns', { method: 'POST', headers: { ...cookieOf(team.marketer.token), ...SAME_ORIGIN }, body: form({ name: 'Ghost' }) });
    expect(reused.status).toBe(303);
    expect(reused.headers.get('location')).toMatch(/^\/login/);
    await expectUnchanged(before);
    // The API logout does the same.
    const third = await t.login(team.marketer.email);
    expect((await t.request('/api/v1/auth/logout', { method: 'POST', token: third })).status).toBe(204);
    expect((await t.request('/api/v1/me', { token: third })).status).toBe(401);
    expect((await t.request('/api/v1/me', { token: await t.login(team.marketer.email) })).status).toBe(200);
  });

  it('a removed member’s cookie opens nothing and writes nothing; a demoted admin loses admin pages at the next request', async () => {
    const team = await t.workspaceWithTeam();
    const remove = await t.request(`/admin/members/${team.agent.id}/remove`, { method: 'POST', headers: { ...cookieOf(team.admin.token), ...SAME_ORIGIN } });
    expect(remove.status).toBe(303);
    const before = await t.dumpDatabase();
    expect((await t.request('/agent', { headers: cookieOf(team.agent.token) })).status).toBe(303);
    const write = await t.request('/agent', { method: 'POST', headers: { ...cookieOf(team.agent.token), ...SAME_ORIGIN }, body: form({ email: 'x@example.test', callRef: 'R' }) });
    expect(write.status).toBe(303);
    expect(write.headers.get('location')).toMatch(/^\/login/);
    expect((await t.request('/api/v1/me', { token: team.agent.token })).status).toBe(401);
    await expectUnchanged(before);

    // The role is read from the membership, not the token.
    const admin2 = await t.request('/api/v1/members', { method: 'POST', token: team.admin.token, json: { email: `${unique('second')}@example.test`, name: 'Second', role: 'admin' } });
    expect(admin2.status).toBe(201);
    const demoted = await t.request(`/api/v1/members/${team.admin.id}`, { method: 'PATCH', token: team.admin.token, json: { role: 'marketer' } });
    expect(demoted.status).toBe(200);
    const page = await t.request('/admin/api-keys', { headers: cookieOf(team.admin.token) });
    expect(page.status).toBe(403);
    expect((await t.request('/api/v1/api-keys', { token: team.admin.token })).status).toBe(403);
  });

  it('API keys: altered, truncated, extended, revoked, or sent as a cookie are refused; another brand’s key sees nothing of this one', async () => {
    const team = await t.workspaceWithTeam();
    const other = await t.workspaceWithTeam();
    const make = async (admin: string) => (await (await t.request('/api/v1/api-keys', { method: 'POST', token: admin, json: { name: 'Dialer', scopes: ['contacts:read', 'consents:write'] } })).json()) as { apiKey: { id: string }; secret: string };
    const key = await make(team.admin.token);
    const otherKey = await make(other.admin.token);
    const [contact] = await seedAudience(t.client, team.workspace.id, 1, { prefix: 'k' });
    expect((await t.request(`/api/v1/contacts/${contact}`, { token: key.secret })).status).toBe(200);

    // Another brand's valid key: that brand's contact ids only.
    const foreign = await t.request(`/api/v1/contacts/${contact}`, { token: otherKey.secret });
    expect(foreign.status).toBe(404);

    const before = await t.dumpDatabase();
    for (const bad of [flip(key.secret, 20), key.secret.slice(0, -1), `${key.secret}A`, 'cnk_', `cnk_${'A'.repeat(300)}`]) {
      const res = await t.request('/api/v1/me', { token: bad });
      expect(res.status, bad).toBe(401);
      expect((await errorOf(res)).code).toBe('invalid_credentials');
    }
    // A key is for Authorization: Bearer only; as a cookie it is no session.
    expect((await t.request('/contacts', { headers: cookieOf(key.secret) })).status).toBe(303);
    expect((await t.request('/api/v1/me', { headers: cookieOf(key.secret) })).status).toBe(401);
    await expectUnchanged(before);

    expect((await t.request(`/api/v1/api-keys/${key.apiKey.id}/revoke`, { method: 'POST', token: team.admin.token })).status).toBe(200);
    const revoked = await t.request(`/api/v1/contacts/${contact}`, { token: key.secret });
    expect(revoked.status).toBe(401);
    const after = await t.dumpDatabase();
    expect((await t.request('/api/v1/consents', { method: 'POST', token: key.secret, json: { contact: { email: 'x@example.test' }, call: { ref: 'R', basis: 'inbound_call' }, answers: [] } })).status).toBe(401);
    expect(await t.dumpDatabase()).toBe(after);
  });

  it('an API key belongs to the workspace’s integration, not to the admin who made it: removing that admin does not cut the dialer off (revoking does)', async () => {
    // Pinned on purpose (SECURITY.md, "Rotating keys"): when an admin who saw a key leaves, the
    // others rotate it. Changing this behaviour must be a decision, so the test says it.
    const team = await t.workspaceWithTeam();
    const email = `${unique('leaver')}@example.test`;
    const creator = await t.request('/api/v1/members', { method: 'POST', token: team.admin.token, json: { email, name: 'Leaver', role: 'admin' } });
    const leaver = ((await creator.json()) as { member: { userId: string } }).member;
    // The leaver activates their account through the invitation, then creates a key.
    const invite = /\/invite\/([\w.-]+)/.exec(await lastMailText(t, email))![1]!;
    const accepted = await t.request(`/invite/${invite}`, { method: 'POST', headers: SAME_ORIGIN, body: form({ password: 'leaver-password-1', confirm: 'leaver-password-1' }) });
    expect(accepted.status).toBe(303);
    const leaverSession = /session=([^;]+)/.exec(accepted.headers.get('set-cookie')!)![1]!;
    const made = (await (await t.request('/api/v1/api-keys', { method: 'POST', token: leaverSession, json: { name: 'Dialer', scopes: ['stats:read'] } })).json()) as { apiKey: { id: string }; secret: string };
    expect((await t.request(`/api/v1/members/${leaver.userId}`, { method: 'DELETE', token: team.admin.token })).status).toBe(204);
    expect((await t.request('/api/v1/me', { token: leaverSession })).status).toBe(401);
    expect((await t.request('/api/v1/me', { token: made.secret })).status).toBe(200);
    expect((await t.request(`/api/v1/api-keys/${made.apiKey.id}/revoke`, { method: 'POST', token: team.admin.token })).status).toBe(200);
    expect((await t.request('/api/v1/me', { token: made.secret })).status).toBe(401);
  });
});

describe('POST /webhooks/resend under attack', () => {
  const signer = new Webhook(TEST_WEBHOOK_SECRET);
  const other = new Webhook(`whsec_${btoa('another-secret-entirely-0123456789')}`);
  // svix checks timestamps against the real clock (Date.now), not the app's.
  const sign = (body: string, opts: { id?: string; at?: Date; by?: Webhook } = {}) => {
    const id = opts.id ?? `msg_${unique('svix')}`;
    const at = opts.at ?? new Date();
    return { id, headers: { 'content-type': 'application/json', 'svix-id': id, 'svix-timestamp': String(Math.floor(at.getTime() / 1000)), 'svix-signature': (opts.by ?? signer).sign(id, at, body) } };
  };
  const post = (body: string, headers: Record<string, string>) => t.request('/webhooks/resend', { method: 'POST', body, headers });

  /** A complaint about a real send: the report with the heaviest effect (suppression, withdrawal). */
  async function complaint() {
    const team = await t.workspaceWithTeam();
    const c = await trackedCampaign(t, team, [{ prefix: 'w', n: 1, openTracking: false }]);
    const r = c.recipients[0]!;
    const providerId = String((await t.client.execute({ sql: 'SELECT provider_id FROM sends WHERE id = ?', args: [r.sendId] })).rows[0]!.provider_id);
    const at = t.clock.now().toISOString();
    return JSON.stringify({ type: 'email.complained', created_at: at, data: { email_id: providerId, created_at: at, to: [r.email] } });
  }

  it('refuses, writing nothing: another secret, a tampered body, a signature of other headers, other versions, and headers missing or malformed', async () => {
    const body = await complaint();
    const good = sign(body);
    const [, sig] = good.headers['svix-signature'].split(',');
    const before = await t.dumpDatabase();
    const attempts: [string, string, Record<string, string>][] = [
      ['another secret', body, sign(body, { by: other }).headers],
      ['the body changed after signing', body.replace('complained', 'delivered'), good.headers],
      ['a byte appended to the body', `${body} `, good.headers],
      ['another svix-id', body, { ...good.headers, 'svix-id': `${good.id}x` }],
      ['another timestamp', body, { ...good.headers, 'svix-timestamp': String(Number(good.headers['svix-timestamp']) - 1) }],
      ['a signature character changed', body, { ...good.headers, 'svix-signature': `v1,${flip(sig!, 20)}` }],
      ['a truncated signature', body, { ...good.headers, 'svix-signature': `v1,${sig!.slice(0, -4)}` }],
      // Standard Webhooks: only v1 (HMAC-SHA256) is a symmetric signature; other versions are skipped.
      ['the right signature labelled v1a', body, { ...good.headers, 'svix-signature': `v1a,${sig}` }],
      ['the right signature labelled v2', body, { ...good.headers, 'svix-signature': `v2,${sig}` }],
      ['the right signature, no version', body, { ...good.headers, 'svix-signature': sig! }],
      ['several wrong signatures', body, { ...good.headers, 'svix-signature': `v1,${flip(sig!, 3)} v1,${flip(sig!, 9)}` }],
      ['a timestamp that is not a number', body, { ...good.headers, 'svix-timestamp': 'yesterday' }],
      ['an empty signature header', body, { ...good.headers, 'svix-signature': '' }],
      ['no svix-id', body, { ...good.headers, 'svix-id': '' }],
      ['no headers at all', body, { 'content-type': 'application/json' }],
      // Standard Webhooks' own header names are not Resend's: refused, not half-read.
      ['webhook-* headers instead of svix-*', body, { 'content-type': 'application/json', 'webhook-id': good.id, 'webhook-timestamp': good.headers['svix-timestamp'], 'webhook-signature': good.headers['svix-signature'] }],
    ];
    for (const [label, b, headers] of attempts) {
      const res = await post(b, headers);
      expect(res.status, label).toBe(401);
      const error = await errorOf(res);
      expect(error.code, label).toBe('invalid_signature');
      expect(error.message).not.toContain(TEST_WEBHOOK_SECRET.slice(6));
    }
    await expectUnchanged(before);
    // Nothing burnt the svix-id: the genuine delivery still goes through.
    expect(await (await post(body, good.headers)).json()).toEqual({ status: 'processed' });
  });

  it('accepts a header listing several signatures when one is valid (Standard Webhooks key rotation), once', async () => {
    const body = await complaint();
    const good = sign(body);
    const [, sig] = good.headers['svix-signature'].split(',');
    const headers = { ...good.headers, 'svix-signature': `v1,${flip(sig!, 5)} v1a,AAAA ${sign(body, { id: good.id, by: other }).headers['svix-signature']} v1,${sig}` };
    expect(await (await post(body, headers)).json()).toEqual({ status: 'processed' });
  });

  it('a replay of a processed svix-id has no second effect, whatever body it carries and however validly re-signed', async () => {
    const body = await complaint();
    const first = sign(body);
    expect(await (await post(body, first.headers)).json()).toEqual({ status: 'processed' });
    const before = await t.dumpDatabase();
    // The identical request again; the same id re-signed later; the same id with another report.
    const replays: [string, Record<string, string>][] = [
      [body, first.headers],
      [body, sign(body, { id: first.id, at: new Date(Date.now() + 60_000) }).headers],
      [body.replace('email.complained', 'email.bounced'), sign(body.replace('email.complained', 'email.bounced'), { id: first.id }).headers],
    ];
    for (const [b, headers] of replays) {
      const res = await post(b, headers);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'duplicate' });
    }
    await expectUnchanged(before);
  });

  it('the timestamp tolerance is 5 minutes either way (Standard Webhooks spec; svix default): 4m50s passes, 5m10s does not', async () => {
    const body = await complaint();
    const now = Date.now();
    const before = await t.dumpDatabase();
    for (const offset of [-310_000, 310_000, -86400_000, 86400_000, -now]) {
      const res = await post(body, sign(body, { at: new Date(now + offset) }).headers);
      expect(res.status, `${offset} ms`).toBe(401);
      expect((await errorOf(res)).code).toBe('invalid_signature');
    }
    await expectUnchanged(before);
    expect(await (await post(body, sign(body, { at: new Date(now - 290_000) }).headers)).json()).toEqual({ status: 'processed' });
    const later = await complaint();
    expect(await (await post(later, sign(later, { at: new Date(now + 290_000) }).headers)).json()).toEqual({ status: 'processed' });
  });
});

describe('comparisons take the same work wherever the first wrong byte is', () => {
  // No timed assertion (the machine is noisy): count the byte reads instead. A comparison that
  // stops at the first difference reads fewer bytes when the difference comes first.

  /** Runs `fn` counting calls to `proto[method]`, restored afterwards (`fn` is synchronous). */
  function counting<T extends object>(proto: T, method: keyof T, fn: () => void): number {
    const original = proto[method] as (...args: unknown[]) => unknown;
    let calls = 0;
    (proto as Record<keyof T, unknown>)[method] = function (this: unknown, ...args: unknown[]) {
      calls++;
      return original.apply(this, args);
    };
    try {
      fn();
    } finally {
      (proto as Record<keyof T, unknown>)[method] = original;
    }
    return calls;
  }

  it('the webhook signature check reads every byte of the signature, first byte wrong or last', () => {
    const body = '{"type":"email.delivered"}';
    const s = new Webhook(TEST_WEBHOOK_SECRET);
    const id = 'msg_timing';
    const at = new Date();
    const sig = s.sign(id, at, body).split(',')[1]!;
    const headersWith = (signature: string) =>
      new Headers({ 'svix-id': id, 'svix-timestamp': String(Math.floor(at.getTime() / 1000)), 'svix-signature': `v1,${signature}` });
    const reads = (signature: string) =>
      counting(DataView.prototype, 'getUint8', () => {
        expect(() => verifyResendWebhook(TEST_WEBHOOK_SECRET, body, headersWith(signature))).toThrow();
      });
    const wrongFirst = reads(flip(sig, 0));
    const wrongLast = reads(flip(sig, sig.length - 2));
    // 44 characters of base64 on each side, all read.
    expect(wrongFirst).toBe(2 * sig.length);
    expect(wrongLast).toBe(wrongFirst);
  });

  it('the pixel and link MAC check tries every key and reads the whole MAC, wherever it differs', () => {
    const keys = [testKeys[0]!, { kid: 'second', secret: 'second-secret-0123456789-abcdefghijklmn' }];
    const token = openToken(keys, 12345);
    const [send, mac] = token.split('.') as [string, string];
    const reads = (m: string, k = keys) => counting(String.prototype, 'charCodeAt', () => void readOpenToken(k, `${send}.${m}`));
    const first = reads(flip(mac, 0));
    const last = reads(flip(mac, mac.length - 2));
    expect(first).toBeGreaterThanOrEqual(2 * keys.length * mac.length);
    expect(last).toBe(first);
    // Matching the first key or the second costs the same as matching none.
    expect(reads(mac)).toBe(first);
    expect(reads(openToken([keys[1]!], 12345).split('.')[1]!)).toBe(first);
  });

  it('JWS signatures are checked by WebCrypto (crypto.subtle.verify, constant-time), not compared as strings', async () => {
    const calls: string[] = [];
    const original = SubtleCrypto.prototype.verify.bind(crypto.subtle);
    crypto.subtle.verify = (async (...args: Parameters<typeof original>) => {
      calls.push(JSON.stringify(args[0]));
      return original(...args);
    }) as typeof original;
    const { agent } = await t.workspaceWithTeam();
    try {
      const res = await t.request('/api/v1/me', { token: agent.token });
      expect(res.status).toBe(200);
    } finally {
      delete (crypto.subtle as { verify?: unknown }).verify;
    }
    expect(crypto.subtle.verify).toBe(SubtleCrypto.prototype.verify);
    expect(calls).toEqual([expect.stringContaining('HMAC')]);
  });
});
