/**
 * Tracking (issue 6), side by side in one run:
 *  - the open pixel GET /o/:token: requests/s of the real app served by @hono/node-server on
 *    127.0.0.1, with the real buffered hit sink writing the events to the temp-file libSQL
 *    database, ÷ that of a bare Hono route answering the same 43-byte GIF on the same server.
 *    Target ≥ 0.5. The load comes from autocannon in a worker thread (the other core), over the
 *    tokens of 50,000 messages of one sent campaign in random order (1,000 sent by the app's
 *    sender, the rest added in SQL with tokens minted by the same code and keys). Each round runs
 *    bare, then the app with a sink that drops hits (what the route alone costs), then the app
 *    recording them; the median of the rounds' ratios is taken. The server time per request
 *    (1 / rate) is split into bare, the app's route and middleware, and recording the hit, and
 *    the sink's write transactions are timed per hit;
 *  - the click redirect GET /c/:token (302 to the frozen link), the same way, against a bare
 *    302 to the same URL. Target ≥ 0.5;
 *  - the stats: campaignStats(…, 'agent') and (…, 'segment') over a campaign of 100,000 sends and
 *    1,000,000 events, ÷ a plain `SELECT count(*) FROM events WHERE campaign_id = ?`. Target ≤ 3.
 *    Each query campaignStats runs is timed apart (a timing wrapper around the libSQL client),
 *    so the table says what dominates.
 * Every hit answered must be recorded: events (and anonymous opens) are counted afterwards.
 */
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import { randomBytes } from 'node:crypto';
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Client, InStatement } from '@libsql/client';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/libsql';
import { Hono } from 'hono';
import { createApp } from '../../src/app.js';
import type { Db } from '../../src/db/client.js';
import * as schema from '../../src/db/schema.js';
import { gifResponse } from '../../src/http/pages/tracking-routes.js';
import type { Logger } from '../../src/lib/logger.js';
import { bufferedHitSink } from '../../src/tracking/hits.js';
import { campaignStats } from '../../src/tracking/stats.js';
import { clickToken, openToken } from '../../src/tracking/tokens.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { makeUser } from '../helpers/factories.js';
import { HUMAN_UA, trackedCampaign } from '../helpers/tracked-campaign.js';
import type { Figure } from './run.js';

const REAL_SENDS = 1_000;
const RECIPIENTS = 50_000;
const CONNECTIONS = 20;
const DURATION_S = 5;
const WARMUP_S = 2;
const ROUNDS = 3;
const STATS_SENDS = 100_000;
const EVENTS_PER_SEND = 10;
const STATS_RUNS = 5;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface Load {
  completed: number;
  duration: number;
  statusCodes: Record<string, number>;
  errors: number;
  timeouts: number;
  p50: number;
  p99: number;
}

/** autocannon in a worker thread (CommonJS, evaluated), so the load generator has its own core. */
const LOAD_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const autocannon = require(workerData.autocannon);
const { url, paths, connections, duration, headers } = workerData;
let i = 0;
const opts = {
  url, connections, duration, headers,
  requests: [{ method: 'GET', setupRequest: (req) => { req.path = paths[i++ % paths.length]; return req; } }],
};
autocannon(opts, (error, raw) => {
  if (error) return parentPort.postMessage({ error: String(error) });
  const r = autocannon.aggregateResult([raw], opts);
  const statusCodes = {};
  for (const [code, s] of Object.entries(r.statusCodeStats)) statusCodes[code] = s.count;
  parentPort.postMessage({ completed: raw.totalCompletedRequests, duration: r.duration, statusCodes, errors: r.errors, timeouts: r.timeouts, p50: r.latency.p50, p99: r.latency.p99 });
});
`;
const autocannonPath = createRequire(import.meta.url).resolve('autocannon');

function load(url: string, paths: string[], duration: number): Promise<Load> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(LOAD_WORKER, {
      eval: true,
      workerData: { autocannon: autocannonPath, url, paths, connections: CONNECTIONS, duration, headers: { 'user-agent': HUMAN_UA } },
    });
    worker.once('message', (m: Load & { error?: string }) => {
      void worker.terminate();
      if (m.error) reject(new Error(m.error));
      else resolve(m);
    });
    worker.once('error', reject);
  });
}

/** Requests per second answered with `status`. */
const rateOf = (l: Load, status: number) => (l.statusCodes[status] ?? 0) / l.duration;

/** A deterministic shuffle: readers open in no particular order (no locality of send ids). */
function shuffled<T>(xs: T[]): T[] {
  const out = [...xs];
  let seed = 42;
  for (let i = out.length - 1; i > 0; i--) {
    seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * A sent campaign of RECIPIENTS messages: the first REAL_SENDS sent for real by the app's sender
 * (their tokens read from the dev outbox), the rest added to the same campaign in SQL (contacts
 * with open-tracking consent, sends rows as the sender leaves them) with tokens minted by
 * src/tracking/tokens.ts with the server's keys, after checking that minting reproduces every
 * token the sender put in the real messages.
 */
async function campaignWithTokens(t: TestApp, team: Awaited<ReturnType<TestApp['workspaceWithTeam']>>) {
  const campaign = await trackedCampaign(t, team, [{ prefix: 'r', n: REAL_SENDS, openTracking: true, ownerAgentId: team.agent.id }]);
  const keys = t.deps.signingKeys;
  for (const r of campaign.recipients) {
    const minted = [0, 1, 2].map((link) => `/c/${clickToken(keys, { campaignId: campaign.campaignId, sendId: r.sendId, link })}`);
    if (r.pixel !== `/o/${openToken(keys, r.sendId)}` || r.clicks.length !== 3 || r.clicks.some((c) => !minted.includes(c))) {
      throw new Error(`minted tokens differ from the sender's for send ${r.sendId}`);
    }
  }
  const ws = team.workspace.id;
  const sentAt = Number((await t.client.execute({ sql: 'SELECT max(sent_at) AS at FROM sends WHERE campaign_id = ?', args: [campaign.campaignId] })).rows[0]!.at);
  const more = RECIPIENTS - REAL_SENDS;
  const prefix = `ct_bt_${ws.slice(-6)}_`;
  const n = `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ${more})`;
  await t.client.batch(
    [
      {
        sql: `${n} INSERT INTO contacts (id, workspace_id, email, first_name, attributes, locale, owner_agent_id, created_at, updated_at, last_prospect_action_at)
              SELECT ? || printf('%07d', i), ?, 'bt' || i || '@tracking.example', 'Prénom' || i, '{}', 'fr', ?, CAST(? AS INTEGER), CAST(? AS INTEGER), CAST(? AS INTEGER) FROM n`,
        args: [prefix, ws, team.agent.id, sentAt, sentAt, sentAt],
      },
      {
        sql: `${n}, p(purpose) AS (VALUES ('newsletter'), ('open_tracking'))
              INSERT INTO consent_state (workspace_id, contact_id, purpose, status, confirmed_at, since, last_event_id)
              SELECT ?, ? || printf('%07d', i), purpose, 'granted', CAST(? AS INTEGER), CAST(? AS INTEGER), 'seed' FROM n, p`,
        args: [ws, prefix, sentAt, sentAt],
      },
      {
        sql: `${n} INSERT INTO sends (workspace_id, campaign_id, contact_id, status, batch, provider_id, segment_labels, owner_agent_id, created_at, sent_at, tracks_opens)
              SELECT ?, ?, ? || printf('%07d', i), 'sent', 100000 + i / 100, 'prov-bt-' || i, '[]', ?, CAST(? AS INTEGER), CAST(? AS INTEGER), 1 FROM n`,
        args: [ws, campaign.campaignId, prefix, team.agent.id, sentAt, sentAt],
      },
    ],
    'write',
  );
  await t.client.execute('PRAGMA wal_checkpoint(TRUNCATE)');
  const ids = (await t.client.execute({ sql: 'SELECT id FROM sends WHERE campaign_id = ? ORDER BY id', args: [campaign.campaignId] })).rows.map((r) => Number(r.id));
  if (ids.length !== RECIPIENTS) throw new Error(`expected ${RECIPIENTS} sends, got ${ids.length}`);
  const order = shuffled(ids);
  return {
    campaignId: campaign.campaignId,
    pixels: order.map((id) => `/o/${openToken(keys, id)}`),
    // One link per message: three links of one message within seconds would (rightly) be a burst.
    clicks: order.map((id) => `/c/${clickToken(keys, { campaignId: campaign.campaignId, sendId: id, link: id % 3 })}`),
  };
}

async function trackingThroughput(t: TestApp, team: Awaited<ReturnType<TestApp['workspaceWithTeam']>>) {
  const { campaignId, pixels, clicks } = await campaignWithTokens(t, team);

  // The app as served on Node, with the real buffered sink (1 s or 2,000 hits per write), whose
  // transactions are timed. Readers open an hour after the send, and time runs on from there
  // (a click is then no "too soon after delivery" scanner, and history windows slide as in life).
  let appErrors = 0;
  const logger: Logger = {
    info() {},
    warn() {},
    error(msg, fields) {
      if (++appErrors <= 3) console.error(msg, fields);
    },
  };
  let writeMs = 0;
  const sinkDb = new Proxy(t.db, {
    get(target, prop) {
      if (prop === 'transaction') {
        return async (...args: Parameters<Db['transaction']>) => {
          const t0 = performance.now();
          try {
            return await target.transaction(...args);
          } finally {
            writeMs += performance.now() - t0;
          }
        };
      }
      return Reflect.get(target, prop, target) as unknown;
    },
  });
  const hits = bufferedHitSink(sinkDb, logger);
  const readersFrom = t.clock.now().getTime() + 3_600_000;
  const p0 = performance.now();
  const clock = { now: () => new Date(readersFrom + Math.round(performance.now() - p0)) };
  const deps = { ...t.deps, clock, logger, hits, clientIp: (c: Parameters<typeof getConnInfo>[0]) => getConnInfo(c).remote.address };
  // The same app with a sink that drops every hit: what the route costs without the recording.
  const dropping = { record() {}, flush: async () => {}, close: async () => {} };
  const frozen = (await t.client.execute({ sql: 'SELECT url FROM campaign_links WHERE campaign_id = ? AND tracked ORDER BY idx', args: [campaignId] })).rows.map((r) => String(r.url));
  let redirectTo = frozen[0]!;
  const root = new Hono();
  root.get('/bare.gif', () => gifResponse());
  root.get('/bare-302', (c) => {
    c.header('Referrer-Policy', 'no-referrer');
    return c.redirect(redirectTo, 302);
  });
  root.route('/unrecorded', createApp({ ...deps, hits: dropping }));
  root.route('/', createApp(deps));
  let resolveUrl!: (url: string) => void;
  const ready = new Promise<string>((r) => (resolveUrl = r));
  const server = serve({ fetch: root.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => resolveUrl(`http://127.0.0.1:${info.port}`));
  const url = await ready;
  deps.publicBaseUrl = url;

  const recorded = async (type: 'open' | 'click') => {
    const e = (await t.client.execute({ sql: 'SELECT count(*) AS n, coalesce(sum(hits), 0) AS hits FROM events WHERE campaign_id = ? AND type = ?', args: [campaignId, type] })).rows[0]!;
    const a = (await t.client.execute({ sql: 'SELECT coalesce(sum(hits), 0) AS hits FROM anonymous_opens WHERE campaign_id = ?', args: [campaignId] })).rows[0]!;
    return { rows: Number(e.n), hits: Number(e.hits) + (type === 'open' ? Number(a.hits) : 0) };
  };

  const measure = async () => {
    // The first click of a campaign loads its frozen links; later ones read them from the cache.
    const once = async (path: string) => {
      const t0 = performance.now();
      const res = await fetch(`${url}${path}`, { redirect: 'manual', headers: { 'user-agent': HUMAN_UA } });
      await res.arrayBuffer();
      return { ms: performance.now() - t0, location: res.headers.get('location'), status: res.status };
    };
    const cold = await once(clicks[0]!);
    const warm = await once(clicks[1]!);
    if (cold.status !== 302 || !cold.location) throw new Error(`click redirect answered ${cold.status}`);
    redirectTo = cold.location;
    await hits.flush();
    const before = { open: await recorded('open'), click: await recorded('click') };

    /** Rounds of bare, unrecorded, tracked runs; ratios per round, medians across rounds. */
    const compare = async (barePath: string, paths: string[], status: number) => {
      const unrecordedPaths = paths.map((p) => `/unrecorded${p}`);
      const writeStart = writeMs;
      await load(url, [barePath], WARMUP_S);
      await load(url, unrecordedPaths, WARMUP_S);
      let answered = (await load(url, paths, WARMUP_S)).statusCodes[status] ?? 0;
      await hits.flush();
      const m = { bare: [] as number[], unrecorded: [] as number[], tracked: [] as number[], ratio: [] as number[], unrecordedRatio: [] as number[], sustained: [] as number[], drain: [] as number[], p99: [] as number[] };
      let unexpected = 0;
      for (let k = 0; k < ROUNDS; k++) {
        const b = await load(url, [barePath], DURATION_S);
        const u = await load(url, unrecordedPaths, DURATION_S);
        const r = await load(url, paths, DURATION_S);
        // What the run left in the buffer is written now; a sustained rate must include it.
        const t0 = performance.now();
        await hits.flush();
        const drainMs = performance.now() - t0;
        answered += r.statusCodes[status] ?? 0;
        for (const l of [b, u, r]) unexpected += l.completed - (l.statusCodes[status] ?? 0) + l.errors + l.timeouts;
        m.bare.push(rateOf(b, status));
        m.unrecorded.push(rateOf(u, status));
        m.tracked.push(rateOf(r, status));
        m.ratio.push(rateOf(r, status) / rateOf(b, status));
        m.unrecordedRatio.push(rateOf(u, status) / rateOf(b, status));
        m.sustained.push((r.statusCodes[status] ?? 0) / (r.duration + drainMs / 1000) / rateOf(b, status));
        m.drain.push(drainMs);
        m.p99.push(r.p99);
      }
      const out = Object.fromEntries(Object.entries(m).map(([k, v]) => [k, median(v)])) as Record<keyof typeof m, number>;
      return { ...out, answered, unexpected, writeMs: writeMs - writeStart };
    };

    const pixel = await compare('/bare.gif', pixels, 200);
    const click = await compare('/bare-302', clicks, 302);
    return { before, cold, warm, pixel, click };
  };
  // Requests still in flight when a run stopped are answered and recorded after it: count
  // the rows once the server is closed and the sink has written everything.
  const { before, cold, warm, pixel, click } = await measure().finally(async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      if ('closeAllConnections' in server) server.closeAllConnections();
    });
    await hits.close();
  });
  const pixelAfter = await recorded('open');
  const clickAfter = await recorded('click');
  const clickAnswered = click.answered + 2; // with the cold and warm requests above
  const clickBefore = { rows: before.click.rows - 2, hits: before.click.hits - 2 };
  const clickMachine = Number(
    (await t.client.execute({ sql: "SELECT coalesce(sum(hits), 0) AS n FROM events WHERE campaign_id = ? AND type = 'click' AND machine", args: [campaignId] })).rows[0]!.n,
  );
  const rolled = Number((await t.client.execute({ sql: 'SELECT coalesce(sum(human_opens), 0) AS n FROM sends WHERE campaign_id = ?', args: [campaignId] })).rows[0]!.n);
  const pixelHits = pixelAfter.hits - before.open.hits;
  const clickHits = clickAfter.hits - clickBefore.hits;
  const us = (rate: number) => 1e6 / rate;

  const figures = (name: string, r: typeof pixel, bareName: string): Figure[] => [
    { figure: `${name}: ${bareName}, ${CONNECTIONS} connections (median of ${ROUNDS})`, value: r.bare, unit: 'req/s' },
    { figure: `${name}: app route, hits dropped (no-op sink)`, value: r.unrecorded, unit: 'req/s' },
    { figure: `${name}: app route, hits written (real buffered sink)`, value: r.tracked, unit: 'req/s' },
    { figure: `${name} / bare (median ratio)`, value: r.ratio, unit: 'x', target: '>= 0.5' },
    { figure: `${name} / bare, counting the buffer drain after each run`, value: r.sustained, unit: 'x' },
    { figure: `${name} with hits dropped / bare`, value: r.unrecordedRatio, unit: 'x' },
    { figure: `${name}: server time per request (1 / rate), bare`, value: us(r.bare), unit: 'µs' },
    { figure: `${name}: + the app's route and middleware (hits dropped)`, value: us(r.unrecorded) - us(r.bare), unit: 'µs' },
    { figure: `${name}: + recording the hit (buffered sink)`, value: us(r.tracked) - us(r.unrecorded), unit: 'µs' },
    { figure: `${name}: buffer drain after a run (median)`, value: r.drain, unit: 'ms' },
    { figure: `${name}: p99 latency`, value: r.p99, unit: 'ms' },
  ];
  return [
    ...figures('pixel', pixel, 'bare GIF route'),
    { figure: 'pixel: sink transactions, per hit written', value: (pixel.writeMs * 1000) / pixelHits, unit: 'µs' },
    { figure: 'pixel: open event rows written', value: pixelAfter.rows - before.open.rows, unit: 'rows' },
    { figure: 'pixel: open hits recorded (events + anonymous)', value: pixelHits, unit: 'hits' },
    { figure: 'pixel: sends.human_opens summed after the runs', value: rolled, unit: 'opens' },
    { figure: 'pixel: answered but not recorded', value: Math.max(0, pixel.answered - pixelHits), unit: 'hits', target: '<= 0' },
    ...figures('click', click, 'bare 302 route'),
    { figure: 'click: sink transactions, per hit written', value: (click.writeMs * 1000) / clickHits, unit: 'µs' },
    { figure: 'click: first request of the campaign (loads frozen links)', value: cold.ms, unit: 'ms' },
    { figure: 'click: second request (cached links)', value: warm.ms, unit: 'ms' },
    { figure: 'click: event rows written', value: clickAfter.rows - clickBefore.rows, unit: 'rows' },
    { figure: 'click: hits recorded', value: clickHits, unit: 'hits' },
    { figure: 'click: of which classified machine', value: clickMachine, unit: 'hits' },
    { figure: 'click: answered but not recorded', value: Math.max(0, clickAnswered - clickHits), unit: 'hits', target: '<= 0' },
    { figure: 'pixel and click: unexpected statuses, errors, timeouts', value: pixel.unexpected + click.unexpected, unit: 'requests', target: '<= 0' },
    { figure: 'app errors logged (sink, handlers)', value: appErrors, unit: 'errors', target: '<= 0' },
  ];
}

/**
 * A campaign of 100,000 sends and 1,000,000 events, written by INSERT … SELECT over recursive
 * CTEs in a few large transactions, with rollup columns computed from those events.
 */
async function seedStatsCampaign(t: TestApp, workspaceId: string, template: string) {
  const campaignId = `cmp_${randomBytes(16).toString('hex')}`;
  const client = t.client;
  // Six agents and some unowned leads: the 'agent' grouping's rows.
  const agents: string[] = [];
  for (let i = 0; i < 6; i++) agents.push((await makeUser(t.db, workspaceId, 'agent')).id);
  const base = t.clock.now().getTime() - 7 * 86_400_000;
  const prefix = `ct_bs_${campaignId.slice(-8)}_`;
  await client.batch(
    [
      { sql: 'CREATE TEMP TABLE bench_campaign AS SELECT * FROM campaigns WHERE id = ?', args: [template] },
      { sql: "UPDATE bench_campaign SET id = ?, name = 'Bench stats', started_at = ?", args: [campaignId, base] },
      'INSERT INTO campaigns SELECT * FROM bench_campaign',
      'DROP TABLE bench_campaign',
      { sql: 'INSERT INTO campaign_links (campaign_id, idx, url, tracked) SELECT ?, idx, url, tracked FROM campaign_links WHERE campaign_id = ?', args: [campaignId, template] },
      {
        sql: `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)
              INSERT INTO contacts (id, workspace_id, email, first_name, attributes, locale, owner_agent_id, source_campaign, created_at, updated_at, last_prospect_action_at)
              SELECT ? || printf('%07d', i), ?, 'bs' || i || '@stats.example', 'Prénom' || i, '{}', 'fr', json_extract(?, '$[' || (i % 7) || ']'),
                     CASE i % 3 WHEN 0 THEN 'Voyage à Rome' WHEN 1 THEN 'Salon du tourisme' ELSE NULL END, ?, ?, ?
              FROM n`,
        args: [STATS_SENDS, prefix, workspaceId, JSON.stringify(agents), base, base, base],
      },
      {
        sql: `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)
              INSERT INTO sends (workspace_id, campaign_id, contact_id, status, batch, provider_id, segment_labels, owner_agent_id, source_campaign, created_at, sent_at, tracks_opens)
              SELECT ?, ?, ? || printf('%07d', i), 'sent', i / 100, 'prov-' || ? || '-' || i,
                     CASE i % 4 WHEN 0 THEN '["Chauds"]' WHEN 1 THEN '["Tièdes"]' WHEN 2 THEN '["Froids","Relance"]' ELSE '[]' END,
                     json_extract(?, '$[' || (i % 7) || ']'),
                     CASE i % 3 WHEN 0 THEN 'Voyage à Rome' WHEN 1 THEN 'Salon du tourisme' ELSE NULL END,
                     ?, CAST(? AS INTEGER) + (i / 100) * 1000, i % 10 < 8
              FROM n`,
        args: [STATS_SENDS, workspaceId, campaignId, prefix, campaignId, JSON.stringify(agents), base, base],
      },
    ],
    'write',
  );
  const firstSend = Number((await client.execute({ sql: 'SELECT min(id) AS id FROM sends WHERE campaign_id = ?', args: [campaignId] })).rows[0]!.id);
  // Ten events per message: delivery (or bounce); where the pixel was carried (8 in 10), six or
  // seven opens (Apple MPP for half of those recipients) and two clicks; elsewhere four clicks and
  // delivery delays. Some clicks are machines' (too soon, a scanner's user agent, the honeypot
  // for one message in ten); now and then a complaint or an unsubscribe. About 2 opens per click.
  const total = STATS_SENDS * EVENTS_PER_SEND;
  const CHUNK = 250_000;
  for (let from = 0; from < total; from += CHUNK) {
    await client.batch(
      [
        {
          sql: `WITH RECURSIVE k(n) AS (SELECT CAST(? AS INTEGER) UNION ALL SELECT n + 1 FROM k WHERE n + 1 < ?),
                     x AS (SELECT n / ${EVENTS_PER_SEND} AS i, n % ${EVENTS_PER_SEND} AS j FROM k),
                     y AS (SELECT i, j, CASE
                              WHEN j = 0 THEN CASE WHEN i % 50 = 0 THEN 'bounced' ELSE 'delivered' END
                              WHEN i % 10 >= 8 THEN CASE WHEN j <= 4 THEN 'click' ELSE 'delivery_delayed' END
                              WHEN j <= 6 THEN 'open'
                              WHEN j <= 8 THEN 'click'
                              ELSE CASE WHEN i % 500 = 0 THEN 'complained' WHEN i % 40 = 0 THEN 'unsubscribe' WHEN i % 7 = 0 THEN 'delivery_delayed' ELSE 'open' END
                              END AS type FROM x),
                     z AS (SELECT i, j, type, CASE
                              WHEN type = 'open' AND j = 1 AND i % 2 = 0 THEN 'apple_mpp'
                              WHEN type = 'click' AND j = 8 AND i % 10 = 3 THEN 'honeypot'
                              WHEN type = 'click' AND j = 7 AND i % 5 = 0 THEN 'too_soon_after_delivery'
                              WHEN type = 'click' AND j IN (1, 8) AND i % 11 = 0 THEN 'scanner_user_agent'
                              ELSE NULL END AS reason FROM y)
                INSERT INTO events (workspace_id, campaign_id, send_id, type, link_index, machine, machine_reason, user_agent, hits, detail, occurred_at)
                SELECT ?, ?, CAST(? AS INTEGER) + i, type,
                       CASE WHEN type <> 'click' THEN NULL WHEN j = 8 AND i % 10 = 3 THEN -1 ELSE (i + j) % 3 END,
                       reason IS NOT NULL, reason,
                       CASE WHEN type IN ('open', 'click') THEN CASE WHEN reason IS NULL THEN ? ELSE 'Mozilla/5.0' END END,
                       CASE WHEN j = 2 THEN 1 + i % 3 ELSE 1 END,
                       CASE WHEN type = 'bounced' THEN 'Permanent: mailbox does not exist' END,
                       CAST(? AS INTEGER) + (i / 100) * 1000 + j * 600000 + i % 1000
                FROM z`,
          args: [from, Math.min(total, from + CHUNK), workspaceId, campaignId, firstSend, HUMAN_UA, base],
        },
      ],
      'write',
    );
  }
  // The rollup columns, as recomputeSendOutcomes leaves them, in one pass; conversions for 1 %.
  await client.batch(
    [
      {
        sql: `UPDATE sends SET delivered_at = a.d, bounced_at = a.b, complained_at = a.c, unsubscribed_at = a.u,
                human_opens = a.ho, machine_opens = a.mo, human_clicks = a.hc, machine_clicks = a.mc,
                conversions = CASE WHEN sends.id % 97 = 0 THEN 1 ELSE 0 END, conversion_value = CASE WHEN sends.id % 97 = 0 THEN 45000 ELSE 0 END
              FROM (SELECT send_id,
                      min(CASE WHEN type = 'delivered' THEN occurred_at END) AS d,
                      min(CASE WHEN type = 'bounced' THEN occurred_at END) AS b,
                      min(CASE WHEN type = 'complained' THEN occurred_at END) AS c,
                      min(CASE WHEN type = 'unsubscribe' THEN occurred_at END) AS u,
                      coalesce(sum(CASE WHEN type = 'open' AND NOT machine THEN hits END), 0) AS ho,
                      coalesce(sum(CASE WHEN type = 'open' AND machine THEN hits END), 0) AS mo,
                      coalesce(sum(CASE WHEN type = 'click' AND NOT machine THEN hits END), 0) AS hc,
                      coalesce(sum(CASE WHEN type = 'click' AND machine THEN hits END), 0) AS mc
                    FROM events WHERE campaign_id = ? GROUP BY send_id) a
              WHERE sends.id = a.send_id`,
        args: [campaignId],
      },
      { sql: 'INSERT INTO anonymous_opens (campaign_id, machine, hits) VALUES (?, 0, 412), (?, 1, 1730)', args: [campaignId, campaignId] },
    ],
    'write',
  );
  await client.execute('PRAGMA wal_checkpoint(TRUNCATE)');
  const n = Number((await client.execute({ sql: 'SELECT count(*) AS n FROM events WHERE campaign_id = ?', args: [campaignId] })).rows[0]!.n);
  return { campaignId, events: n };
}

/** Which of campaignStats' queries a statement is. */
function partOf(text: string): string {
  if (/from "campaigns"/i.test(text)) return 'campaign lookup';
  if (/NULL AS key/.test(text)) return 'rollup: total (sends, grouped none)';
  if (/owner_agent_id AS key/.test(text)) return "rollup: by agent (sends, 'agent')";
  if (/json_each/.test(text)) return "rollup: by segment (sends, json_each, 'segment')";
  if (/anonymous_opens/.test(text)) return 'anonymous opens';
  if (/count\(DISTINCT e\.send_id\)/.test(text)) return 'per-link sub-queries (events, 2 per link)';
  if (/machine_reason/.test(text)) return 'machine reasons (events, grouped)';
  return 'other';
}

async function statsCost(t: TestApp, workspaceId: string, template: string): Promise<Figure[]> {
  const seedStart = performance.now();
  const { campaignId, events } = await seedStatsCampaign(t, workspaceId, template);
  const seedMs = performance.now() - seedStart;

  // The same database handle as the app's, with each statement timed.
  const timings: { part: string; ms: number }[] = [];
  const timed = new Proxy(t.client, {
    get(target, prop) {
      if (prop === 'execute') {
        return async (stmt: InStatement) => {
          const t0 = performance.now();
          try {
            return await target.execute(stmt);
          } finally {
            timings.push({ part: partOf(typeof stmt === 'string' ? stmt : stmt.sql), ms: performance.now() - t0 });
          }
        };
      }
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  }) as Client;
  const db = drizzle(timed, { schema }) as Db;

  const count = async () => Number((await db.all<{ n: number }>(sql`SELECT count(*) AS n FROM events WHERE campaign_id = ${campaignId}`))[0]!.n);
  const time = async <T>(fn: () => Promise<T>) => {
    const t0 = performance.now();
    await fn();
    return performance.now() - t0;
  };
  // One untimed pass of each: the pages are in the cache for all of them alike.
  const counted = await count();
  const byAgent = await campaignStats(db, workspaceId, campaignId, 'agent');
  await campaignStats(db, workspaceId, campaignId, 'segment');
  timings.length = 0;

  const counts: number[] = [];
  const agent: number[] = [];
  const segment: number[] = [];
  const parts = new Map<string, number[]>();
  for (let k = 0; k < STATS_RUNS; k++) {
    counts.push(await time(count));
    timings.length = 0;
    agent.push(await time(() => campaignStats(db, workspaceId, campaignId, 'agent')));
    const perRun = new Map<string, number>();
    for (const x of timings) perRun.set(x.part, (perRun.get(x.part) ?? 0) + x.ms);
    timings.length = 0;
    segment.push(await time(() => campaignStats(db, workspaceId, campaignId, 'segment')));
    for (const x of timings) if (x.part.includes('segment')) perRun.set(x.part, (perRun.get(x.part) ?? 0) + x.ms);
    timings.length = 0;
    for (const [part, ms] of perRun) parts.set(part, [...(parts.get(part) ?? []), ms]);
  }
  const c = median(counts);
  const order = [
    'campaign lookup',
    'rollup: total (sends, grouped none)',
    "rollup: by agent (sends, 'agent')",
    "rollup: by segment (sends, json_each, 'segment')",
    'anonymous opens',
    'per-link sub-queries (events, 2 per link)',
    'machine reasons (events, grouped)',
    'other',
  ];
  return [
    { figure: 'stats: seeding 100,000 sends + 1,000,000 events (setup)', value: seedMs / 1000, unit: 's' },
    { figure: 'stats: events in the campaign', value: counted, unit: 'rows' },
    { figure: 'stats: sends in the report (total.sent)', value: byAgent.total.counts.sent, unit: 'sends' },
    { figure: `stats: SELECT count(*) FROM events WHERE campaign_id = ? (median of ${STATS_RUNS})`, value: c, unit: 'ms' },
    { figure: "stats: campaignStats(…, 'agent')", value: median(agent), unit: 'ms' },
    { figure: "stats: campaignStats(…, 'segment')", value: median(segment), unit: 'ms' },
    { figure: "stats: 'agent' / count(*)", value: median(agent) / c, unit: 'x', target: '<= 3' },
    { figure: "stats: 'segment' / count(*)", value: median(segment) / c, unit: 'x', target: '<= 3' },
    ...order.filter((p) => parts.has(p)).map((p) => ({ figure: `stats part: ${p}`, value: median(parts.get(p)!), unit: 'ms' })),
    { figure: 'stats: events seeded', value: events, unit: 'rows' },
  ];
}

export async function run(): Promise<Figure[]> {
  const t = await createTestApp();
  try {
    const team = await t.workspaceWithTeam();
    const figures = await trackingThroughput(t, team);
    const [template] = (await t.client.execute({ sql: "SELECT id FROM campaigns WHERE workspace_id = ? AND status <> 'draft' LIMIT 1", args: [team.workspace.id] })).rows;
    figures.push(...(await statsCost(t, team.workspace.id, String(template!.id))));
    return figures;
  } finally {
    t.dispose();
  }
}
