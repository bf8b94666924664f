/** @jsxImportSource hono/jsx */
/**
 * The results card of a sent campaign: figures per segment, agent or call campaign, rates with
 * their base, and the same figures in charts (funnel, activity over time, people versus
 * machines, groups compared). `ResultCharts` is shared with the reports page.
 */
import { formatEuros as euros, t } from '../../i18n/fr.js';
import type { Ctx } from '../../domain/context.js';
import { campaignStats, type Rate, type StatsRow } from '../../tracking/stats.js';
import { campaignTimeline, type Timeline } from '../../tracking/timeline.js';
import { BarChart, ChartFigure, Legend, LineChart, type Series } from './charts.js';
import { DataTable, Notice } from './layout.js';

const s = t.results;
const r = t.reports;
export const RESULT_GROUPS = ['segment', 'agent', 'sourceCampaign'] as const;

const pct = (rt: Rate) => (rt.value === null ? s.none : `${(rt.value * 100).toLocaleString('fr-FR', { maximumFractionDigits: 1 })} %`);
const ratio = (rt: Rate) => (rt.denominator ? s.of(rt.numerator, rt.denominator, pct(rt)) : s.none);
const num = (v: number) => v.toLocaleString('fr-FR');
const pctOf = (v: number) => `${v.toLocaleString('fr-FR', { maximumFractionDigits: 1 })} %`;

/** One line of a results table: sent, open rate, click rate, conversions, unsubscribes, complaints. */
export function ResultCells(props: { row: StatsRow }) {
  const { row } = props;
  const cells = [
    row.counts.sent,
    ratio(row.rates.openRate),
    ratio(row.rates.clickRate),
    `${row.counts.conversions} · ${euros(row.counts.value)}`,
    row.counts.unsubscribed,
    row.counts.complained,
  ];
  return (
    <>
      {cells.map((v) => (
        <td>{String(v)}</td>
      ))}
    </>
  );
}

export const RESULT_HEADERS = [s.sent, s.opens, s.clicks, s.conversions, s.unsubscribed, s.complaints];

function Row(props: { row: StatsRow; total?: boolean }) {
  return (
    <tr class={props.total ? 'total' : undefined}>
      <th scope="row">{props.total ? s.total : props.row.label}</th>
      <ResultCells row={props.row} />
    </tr>
  );
}

const timeLabel = (d: Date, bucket: Timeline['bucket']) =>
  new Intl.DateTimeFormat('fr-FR', bucket === 'hour' ? { day: '2-digit', month: '2-digit', hour: '2-digit', timeZone: 'Europe/Paris' } : { day: '2-digit', month: '2-digit', timeZone: 'Europe/Paris' }).format(d);

/** Activity over time: opens and clicks side by side, people and machines as separate series. */
function OverTime(props: { id: string; timeline: Timeline }) {
  const { points, bucket } = props.timeline;
  if (points.length === 0) return <p class="muted">{r.noActivity}</p>;
  const labels = points.map((p) => timeLabel(p.start, bucket));
  const sum = (k: 'humanOpens' | 'machineOpens' | 'humanClicks' | 'machineClicks') => points.reduce((a, p) => a + p[k], 0);
  const chart = (kind: 'opens' | 'clicks') => {
    const human = kind === 'opens' ? 'humanOpens' : 'humanClicks';
    const machine = kind === 'opens' ? 'machineOpens' : 'machineClicks';
    const series: Series[] = [
      { name: r.human, kind: 'human', values: points.map((p) => p[human]) },
      { name: r.machine, kind: 'machine', values: points.map((p) => p[machine]) },
    ];
    const title = kind === 'opens' ? r.opensOverTime : r.clicksOverTime;
    return (
      <ChartFigure
        heading={title}
        dataLabel={r.data}
        data={
          <DataTable label={title} headers={[r.when, r.human, r.machine]}>
            {points.map((p, i) => (
              <tr>
                <th scope="row">{labels[i]}</th>
                <td>{num(p[human])}</td>
                <td>{num(p[machine])}</td>
              </tr>
            ))}
          </DataTable>
        }
      >
        <LineChart id={`${props.id}-${kind}`} title={title} desc={r.overTimeDesc(title, r.bucket[bucket] ?? bucket, sum(human), sum(machine))} labels={labels} series={series} />
        <Legend series={series} lines />
      </ChartFigure>
    );
  };
  return (
    <>
      <div class="charts">
        {chart('opens')}
        {chart('clicks')}
      </div>
      <p class="muted small">{r.overTimeNote}</p>
    </>
  );
}

/**
 * The charts of a set of results: the funnel of the total, activity over time, people versus
 * machines with the rules that set machines apart, and the groups compared on their rates.
 * `id` prefixes the SVG ids (unique on the page).
 */
export function ResultCharts(props: {
  id: string;
  total: StatsRow;
  rows: StatsRow[];
  groupLabel: string;
  timeline: Timeline;
  machine: { type: 'open' | 'click'; reason: string; hits: number }[];
  /** Level of the charts' heading (2 in a card of their own, 3 inside the campaign's results card). */
  level?: 2 | 3;
}) {
  const H = props.level === 2 ? 'h2' : 'h3';
  const Sub = props.level === 2 ? 'h3' : 'h4';
  const c = props.total.counts;
  const reached = c.sent - c.bounced;
  const steps = [
    { label: c.delivered > 0 ? r.funnel.delivered : r.funnel.reached, value: c.delivered > 0 ? c.delivered : reached },
    { label: r.funnel.tracked, value: c.trackedBase },
    { label: r.funnel.opened, value: c.uniqueHumanOpens },
    { label: r.funnel.clicked, value: c.uniqueHumanClicks },
    { label: r.funnel.converted, value: c.convertedRecipients },
  ];
  const hm: Series[] = [
    { name: r.human, kind: 'human', values: [c.humanOpens, c.humanClicks] },
    { name: r.machine, kind: 'machine', values: [c.machineOpens, c.machineClicks] },
  ];
  const asPct = (rt: Rate) => (rt.value === null ? null : Math.round(rt.value * 1000) / 10);
  const compare: Series[] = [
    { name: r.openRate, kind: 'a', values: props.rows.map((x) => asPct(x.rates.openRate)) },
    { name: r.clickRate, kind: 'b', values: props.rows.map((x) => asPct(x.rates.clickRate)) },
    { name: r.conversionRate, kind: 'c', values: props.rows.map((x) => asPct(x.rates.conversionRate)) },
  ];
  return (
    <section class="result-charts" aria-labelledby={`${props.id}-charts`}>
      <H id={`${props.id}-charts`}>{r.chartsTitle}</H>
      <div class="charts">
        <ChartFigure
          heading={r.funnelTitle}
          dataLabel={r.data}
          data={
            <DataTable label={r.funnelTitle} headers={[r.step, r.value]}>
              {steps.map((st) => (
                <tr>
                  <th scope="row">{st.label}</th>
                  <td>{num(st.value)}</td>
                </tr>
              ))}
            </DataTable>
          }
        >
          <BarChart id={`${props.id}-funnel`} title={r.funnelTitle} desc={r.funnelDesc(steps)} categories={steps.map((st) => st.label)} series={[{ name: r.value, kind: 'a', values: steps.map((st) => st.value) }]} format={num} integer />
          <p class="muted small">{r.funnelNote}</p>
        </ChartFigure>
        <ChartFigure
          heading={r.humanVsMachine}
          dataLabel={r.data}
          data={
            <DataTable label={r.humanVsMachine} headers={[r.type, r.human, r.machine]}>
              <tr>
                <th scope="row">{r.opens}</th>
                <td>{num(c.humanOpens)}</td>
                <td>{num(c.machineOpens)}</td>
              </tr>
              <tr>
                <th scope="row">{r.clicks}</th>
                <td>{num(c.humanClicks)}</td>
                <td>{num(c.machineClicks)}</td>
              </tr>
            </DataTable>
          }
        >
          <BarChart id={`${props.id}-hm`} title={r.humanVsMachine} desc={r.humanVsMachineDesc(c.humanOpens, c.machineOpens, c.humanClicks, c.machineClicks)} categories={[r.opens, r.clicks]} series={hm} format={num} integer />
          <Legend series={hm} />
          <Sub class="sub">{r.reasonsTitle}</Sub>
          {props.machine.length === 0 ? (
            <p class="muted small">{r.reasonsEmpty}</p>
          ) : (
            <DataTable label={r.reasonsTitle} headers={[r.type, r.reason, r.hits]}>
              {props.machine.map((m) => (
                <tr>
                  <td>{m.type === 'open' ? r.opens : r.clicks}</td>
                  <td>{r.reasons[m.reason] ?? m.reason}</td>
                  <td>{num(m.hits)}</td>
                </tr>
              ))}
            </DataTable>
          )}
        </ChartFigure>
      </div>
      <OverTime id={props.id} timeline={props.timeline} />
      <div class="charts fill">
        <ChartFigure heading={r.compareTitle(props.groupLabel)}>
          {props.rows.length === 0 ? (
            <p class="muted">{r.compareEmpty}</p>
          ) : (
            <>
              <BarChart
                id={`${props.id}-compare`}
                title={r.compareTitle(props.groupLabel)}
                desc={r.compareDesc(props.rows.map((x) => ({ label: x.label, open: pct(x.rates.openRate), click: pct(x.rates.clickRate), conversion: pct(x.rates.conversionRate) })))}
                categories={props.rows.map((x) => x.label)}
                series={compare}
                format={pctOf}
              />
              <Legend series={compare} />
              <p class="muted small">{r.compareNote}</p>
            </>
          )}
        </ChartFigure>
      </div>
    </section>
  );
}

/**
 * The results section of a sent campaign page. It loads its own figures, so the campaign page
 * only says which campaign and which grouping (async components render inside c.html).
 */
export async function CampaignResults(props: { ctx: Pick<Ctx, 'db' | 'workspaceId'>; campaignId: string; groupBy: (typeof RESULT_GROUPS)[number] }) {
  const stats = await campaignStats(props.ctx.db, props.ctx.workspaceId, props.campaignId, props.groupBy);
  const timeline = await campaignTimeline(props.ctx.db, props.ctx.workspaceId, props.campaignId);
  const machineOpens = stats.machineActivity.filter((m) => m.type === 'open').reduce((n, m) => n + m.hits, 0);
  const machineClicks = stats.machineActivity.filter((m) => m.type === 'click').reduce((n, m) => n + m.hits, 0);
  return (
    <section class="card" id="results">
      <h2>{s.title}</h2>
      {stats.alarms.map((a) => (
        <Notice kind="err">{a.message}</Notice>
      ))}
      <form method="get" class="inline-form" action="#results">
        <label for="groupBy">{s.groupBy}</label>
        <select id="groupBy" name="groupBy">
          {RESULT_GROUPS.map((g) => (
            <option value={g} selected={props.groupBy === g}>
              {s.groups[g]}
            </option>
          ))}
        </select>
        <button type="submit" class="secondary">
          {s.show}
        </button>
      </form>
      <DataTable id="results-table" label={s.title} headers={[s.group, ...RESULT_HEADERS]}>
        {stats.rows.map((row) => (
          <Row row={row} />
        ))}
        <Row row={stats.total} total />
      </DataTable>
      <p class="muted small">{s.opensNote}</p>
      {(machineOpens > 0 || machineClicks > 0) && <p class="small">{s.machine(machineOpens, machineClicks)}</p>}
      {stats.anonymousOpens.human + stats.anonymousOpens.machine > 0 && <p class="small">{s.anonymous(stats.anonymousOpens.human + stats.anonymousOpens.machine)}</p>}
      <p class="muted small">{s.attribution}</p>
      <p>
        <a href={`/api/v1/campaigns/${stats.campaign.id}/stats?groupBy=${props.groupBy}&format=csv`} download>
          {s.csv}
        </a>
      </p>
      {stats.total.counts.sent > 0 && <ResultCharts id="cr" total={stats.total} rows={stats.rows} groupLabel={s.groups[props.groupBy] ?? props.groupBy} timeline={timeline} machine={stats.machineActivity} />}
    </section>
  );
}
