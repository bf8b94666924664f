/**
 * Opens and clicks over time, human and machine apart, read from the events table (the sends'
 * rollup has totals only). Buckets are hours or days of the Paris calendar, since that is the
 * day the marketers live in: an open at 23:30 UTC in winter belongs to the next day. SQLite has
 * no time zones, so the query groups by UTC hour and the hours are folded into Paris days here
 * (a month is at most 744 hours × 4 series: nothing to worry about).
 *
 * Counts are hits (every open or click, repeats included), unlike the stats table, which counts
 * recipients: a chart of activity, not of people. Machine hits are a series of their own and
 * are never added to the human ones.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { campaigns } from '../db/schema.js';
import { NotFound } from '../domain/errors.js';

export const PARIS = 'Europe/Paris';
const HOUR = 3_600_000;
/** A day, for arithmetic on instants (a Paris day is 23 to 25 hours: use parisDayStart for boundaries). */
export const DAY_MS = 24 * HOUR;
/** A campaign whose activity spans at most this is charted per hour, beyond it per day. */
export const HOURLY_UP_TO_MS = 72 * HOUR;

export type Bucket = 'hour' | 'day';

export interface TimelinePoint {
  /** Start of the bucket (a Paris hour or a Paris midnight). */
  start: Date;
  /** `YYYY-MM-DD` or `YYYY-MM-DDTHH` in Paris time. */
  key: string;
  humanOpens: number;
  machineOpens: number;
  humanClicks: number;
  machineClicks: number;
}

export interface Timeline {
  bucket: Bucket;
  points: TimelinePoint[];
}

const parts = new Intl.DateTimeFormat('en-CA', { timeZone: PARIS, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', hourCycle: 'h23' });

/** Paris wall-clock parts of an instant. */
function wall(d: Date) {
  const p = Object.fromEntries(parts.formatToParts(d).map((x) => [x.type, x.value]));
  return { y: Number(p.year), m: Number(p.month), d: Number(p.day), h: Number(p.hour) };
}

/** `YYYY-MM-DD` of an instant in Paris. */
export function parisDate(d: Date): string {
  const w = wall(d);
  return `${w.y}-${String(w.m).padStart(2, '0')}-${String(w.d).padStart(2, '0')}`;
}

/** `YYYY-MM` of an instant in Paris. */
export function parisMonth(d: Date): string {
  return parisDate(d).slice(0, 7);
}

/** Paris offset from UTC at an instant, in ms (+1 h in winter, +2 h in summer). */
function offsetAt(d: Date): number {
  const w = wall(d);
  return Date.UTC(w.y, w.m - 1, w.d, w.h) - Math.floor(d.getTime() / HOUR) * HOUR;
}

/** The instant a Paris wall-clock hour starts (the first one, on the night clocks go back). */
export function parisInstant(y: number, m: number, d: number, h = 0): Date {
  const asUtc = Date.UTC(y, m - 1, d, h);
  let guess = asUtc - offsetAt(new Date(asUtc));
  const second = asUtc - offsetAt(new Date(guess));
  if (second !== guess) guess = Math.min(guess, second);
  return new Date(guess);
}

/** Midnight (Paris) starting the day `YYYY-MM-DD`; null when the text is not a real date. */
export function parisDayStart(ymd: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const check = new Date(Date.UTC(y, mo - 1, d));
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return null;
  return parisInstant(y, mo, d);
}

/** [first midnight, next month's first midnight) of a Paris month `YYYY-MM`; null when malformed. */
export function parisMonthRange(month: string): { from: Date; to: Date } | null {
  const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month);
  if (!m) return null;
  const [y, mo] = [Number(m[1]), Number(m[2])];
  return { from: parisInstant(y, mo, 1), to: mo === 12 ? parisInstant(y + 1, 1, 1) : parisInstant(y, mo + 1, 1) };
}

/** The Paris day (or hour) an instant falls in. */
function keyOf(d: Date, bucket: Bucket): string {
  const w = wall(d);
  const day = `${w.y}-${String(w.m).padStart(2, '0')}-${String(w.d).padStart(2, '0')}`;
  return bucket === 'day' ? day : `${day}T${String(w.h).padStart(2, '0')}`;
}

/** Every bucket from the one holding `from` to the one holding `to` (exclusive end), in order. */
function bucketsBetween(from: Date, to: Date, bucket: Bucket): { key: string; start: Date }[] {
  const out: { key: string; start: Date }[] = [];
  const seen = new Set<string>();
  // Walk by hour (days are 23 to 25 hours long in Paris); keep each bucket's first hour.
  const stepFrom = Math.floor(from.getTime() / HOUR) * HOUR;
  for (let t = stepFrom; t < to.getTime(); t += HOUR) {
    const d = new Date(t);
    const key = keyOf(d, bucket);
    if (seen.has(key)) continue;
    seen.add(key);
    const w = wall(d);
    out.push({ key, start: bucket === 'day' ? parisInstant(w.y, w.m, w.d) : d });
  }
  return out;
}

interface HourRow {
  hour: number;
  type: 'open' | 'click';
  machine: number;
  hits: number;
}

async function hourly(db: Db, campaignFilter: ReturnType<typeof sql>, range: { from: Date; to: Date } | null): Promise<HourRow[]> {
  const within = range ? sql`AND e.occurred_at >= ${range.from.getTime()} AND e.occurred_at < ${range.to.getTime()}` : sql``;
  const rows = await db.all<{ hour: number; type: string; machine: number; hits: number }>(sql`
    SELECT e.occurred_at / ${sql.raw(String(HOUR))} AS hour, e.type AS type, e.machine AS machine, sum(e.hits) AS hits
    FROM events e
    WHERE e.campaign_id IN (${campaignFilter}) AND e.type IN ('open', 'click') ${within}
    GROUP BY 1, 2, 3`);
  // Integer division in SQL (a literal, not a bound parameter, which could be a REAL); floor again to be sure.
  return rows.map((r) => ({ hour: Math.floor(Number(r.hour)), type: r.type as 'open' | 'click', machine: Number(r.machine), hits: Number(r.hits) }));
}

function fold(rows: HourRow[], from: Date, to: Date, bucket: Bucket): Timeline {
  const points = bucketsBetween(from, to, bucket).map(({ key, start }) => ({ key, start, humanOpens: 0, machineOpens: 0, humanClicks: 0, machineClicks: 0 }));
  const byKey = new Map(points.map((p) => [p.key, p]));
  for (const r of rows) {
    const p = byKey.get(keyOf(new Date(r.hour * HOUR), bucket));
    if (!p) continue;
    if (r.type === 'open') p[r.machine ? 'machineOpens' : 'humanOpens'] += r.hits;
    else p[r.machine ? 'machineClicks' : 'humanClicks'] += r.hits;
  }
  return { bucket, points };
}

/**
 * One campaign's opens and clicks, from the hour it started sending to its last recorded hit:
 * per hour when that spans three days or less, else per Paris day. No points when nothing was
 * recorded. Another workspace's campaign is a NotFound.
 */
export async function campaignTimeline(db: Db, workspaceId: string, campaignId: string): Promise<Timeline> {
  const [campaign] = await db
    .select({ id: campaigns.id, startedAt: campaigns.startedAt })
    .from(campaigns)
    .where(and(eq(campaigns.id, campaignId), eq(campaigns.workspaceId, workspaceId)));
  if (!campaign) throw new NotFound('campaign_not_found', 'No such campaign in this workspace.');
  const rows = await hourly(db, sql`${campaignId}`, null);
  if (rows.length === 0) return { bucket: 'hour', points: [] };
  const first = Math.min(campaign.startedAt?.getTime() ?? Infinity, ...rows.map((r) => r.hour * HOUR));
  const last = Math.max(...rows.map((r) => r.hour * HOUR)) + HOUR;
  const bucket: Bucket = last - first <= HOURLY_UP_TO_MS ? 'hour' : 'day';
  return fold(rows, new Date(first), new Date(last), bucket);
}

/**
 * Opens and clicks recorded in [from, to) on any campaign of the workspace, per Paris day (per
 * hour for a period of three days or less): activity during the period, whenever the mail left.
 */
export async function periodTimeline(db: Db, workspaceId: string, range: { from: Date; to: Date }): Promise<Timeline> {
  const rows = await hourly(db, sql`SELECT id FROM campaigns WHERE workspace_id = ${workspaceId}`, range);
  const bucket: Bucket = range.to.getTime() - range.from.getTime() <= HOURLY_UP_TO_MS ? 'hour' : 'day';
  return fold(rows, range.from, range.to, bucket);
}

/** Machine opens and clicks of a set of campaigns, by the rule that recognised them. */
export async function machineReasons(db: Db, campaignIds: string[]): Promise<{ type: 'open' | 'click'; reason: string; hits: number }[]> {
  if (campaignIds.length === 0) return [];
  const ids = sql.join(
    campaignIds.map((id) => sql`${id}`),
    sql`, `,
  );
  const rows = await db.all<{ type: string; reason: string | null; hits: number }>(sql`
    SELECT e.type AS type, e.machine_reason AS reason, sum(e.hits) AS hits
    FROM events e WHERE e.campaign_id IN (${ids}) AND e.machine = 1 AND e.type IN ('open', 'click')
    GROUP BY 1, 2 ORDER BY 3 DESC`);
  return rows.map((r) => ({ type: r.type as 'open' | 'click', reason: r.reason ?? 'unknown', hits: Number(r.hits) }));
}

