import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, testKeys, type TestApp } from '../helpers/app.js';
import { makeUser, makeWorkspace, TEST_PASSWORD, unique } from '../helpers/factories.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.dispose());

const login = (email: string, password: string, ip = '198.51.100.7') =>
  t.request('/api/v1/auth/login', { method: 'POST', json: { email, password }, headers: { 'x-test-ip': ip } });

describe('login', () => {
  it('returns a short-lived token that identifies the person and workspace', async () => {
    const ws = await makeWorkspace(t.db);
    const user = await makeUser(t.db, ws.id, 'marketer');
    const res = await login(`  ${user.email.toUpperCase()} `, TEST_PASSWORD);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string; expiresAt: string; role: string; workspace: { id: string } };
    expect(body.role).toBe('marketer');
    expect(body.workspace.id).toBe(ws.id);
    expect(new Date(body.expiresAt).getTime() - t.clock.now().getTime()).toBe(8 * 3600 * 1000);

    const me = await t.request('/api/v1/me', { token: body.token });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ actor: { type: 'user', userId: user.id, role: 'marketer' }, workspace: { id: ws.id } });
  });

  it('gives the same 401 for a wrong password and an unknown address', async () => {
    const ws = await makeWorkspace(t.db);
    const user = await makeUser(t.db, ws.id, 'agent');
    const wrong = await login(user.email, 'not the password');
    const unknown = await login(`${unique('nobody')}@example.test`, 'whatever-password');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const [a, b] = [await errorOf(wrong), await errorOf(unknown)];
    expect(a.code).toBe('invalid_credentials');
    expect(b.code).toBe(a.code);
    expect(b.message).toBe(a.message);
  });

  it('locks an account after 5 failures, even for the right password, until the window passes', async () => {
    const ws = await makeWorkspace(t.db);
    const user = await makeUser(t.db, ws.id, 'agent');
    for (let i = 0; i < 5; i++) expect((await login(user.email, `wrong-${i}`, `192.0.2.${i}`)).status).toBe(401);

    const locked = await login(user.email, TEST_PASSWORD, '192.0.2.99');
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await errorOf(locked)).code).toBe('too_many_login_attempts');

    t.clock.advance(15 * 60 * 1000 + 1000);
    expect((await login(user.email, TEST_PASSWORD)).status).toBe(200);
  });

  it('limits failures per IP across accounts', async () => {
    const ip = '203.0.113.77';
    for (let i = 0; i < 30; i++) {
      expect((await login(`${unique('guess')}@example.test`, 'password-guess', ip)).status).toBe(401);
    }
    const ws = await makeWorkspace(t.db);
    const user = await makeUser(t.db, ws.id, 'admin');
    expect((await login(user.email, TEST_PASSWORD, ip)).status).toBe(429);
    expect((await login(user.email, TEST_PASSWORD, '203.0.113.78')).status).toBe(200);
    t.clock.advance(16 * 60 * 1000);
  });

  it('refuses a malformed body with the failing fields', async () => {
    const res = await t.request('/api/v1/auth/login', { method: 'POST', json: { email: 42 } });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe('invalid_input');
    expect(error.details?.issues?.map((i) => i.field).sort()).toEqual(['email', 'password']);
  });
});

describe('session tokens', () => {
  it('expire after 8 hours', async () => {
    const { marketer } = await t.workspaceWithTeam();
    expect((await t.request('/api/v1/me', { token: marketer.token })).status).toBe(200);
    t.clock.advance(8 * 3600 * 1000 + 1000);
    const res = await t.request('/api/v1/me', { token: marketer.token });
    expect(res.status).toBe(401);
    expect((await errorOf(res)).code).toBe('invalid_credentials');
  });

  it('refuse tampered tokens, unknown keys and other purposes', async () => {
    const { admin } = await t.workspaceWithTeam();
    const [h, p, s] = admin.token.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    const forgedPayload = Buffer.from(JSON.stringify({ ...payload, sub: 'usr_someone_else' })).toString('base64url');
    const now = Math.floor(t.clock.now().getTime() / 1000);
    const sign = (kid: string, secret: string, aud = 'session') =>
      new SignJWT({ ...payload })
        .setProtectedHeader({ alg: 'HS256', kid })
        .setAudience(aud)
        .setIssuer('consent-newsletter')
        .setIssuedAt(now)
        .setExpirationTime(now + 60)
        .sign(new TextEncoder().encode(secret));

    const attempts = [
      `${h}.${forgedPayload}.${s}`,
      `${h}.${p}.${s!.slice(0, -2)}`,
      `${h}.${p}`,
      await sign('unknown-kid', testKeys[0]!.secret),
      await sign(testKeys[0]!.kid, 'another-secret-that-is-long-enough-1234'),
      await sign(testKeys[0]!.kid, testKeys[0]!.secret, 'invite'),
    ];
    for (const token of attempts) {
      expect((await t.request('/api/v1/me', { token })).status, token).toBe(401);
    }
    expect((await t.request('/api/v1/me', { token: await sign(testKeys[0]!.kid, testKeys[0]!.secret) })).status).toBe(200);
  });

  it('stop working at once when the person is removed from the workspace, and stay dead if they are invited again', async () => {
    const team = await t.workspaceWithTeam();
    const del = await t.request(`/api/v1/members/${team.agent.id}`, { method: 'DELETE', token: team.admin.token });
    expect(del.status).toBe(204);
    expect((await t.request('/api/v1/me', { token: team.agent.token })).status).toBe(401);
    const again = await t.request('/api/v1/members', { method: 'POST', token: team.admin.token, json: { email: team.agent.email, name: 'Back again', role: 'agent' } });
    expect(again.status).toBe(201);
    expect((await t.request('/api/v1/me', { token: team.agent.token })).status).toBe(401);
    expect((await t.request('/api/v1/auth/login', { method: 'POST', json: { email: team.agent.email, password: TEST_PASSWORD } })).status).toBe(200);
  });

  it('from before a password reset do not survive the new password set from the invitation', async () => {
    const team = await t.workspaceWithTeam();
    // The recovery procedure of SECURITY.md: clear the hash, remove, invite again.
    await t.client.execute({ sql: 'UPDATE users SET password_hash = NULL WHERE id = ?', args: [team.marketer.id] });
    expect((await t.request(`/api/v1/members/${team.marketer.id}`, { method: 'DELETE', token: team.admin.token })).status).toBe(204);
    const invited = await t.request('/api/v1/members', { method: 'POST', token: team.admin.token, json: { email: team.marketer.email, name: 'Reset', role: 'marketer' } });
    expect(invited.status).toBe(201);
    const outbox = (await (await t.request('/api/v1/dev/outbox', { token: team.admin.token })).json()) as { messages: { to: string; text: string }[] };
    const link = outbox.messages.find((m) => m.to.includes(team.marketer.email))?.text.match(/\/invite\/([\w.-]+)/)?.[1];
    expect(link).toBeTruthy();
    const accepted = await t.request(`/invite/${link}`, {
      method: 'POST',
      headers: { origin: 'http://localhost', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ password: 'a-fresh-password-1', confirm: 'a-fresh-password-1' }).toString(),
    });
    expect(accepted.status).toBe(303);
    expect((await t.request('/api/v1/me', { token: team.marketer.token })).status).toBe(401);
    const fresh = /session=([^;]+)/.exec(accepted.headers.get('set-cookie') ?? '')?.[1];
    expect((await t.request('/api/v1/me', { token: fresh })).status).toBe(200);
  });

  it('end on the server when their owner logs out, on every device (API and page)', async () => {
    const ws = await makeWorkspace(t.db);
    const user = await makeUser(t.db, ws.id, 'agent');
    const tokenOf = async () => ((await (await login(user.email, TEST_PASSWORD)).json()) as { token: string }).token;
    const desk = await tokenOf();
    t.clock.advance(1000);
    const phone = await tokenOf();
    expect(phone).not.toBe(desk);

    expect((await t.request('/api/v1/auth/logout', { method: 'POST', token: phone })).status).toBe(204);
    for (const token of [desk, phone]) expect((await t.request('/api/v1/me', { token })).status).toBe(401);

    // The page's logout form: a cross-site POST is refused and ends nothing; our own form ends it.
    const again = await tokenOf();
    const cookie = `session=${again}`;
    const forged = await t.request('/logout', { method: 'POST', headers: { cookie, origin: 'https://evil.example' } });
    expect(forged.status).toBe(403);
    expect((await t.request('/api/v1/me', { token: again })).status).toBe(200);
    const own = await t.request('/logout', { method: 'POST', headers: { cookie, origin: 'http://localhost' } });
    expect(own.status).toBe(303);
    expect(own.headers.get('set-cookie')).toMatch(/^session=;/);
    expect((await t.request('/api/v1/me', { token: again })).status).toBe(401);
    expect((await t.request('/api/v1/me', { token: await tokenOf() })).status).toBe(200);
  });

  it('reject a malformed Authorization header', async () => {
    const res = await t.request('/api/v1/me', { headers: { authorization: 'Basic abc' } });
    expect(res.status).toBe(401);
    expect((await errorOf(res)).code).toBe('invalid_authorization');
  });
});

describe('key rotation', () => {
  it('keeps tokens signed by an older key valid while that key is still listed', async () => {
    const oldKeys = [{ kid: 'old', secret: 'old-secret-0123456789-abcdefghijklmnopq' }];
    const before = await createTestApp({ signingKeys: oldKeys });
    try {
      const { admin } = await before.workspaceWithTeam();
      // Same database, new app with a new first key: the old one only verifies now.
      const { createApp } = await import('../../src/app.js');
      const rotated = createApp({ ...before.deps, signingKeys: [{ kid: 'new', secret: 'new-secret-0123456789-abcdefghijklmnopq' }, ...oldKeys] });
      const res = await rotated.request('http://localhost/api/v1/me', { headers: { authorization: `Bearer ${admin.token}` } });
      expect(res.status).toBe(200);
      const dropped = createApp({ ...before.deps, signingKeys: [{ kid: 'new', secret: 'new-secret-0123456789-abcdefghijklmnopq' }] });
      expect((await dropped.request('http://localhost/api/v1/me', { headers: { authorization: `Bearer ${admin.token}` } })).status).toBe(401);
    } finally {
      before.dispose();
    }
  });
});
