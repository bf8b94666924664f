/**
 * What a campaign (or every campaign of a period) achieved, per lead segment, agent, source call
 * campaign or contact attribute. Honest by construction:
 *  - opens count only humans among recipients whose message carried the pixel (those who
 *    consented to open tracking), and say so: the open rate's denominator is that tracked base;
 *    machine opens (Apple MPP, scanners) and anonymous opens are shown apart, never added in;
 *  - clicks count humans (src/tracking/machine.ts), unique per recipient;
 *  - every rate carries its numerator and its named denominator;
 *  - conversions are those attributed to the campaign, by the rule stated in `attribution`.
 * It reads the sends' rollup columns (one row per recipient), not the events.
 */
import { and, eq, gte, inArray, isNull, lt, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { anonymousOpens, campaignLinks, campaigns, conversions, events } from '../db/schema.js';
import { ATTRIBUTE_NAME } from '../email/merge-fields.js';
import { Invalid, NotFound } from '../domain/errors.js';
import { toCsv } from '../lib/csv.js';
import { REPORTING_CURRENCY } from './conversions.js';

export type GroupBy = 'none' | 'campaign' | 'segment' | 'agent' | 'sourceCampaign' | `attribute:${string}`;

/** Gmail's bulk-sender rules: keep complaints under 0.3 %; we warn from 0.1 %, its recommended ceiling. */
export const COMPLAINT_ALARM = 0.001;
export const GMAIL_COMPLAINT_CEILING = 0.003;

export interface Counts {
  sent: number;
  failed: number;
  suppressedAtSend: number;
  delivered: number;
  bounced: number;
  complained: number;
  unsubscribed: number;
  /** Sent with the open pixel (open-tracking consent), not bounced: the base of the open rate. */
  trackedBase: number;
  uniqueHumanOpens: number;
  humanOpens: number;
  machineOpens: number;
  uniqueHumanClicks: number;
  humanClicks: number;
  machineClicks: number;
  convertedRecipients: number;
  conversions: number;
  /** Minor units (cents). */
  value: number;
}

export interface Rate {
  value: number | null;
  numerator: number;
  denominator: number;
  /** What the denominator counts, in words. */
  of: string;
}

export interface StatsRow {
  key: string | null;
  label: string;
  counts: Counts;
  rates: Record<'openRate' | 'clickRate' | 'conversionRate' | 'bounceRate' | 'complaintRate' | 'unsubscribeRate', Rate>;
  /** Conversion value per message sent, in major units. */
  valuePerEmail: number | null;
}

const rate = (numerator: number, denominator: number, of: string): Rate => ({ value: denominator ? numerator / denominator : null, numerator, denominator, of });

const DENOMINATORS = {
  tracked: 'recipients whose message carried the open pixel (open-tracking consent), not bounced',
  reached: 'messages sent, minus bounces',
  sent: 'messages sent',
} as const;

function rowOf(key: string | null, label: string, c: Counts): StatsRow {
  const reached = c.sent - c.bounced;
  return {
    key,
    label,
    counts: c,
    rates: {
      openRate: rate(c.uniqueHumanOpens, c.trackedBase, DENOMINATORS.tracked),
      clickRate: rate(c.uniqueHumanClicks, reached, DENOMINATORS.reached),
      conversionRate: rate(c.convertedRecipients, reached, DENOMINATORS.reached),
      bounceRate: rate(c.bounced, c.sent, DENOMINATORS.sent),
      complaintRate: rate(c.complained, reached, DENOMINATORS.reached),
      unsubscribeRate: rate(c.unsubscribed, reached, DENOMINATORS.reached),
    },
    valuePerEmail: c.sent ? c.value / 100 / c.sent : null,
  };
}

function dimension(groupBy: GroupBy): { key: SQL; label: SQL; from: SQL } {
  switch (groupBy) {
    case 'none':
      return { key: sql`NULL`, label: sql`'Total'`, from: sql`sends s` };
    case 'campaign':
      return { key: sql`s.campaign_id`, label: sql`(SELECT name FROM campaigns WHERE id = s.campaign_id)`, from: sql`sends s` };
    case 'segment':
      // A recipient in several labelled segments counts in each (rows then add up to more than the total).
      return { key: sql`seg.value`, label: sql`seg.value`, from: sql`sends s, json_each(s.segment_labels) seg` };
    case 'agent':
      return { key: sql`s.owner_agent_id`, label: sql`coalesce((SELECT name FROM users WHERE id = s.owner_agent_id), 'Sans conseiller')`, from: sql`sends s` };
    case 'sourceCampaign':
      return { key: sql`s.source_campaign`, label: sql`coalesce(s.source_campaign, 'Sans campagne d’appel')`, from: sql`sends s` };
    default: {
      const name = groupBy.slice('attribute:'.length);
      const path = `$."${name}"`;
      return {
        key: sql`json_extract(ct.attributes, ${path})`,
        label: sql`coalesce(json_extract(ct.attributes, ${path}), '(vide)')`,
        from: sql`sends s JOIN contacts ct ON ct.id = s.contact_id`,
      };
    }
  }
}

export function parseGroupBy(value: string | undefined): GroupBy {
  if (value === undefined || value === 'none') return 'none';
  if (value === 'campaign' || value === 'segment' || value === 'agent' || value === 'sourceCampaign') return value;
  if (value.startsWith('attribute:') && ATTRIBUTE_NAME.test(value.slice('attribute:'.length))) return value as GroupBy;
  throw new Invalid('invalid_input', 'Unknown grouping.', [{ field: 'groupBy', message: 'must be campaign, segment, agent, sourceCampaign or attribute:<name>' }]);
}

async function grouped(db: Db, campaignIds: string[], groupBy: GroupBy): Promise<StatsRow[]> {
  if (campaignIds.length === 0) return [];
  const d = dimension(groupBy);
  const ids = sql.join(
    campaignIds.map((id) => sql`${id}`),
    sql`, `,
  );
  const grouping = groupBy === 'none' ? sql`` : sql`GROUP BY 1 ORDER BY sent DESC, label`;
  const result = await db.all<Record<string, number | string | null>>(sql`
    SELECT ${d.key} AS key, ${d.label} AS label,
      sum(s.status = 'sent') AS sent,
      sum(s.status = 'failed') AS failed,
      sum(s.status = 'suppressed') AS suppressedAtSend,
      sum(s.delivered_at IS NOT NULL) AS delivered,
      sum(s.bounced_at IS NOT NULL) AS bounced,
      sum(s.complained_at IS NOT NULL) AS complained,
      sum(s.unsubscribed_at IS NOT NULL) AS unsubscribed,
      sum(s.status = 'sent' AND s.tracks_opens AND s.bounced_at IS NULL) AS trackedBase,
      sum(s.tracks_opens AND s.human_opens > 0) AS uniqueHumanOpens,
      sum(s.human_opens) AS humanOpens,
      sum(s.machine_opens) AS machineOpens,
      sum(s.human_clicks > 0) AS uniqueHumanClicks,
      sum(s.human_clicks) AS humanClicks,
      sum(s.machine_clicks) AS machineClicks,
      sum(s.conversions > 0) AS convertedRecipients,
      sum(s.conversions) AS conversions,
      sum(s.conversion_value) AS value
    FROM ${d.from}
    WHERE s.campaign_id IN (${ids})
    ${grouping}`);
  return result.map((r) => {
    const counts = {} as Counts;
    for (const k of COUNT_KEYS) counts[k] = Number(r[k] ?? 0);
    return rowOf(r.key === null ? null : String(r.key), String(r.label ?? ''), counts);
  });
}

const COUNT_KEYS: (keyof Counts)[] = [
  'sent',
  'failed',
  'suppressedAtSend',
  'delivered',
  'bounced',
  'complained',
  'unsubscribed',
  'trackedBase',
  'uniqueHumanOpens',
  'humanOpens',
  'machineOpens',
  'uniqueHumanClicks',
  'humanClicks',
  'machineClicks',
  'convertedRecipients',
  'conversions',
  'value',
];

const zero = () => Object.fromEntries(COUNT_KEYS.map((k) => [k, 0])) as unknown as Counts;

/**
 * The grouped rows and the total. Where each recipient falls in exactly one group (every
 * grouping but segment: a recipient may carry several segment labels), the total is the sum of
 * the rows, which saves a second pass over the sends.
 */
async function rowsAndTotal(db: Db, campaignIds: string[], groupBy: GroupBy): Promise<{ rows: StatsRow[]; total: StatsRow }> {
  if (groupBy === 'none') {
    const [total] = await grouped(db, campaignIds, 'none');
    return { rows: [], total: total ?? rowOf(null, 'Total', zero()) };
  }
  const rows = await grouped(db, campaignIds, groupBy);
  if (groupBy === 'segment') {
    const [total] = await grouped(db, campaignIds, 'none');
    return { rows, total: total ?? rowOf(null, 'Total', zero()) };
  }
  const sum = zero();
  for (const r of rows) for (const k of COUNT_KEYS) sum[k] += r.counts[k];
  return { rows, total: rowOf(null, 'Total', sum) };
}

function alarmsOf(total: StatsRow) {
  const complaint = total.rates.complaintRate;
  if (complaint.value === null || complaint.value < COMPLAINT_ALARM) return [];
  return [
    {
      code: 'complaint_rate',
      message: `Complaint rate ${(complaint.value * 100).toFixed(2)} % (${complaint.numerator} of ${complaint.denominator}): above ${COMPLAINT_ALARM * 100} %. Gmail starts refusing mail from senders above ${GMAIL_COMPLAINT_CEILING * 100} %; review the segment and the consent behind it before sending again.`,
    },
  ];
}

export const ATTRIBUTION_RULE =
  'A conversion counts for the campaign whose tracked link carried it (cn_click token), else the last campaign the person clicked within the attribution window, else the last one delivered to them within it.';

/** One campaign's stats, grouped, with its totals, links, machine verdicts and anonymous opens. */
export async function campaignStats(db: Db, workspaceId: string, campaignId: string, groupBy: GroupBy) {
  const [campaign] = await db
    .select({ id: campaigns.id, name: campaigns.name, status: campaigns.status, startedAt: campaigns.startedAt })
    .from(campaigns)
    .where(and(eq(campaigns.id, campaignId), eq(campaigns.workspaceId, workspaceId)));
  if (!campaign) throw new NotFound('campaign_not_found', 'No such campaign in this workspace.');
  const { rows, total: totalRow } = await rowsAndTotal(db, [campaignId], groupBy);
  const anonymous = await db.select({ machine: anonymousOpens.machine, hits: anonymousOpens.hits }).from(anonymousOpens).where(eq(anonymousOpens.campaignId, campaignId));
  const links = await db.all<{ idx: number; url: string; uniqueHumanClicks: number; machineClicks: number }>(sql`
    SELECT l.idx AS idx, l.url AS url,
      (SELECT count(DISTINCT e.send_id) FROM events e WHERE e.campaign_id = l.campaign_id AND e.type = 'click' AND e.link_index = l.idx AND e.machine = 0) AS uniqueHumanClicks,
      (SELECT coalesce(sum(e.hits), 0) FROM events e WHERE e.campaign_id = l.campaign_id AND e.type = 'click' AND e.link_index = l.idx AND e.machine = 1) AS machineClicks
    FROM ${campaignLinks} l WHERE l.campaign_id = ${campaignId} AND l.tracked ORDER BY l.idx`);
  const machine = await db
    .select({ type: events.type, reason: events.machineReason, hits: sql<number>`sum(${events.hits})` })
    .from(events)
    .where(and(eq(events.campaignId, campaignId), inArray(events.type, ['open', 'click']), eq(events.machine, true)))
    .groupBy(events.type, events.machineReason);
  return {
    campaign: { id: campaign.id, name: campaign.name, status: campaign.status, startedAt: campaign.startedAt },
    groupBy,
    currency: REPORTING_CURRENCY,
    attribution: ATTRIBUTION_RULE,
    total: totalRow,
    rows,
    anonymousOpens: {
      human: anonymous.find((a) => !a.machine)?.hits ?? 0,
      machine: anonymous.find((a) => a.machine)?.hits ?? 0,
      note: 'Opens by recipients who withdrew open-tracking consent after the mail left (or were erased): counted for the campaign only, never per person, and not in the open rate.',
    },
    machineActivity: machine.map((m) => ({ type: m.type as 'open' | 'click', reason: m.reason ?? 'unknown', hits: Number(m.hits) })),
    links: links.map((l) => ({ index: Number(l.idx), url: l.url, uniqueHumanClicks: Number(l.uniqueHumanClicks), machineClicks: Number(l.machineClicks) })),
    alarms: alarmsOf(totalRow),
  };
}

/** Every campaign that started sending in [from, to), grouped, plus conversions attributed to none. */
export async function workspaceReport(db: Db, workspaceId: string, range: { from: Date; to: Date }, groupBy: GroupBy) {
  if (range.to.getTime() <= range.from.getTime()) throw new Invalid('invalid_input', 'Empty period.', [{ field: 'to', message: 'must be after from' }]);
  const inRange = await db
    .select({ id: campaigns.id })
    .from(campaigns)
    .where(and(eq(campaigns.workspaceId, workspaceId), gte(campaigns.startedAt, range.from), lt(campaigns.startedAt, range.to)));
  const ids = inRange.map((c) => c.id);
  const { rows, total: totalRow } = await rowsAndTotal(db, ids, groupBy === 'none' ? 'campaign' : groupBy);
  const [unattributed] = await db
    .select({ n: sql<number>`count(*)`, value: sql<number>`coalesce(sum(${conversions.value}), 0)` })
    .from(conversions)
    .where(and(eq(conversions.workspaceId, workspaceId), isNull(conversions.campaignId), gte(conversions.occurredAt, range.from), lt(conversions.occurredAt, range.to)));
  return {
    from: range.from,
    to: range.to,
    groupBy: groupBy === 'none' ? 'campaign' : groupBy,
    currency: REPORTING_CURRENCY,
    attribution: ATTRIBUTION_RULE,
    campaigns: ids.length,
    total: totalRow,
    rows,
    unattributedConversions: { conversions: Number(unattributed?.n ?? 0), value: Number(unattributed?.value ?? 0) },
    alarms: alarmsOf(totalRow),
  };
}

/** CSV of stats rows (and the total last): counts, then each rate with its denominator. */
export function statsToCsv(groupBy: string, rows: StatsRow[], total: StatsRow): string {
  const rateNames = Object.keys(total.rates) as (keyof StatsRow['rates'])[];
  const header = [groupBy, 'label', ...COUNT_KEYS.map((k) => (k === 'value' ? 'value_eur' : k)), ...rateNames.flatMap((r) => [r, `${r}_denominator`]), 'valuePerEmail_eur'];
  const line = (r: StatsRow) => [
    r.key ?? '',
    r.label,
    ...COUNT_KEYS.map((k) => (k === 'value' ? (r.counts.value / 100).toFixed(2) : r.counts[k])),
    ...rateNames.flatMap((n) => [r.rates[n].value === null ? '' : Number(r.rates[n].value!.toFixed(6)), `${r.rates[n].denominator} ${r.rates[n].of}`]),
    r.valuePerEmail === null ? '' : r.valuePerEmail.toFixed(4),
  ];
  return '\uFEFF' + toCsv([header, ...rows.map(line), line({ ...total, key: 'total', label: 'Total' })]);
}
