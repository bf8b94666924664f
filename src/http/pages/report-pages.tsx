/** @jsxImportSource hono/jsx */
/**
 * /reports: every campaign that started sending in a period (Paris days, both ends included),
 * per campaign and grouped by segment, agent or call campaign, in tables and charts, with the
 * CSV of the API (GET /api/v1/reports/campaigns?format=csv) one click away. Reads only.
 */
import { Hono } from 'hono';
import { inArray } from 'drizzle-orm';
import { campaigns } from '../../db/schema.js';
import { formatEuros, t } from '../../i18n/fr.js';
import { workspaceReport, type GroupBy } from '../../tracking/stats.js';
import { DAY_MS, machineReasons, parisDate, parisDayStart, periodTimeline } from '../../tracking/timeline.js';
import { ctxOf } from '../context.js';
import type { AppEnv } from '../env.js';
import { RESULT_HEADERS, ResultCells, ResultCharts } from './campaign-results.js';
import { chartsCss } from './charts.js';
import { pageFor, viewerOf } from './guard.js';
import { DataTable, FieldError, Layout, Notice } from './layout.js';

const s = t.reports;
const REPORT_GROUPS = ['campaign', 'segment', 'agent', 'sourceCampaign'] as const;
type ReportGroup = (typeof REPORT_GROUPS)[number];
/** Default period: the last 30 days, today included. */
const DEFAULT_DAYS = 30;
/** Longest period one page shows (a year and a day, for leap years). */
const MAX_DAYS = 366;

const dayFormat = new Intl.DateTimeFormat('fr-FR', { dateStyle: 'long', timeZone: 'Europe/Paris' });
const shortDateTime = new Intl.DateTimeFormat('fr-FR', { dateStyle: 'short', timeStyle: 'short', timeZone: 'Europe/Paris' });

interface PeriodForm {
  from: string;
  to: string;
  groupBy: string;
}

type Parsed = { ok: true; from: Date; to: Date; groupBy: ReportGroup } | { ok: false; errors: Partial<Record<keyof PeriodForm, string>> };

/** Reads the period from the query: both dates are Paris days, `to` included (so the range ends at the next midnight). */
function parsePeriod(form: PeriodForm): Parsed {
  const errors: Partial<Record<keyof PeriodForm, string>> = {};
  const from = parisDayStart(form.from);
  const toDay = parisDayStart(form.to);
  if (!from) errors.from = s.badDate;
  if (!toDay) errors.to = s.badDate;
  const groupBy = REPORT_GROUPS.find((g) => g === form.groupBy);
  if (!groupBy) errors.groupBy = s.badGroup;
  if (from && toDay) {
    if (toDay.getTime() < from.getTime()) errors.to = s.reversed;
    else if (toDay.getTime() - from.getTime() >= MAX_DAYS * DAY_MS) errors.to = s.tooLong(MAX_DAYS);
  }
  if (!from || !toDay || !groupBy || Object.keys(errors).length) return { ok: false, errors };
  // The day after `to`, at Paris midnight (23 to 25 hours later).
  const next = parisDayStart(parisDate(new Date(toDay.getTime() + 36 * 3_600_000)))!;
  return { ok: true, from, to: next, groupBy };
}

export const reportPages = new Hono<AppEnv>().get('/reports', pageFor(['marketer', 'admin']), async (c) => {
  const ctx = ctxOf(c);
  const today = parisDate(ctx.clock.now());
  const defaultFrom = parisDate(new Date(parisDayStart(today)!.getTime() - (DEFAULT_DAYS - 1) * DAY_MS + 12 * 3_600_000));
  const form: PeriodForm = { from: c.req.query('from') || defaultFrom, to: c.req.query('to') || today, groupBy: c.req.query('groupBy') || 'campaign' };
  const parsed = parsePeriod(form);
  const viewer = await viewerOf(c);

  const Form = (props: { errors: Partial<Record<keyof PeriodForm, string>> }) => (
    <form method="get" action="/reports" class="card period-form">
      <fieldset class="plain">
        <legend class="sr-only">{s.period}</legend>
        <div class="period-fields">
          <div>
            <label for="from">{s.from}</label>
            <input type="date" id="from" name="from" value={form.from} required aria-invalid={props.errors.from ? 'true' : undefined} aria-describedby={props.errors.from ? 'from-error' : undefined} />
            <FieldError id="from-error" message={props.errors.from} />
          </div>
          <div>
            <label for="to">{s.to}</label>
            <input type="date" id="to" name="to" value={form.to} required aria-invalid={props.errors.to ? 'true' : undefined} aria-describedby={props.errors.to ? 'to-error' : undefined} />
            <FieldError id="to-error" message={props.errors.to} />
          </div>
          <div>
            <label for="groupBy">{s.groupBy}</label>
            <select id="groupBy" name="groupBy" aria-invalid={props.errors.groupBy ? 'true' : undefined} aria-describedby={props.errors.groupBy ? 'groupBy-error' : undefined}>
              {REPORT_GROUPS.map((g) => (
                <option value={g} selected={form.groupBy === g}>
                  {s.groups[g]}
                </option>
              ))}
            </select>
            <FieldError id="groupBy-error" message={props.errors.groupBy} />
          </div>
          <div class="period-submit">
            <button type="submit">{s.show}</button>
          </div>
        </div>
      </fieldset>
    </form>
  );

  if (!parsed.ok) {
    c.status(400);
    return c.html(
      <Layout title={s.title} viewer={viewer} current="/reports">
        <h1>{s.title}</h1>
        <p class="lead">{s.intro}</p>
        <Notice kind="err">{s.fixErrors}</Notice>
        <Form errors={parsed.errors} />
      </Layout>,
    );
  }

  const range = { from: parsed.from, to: parsed.to };
  const perCampaign = await workspaceReport(ctx.db, ctx.workspaceId, range, 'campaign');
  const grouped = parsed.groupBy === 'campaign' ? perCampaign : await workspaceReport(ctx.db, ctx.workspaceId, range, parsed.groupBy as GroupBy);
  const ids = perCampaign.rows.map((row) => row.key).filter((k): k is string => k !== null);
  const started = ids.length ? await ctx.db.select({ id: campaigns.id, startedAt: campaigns.startedAt }).from(campaigns).where(inArray(campaigns.id, ids)) : [];
  const timeline = await periodTimeline(ctx.db, ctx.workspaceId, range);
  const machine = await machineReasons(ctx.db, ids);
  const csv = (g: string) => `/api/v1/reports/campaigns?${new URLSearchParams({ from: range.from.toISOString(), to: range.to.toISOString(), groupBy: g, format: 'csv' })}`;
  const lastDay = new Date(range.to.getTime() - 12 * 3_600_000);
  const groupLabel = s.groups[parsed.groupBy] ?? parsed.groupBy;

  return c.html(
    <Layout title={s.title} viewer={viewer} current="/reports">
      <h1>{s.title}</h1>
      <p class="lead">{s.intro}</p>
      <Form errors={{}} />
      <p id="report-summary" class="report-summary">
        {s.summary(perCampaign.campaigns, dayFormat.format(range.from), dayFormat.format(lastDay))}
      </p>
      {perCampaign.alarms.map((a) => (
        <Notice kind="err">{a.message}</Notice>
      ))}
      {perCampaign.rows.length === 0 ? (
        <section class="card">
          <h2>{s.campaignsTitle}</h2>
          <p class="muted">{s.empty}</p>
        </section>
      ) : (
        <>
          <section class="card" id="report-campaigns">
            <h2>{s.campaignsTitle}</h2>
            <DataTable label={s.campaignsTitle} headers={[s.campaign, s.startedAt, ...RESULT_HEADERS]}>
              {perCampaign.rows.map((row) => {
                const when = started.find((x) => x.id === row.key)?.startedAt;
                return (
                  <tr>
                    <th scope="row">
                      <a href={`/campaigns/${row.key}`}>{row.label}</a>
                    </th>
                    <td>{when ? shortDateTime.format(when) : t.common.none}</td>
                    <ResultCells row={row} />
                  </tr>
                );
              })}
              <tr class="total">
                <th scope="row">{t.results.total}</th>
                <td></td>
                <ResultCells row={perCampaign.total} />
              </tr>
            </DataTable>
            {perCampaign.unattributedConversions.conversions > 0 && <p class="small">{s.unattributed(perCampaign.unattributedConversions.conversions, formatEuros(perCampaign.unattributedConversions.value))}</p>}
            <p class="muted small">{t.results.opensNote}</p>
            <p>
              <a href={csv('campaign')} download>
                {parsed.groupBy === 'campaign' ? s.csv : s.csvCampaigns}
              </a>
            </p>
          </section>
          {parsed.groupBy !== 'campaign' && (
            <section class="card" id="report-groups">
              <h2>{s.groupTitle(groupLabel)}</h2>
              <DataTable label={s.groupTitle(groupLabel)} headers={[t.results.group, ...RESULT_HEADERS]}>
                {grouped.rows.map((row) => (
                  <tr>
                    <th scope="row">{row.label}</th>
                    <ResultCells row={row} />
                  </tr>
                ))}
                <tr class="total">
                  <th scope="row">{t.results.total}</th>
                  <ResultCells row={grouped.total} />
                </tr>
              </DataTable>
              <p>
                <a href={csv(parsed.groupBy)} download>
                  {s.csv}
                </a>
              </p>
            </section>
          )}
          <section class="card" id="report-charts">
            <ResultCharts id="rp" total={perCampaign.total} rows={grouped.rows} groupLabel={groupLabel} timeline={timeline} machine={machine} level={2} />
          </section>
        </>
      )}
    </Layout>,
  );
});

/** Styles of these pages, appended to /assets/app.css. */
export const reportsCss = `${chartsCss}
.period-form{padding:12px 20px 16px}
.period-fields{display:grid;gap:0 16px;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));align-items:end}
.period-fields label{margin-top:8px}
input[type=date],input[type=month]{width:100%;max-width:480px;padding:8px 10px;border:1px solid #9aa5b1;border-radius:6px;font:inherit;background:#fff}
.period-submit{padding-top:12px}
.report-summary{font-weight:600}
.result-charts h3{font-size:1.05rem;margin:20px 0 12px}
.result-charts .sub{font-size:.95rem;margin:14px 0 6px}
.period-form [aria-invalid=true]{border-color:var(--err)}
`;
