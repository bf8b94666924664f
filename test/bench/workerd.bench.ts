/**
 * CPU time per request of the production Worker inside workerd (`wrangler dev`, the real bundle),
 * against libSQL over HTTP (the Hrana fixture) — issue 9: a pixel and an unsubscribe must stay
 * under the Workers free plan's 10 ms of CPU per invocation. MJML is compiled when a campaign is
 * saved, never per request, so neither route touches it.
 *
 * workerd reports no per-request CPU time locally, so this reads the user Worker's workerd process
 * CPU (utime + stime from /proc, 10 ms ticks) around N sequential requests of one kind, after a
 * warm-up, and divides. That counts more than Cloudflare bills: workerd's own HTTP handling, the
 * `waitUntil` work after the response (the hit write), and garbage collection. It is an upper
 * bound. GET /healthz (one `SELECT 1`) is measured the same way as a floor to compare with.
 *
 * The audience (600 confirmed contacts with open tracking) is written in SQL; the campaign is
 * sent by the Worker's own Queue consumer to the fake Resend, and every pixel, click and
 * unsubscribe URL comes from the emails it sent: distinct tokens, so each unsubscribe is a first
 * one (a ledger event, a chain hash, a state change), not a repeat.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src/db/node.js';
import { backfillEmailHashes } from '../../src/domain/privacy/suppressions.js';
import { seedAudience } from '../helpers/audience.js';
import { startFakeResend } from '../helpers/fake-resend.js';
import { DATABASE_TOKEN, loginAdmin, prepareDatabase, startWorker, type RunningWorker, type TursoLike } from '../helpers/workerd.js';
import type { Figure } from './run.js';

const AUDIENCE = 600;
const WARMUP = 40;
const MEASURED = 250;
const CONCURRENCY = 4;
const HUMAN_UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';

async function inParallel<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** CPU ms per request of the Worker process, and wall-clock p50, over `requests` (after settling). */
async function measure(worker: RunningWorker, turso: TursoLike, requests: (() => Promise<Response>)[]): Promise<{ cpuMs: number; p50: number; roundTrips: number }> {
  const walls: number[] = [];
  const before = worker.workerCpuMs();
  const pipelinesBefore = turso.database.pipelines;
  await inParallel(requests, async (send) => {
    const started = performance.now();
    const res = await send();
    await res.arrayBuffer();
    if (res.status >= 400) throw new Error(`answered ${res.status}`);
    walls.push(performance.now() - started);
  });
  // Let waitUntil work (hit writes) finish inside the measurement.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const cpu = worker.workerCpuMs() - before;
  walls.sort((a, b) => a - b);
  return { cpuMs: cpu / requests.length, p50: walls[Math.floor(walls.length / 2)]!, roundTrips: (turso.database.pipelines - pipelinesBefore) / requests.length };
}

export async function run(): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'cn-workerd-bench-'));
  const turso = await prepareDatabase(dir);
  const resend = await startFakeResend();
  const worker = await startWorker({
    persistDir: join(dir, 'wrangler-state'),
    vars: {
      DATABASE_URL: turso.database.url,
      DATABASE_AUTH_TOKEN: DATABASE_TOKEN,
      SIGNING_KEYS: JSON.stringify([{ kid: 'bench-1', secret: 'bench-signing-secret-0123456789abcdef' }]),
      RESEND_API_KEY: 're_bench',
      RESEND_BASE_URL: resend.url,
      SEND_RATE: '100',
      LOG_LEVEL: 'warn',
    },
  });
  try {
    const session = await loginAdmin(worker.url);
    const api = (path: string, json: unknown) =>
      fetch(`${worker.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${session}` }, body: JSON.stringify(json) });
    await seedAudience(turso.db, turso.workspaceId, AUDIENCE, { confirmed: true, openTracking: true });
    // Captured contacts carry their keyed email hash; give the seeded ones theirs (as db:migrate does).
    const drizzleDb = await openDatabase(turso.database.url, DATABASE_TOKEN);
    await backfillEmailHashes(drizzleDb.db);
    drizzleDb.close();
    const segment = (await (await api('/api/v1/segments', { name: 'Tous', rules: { match: 'all', conditions: [] } })).json()) as { id: string };
    const campaign = (await (await api('/api/v1/campaigns', { name: 'Bench', templateId: 'voyage-online-starter' })).json()) as { id: string };
    const sent = await api(`/api/v1/campaigns/${campaign.id}/send`, { segmentId: segment.id });
    if (sent.status !== 200) throw new Error(`send answered ${sent.status}: ${await sent.text()}`);
    const until = Date.now() + 60_000;
    while (resend.delivered.length < AUDIENCE) {
      if (Date.now() > until) throw new Error(`only ${resend.delivered.length} of ${AUDIENCE} emails sent\n${worker.output().slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const all = resend.delivered.map((m) => ({
      pixel: /src="(https?:\/\/[^"]+\/o\/[\w.-]+)"/.exec(m.html!)![1]!,
      click: /href="(https?:\/\/[^"]+\/c\/[\w.-]+)"/.exec(m.html!)![1]!,
      unsubscribe: /<(https?:\/\/[^>]+\/u\/[^>]+)>/.exec(m.headers!['List-Unsubscribe']!)![1]!,
    }));

    const kinds: Record<string, (m: (typeof all)[number]) => () => Promise<Response>> = {
      'GET /assets/app.css (no database)': () => () => fetch(`${worker.url}/assets/app.css`),
      'GET /healthz (SELECT 1)': () => () => fetch(`${worker.url}/healthz`),
      'GET /o/:token (pixel)': (m) => () => fetch(m.pixel, { headers: { 'user-agent': HUMAN_UA } }),
      'GET /c/:token (click)': (m) => () => fetch(m.click, { headers: { 'user-agent': HUMAN_UA }, redirect: 'manual' }),
      'POST /u/:token (one-click unsubscribe)': (m) => () =>
        fetch(m.unsubscribe, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' }),
      // The same from the page's button: the page is rendered again with the person's consents.
      'POST /u/:token (page button)': (m) => () =>
        fetch(m.unsubscribe, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' }, body: 'List-Unsubscribe=One-Click' }),
    };
    const figures: Figure[] = [];
    let offset = 0;
    for (const [name, make] of Object.entries(kinds)) {
      // Each unsubscribe kind gets recipients of its own: every measured unsubscribe is a first one.
      const mails = all.slice(offset, offset + WARMUP + MEASURED);
      if (name.startsWith('POST /u/')) offset += WARMUP + MEASURED;
      await measure(worker, turso, mails.slice(0, WARMUP).map(make));
      const { cpuMs, p50, roundTrips } = await measure(worker, turso, mails.slice(WARMUP, WARMUP + MEASURED).map(make));
      const limited = name.includes('pixel') || name.includes('unsubscribe');
      figures.push({ figure: `${name}: workerd CPU per request`, value: cpuMs, unit: 'ms', ...(limited ? { target: '<= 10' } : {}) });
      figures.push({ figure: `${name}: database round trips per request`, value: roundTrips, unit: 'HTTP requests' });
      figures.push({ figure: `${name}: wall p50 (concurrency ${CONCURRENCY})`, value: p50, unit: 'ms' });
    }
    const withdrawn = await turso.db.execute("SELECT count(*) AS n FROM consent_state WHERE purpose = 'newsletter' AND status = 'withdrawn'");
    figures.push({ figure: 'unsubscribes recorded (warm-up + measured, both kinds)', value: Number(withdrawn.rows[0]!.n), unit: 'contacts', target: `>= ${2 * (WARMUP + MEASURED)}` });
    return figures;
  } finally {
    await worker.stop();
    await resend.close();
    await turso.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
