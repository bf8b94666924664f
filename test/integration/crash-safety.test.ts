/**
 * Crash safety of a send: a 5,000-recipient campaign is sent by a child process that is killed
 * with SIGKILL at random moments, several times, then restarted until done. The fake Resend
 * counts what it actually delivered: every recipient exactly once.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { starterTemplates } from '../../src/email/templates.generated.js';
import { seedAudience } from '../helpers/audience.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { startFakeResend, type FakeResend } from '../helpers/fake-resend.js';

let fake: FakeResend;
let t: TestApp;
beforeAll(async () => {
  fake = await startFakeResend({ delayMs: 15 });
  t = await createTestApp();
});
afterAll(async () => {
  t.dispose();
  await fake.close();
});

function runChild(campaignId: string, killAfterMs: number | null): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/send-child.ts', t.url, campaignId, fake.url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = killAfterMs === null ? null : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, out });
    });
  });
}

describe('crash safety', () => {
  it('mails every one of 5,000 recipients exactly once across repeated SIGKILLs', async () => {
    const team = await t.workspaceWithTeam();
    await seedAudience(t.client, team.workspace.id, 5000);
    const segment = (await (await t.request('/api/v1/segments', { method: 'POST', token: team.marketer.token, json: { name: 'Tous', rules: { match: 'all', conditions: [] } } })).json()) as { id: string };
    const campaign = (await (await t.request('/api/v1/campaigns', { method: 'POST', token: team.marketer.token, json: { name: 'Crash', templateId: starterTemplates[0].id } })).json()) as { id: string };
    // Start it as the API would, but let the child processes do the work.
    await t.client.execute({ sql: "UPDATE campaigns SET status = 'sending', segment_id = ?, started_at = ? WHERE id = ?", args: [segment.id, Date.now(), campaign.id] });

    let kills = 0;
    for (let i = 0; i < 5; i++) {
      // Startup takes ~1 s; kill somewhere in the work that follows.
      const { signal, out } = await runChild(campaign.id, 1200 + Math.floor(Math.random() * 1500));
      if (signal === 'SIGKILL') kills++;
      else expect(out).toContain('done');
    }
    let last = await runChild(campaign.id, null);
    for (let i = 0; i < 3 && !last.out.includes('done sent'); i++) last = await runChild(campaign.id, null);
    expect(last.out).toContain('done sent');
    expect(kills).toBeGreaterThanOrEqual(2);

    const suffix = `@${team.workspace.id.slice(-6)}.example`;
    const counts = new Map<string, number>();
    for (const d of fake.delivered) if (String(d.to).endsWith(suffix)) counts.set(String(d.to), (counts.get(String(d.to)) ?? 0) + 1);
    expect(counts.size).toBe(5000);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    const ledger = await t.client.execute({ sql: 'SELECT status, count(*) AS n FROM sends WHERE campaign_id = ? GROUP BY status', args: [campaign.id] });
    expect(ledger.rows.map((r) => [r.status, r.n])).toEqual([['sent', 5000]]);
  }, 120_000);
});
