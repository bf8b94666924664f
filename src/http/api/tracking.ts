/**
 * Measurement: conversions reported by shops and booking sites (or agents), campaign stats per
 * segment, agent, source call campaign or attribute, and the workspace report over a period.
 * JSON, or CSV with `format=csv`.
 */
import { attributionRules } from '../../db/schema.js';
import { recordConversion, MAX_VALUE, type Conversion } from '../../tracking/conversions.js';
import { campaignStats, parseGroupBy, statsToCsv, workspaceReport } from '../../tracking/stats.js';
import { ctxOf } from '../context.js';
import { apiRouter, defineRoute, Id, iso, IsoDate, json, jsonBody, z } from './openapi.js';

const anyError = json(z.object({ error: z.any() }), 'See the error envelope.');
const reporters = { roles: ['agent', 'marketer', 'admin'], scopes: ['conversions:write'] } as const;
const readers = { roles: ['marketer', 'admin'], scopes: ['stats:read'] } as const;

const ConversionSchema = z
  .object({
    id: z.string(),
    contactId: z.string(),
    externalId: z.string().nullable(),
    type: z.string(),
    value: z.number().openapi({ description: 'Major units (euros).' }),
    currency: z.string(),
    occurredAt: IsoDate,
    recordedAt: IsoDate,
    campaignId: z.string().nullable(),
    attribution: z.enum(attributionRules).openapi({ description: 'How the campaign was chosen: click_token, last_click, last_delivered or none.' }),
    replayed: z.boolean().openapi({ description: 'True when this externalId was already recorded with the same data: nothing new was written.' }),
  })
  .openapi('Conversion');

const conversionJson = (c: Conversion, replayed: boolean) => ({
  id: c.id,
  contactId: c.contactId,
  externalId: c.externalId,
  type: c.type,
  value: c.value / 100,
  currency: c.currency,
  occurredAt: iso(c.occurredAt)!,
  recordedAt: iso(c.recordedAt)!,
  campaignId: c.campaignId,
  attribution: c.attribution,
  replayed,
});

const ConversionBody = z
  .object({
    clickToken: z.string().min(10).max(200).optional().openapi({ description: 'The `cn_click` parameter of the landing URL (campaign links with `appendClickId`).' }),
    contactId: Id('ct_…').optional(),
    email: z.string().trim().min(3).max(254).optional(),
    type: z
      .string()
      .trim()
      .regex(/^[a-z][a-z0-9_]{0,39}$/, 'lower-case letters, digits and _ (e.g. quote, booking)')
      .openapi({ example: 'booking' }),
    value: z.number().min(0).max(MAX_VALUE).optional().openapi({ description: 'Major units, two decimals at most.', example: 1290.5 }),
    currency: z.string().regex(/^[A-Za-z]{3}$/, 'an ISO 4217 code').optional().openapi({ example: 'EUR' }),
    occurredAt: z.iso.datetime({ offset: true }).transform((s) => new Date(s)).optional(),
    externalId: z.string().trim().min(1).max(200).openapi({ description: 'Your id for it (order number): a retry with the same id records nothing twice.', example: 'BKG-2026-0042' }),
  })
  .strict()
  .superRefine((v, ctx) => {
    const given = (['clickToken', 'contactId', 'email'] as const).filter((k) => v[k] !== undefined);
    if (given.length !== 1) ctx.addIssue({ code: 'custom', path: [given[1] ?? 'clickToken'], message: 'give exactly one of clickToken, contactId or email' });
  });

const conversionRoute = defineRoute({
  method: 'post',
  path: '/conversions',
  tags: ['Measurement'],
  summary: 'Record a conversion (a quote, a booking)',
  description:
    'Identify the person by the click token from the landing URL, by contact id, or by email. Attributed to the campaign of that click; else to the last campaign they clicked within the workspace attribution window; else to the last one delivered to them within it. Idempotent on `externalId` (200 with `replayed: true`); the same id with other data is 409.',
  access: reporters,
  request: { body: jsonBody(ConversionBody) },
  responses: { 201: json(ConversionSchema, 'Recorded.'), 200: json(ConversionSchema, 'Already recorded (replay).'), 400: anyError, 404: anyError, 409: anyError },
});

const Rate = z.object({ value: z.number().nullable(), numerator: z.number(), denominator: z.number(), of: z.string() }).openapi('Rate');
const StatsRow = z
  .object({
    key: z.string().nullable(),
    label: z.string(),
    counts: z.record(z.string(), z.number()),
    rates: z.record(z.string(), Rate),
    valuePerEmail: z.number().nullable(),
  })
  .openapi('StatsRow');
const Alarm = z.object({ code: z.string(), message: z.string() });
const GroupByParam = z
  .string()
  .optional()
  .openapi({ description: 'segment, agent, sourceCampaign, campaign or attribute:<name>; totals only when absent.', example: 'segment' });
const Format = z.enum(['json', 'csv']).optional();

const statsRoute = defineRoute({
  method: 'get',
  path: '/campaigns/{id}/stats',
  tags: ['Measurement'],
  summary: 'A campaign’s results, grouped',
  description:
    'Counts and rates of one campaign, in total and per group. Opens are human opens among recipients who consented to open tracking (the tracked base); machine activity (Apple MPP, scanners) is reported apart, by rule. Each rate names its denominator. `format=csv` for a spreadsheet.',
  access: readers,
  request: { params: z.object({ id: Id('cmp_…') }), query: z.object({ groupBy: GroupByParam, format: Format }) },
  responses: {
    200: json(
      z.object({
        campaign: z.object({ id: z.string(), name: z.string(), status: z.string(), startedAt: IsoDate.nullable() }),
        groupBy: z.string(),
        currency: z.string(),
        attribution: z.string(),
        total: StatsRow,
        rows: z.array(StatsRow),
        anonymousOpens: z.object({ human: z.number(), machine: z.number(), note: z.string() }),
        machineActivity: z.array(z.object({ type: z.enum(['open', 'click']), reason: z.string(), hits: z.number() })),
        links: z.array(z.object({ index: z.number(), url: z.string(), uniqueHumanClicks: z.number(), machineClicks: z.number() })),
        alarms: z.array(Alarm),
      }),
      'Stats (or CSV with format=csv).',
    ),
    400: anyError,
    404: anyError,
  },
});

const reportRoute = defineRoute({
  method: 'get',
  path: '/reports/campaigns',
  tags: ['Measurement'],
  summary: 'Every campaign of a period',
  description: 'Campaigns that started sending in [from, to), per campaign by default or grouped otherwise, with conversions attributed to no campaign in that period.',
  access: readers,
  request: {
    query: z.object({
      from: z.iso.datetime({ offset: true }).transform((s) => new Date(s)),
      to: z.iso.datetime({ offset: true }).transform((s) => new Date(s)),
      groupBy: GroupByParam,
      format: Format,
    }),
  },
  responses: {
    200: json(
      z.object({
        from: IsoDate,
        to: IsoDate,
        groupBy: z.string(),
        currency: z.string(),
        attribution: z.string(),
        campaigns: z.number(),
        total: StatsRow,
        rows: z.array(StatsRow),
        unattributedConversions: z.object({ conversions: z.number(), value: z.number().openapi({ description: 'Minor units.' }) }),
        alarms: z.array(Alarm),
      }),
      'Report (or CSV with format=csv).',
    ),
    400: anyError,
  },
});

const csv = (body: string, name: string) =>
  new Response(body, { status: 200, headers: { 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': `attachment; filename="${name}.csv"` } });

export const trackingApi = apiRouter()
  .openapi(conversionRoute, async (c) => {
    const { conversion, replayed } = await recordConversion({ ctx: ctxOf(c), input: c.req.valid('json') });
    return c.json(conversionJson(conversion, replayed), replayed ? 200 : 201);
  })
  .openapi(statsRoute, async (c) => {
    const ctx = ctxOf(c);
    const { groupBy, format } = c.req.valid('query');
    const stats = await campaignStats(ctx.db, ctx.workspaceId, c.req.valid('param').id, parseGroupBy(groupBy));
    if (format === 'csv') return csv(statsToCsv(stats.groupBy, stats.rows, stats.total), `stats-${stats.campaign.id}`) as never;
    return c.json({ ...stats, campaign: { ...stats.campaign, startedAt: iso(stats.campaign.startedAt) } }, 200);
  })
  .openapi(reportRoute, async (c) => {
    const ctx = ctxOf(c);
    const { from, to, groupBy, format } = c.req.valid('query');
    const report = await workspaceReport(ctx.db, ctx.workspaceId, { from, to }, parseGroupBy(groupBy));
    if (format === 'csv') return csv(statsToCsv(report.groupBy, report.rows, report.total), `report-${from.toISOString().slice(0, 10)}`) as never;
    return c.json({ ...report, from: iso(report.from)!, to: iso(report.to)! }, 200);
  });
