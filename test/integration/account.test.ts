/**
 * A person's own account: changing the password (API and page) needs the current one, counts
 * wrong guesses towards the login lock, ends every other session and keeps this one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, type TestApp } from '../helpers/app.js';
import { makeUser, makeWorkspace, TEST_PASSWORD } from '../helpers/factories.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.dispose());

const NEW_PASSWORD = 'a-brand-new-passphrase';

async function person(role: 'agent' | 'marketer' | 'admin' = 'agent') {
  const ws = await makeWorkspace(t.db);
  const user = await makeUser(t.db, ws.id, role);
  const login = async (password = TEST_PASSWORD) => t.request('/api/v1/auth/login', { method: 'POST', json: { email: user.email, password }, headers: { 'x-test-ip': `198.51.100.${Math.floor(Math.random() * 200)}` } });
  const tokenOf = async () => ((await (await login()).json()) as { token: string }).token;
  return { ws, user, login, tokenOf };
}

const change = (token: string, json: unknown) => t.request('/api/v1/auth/password', { method: 'POST', token, json });

describe('POST /api/v1/auth/password', () => {
  it('changes the password, ends every other session and returns a working token for this one', async () => {
    const p = await person();
    const desk = await p.tokenOf();
    t.clock.advance(1000);
    const phone = await p.tokenOf();

    const res = await change(phone, { currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD });
    expect(res.status).toBe(200);
    const { token } = (await res.json()) as { token: string };
    for (const old of [desk, phone]) expect((await t.request('/api/v1/me', { token: old })).status).toBe(401);
    expect((await t.request('/api/v1/me', { token })).status).toBe(200);
    expect((await p.login(TEST_PASSWORD)).status).toBe(401);
    expect((await p.login(NEW_PASSWORD)).status).toBe(200);
    const audit = await t.client.execute({ sql: "SELECT action, target_id FROM audit_log WHERE action = 'user.password_changed' AND actor_id = ?", args: [p.user.id] });
    expect(audit.rows).toEqual([expect.objectContaining({ target_id: p.user.id })]);
  });

  it('refuses a wrong current password, a short or unchanged new one, naming the field, and changes nothing', async () => {
    const p = await person();
    const token = await p.tokenOf();
    const cases: [unknown, string, string][] = [
      [{ currentPassword: 'not-my-password', newPassword: NEW_PASSWORD }, 'wrong_password', 'currentPassword'],
      [{ currentPassword: TEST_PASSWORD, newPassword: 'short' }, 'invalid_input', 'newPassword'],
      [{ currentPassword: TEST_PASSWORD, newPassword: TEST_PASSWORD }, 'invalid_input', 'newPassword'],
      [{ newPassword: NEW_PASSWORD }, 'invalid_input', 'currentPassword'],
    ];
    for (const [json, code, field] of cases) {
      const before = await t.dumpDatabase();
      const res = await change(token, json);
      expect(res.status, JSON.stringify(json)).toBe(400);
      const error = await errorOf(res);
      expect(error.code).toBe(code);
      expect(error.details?.issues?.map((i) => i.field)).toContain(field);
      expect(await t.dumpDatabase()).toBe(before);
    }
    expect((await t.request('/api/v1/me', { token })).status).toBe(200);
  });

  it('counts wrong current passwords towards the login lock (a stolen session cannot brute-force the password)', async () => {
    const p = await person();
    const token = await p.tokenOf();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await change(token, { currentPassword: `guess-number-${i}`, newPassword: NEW_PASSWORD })).status);
    expect(statuses).toEqual([400, 400, 400, 400, 400, 429]);
    expect((await change(token, { currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD })).status).toBe(429);
  });

  it('is for people: an API key gets 403', async () => {
    const team = await t.workspaceWithTeam();
    const key = await t.request('/api/v1/api-keys', { method: 'POST', token: team.admin.token, json: { name: 'dialer', scopes: ['consents:write'] } });
    expect(key.status).toBe(201);
    const { secret } = (await key.json()) as { secret: string };
    const res = await change(secret, { currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD });
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe('missing_scope');
  });
});

describe('the account page', () => {
  const origin = 'http://localhost';
  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

  it('changes the password from the form, keeps this browser logged in, and says so', async () => {
    const p = await person('marketer');
    const other = await p.tokenOf();
    t.clock.advance(1000);
    const cookie = `session=${await p.tokenOf()}`;
    const page = await t.request('/account', { headers: { cookie } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(p.user.email);
    expect(html).toContain('action="/account/password"');

    const res = await t.request('/account/password', {
      method: 'POST',
      headers: { cookie, origin, 'content-type': 'application/x-www-form-urlencoded' },
      body: form({ current: TEST_PASSWORD, next: NEW_PASSWORD, confirm: NEW_PASSWORD }),
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/account?changed=1');
    const fresh = /session=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];
    expect(fresh).toBeTruthy();
    expect(res.headers.get('set-cookie')).toMatch(/HttpOnly/i);
    const after = await t.request('/account?changed=1', { headers: { cookie: `session=${fresh}` } });
    expect(after.status).toBe(200);
    expect(await after.text()).toContain('Mot de passe changé');
    expect((await t.request('/api/v1/me', { token: other })).status).toBe(401);
  });

  it('shows each mistake next to its field, and refuses a cross-site form, changing nothing', async () => {
    const p = await person('admin');
    const cookie = `session=${await p.tokenOf()}`;
    const post = (fields: Record<string, string>, from = origin) =>
      t.request('/account/password', { method: 'POST', headers: { cookie, origin: from, 'content-type': 'application/x-www-form-urlencoded' }, body: form(fields) });
    const before = await t.dumpDatabase();
    const mismatch = await post({ current: TEST_PASSWORD, next: NEW_PASSWORD, confirm: 'something-else-entirely' });
    expect(mismatch.status).toBe(400);
    expect(await mismatch.text()).toMatch(/id="confirm-error"[^>]*>Les deux mots de passe/);
    const wrong = await post({ current: 'not-the-password', next: NEW_PASSWORD, confirm: NEW_PASSWORD });
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toMatch(/id="current-error"[^>]*>Le mot de passe actuel est incorrect/);
    const forged = await post({ current: TEST_PASSWORD, next: NEW_PASSWORD, confirm: NEW_PASSWORD }, 'https://evil.example');
    expect(forged.status).toBe(403);
    expect(await t.dumpDatabase()).toBe(before);
    expect((await p.login(TEST_PASSWORD)).status).toBe(200);
  });

  it('sends anonymous visitors to the login form', async () => {
    const res = await t.request('/account');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/login?next=%2Faccount');
  });
});
