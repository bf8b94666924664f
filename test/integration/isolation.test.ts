/** Roles and workspaces: a person of brand A never reaches brand B's data, and roles are enforced. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, type TestApp } from '../helpers/app.js';

let t: TestApp;
let a: Awaited<ReturnType<TestApp['workspaceWithTeam']>>;
let b: Awaited<ReturnType<TestApp['workspaceWithTeam']>>;
let keyOfB: string;

beforeAll(async () => {
  t = await createTestApp();
  a = await t.workspaceWithTeam();
  b = await t.workspaceWithTeam();
  const res = await t.request('/api/v1/api-keys', { method: 'POST', token: b.admin.token, json: { name: 'B dialer', scopes: ['consents:write'] } });
  keyOfB = ((await res.json()) as { apiKey: { id: string } }).apiKey.id;
  // Put a message in B's outbox.
  await t.request('/api/v1/members', { method: 'POST', token: b.admin.token, json: { email: 'new-b@example.test', name: 'New B', role: 'agent' } });
});
afterAll(() => t.dispose());

describe('workspace isolation', () => {
  it("an admin of A gets 404 on B's members, keys and outbox messages", async () => {
    const token = a.admin.token;
    expect((await t.request(`/api/v1/members/${b.marketer.id}`, { token })).status).toBe(404);
    expect((await t.request(`/api/v1/members/${b.marketer.id}`, { method: 'PATCH', token, json: { role: 'admin' } })).status).toBe(404);
    expect((await t.request(`/api/v1/members/${b.agent.id}`, { method: 'DELETE', token })).status).toBe(404);
    expect((await t.request(`/api/v1/api-keys/${keyOfB}/revoke`, { method: 'POST', token })).status).toBe(404);

    const bOutbox = (await (await t.request('/api/v1/dev/outbox', { token: b.admin.token })).json()) as { messages: { id: string }[] };
    expect(bOutbox.messages.length).toBeGreaterThan(0);
    expect((await t.request(`/api/v1/dev/outbox/${bOutbox.messages[0]!.id}`, { token })).status).toBe(404);
    const aOutbox = (await (await t.request('/api/v1/dev/outbox', { token })).json()) as { messages: { id: string }[] };
    expect(aOutbox.messages.map((m) => m.id)).not.toContain(bOutbox.messages[0]!.id);

    // Nothing of B changed.
    const bMember = await t.request(`/api/v1/members/${b.marketer.id}`, { token: b.admin.token });
    expect(((await bMember.json()) as { role: string }).role).toBe('marketer');
  });

  it("lists only the caller's own workspace", async () => {
    const members = (await (await t.request('/api/v1/members', { token: a.admin.token })).json()) as { members: { userId: string }[] };
    const ids = members.members.map((m) => m.userId);
    expect(ids).toEqual(expect.arrayContaining([a.admin.id, a.marketer.id, a.agent.id]));
    expect(ids).not.toContain(b.admin.id);
    const ws = (await (await t.request('/api/v1/workspace', { token: a.marketer.token })).json()) as { id: string };
    expect(ws.id).toBe(a.workspace.id);
  });

  it('cannot pick another workspace at login', async () => {
    const res = await t.request('/api/v1/auth/login', {
      method: 'POST',
      json: { email: a.admin.email, password: 'correct horse battery', workspaceId: b.workspace.id },
    });
    expect(res.status).toBe(401);
  });
});

describe('roles', () => {
  const adminRoutes: [string, string, unknown?][] = [
    ['GET', '/api/v1/members'],
    ['POST', '/api/v1/members', { email: 'x@example.test', name: 'X', role: 'agent' }],
    ['GET', '/api/v1/api-keys'],
    ['POST', '/api/v1/api-keys', { name: 'k', scopes: ['consents:write'] }],
    ['GET', '/api/v1/audit-log'],
    ['PATCH', '/api/v1/workspace', { name: 'Hijacked' }],
  ];

  it.each(adminRoutes)('%s %s: agent and marketer get 403, anonymous 401, admin passes', async (method, path, json) => {
    for (const who of [a.agent, a.marketer]) {
      const res = await t.request(path, { method, token: who.token, ...(json ? { json } : {}) });
      expect(res.status, `${who.role} ${method} ${path}`).toBe(403);
      expect((await errorOf(res)).code).toBe('forbidden_role');
    }
    const anon = await t.request(path, { method, ...(json ? { json } : {}) });
    expect(anon.status).toBe(401);
    expect((await errorOf(anon)).code).toBe('unauthenticated');
    if (method === 'GET') expect((await t.request(path, { token: a.admin.token })).status).toBe(200);
  });

  it('keeps at least one admin', async () => {
    const res = await t.request(`/api/v1/members/${a.admin.id}`, { method: 'PATCH', token: a.admin.token, json: { role: 'marketer' } });
    expect(res.status).toBe(409);
    expect((await errorOf(res)).code).toBe('last_admin');
    const del = await t.request(`/api/v1/members/${a.admin.id}`, { method: 'DELETE', token: a.admin.token });
    expect(del.status).toBe(409);
  });
});
