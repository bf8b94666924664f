import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.dispose());

async function createKey(token: string, scopes: string[]) {
  const res = await t.request('/api/v1/api-keys', { method: 'POST', token, json: { name: 'Dialer', scopes } });
  expect(res.status).toBe(201);
  return (await res.json()) as { apiKey: { id: string; prefix: string; scopes: string[] }; secret: string };
}

describe('API keys', () => {
  it('are shown once, stored only as a hash, and authenticate integrations', async () => {
    const { admin, workspace } = await t.workspaceWithTeam();
    const { apiKey, secret } = await createKey(admin.token, ['consents:write', 'contacts:read']);
    expect(secret).toMatch(/^cnk_[A-Za-z0-9_-]{43}$/);
    expect(secret.startsWith(apiKey.prefix)).toBe(true);

    const listed = await (await t.request('/api/v1/api-keys', { token: admin.token })).text();
    expect(listed).toContain(apiKey.id);
    expect(listed).not.toContain(secret);
    const dump = await t.dumpDatabase();
    expect(dump).not.toContain(secret);

    const me = await t.request('/api/v1/me', { token: secret });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ actor: { type: 'api_key', keyId: apiKey.id }, workspace: { id: workspace.id } });

    const audit = (await (await t.request('/api/v1/audit-log', { token: admin.token })).json()) as { entries: { action: string; targetId: string }[] };
    expect(audit.entries).toContainEqual(expect.objectContaining({ action: 'api_key.created', targetId: apiKey.id }));
  });

  it('cannot reach routes for people, nor routes outside their scopes', async () => {
    const { admin } = await t.workspaceWithTeam();
    const { secret } = await createKey(admin.token, ['conversions:write']);
    const res = await t.request('/api/v1/members', { token: secret });
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe('missing_scope');
    expect((await t.request('/api/v1/api-keys', { method: 'POST', token: secret, json: { name: 'escalate', scopes: ['consents:write'] } })).status).toBe(403);
  });

  it('stop working once revoked; revoking twice is harmless', async () => {
    const { admin } = await t.workspaceWithTeam();
    const { apiKey, secret } = await createKey(admin.token, ['stats:read']);
    expect((await t.request('/api/v1/me', { token: secret })).status).toBe(200);
    const revoked = await t.request(`/api/v1/api-keys/${apiKey.id}/revoke`, { method: 'POST', token: admin.token });
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as { revokedAt: string | null }).revokedAt).not.toBeNull();
    expect((await t.request(`/api/v1/api-keys/${apiKey.id}/revoke`, { method: 'POST', token: admin.token })).status).toBe(200);
    const after = await t.request('/api/v1/me', { token: secret });
    expect(after.status).toBe(401);
    const audit = (await (await t.request('/api/v1/audit-log', { token: admin.token })).json()) as { entries: { action: string; targetId: string }[] };
    expect(audit.entries.filter((e) => e.action === 'api_key.revoked' && e.targetId === apiKey.id)).toHaveLength(1);
  });

  it('refuse unknown scopes and empty names, writing nothing', async () => {
    const { admin } = await t.workspaceWithTeam();
    const res = await t.request('/api/v1/api-keys', { method: 'POST', token: admin.token, json: { name: ' ', scopes: ['root'] } });
    expect(res.status).toBe(400);
    const fields = (await errorOf(res)).details?.issues?.map((i) => i.field);
    expect(fields).toEqual(expect.arrayContaining(['name', 'scopes.0']));
    const list = (await (await t.request('/api/v1/api-keys', { token: admin.token })).json()) as { apiKeys: unknown[] };
    expect(list.apiKeys).toHaveLength(0);
  });

  it('record when they were last used, at most once a minute', async () => {
    const { admin } = await t.workspaceWithTeam();
    const { apiKey, secret } = await createKey(admin.token, ['stats:read']);
    await t.request('/api/v1/me', { token: secret });
    const first = (await (await t.request('/api/v1/api-keys', { token: admin.token })).json()) as { apiKeys: { id: string; lastUsedAt: string }[] };
    const used = first.apiKeys.find((k) => k.id === apiKey.id)!.lastUsedAt;
    expect(used).toBe(t.clock.now().toISOString());
    t.clock.advance(30_000);
    await t.request('/api/v1/me', { token: secret });
    const second = (await (await t.request('/api/v1/api-keys', { token: admin.token })).json()) as { apiKeys: { id: string; lastUsedAt: string }[] };
    expect(second.apiKeys.find((k) => k.id === apiKey.id)!.lastUsedAt).toBe(used);
  });
});
