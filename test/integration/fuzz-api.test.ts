/**
 * Fuzzing every operation of the OpenAPI document (issue 10, item 1), shard 1 of 3; the others
 * are fuzz-api-2.test.ts and fuzz-api-3.test.ts (about a minute each, and vitest can
 * run them side by side). The driver is in test/helpers/fuzz-api.ts, the generators and the
 * invariants in test/helpers/fuzz.ts.
 *
 * Before the fuzzing, this shard checks what the others rely on: the document lists every API
 * route (so enumerating it fuzzes them all), and the write watch sees what is committed and
 * nothing of what is rolled back (so "no write" means something).
 */
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { workspaces } from '../../src/db/schema.js';
import { makeScripts } from '../helpers/factories.js';
import { send } from '../helpers/fuzz.js';
import { defineApiFuzz } from '../helpers/fuzz-api.js';

await defineApiFuzz({
  shard: 0,
  shards: 3,
  runs: 2000,
  msPerRun: 3,
  before: ({ t, fx, all, watch }) => {
    describe('what the fuzzing relies on', () => {
      it('the OpenAPI document lists every route under /api/v1', () => {
        const registered = t.app.routes.filter((r) => r.method !== 'ALL' && r.path.startsWith('/api/v1/')).map((r) => `${r.method} ${r.path}`);
        expect(new Set(all.map((op) => op.route))).toEqual(new Set(registered));
      });

      it('the write watch sees every committed row change, and nothing rolled back or left equal', async () => {
        await watch.take();
        const token = await fx.session('admin');
        const patched = await send(t, { method: 'PATCH', url: '/api/v1/workspace', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"city":"Lyon"}' });
        expect(patched.status).toBe(200);
        const writes = await watch.take();
        expect(writes).toContainEqual({ table: 'workspaces', op: 'update', columns: expect.arrayContaining(['city']) });
        expect(writes.map((w) => w.table)).toContain('audit_log');

        await expect(
          t.db.transaction(async (tx) => {
            await tx.update(workspaces).set({ city: 'Marseille' }).where(sql`1 = 1`);
            throw new Error('roll back');
          }),
        ).rejects.toThrow('roll back');
        await t.db.update(workspaces).set({ city: sql`city` });
        expect(await watch.take()).toEqual([]);
      });

      it('a workspace has at most 20 purposes, as many as a capture can answer (found by fuzzing: the 21st made every capture a 400)', async () => {
        const team = await t.workspaceWithTeam();
        const scripts = await makeScripts(t.db, team.workspace);
        const text = scripts.newsletter.text;
        const ids: Record<string, string> = { newsletter: scripts.newsletter.id, open_tracking: scripts.open_tracking.id };
        for (let i = 3; i <= 20; i++) {
          const res = await t.request('/api/v1/consent-scripts', { method: 'POST', token: team.admin.token, json: { purpose: `purpose_${i}`, label: `P${i}`, text } });
          expect(res.status).toBe(201);
          ids[`purpose_${i}`] = ((await res.json()) as { id: string }).id;
        }
        await watch.take();
        const refused = await send(t, { method: 'POST', url: '/api/v1/consent-scripts', headers: { authorization: `Bearer ${team.admin.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ purpose: 'purpose_21', label: 'P21', text }) });
        expect(refused.status).toBe(409);
        expect(JSON.parse(refused.text).error.code).toBe('too_many_purposes');
        expect(await watch.take()).toEqual([]);
        // A new version of an existing purpose is still fine, and a capture answers all twenty.
        const v2 = await t.request('/api/v1/consent-scripts', { method: 'POST', token: team.admin.token, json: { purpose: 'purpose_20', label: 'P20 v2', text } });
        expect(v2.status).toBe(201);
        ids.purpose_20 = ((await v2.json()) as { id: string }).id;
        const capture = await t.request('/api/v1/consents', {
          method: 'POST',
          token: team.agent.token,
          headers: { 'idempotency-key': 'twenty-purposes-1' },
          json: {
            contact: { email: 'twenty@example.test' },
            call: { ref: 'CALL-20', basis: 'inbound_call' },
            answers: Object.entries(ids).map(([purpose, scriptId]) => ({ purpose, answer: 'refused', scriptId })),
          },
        });
        expect(capture.status, await capture.clone().text()).toBe(201);
      });

      it('the last admin cannot demote themself, and the refusal writes nothing', async () => {
        await watch.take();
        const token = await fx.session('admin');
        const res = await send(t, { method: 'PATCH', url: `/api/v1/members/${fx.ours.admin.id}`, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"role":"agent"}' });
        expect(res.status).toBe(409);
        expect(JSON.parse(res.text).error.code).toBe('last_admin');
        expect(await watch.take()).toEqual([]);
      });
    });
  },
});
