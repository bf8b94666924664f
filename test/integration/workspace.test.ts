import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.dispose());

describe('workspace identity', () => {
  it('admins change it; the audit log keeps before and after', async () => {
    const { admin, marketer, workspace } = await t.workspaceWithTeam();
    const res = await t.request('/api/v1/workspace', {
      method: 'PATCH',
      token: admin.token,
      json: { contactPhone: '0 885 905 600', settings: { requireDoubleOptIn: false } },
    });
    expect(res.status).toBe(200);
    const ws = (await res.json()) as { contactPhone: string; settings: { requireDoubleOptIn: boolean; retentionDays: number } };
    expect(ws.contactPhone).toBe('0 885 905 600');
    expect(ws.settings).toMatchObject({ requireDoubleOptIn: false, retentionDays: 1095 });

    const seen = (await (await t.request('/api/v1/workspace', { token: marketer.token })).json()) as { contactPhone: string };
    expect(seen.contactPhone).toBe('0 885 905 600');

    const audit = (await (await t.request('/api/v1/audit-log', { token: admin.token })).json()) as { entries: { action: string; actorId: string; details: unknown }[] };
    expect(audit.entries[0]).toMatchObject({
      action: 'workspace.updated',
      actorId: admin.id,
      details: {
        contactPhone: { from: workspace.contactPhone, to: '0 885 905 600' },
        'settings.requireDoubleOptIn': { from: true, to: false },
      },
    });
  });

  it('refuses bad values, naming the field, and changes nothing', async () => {
    const { admin } = await t.workspaceWithTeam();
    const before = await t.dumpDatabase();
    const cases: [unknown, string][] = [
      [{ contactEmail: 'nope' }, 'contactEmail'],
      [{ privacyUrl: 'javascript:alert(1)' }, 'privacyUrl'],
      [{ settings: { retentionDays: 5000 } }, 'settings.retentionDays'],
      [{ name: '' }, 'name'],
      [{}, '(body)'],
    ];
    for (const [json, field] of cases) {
      const res = await t.request('/api/v1/workspace', { method: 'PATCH', token: admin.token, json });
      expect(res.status, JSON.stringify(json)).toBe(400);
      expect((await errorOf(res)).details?.issues?.map((i) => i.field)).toContain(field);
    }
    expect(await t.dumpDatabase()).toBe(before);
  });

  it('an unchanged PATCH writes no audit entry', async () => {
    const { admin, workspace } = await t.workspaceWithTeam();
    const count = async () => ((await (await t.request('/api/v1/audit-log', { token: admin.token })).json()) as { entries: unknown[] }).entries.length;
    const n = await count();
    expect((await t.request('/api/v1/workspace', { method: 'PATCH', token: admin.token, json: { city: workspace.city } })).status).toBe(200);
    expect(await count()).toBe(n);
  });
});

describe('audit log paging', () => {
  it('walks every entry, even several in one millisecond, and survives absurd cursors', async () => {
    const { admin } = await t.workspaceWithTeam();
    for (let i = 0; i < 7; i++) {
      await t.request('/api/v1/workspace', { method: 'PATCH', token: admin.token, json: { city: `Ville ${i}` } });
    }
    const seen: string[] = [];
    let before: string | null = null;
    do {
      const res = await t.request(`/api/v1/audit-log?limit=3${before ? `&before=${encodeURIComponent(before)}` : ''}`, { token: admin.token });
      expect(res.status).toBe(200);
      const page = (await res.json()) as { entries: { id: string }[]; nextBefore: string | null };
      seen.push(...page.entries.map((e) => e.id));
      before = page.nextBefore;
    } while (before);
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);
    expect((await t.request('/api/v1/audit-log?before=9007199254740991', { token: admin.token })).status).toBe(200);
    expect((await t.request('/api/v1/audit-log?before=abc', { token: admin.token })).status).toBe(400);
    expect((await t.request('/admin/audit?before=100000000000000000000', { headers: { cookie: `session=${admin.token}` } })).status).toBe(200);
  });
});
