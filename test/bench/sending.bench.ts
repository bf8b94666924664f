/**
 * Sending (issue 5), each send run by a separate sender process against a fake Resend on
 * 127.0.0.1, as the crash-safety test does:
 *  - efficiency: 20,000 recipients, the fake enforcing R requests/s (429 beyond, RateLimit
 *    headers always), the sender configured for R: achieved emails/s ÷ (100 × R), target ≥ 0.95,
 *    and no duplicate;
 *  - memory: peak RSS of a 100,000-recipient send ÷ that of a 10,000 one, target ≤ 1.2
 *    (the audience is streamed by keyset pages and sent by batches, never loaded whole). Each
 *    sender runs with a 160 MiB heap cap, so V8's lazy collection cannot inflate the peak.
 */
import { spawn } from 'node:child_process';
import { starterTemplates } from '../../src/email/templates.generated.js';
import { seedAudience } from '../helpers/audience.js';
import { createTestApp } from '../helpers/app.js';
import { startFakeResend } from '../helpers/fake-resend.js';
import type { Figure } from './run.js';

/**
 * R, the provider's limit. Resend's default team limit is 2 requests/s (200 emails/s in batches);
 * BENCH_SEND_RATE=8 probes the sender's own ceiling on this machine.
 */
const RATE = Number(process.env.BENCH_SEND_RATE ?? 2);

function sender(url: string, campaignId: string, resendUrl: string, rate: number): Promise<{ ms: number; peakRssKb: number; maxRssKb: number; out: string }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    // A small heap: a sender that loaded the audience, or leaked per recipient, would die here.
    const child = spawn(process.execPath, ['--max-old-space-size=160', '--import', 'tsx', 'test/helpers/send-child.ts', url, campaignId, resendUrl, String(rate)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', () => {
      const m = /done sent peakrss=(\d+) maxrss=(\d+)/.exec(out);
      if (!m) return reject(new Error(`sender did not finish: ${out.slice(-500)}`));
      resolve({ ms: performance.now() - start, peakRssKb: Number(m[1]), maxRssKb: Number(m[2]), out });
    });
  });
}

async function campaignOf(recipients: number) {
  const t = await createTestApp();
  const team = await t.workspaceWithTeam();
  await seedAudience(t.client, team.workspace.id, recipients);
  const segment = (await (await t.request('/api/v1/segments', { method: 'POST', token: team.marketer.token, json: { name: 'Tous', rules: { match: 'all', conditions: [] } } })).json()) as { id: string };
  const campaign = (await (await t.request('/api/v1/campaigns', { method: 'POST', token: team.marketer.token, json: { name: 'Bench', templateId: starterTemplates[0].id } })).json()) as { id: string };
  await t.client.execute({ sql: "UPDATE campaigns SET status = 'sending', segment_id = ?, started_at = ? WHERE id = ?", args: [segment.id, Date.now(), campaign.id] });
  // Fold the seeding into the database file, so the sender does not start with a large WAL.
  await t.client.execute('PRAGMA wal_checkpoint(TRUNCATE)');
  return { t, campaignId: campaign.id, suffix: `@${team.workspace.id.slice(-6)}.example` };
}

export async function run(): Promise<Figure[]> {
  // Efficiency under the provider's rate limit.
  const limited = await startFakeResend({ requestsPerSecond: RATE, keepBodies: false });
  const a = await campaignOf(20_000);
  const eff = await sender(a.t.url, a.campaignId, limited.url, RATE);
  const delivered = limited.delivered.filter((d) => String(d.to).endsWith(a.suffix));
  const unique = new Set(delivered.map((d) => String(d.to))).size;
  const throttled = limited.requests.length - Math.ceil(20_000 / 100);
  // The sending phase, first to last request at the provider (process start-up and the
  // materialisation of the ledger are reported apart).
  const sendingMs = limited.window.last - limited.window.first + 1000 / RATE;
  a.t.dispose();
  await limited.close();

  // Memory: 10,000 then 100,000 recipients, each in a fresh process.
  const open = await startFakeResend({ keepBodies: false });
  const small = await campaignOf(10_000);
  const s = await sender(small.t.url, small.campaignId, open.url, 1000);
  small.t.dispose();
  const large = await campaignOf(100_000);
  const l = await sender(large.t.url, large.campaignId, open.url, 1000);
  large.t.dispose();
  await open.close();

  const achieved = (20_000 / sendingMs) * 1000;
  return [
    { figure: `20,000 recipients, fake Resend limited to ${RATE} requests/s (sending phase)`, value: achieved, unit: 'emails/s' },
    { figure: 'same, whole run incl. process start and ledger materialisation', value: (20_000 / eff.ms) * 1000, unit: 'emails/s' },
    { figure: `efficiency: achieved ÷ (100 × ${RATE})`, value: achieved / (100 * RATE), unit: 'x', target: '>= 0.95' },
    { figure: 'requests refused with 429 (sender exceeded the limit)', value: Math.max(0, throttled), unit: 'requests' },
    { figure: 'duplicates delivered', value: delivered.length - unique, unit: 'emails', target: '<= 0' },
    { figure: 'recipients reached', value: unique, unit: 'people' },
    { figure: 'peak RSS while sending, 10,000 recipients', value: s.peakRssKb / 1024, unit: 'MiB' },
    { figure: 'peak RSS while sending, 100,000 recipients', value: l.peakRssKb / 1024, unit: 'MiB' },
    { figure: 'peak RSS ratio 100,000 ÷ 10,000', value: l.peakRssKb / s.peakRssKb, unit: 'x', target: '<= 1.2' },
    { figure: 'process max RSS incl. closing the database, 100,000 ÷ 10,000', value: l.maxRssKb / s.maxRssKb, unit: 'x' },
    { figure: '100,000 recipients, unthrottled fake', value: (100_000 / l.ms) * 1000, unit: 'emails/s' },
  ];
}
