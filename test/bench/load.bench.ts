/**
 * Bounded load (issue 10): LOAD_SECONDS (default 120) of mixed traffic at a fixed concurrency
 * (CONNECTIONS requests always in flight, keep-alive sockets) against the real Node entry in a
 * child process (test/bench/load-server.ts runs src/node.ts unchanged: embedded libSQL file
 * database, buffered hit sink, mail queue, graceful SIGTERM), over real HTTP on 127.0.0.1.
 *
 * The mix, weighted like a newsletter day: open pixels, click redirects, consent captures (a
 * dialer's API key, an agent's session, and retries of answered captures with the same
 * Idempotency-Key, as a dialer retries after a lost answer), RFC 8058 one-click unsubscribes,
 * and stats reads (campaign stats, per-agent counters). The campaign is sent for real
 * beforehand (test/helpers/tracked-campaign.ts): every pixel, click and unsubscribe token is one
 * the sender put in a message.
 *
 * Measured: per route count, errors (any status other than the route's own, or a socket error
 * or timeout), p50/p99/max latency; the server's RSS and V8 heap, sampled every second inside the
 * child and sent over IPC, median over the first vs the last MEMORY_WINDOW_S seconds ("memory
 * flat"), and peaks. Absolute latencies and rates are information only: this 2-core machine is
 * shared with other work while the bench runs.
 *
 * At the end the server gets SIGTERM while the clients go on sending on their keep-alive
 * connections (as a proxy or a mail provider would): what it accepted must be answered, new
 * connections refused, nothing reset, and the process must exit 0 (src/node.ts: responses say
 * `Connection: close` from SIGTERM on). Answers given after SIGTERM are acknowledged writes too.
 *
 * Then every acknowledged write is counted: once the server has exited (its graceful shutdown
 * writes the hit buffer), the database is opened, and every capture that got a 201
 * must be in the ledger (its contact, and exactly one event per answer even if retried), every
 * unsubscribe that got a 200 must have withdrawn the newsletter consent (one ledger event) and
 * suppressed the address, and every pixel and click answered must be counted in the events and
 * in the campaign's stats. The ledger's hash chain, appended to by captures and unsubscribes
 * concurrently, must verify.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import http from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyChain } from '../../src/domain/consent/chain.js';
import { openDatabase } from '../../src/db/node.js';
import { campaignStats } from '../../src/tracking/stats.js';
import { createTestApp, testKeys } from '../helpers/app.js';
import { HUMAN_UA, trackedCampaign } from '../helpers/tracked-campaign.js';
import type { Figure } from './run.js';

const LOAD_SECONDS = Number(process.env.LOAD_SECONDS ?? 120);
const CONNECTIONS = 32;
/** Recipients of the sent campaign; one in four is kept for unsubscribes, the rest open and click. */
const RECIPIENTS = 2_400;
const MEMORY_WINDOW_S = Math.min(30, LOAD_SECONDS / 4);
const TIMEOUT_MS = 30_000;
const SEED = 0x5eed_2026;

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

/** Deterministic randomness (mulberry32): the same seed draws the same stream of choices. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const median = (xs: number[]) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN);

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface RouteStats {
  expected: number;
  latencies: number[];
  errors: number;
  statuses: Map<string, number>;
}

export async function run(): Promise<Figure[]> {
  // --- Seed: a workspace, its team, a campaign sent for real to RECIPIENTS. ---------------------
  const t = await createTestApp();
  const dbUrl = t.url;
  const dir = dirname(dbUrl.slice('file:'.length));
  // The server runs on the real clock: the campaign went out an hour ago (sessions last 8 hours).
  t.clock.set(new Date(Date.now() - 3_600_000));
  const team = await t.workspaceWithTeam();
  const seedStart = performance.now();
  const campaign = await trackedCampaign(t, team, [{ prefix: 'r', n: RECIPIENTS, openTracking: true, ownerAgentId: team.agent.id }]);
  const seedMs = performance.now() - seedStart;
  const ws = team.workspace.id;
  // The one-click unsubscribe URL each message carries in its List-Unsubscribe header (RFC 8058).
  const unsubscribeOf = new Map(
    (
      await t.client.execute({
        sql: `SELECT s.contact_id AS contact, json_extract(m.headers, '$."List-Unsubscribe"') AS lu FROM sends s JOIN contacts c ON c.id = s.contact_id
              JOIN outbox_messages m ON m."to" = c.email AND json_extract(m.tags, '$.campaign') = s.campaign_id WHERE s.campaign_id = ?`,
        args: [campaign.campaignId],
      })
    ).rows.map((r) => [String(r.contact), /<https?:\/\/[^/>]+(\/u\/[^>]+)>/.exec(String(r.lu))![1]!]),
  );
  const unsubscribers = campaign.recipients.filter((_, i) => i % 4 === 0).map((r) => ({ contactId: r.contactId, path: unsubscribeOf.get(r.contactId)! }));
  const readers = campaign.recipients.filter((_, i) => i % 4 !== 0);
  if (unsubscribers.some((u) => !u.path) || readers.some((r) => !r.pixel || r.clicks.length !== 3)) throw new Error('a message lacks its pixel, links or unsubscribe header');
  const keyRes = await t.request('/api/v1/api-keys', { method: 'POST', token: team.admin.token, json: { name: 'Numéroteur (charge)', scopes: ['consents:write'] } });
  const { secret } = (await keyRes.json()) as { secret: string };
  const { scripts } = (await (await t.request('/api/v1/consent-scripts', { token: team.admin.token })).json()) as { scripts: { id: string; purpose: string }[] };
  t.client.close();

  // --- The server: src/node.ts in a child process. ----------------------------------------------
  // LOAD_PROFILE=<dir>: the server writes a V8 CPU profile there on exit (where the time goes).
  const profile = process.env.LOAD_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', resolve(process.env.LOAD_PROFILE)] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', join(here, 'load-server.ts')], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: dbUrl,
      // The keys the seeding app signed sessions and emailed links with.
      SIGNING_KEYS: JSON.stringify(testKeys),
      DEMO: '0',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  // Whatever happens, the child does not outlive the bench, nor its database the run.
  const cleanup = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  return (async (): Promise<Figure[]> => {
    const memory: { at: number; rss: number; heapUsed: number }[] = [];
    child.on('message', (m: { at: number; rss: number; heapUsed: number }) => memory.push({ at: m.at, rss: m.rss, heapUsed: m.heapUsed }));
    let serverErrors = 0;
    let serverWarnings = 0;
    let out = '';
    const logLine = (line: string) => {
      let level: string | undefined;
      try {
        level = (JSON.parse(line) as { level?: string }).level;
      } catch {
        return;
      }
      if (level === 'error') {
        if (++serverErrors <= 3) console.error('server:', line);
      } else if (level === 'warn') {
        if (++serverWarnings <= 3) console.error('server:', line);
      }
    };
    const exited = new Promise<number | null>((resolveExit) => child.on('exit', (code) => resolveExit(code)));
    const base = await new Promise<string>((resolveUrl, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const lines = out.split('\n');
        out = lines.pop()!;
        for (const line of lines) {
          const m = /running at (http:\/\/[\d.:]+)/.exec(line);
          if (m) resolveUrl(m[1]!);
          logLine(line);
        }
      });
      child.stderr!.on('data', (d: Buffer) => {
        // Anything on stderr is a crash or an unhandled rejection: an error.
        serverErrors++;
        process.stderr.write(`server stderr: ${d.toString()}`);
      });
      void exited.then((code) => reject(new Error(`server exited with ${code}`)));
    });
    const port = Number(new URL(base).port);

    // --- The load. ---------------------------------------------------------------------------------
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
    const call = (method: string, path: string, headers: Record<string, string>, body?: string) =>
      new Promise<Answer>((resolveCall, reject) => {
        const req = http.request(
          { host: '127.0.0.1', port, method, path, agent, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolveCall({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
            res.on('error', reject);
          },
        );
        req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error(`no answer in ${TIMEOUT_MS} ms`)));
        req.on('error', reject);
        req.end(body);
      });

    const random = rng(SEED);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
    const reader = { 'user-agent': HUMAN_UA };
    const json = (token: string) => ({ 'content-type': 'application/json', authorization: `Bearer ${token}` });

    let seq = 0;
    interface Capture {
      key: string;
      body: string;
      token: string;
      email: string;
      contactId: string;
      eventIds: string[];
    }
    const captured: Capture[] = [];
    let replaysWithoutFlag = 0;
    const captureBody = (viaKey: boolean) => {
      const n = ++seq;
      const email = `lead${n}@charge.example`;
      return {
        email,
        body: JSON.stringify({
          contact: { email, phone: `06${String(10_000_000 + n).slice(-8)}`, firstName: 'Marie', lastName: `Charge${n}` },
          call: { ref: `LOAD-${n}`, basis: 'inbound_call', campaign: 'Voyage à Rome' },
          answers: scripts.map((s, i) => ({ purpose: s.purpose, answer: (n + i) % 3 === 0 ? 'refused' : 'granted', scriptId: s.id })),
          ...(viaKey ? { agentEmail: team.agent.email } : {}),
        }),
      };
    };
    const capture = async (token: string, viaKey: boolean): Promise<Answer> => {
      const { email, body } = captureBody(viaKey);
      const key = crypto.randomUUID();
      const res = await call('POST', '/api/v1/consents', { ...json(token), 'idempotency-key': key }, body);
      if (res.status === 201) {
        const r = JSON.parse(res.body) as { contact: { id: string }; events: { id: string }[] };
        captured.push({ key, body, token, email, contactId: r.contact.id, eventIds: r.events.map((e) => e.id) });
      }
      return res;
    };
    const retry = async (): Promise<Answer> => {
      const c = pick(captured);
      const res = await call('POST', '/api/v1/consents', { ...json(c.token), 'idempotency-key': c.key }, c.body);
      if (res.status === 201 && res.headers['idempotent-replayed'] !== 'true') replaysWithoutFlag++;
      return res;
    };

    let opensAnswered = 0;
    let clicksAnswered = 0;
    let nextUnsubscriber = 0;
    const unsubscribed = new Set<string>();
    let unsubscribeRepeats = 0;

    const mix: { route: string; weight: number; expected: number; go: () => Promise<Answer>; answered?: (a: Answer) => void }[] = [
      { route: 'GET /o/:token (open pixel)', weight: 48, expected: 200, go: () => call('GET', pick(readers).pixel!, reader), answered: () => opensAnswered++ },
      { route: 'GET /c/:token (click redirect)', weight: 20, expected: 302, go: () => call('GET', pick(pick(readers).clicks), reader), answered: () => clicksAnswered++ },
      { route: 'POST /api/v1/consents (API key)', weight: 9, expected: 201, go: () => capture(secret, true) },
      { route: 'POST /api/v1/consents (agent session)', weight: 4, expected: 201, go: () => capture(team.agent.token, false) },
      { route: 'POST /api/v1/consents (retry, same key)', weight: 2, expected: 201, go: () => (captured.length ? retry() : capture(secret, true)) },
      {
        route: 'POST /u/:token (one-click)',
        weight: 2,
        expected: 200,
        go: async () => {
          // Each recipient once, then repeats (providers retry; the second POST writes nothing).
          const u = nextUnsubscriber < unsubscribers.length ? unsubscribers[nextUnsubscriber++]! : (unsubscribeRepeats++, pick(unsubscribers));
          const res = await call('POST', u.path, { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'Google-Unsubscribe' }, 'List-Unsubscribe=One-Click');
          if (res.status === 200) unsubscribed.add(u.contactId);
          return res;
        },
      },
      { route: 'GET /api/v1/campaigns/:id/stats', weight: 7, expected: 200, go: () => call('GET', `/api/v1/campaigns/${campaign.campaignId}/stats${random() < 0.5 ? '?groupBy=agent' : ''}`, json(team.marketer.token)) },
      { route: 'GET /api/v1/stats/agents', weight: 8, expected: 200, go: () => call('GET', '/api/v1/stats/agents', json(team.marketer.token)) },
    ];
    const totalWeight = mix.reduce((n, m) => n + m.weight, 0);
    const stats = new Map<string, RouteStats>(mix.map((m) => [m.route, { expected: m.expected, latencies: [], errors: 0, statuses: new Map() }]));
    const firstErrors: string[] = [];

    // At the deadline the server gets SIGTERM while the clients go on, as a proxy's or a mail
    // provider's keep-alive connections would: a graceful stop must answer what it accepted (and
    // keep what that wrote), close its connections, and exit. A client whose new connection is
    // refused goes away; nothing else is acceptable (a reset, a wrong status).
    let stopping = false;
    let serverGone = false;
    let exitAt = 0;
    void exited.then(() => {
      serverGone = true;
      exitAt = performance.now();
    });
    const shutdown = { inFlight: 0, answered: 0, refused: 0, errors: 0 };
    let stopStart = 0;
    let stopWall = 0;
    let inFlight = 0;
    /** Answers per second of the load, to tell a slowdown over time from a noisy neighbour. */
    const perSecond: number[] = [];
    const loadStart = Date.now();
    const stopTimer = setTimeout(() => {
      stopping = true;
      shutdown.inFlight = inFlight;
      stopStart = performance.now();
      stopWall = Date.now();
      child.kill('SIGTERM');
    }, LOAD_SECONDS * 1000);
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (!serverGone) {
          let w = random() * totalWeight;
          const m = mix.find((x) => (w -= x.weight) < 0) ?? mix[0]!;
          const s = stats.get(m.route)!;
          const t0 = performance.now();
          const after = stopping;
          inFlight++;
          let res: Answer | null = null;
          let failure = '';
          try {
            res = await m.go();
          } catch (error) {
            failure = (error as { code?: string }).code ?? String(error);
          }
          inFlight--;
          const ok = res?.status === m.expected;
          if (ok) m.answered?.(res!);
          if (stopping) {
            // Answered (or not) once SIGTERM was sent: counted apart from the load's figures.
            if (ok) shutdown.answered++;
            else if (after && failure === 'ECONNREFUSED') {
              shutdown.refused++;
              break;
            } else {
              shutdown.errors++;
              if (firstErrors.length < 5) firstErrors.push(`(after SIGTERM, issued ${after ? 'after' : 'before'}, ${(performance.now() - stopStart).toFixed(0)} ms) ${m.route}: ${res ? `${res.status} ${res.body.slice(0, 200)}` : failure}`);
            }
            continue;
          }
          s.latencies.push(performance.now() - t0);
          const second = Math.floor((Date.now() - loadStart) / 1000);
          perSecond[second] = (perSecond[second] ?? 0) + 1;
          const code = res ? String(res.status) : 'socket';
          s.statuses.set(code, (s.statuses.get(code) ?? 0) + 1);
          if (!ok) {
            s.errors++;
            if (firstErrors.length < 5) firstErrors.push(`${m.route}: ${res ? `${res.status} ${res.body.slice(0, 200)}` : failure}`);
          }
        }
      }),
    );
    clearTimeout(stopTimer);
    const loadSeconds = (stopWall - loadStart) / 1000;
    for (const e of firstErrors) console.error('error:', e);

    // --- Graceful stop: the server answers what is in flight, writes its hit buffer and exits. ----
    const exitCode = await exited;
    const stopMs = exitAt - stopStart;
    agent.destroy();

    // --- Memory: first vs last window of the load. ------------------------------------------------
    const during = memory.map((m) => ({ ...m, s: (m.at - loadStart) / 1000 })).filter((m) => m.s >= 0 && m.s <= loadSeconds);
    const first = during.filter((m) => m.s < MEMORY_WINDOW_S);
    const last = during.filter((m) => m.s > loadSeconds - MEMORY_WINDOW_S);
    const mib = (b: number) => b / 1_048_576;
    const rssFirst = mib(median(first.map((m) => m.rss)));
    const rssLast = mib(median(last.map((m) => m.rss)));
    const heapFirst = mib(median(first.map((m) => m.heapUsed)));
    const heapLast = mib(median(last.map((m) => m.heapUsed)));

    // --- Acknowledged writes, counted in the database. --------------------------------------------
    const { db, client, close } = await openDatabase(dbUrl);
    let checks;
    try {
      const q = async (sqlText: string, args: (string | number)[]) => (await client.execute({ sql: sqlText, args })).rows;
      const captureIds = JSON.stringify(captured.map((c) => c.contactId));
      const contactsFound = new Map((await q('SELECT c.id, c.email FROM json_each(?) j JOIN contacts c ON c.id = j.value', [captureIds])).map((r) => [String(r.id), String(r.email)]));
      const eventsFound = new Set(
        (await q('SELECT e.id FROM json_each(?) j JOIN consent_events e ON e.id = j.value', [JSON.stringify(captured.flatMap((c) => c.eventIds))])).map((r) => String(r.id)),
      );
      const eventsPerContact = new Map(
        (await q('SELECT contact_id AS id, count(*) AS n FROM consent_events WHERE contact_id IN (SELECT value FROM json_each(?)) GROUP BY contact_id', [captureIds])).map((r) => [String(r.id), Number(r.n)]),
      );
      const capturesFound = captured.filter((c) => contactsFound.get(c.contactId) === c.email && c.eventIds.length === scripts.length && c.eventIds.every((id) => eventsFound.has(id))).length;
      const duplicateEvents = captured.reduce((n, c) => n + Math.max(0, (eventsPerContact.get(c.contactId) ?? 0) - scripts.length), 0);

      const unsubIds = JSON.stringify([...unsubscribed]);
      const withdrawnRows = await q(
        `SELECT c.id,
                (SELECT status FROM consent_state s WHERE s.contact_id = c.id AND s.purpose = 'newsletter') AS state,
                (SELECT count(*) FROM consent_events e WHERE e.contact_id = c.id AND e.purpose = 'newsletter' AND e.action = 'withdrawn') AS withdrawals,
                (SELECT count(*) FROM suppressions p WHERE p.workspace_id = c.workspace_id AND p.email_hash = c.email_hash AND p.lifted_at IS NULL) AS suppressed
         FROM json_each(?) j JOIN contacts c ON c.id = j.value`,
        [unsubIds],
      );
      const unsubscribesFound = withdrawnRows.filter((r) => r.state === 'withdrawn' && Number(r.withdrawals) >= 1 && Number(r.suppressed) === 1).length;
      const duplicateWithdrawals = withdrawnRows.reduce((n, r) => n + Math.max(0, Number(r.withdrawals) - 1), 0);

      const hitsOf = async (type: 'open' | 'click') =>
        Number((await q('SELECT coalesce(sum(hits), 0) AS n FROM events WHERE campaign_id = ? AND type = ?', [campaign.campaignId, type]))[0]!.n);
      const anonymous = Number((await q('SELECT coalesce(sum(hits), 0) AS n FROM anonymous_opens WHERE campaign_id = ?', [campaign.campaignId]))[0]!.n);
      const opensRecorded = (await hitsOf('open')) + anonymous;
      const clicksRecorded = await hitsOf('click');
      const s = await campaignStats(db, ws, campaign.campaignId, 'none');
      const opensInStats = s.total.counts.humanOpens + s.total.counts.machineOpens + s.anonymousOpens.human + s.anonymousOpens.machine;
      const clicksInStats = s.total.counts.humanClicks + s.total.counts.machineClicks;
      const chain = await verifyChain(db, ws);
      checks = {
        capturesFound,
        duplicateEvents,
        unsubscribesFound,
        duplicateWithdrawals,
        unsubscribedInStats: s.total.counts.unsubscribed,
        opensRecorded,
        opensInStats,
        clicksRecorded,
        clicksInStats,
        clicksMachine: s.total.counts.machineClicks,
        chain,
      };
    } finally {
      close();
    }

    // --- The tables. ------------------------------------------------------------------------------
    const routes = [...stats].map(([route, s]) => {
      const sorted = [...s.latencies].sort((a, b) => a - b);
      return { route, n: sorted.length, errors: s.errors, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? NaN, statuses: [...s.statuses].map(([k, v]) => `${k}×${v}`).join(' ') };
    });
    const answered = routes.reduce((n, r) => n + r.n, 0);
    const errors = routes.reduce((n, r) => n + r.errors, 0);
    const header = ['route', 'requests', 'errors', 'p50 ms', 'p99 ms', 'max ms', 'statuses'];
    const cells = routes.map((r) => [r.route, String(r.n), String(r.errors), r.p50.toFixed(1), r.p99.toFixed(1), r.max.toFixed(1), r.statuses]);
    const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
    const line = (c: string[]) => `| ${c.map((x, i) => (i > 0 && i < 6 ? x.padStart(widths[i]!) : x.padEnd(widths[i]!))).join(' | ')} |`;
    console.log(`Per route, ${LOAD_SECONDS} s at ${CONNECTIONS} connections (seeded ${RECIPIENTS} sends in ${(seedMs / 1000).toFixed(1)} s; shared 2-core machine, absolute times are noisy):\n`);
    console.log([line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n'));

    const step = Math.max(1, Math.round(LOAD_SECONDS / 12));
    const trace = during.filter((_, i) => i % step === 0).map((m) => `${m.s.toFixed(0)}s ${mib(m.rss).toFixed(0)}/${mib(m.heapUsed).toFixed(0)}`);
    console.log(`\nServer memory while loaded, RSS/heap MiB: ${trace.join(', ')}`);
    const rateOver = (from: number, to: number) => {
      let n = 0;
      for (let i = Math.floor(from); i < Math.ceil(to); i++) n += perSecond[i] ?? 0;
      return n / (Math.ceil(to) - Math.floor(from));
    };
    const rates = [];
    for (let from = 0; from < loadSeconds; from += step) rates.push(`${from}s ${rateOver(from, Math.min(loadSeconds, from + step)).toFixed(0)}`);
    console.log(`Answers per second: ${rates.join(', ')}\n`);
    const rateFirst = rateOver(0, MEMORY_WINDOW_S);
    const rateLast = rateOver(loadSeconds - MEMORY_WINDOW_S, loadSeconds);

    const acknowledgedCaptures = captured.length;
    const perRoute: Figure[] = routes.flatMap((r) => [
      { figure: `${r.route}: requests`, value: r.n, unit: 'req' },
      { figure: `${r.route}: errors`, value: r.errors, unit: 'req', target: '<= 0' },
      { figure: `${r.route}: p50`, value: r.p50, unit: 'ms' },
      { figure: `${r.route}: p99`, value: r.p99, unit: 'ms' },
      { figure: `${r.route}: max`, value: r.max, unit: 'ms' },
    ]);
    return [
      { figure: `mixed load: ${CONNECTIONS} connections for ${loadSeconds.toFixed(0)} s, throughput`, value: answered / loadSeconds, unit: 'req/s' },
      { figure: 'requests answered', value: answered, unit: 'req' },
      { figure: `throughput, last ${MEMORY_WINDOW_S} s / first ${MEMORY_WINDOW_S} s`, value: rateLast / rateFirst, unit: 'x' },
      { figure: 'errors (wrong status, socket error, timeout), all routes', value: errors, unit: 'req', target: '<= 0' },
      { figure: 'server log lines at level error (or stderr output)', value: serverErrors, unit: 'lines', target: '<= 0' },
      { figure: 'server log lines at level warn', value: serverWarnings, unit: 'lines' },
      ...perRoute,
      { figure: `server RSS, median of the first ${MEMORY_WINDOW_S} s`, value: rssFirst, unit: 'MiB' },
      { figure: `server RSS, median of the last ${MEMORY_WINDOW_S} s`, value: rssLast, unit: 'MiB' },
      { figure: 'server RSS, last / first', value: rssLast / rssFirst, unit: 'x', target: '<= 1.3' },
      { figure: 'server RSS, peak during the load', value: mib(Math.max(...during.map((m) => m.rss))), unit: 'MiB' },
      { figure: `server V8 heap used, median of the first ${MEMORY_WINDOW_S} s`, value: heapFirst, unit: 'MiB' },
      { figure: `server V8 heap used, median of the last ${MEMORY_WINDOW_S} s`, value: heapLast, unit: 'MiB' },
      { figure: 'server V8 heap used, last / first', value: heapLast / heapFirst, unit: 'x', target: '<= 1.3' },
      { figure: 'server V8 heap used, peak during the load', value: mib(Math.max(...during.map((m) => m.heapUsed))), unit: 'MiB' },
      { figure: 'memory samples (1 per second)', value: during.length, unit: 'samples' },
      { figure: 'requests in flight when SIGTERM arrived', value: shutdown.inFlight, unit: 'req' },
      { figure: 'requests answered after SIGTERM (in flight, or on open keep-alive connections)', value: shutdown.answered, unit: 'req' },
      { figure: 'new connections refused after SIGTERM (the client then stops)', value: shutdown.refused, unit: 'req' },
      { figure: 'requests failed after SIGTERM (reset, timeout, wrong status)', value: shutdown.errors, unit: 'req', target: '<= 0' },
      { figure: 'graceful shutdown (SIGTERM): exit code', value: exitCode ?? -1, unit: 'code', target: '<= 0' },
      { figure: 'graceful shutdown: SIGTERM to exit', value: stopMs, unit: 'ms' },
      { figure: 'captures acknowledged (201)', value: acknowledgedCaptures, unit: 'captures' },
      { figure: 'captures found afterwards (contact and every ledger event)', value: checks.capturesFound, unit: 'captures' },
      { figure: 'captures acknowledged but missing', value: acknowledgedCaptures - checks.capturesFound, unit: 'captures', target: '<= 0' },
      { figure: 'ledger events beyond one per answer (retries written twice)', value: checks.duplicateEvents, unit: 'events', target: '<= 0' },
      { figure: 'retries answered without Idempotent-Replayed: true', value: replaysWithoutFlag, unit: 'req', target: '<= 0' },
      { figure: 'unsubscribes acknowledged (200), distinct recipients', value: unsubscribed.size, unit: 'recipients' },
      { figure: 'of which posted again (provider retry)', value: unsubscribeRepeats, unit: 'req' },
      { figure: 'unsubscribes found afterwards (withdrawn, ledger event, suppressed)', value: checks.unsubscribesFound, unit: 'recipients' },
      { figure: 'unsubscribes acknowledged but missing', value: unsubscribed.size - checks.unsubscribesFound, unit: 'recipients', target: '<= 0' },
      { figure: 'withdrawal events beyond one per recipient', value: checks.duplicateWithdrawals, unit: 'events', target: '<= 0' },
      { figure: 'unsubscribes in the campaign stats ≠ acknowledged (difference)', value: Math.abs(checks.unsubscribedInStats - unsubscribed.size), unit: 'recipients', target: '<= 0' },
      { figure: 'pixel hits answered (200)', value: opensAnswered, unit: 'hits' },
      { figure: 'pixel hits recorded (events + anonymous)', value: checks.opensRecorded, unit: 'hits' },
      { figure: 'pixel hits answered ≠ recorded (difference)', value: Math.abs(opensAnswered - checks.opensRecorded), unit: 'hits', target: '<= 0' },
      { figure: 'pixel hits answered ≠ counted in the campaign stats', value: Math.abs(opensAnswered - checks.opensInStats), unit: 'hits', target: '<= 0' },
      { figure: 'clicks answered (302)', value: clicksAnswered, unit: 'hits' },
      { figure: 'clicks recorded (events)', value: checks.clicksRecorded, unit: 'hits' },
      { figure: 'of which classified machine (bursts over one message’s links)', value: checks.clicksMachine, unit: 'hits' },
      { figure: 'clicks answered ≠ recorded (difference)', value: Math.abs(clicksAnswered - checks.clicksRecorded), unit: 'hits', target: '<= 0' },
      { figure: 'clicks answered ≠ counted in the campaign stats', value: Math.abs(clicksAnswered - checks.clicksInStats), unit: 'hits', target: '<= 0' },
      { figure: `consent ledger hash chain verifies (${checks.chain.count} events)`, value: checks.chain.ok ? 1 : 0, unit: 'bool', target: '>= 1' },
    ];
  })().finally(cleanup);
}
