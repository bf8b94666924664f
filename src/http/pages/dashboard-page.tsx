/** @jsxImportSource hono/jsx */
/**
 * /dashboard: the call-centre manager's monthly table (reference §1.3), one row group per
 * téléacteur and one for the équipe, each criterion with Objectif / Réalisé / Écart; and, for
 * admins (the managers here), the form that sets the month's objectives. Figures come from
 * src/domain/objectives/dashboard.ts, which says where each one is counted.
 */
import { Hono, type Context } from 'hono';
import type { Cell, Dashboard, DashboardRow } from '../../domain/objectives/dashboard.js';
import { agentDashboard } from '../../domain/objectives/dashboard.js';
import { metricDef, type MetricDef } from '../../domain/objectives/metrics.js';
import { listObjectives, objectiveField, setObjectives, TEAM, type ObjectiveMap } from '../../domain/objectives/objectives.js';
import { Invalid } from '../../domain/errors.js';
import { formatEuros, t } from '../../i18n/fr.js';
import { parisMonth, parisMonthRange } from '../../tracking/timeline.js';
import { ctxOf } from '../context.js';
import type { AppEnv } from '../env.js';
import { BarChart, ChartFigure, Legend, type Series } from './charts.js';
import { pageFor, viewerOf } from './guard.js';
import { FieldError, Layout, Notice } from './layout.js';

const s = t.dashboard;
const FIELD_PREFIX = 'objective.';
const monthName = new Intl.DateTimeFormat('fr-FR', { month: 'long', year: 'numeric', timeZone: 'Europe/Paris' });

const fmt = (v: number, digits = 2) => v.toLocaleString('fr-FR', { maximumFractionDigits: digits });

/** A value in its unit, as read on the page. */
function show(def: MetricDef, v: number): string {
  if (def.unit === 'money') return formatEuros(Math.round(v * 100));
  if (def.unit === 'rate') return `${fmt(v, 1)} %`;
  return fmt(v, 0);
}

/** A gap with its sign (never colour alone: the word follows). */
function signed(def: MetricDef, v: number): string {
  const sign = v > 0 ? '+' : v < 0 ? '−' : '±';
  const abs = Math.abs(v);
  if (def.unit === 'money') return `${sign}${formatEuros(Math.round(abs * 100))}`;
  if (def.unit === 'rate') return `${sign}${fmt(abs, 1)} pts`;
  return `${sign}${fmt(abs, 0)}`;
}

/** The value written in an objective input (French decimals, no grouping so it parses back). */
const inputValue = (v: number) => String(v).replace('.', ',');

function metricLabel(d: Dashboard, key: string): string {
  if (key.startsWith('granted:')) {
    const purpose = key.slice('granted:'.length);
    return s.granted(s.purposes[purpose] ?? d.purposes.find((p) => p.purpose === purpose)?.label ?? purpose);
  }
  return s.metrics[key] ?? key;
}

function AchievedCell(props: { def: MetricDef; cell: Cell }) {
  const { def, cell } = props;
  if (def.key === 'confirmationRate') {
    const b = cell.base!;
    return <td data-label={s.achieved}>{cell.achieved === null ? `${t.common.none} (${s.noBase})` : `${show(def, cell.achieved)} (${s.base(b.numerator, b.denominator)})`}</td>;
  }
  return <td data-label={s.achieved}>{cell.achieved === null ? t.common.none : show(def, cell.achieved)}</td>;
}

function GapCell(props: { def: MetricDef; cell: Cell }) {
  const { def, cell } = props;
  if (cell.gap === null || cell.met === null) return <td data-label={s.gap}>{s.noObjective}</td>;
  return (
    <td data-label={s.gap}>
      <span class={`gap ${cell.met ? 'met' : 'missed'}`}>
        {signed(def, cell.gap)} · {cell.met ? s.met : s.notMet}
      </span>
    </td>
  );
}

function RowGroup(props: { d: Dashboard; row: DashboardRow; team?: boolean }) {
  const id = `grp-${props.row.target}`;
  return (
    <tbody data-target={props.row.target} class={props.team ? 'team' : undefined}>
      <tr class="group">
        <th colspan={4} scope="colgroup" id={id}>
          {props.team ? s.team : props.row.name}
        </th>
      </tr>
      {props.d.metrics.map((def) => {
        const cell = props.row.cells[def.key]!;
        return (
          <tr data-metric={def.key}>
            <th scope="row" headers={id}>
              {metricLabel(props.d, def.key)}
            </th>
            <td data-label={s.objective}>
              {cell.objective === null ? (
                s.noObjective
              ) : (
                <>
                  {def.direction === 'max' ? '≤ ' : ''}
                  {show(def, cell.objective)}
                  {cell.defaulted && <span class="muted small"> ({s.defaulted})</span>}
                </>
              )}
            </td>
            <AchievedCell def={def} cell={cell} />
            <GapCell def={def} cell={cell} />
          </tr>
        );
      })}
    </tbody>
  );
}

function CallsChart(props: { d: Dashboard }) {
  const rows = [...props.d.agents, props.d.team];
  const def = metricDef('calls')!;
  const series: Series[] = [
    { name: s.chartObjective, kind: 'c', values: rows.map((r) => r.cells.calls!.objective) },
    { name: s.chartAchieved, kind: 'a', values: rows.map((r) => r.cells.calls!.achieved) },
  ];
  const names = rows.map((r) => (r.target === TEAM ? s.team : r.name));
  return (
    <ChartFigure heading={s.chartTitle}>
      <BarChart
        id="dash-calls"
        title={s.chartTitle}
        desc={s.chartDesc(rows.map((r, i) => ({ name: names[i]!, objective: r.cells.calls!.objective === null ? t.common.none : show(def, r.cells.calls!.objective), achieved: show(def, r.cells.calls!.achieved ?? 0) })))}
        categories={names}
        series={series}
        format={(v) => fmt(v, 0)}
        integer
      />
      <Legend series={series} />
    </ChartFigure>
  );
}

function ObjectivesForm(props: { d: Dashboard; stored: ObjectiveMap; values?: Record<string, string>; errors?: Record<string, string> }) {
  const targets = [...props.d.agents.map((a) => ({ target: a.target, name: a.name })), { target: TEAM, name: s.team }];
  return (
    <section class="card" id="objectives">
      <h2>{s.form.title(monthName.format(parisMonthRange(props.d.month)!.from))}</h2>
      <p class="muted">{s.form.intro}</p>
      <p class="muted small">{s.teamDefault}</p>
      <form method="post" action="/dashboard/objectives" class="objectives-form">
        <input type="hidden" name="month" value={props.d.month} />
        <div class="objective-groups">
          {targets.map((tg) => (
            <fieldset class="objective-group">
              <legend>{tg.name}</legend>
              {props.d.metrics.map((def) => {
                const name = objectiveField(tg.target, def.key);
                const id = `obj-${tg.target}-${def.key.replace(/[^a-zA-Z0-9_-]/g, '-')}`;
                const stored = props.stored.get(tg.target)?.get(def.key);
                const value = props.values ? (props.values[name] ?? '') : stored === undefined ? '' : inputValue(stored);
                const error = props.errors?.[name];
                const teamDefault = tg.target === TEAM ? props.d.team.cells[def.key] : undefined;
                const unit = def.unit === 'rate' ? ` (${s.form.percent})` : def.unit === 'money' ? ` (${s.form.euros})` : '';
                return (
                  <div class="objective-field">
                    <label for={id}>
                      {metricLabel(props.d, def.key)}
                      {unit}
                      {def.direction === 'max' ? `, ${s.ceiling}` : ''}
                    </label>
                    <input
                      type="text"
                      inputmode="decimal"
                      id={id}
                      name={name}
                      value={value}
                      autocomplete="off"
                      placeholder={teamDefault?.defaulted && teamDefault.objective !== null ? `${s.defaulted} : ${inputValue(teamDefault.objective)}` : undefined}
                      aria-invalid={error ? 'true' : undefined}
                      aria-describedby={error ? `${id}-error` : undefined}
                    />
                    <FieldError id={`${id}-error`} message={error} />
                  </div>
                );
              })}
            </fieldset>
          ))}
        </div>
        <div class="actions">
          <button type="submit">{s.form.save}</button>
        </div>
      </form>
    </section>
  );
}

/** French number as typed ("1 290,50", "12,5"); NaN when it is not one (the domain names the field). */
function parseFrench(text: string): number | null {
  const v = text.replace(/[\s\u00a0\u202f]/g, '').replace(',', '.');
  if (v === '') return null;
  return /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : Number.NaN;
}

function frenchIssue(message: string): string {
  if (message === 'must be a number') return s.form.notNumber;
  if (message === 'must be zero or more') return s.form.negative;
  if (message === 'must be a whole number') return s.form.whole;
  if (message === 'has more than two decimals') return s.form.decimals;
  const max = /^must be at most (\d+)/.exec(message);
  if (max) return s.form.tooLarge(Number(max[1]).toLocaleString('fr-FR'));
  return s.form.other;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type PageContext = Context<AppEnv, any>;

function MonthForm(props: { month: string; error?: string | undefined }) {
  return (
    <form method="get" action="/dashboard" class="card month-form">
      <div>
        <label for="month">{s.month}</label>
        <input type="month" id="month" name="month" value={props.month} required aria-invalid={props.error ? 'true' : undefined} aria-describedby={props.error ? 'month-error' : undefined} />
        <FieldError id="month-error" message={props.error} />
      </div>
      <button type="submit" class="secondary">
        {s.show}
      </button>
    </form>
  );
}

/** The whole page; `values` and `errors` re-show a refused objectives form (status 400). */
async function render(c: PageContext, month: string, extra: { values?: Record<string, string>; errors?: Record<string, string>; saved?: number } = {}) {
  const ctx = ctxOf(c);
  const viewer = await viewerOf(c);
  const d = await agentDashboard({ ctx, input: { month } });
  const stored = await listObjectives({ ctx, input: { month } });
  const errorCount = Object.keys(extra.errors ?? {}).length;
  return c.html(
    <Layout title={s.title} viewer={viewer} current="/dashboard">
      <h1>{s.title}</h1>
      <p class="lead">{s.intro}</p>
      <MonthForm month={month} />
      {extra.saved !== undefined && <Notice kind="ok">{s.form.saved(extra.saved)}</Notice>}
      {errorCount > 0 && <Notice kind="err">{s.form.invalid}</Notice>}
      <section class="card" id="dashboard">
        <h2>{monthName.format(d.from)}</h2>
        {d.agents.length === 0 ? (
          <p class="muted">{s.noAgents}</p>
        ) : (
          <>
            {d.agents.every((a) => Object.values(a.cells).every((cell) => !cell.achieved)) && <p class="muted">{s.empty}</p>}
            <div class="table-wrap" tabindex={0} role="region" aria-label={s.title}>
              <table class="dashboard-table">
                <thead>
                  <tr>
                    <th scope="col">{s.criterion}</th>
                    <th scope="col">{s.objective}</th>
                    <th scope="col">{s.achieved}</th>
                    <th scope="col">{s.gap}</th>
                  </tr>
                </thead>
                {d.agents.map((row) => (
                  <RowGroup d={d} row={row} />
                ))}
                <RowGroup d={d} row={d.team} team />
              </table>
            </div>
            <p class="muted small">{s.sources}</p>
            <p class="muted small">{s.unsubscribesNote}</p>
            {(d.unowned.sent > 0 || d.unowned.conversions > 0) && <p class="small">{s.unowned(d.unowned.sent, d.unowned.conversions, formatEuros(d.unowned.value))}</p>}
          </>
        )}
      </section>
      {d.agents.length > 0 && (
        <section class="card">
          <CallsChart d={d} />
        </section>
      )}
      {viewer.role === 'admin' ? (
        d.agents.length > 0 && <ObjectivesForm d={d} stored={stored} {...(extra.values ? { values: extra.values } : {})} {...(extra.errors ? { errors: extra.errors } : {})} />
      ) : (
        <p class="muted">{s.form.adminOnly}</p>
      )}
    </Layout>,
  );
}

export const dashboardPages = new Hono<AppEnv>()
  .get('/dashboard', pageFor(['marketer', 'admin']), async (c) => {
    const ctx = ctxOf(c);
    const month = c.req.query('month') || parisMonth(ctx.clock.now());
    if (!parisMonthRange(month)) {
      c.status(400);
      return c.html(
        <Layout title={s.title} viewer={await viewerOf(c)} current="/dashboard">
          <h1>{s.title}</h1>
          <p class="lead">{s.intro}</p>
          <Notice kind="err">{s.fixMonth}</Notice>
          <MonthForm month={month.slice(0, 20)} error={s.badMonth} />
        </Layout>,
      );
    }
    const saved = c.req.query('saved');
    return render(c, month, saved !== undefined && /^\d+$/.test(saved) ? { saved: Number(saved) } : {});
  })
  .post('/dashboard/objectives', pageFor(['admin']), async (c) => {
    const body = await c.req.parseBody();
    const month = typeof body.month === 'string' ? body.month : '';
    if (!parisMonthRange(month)) {
      c.status(400);
      return c.html(
        <Layout title={s.title} viewer={await viewerOf(c)} current="/dashboard">
          <h1>{s.title}</h1>
          <Notice kind="err">{s.fixMonth}</Notice>
          <MonthForm month={month.slice(0, 20)} error={s.badMonth} />
        </Layout>,
      );
    }
    const values: Record<string, string> = {};
    const entries = [];
    for (const [name, raw] of Object.entries(body)) {
      if (!name.startsWith(FIELD_PREFIX) || typeof raw !== 'string') continue;
      // objective.<target>.<metric>: target ids have no dot; metrics may (never do today).
      const rest = name.slice(FIELD_PREFIX.length);
      const dot = rest.indexOf('.');
      if (dot <= 0) continue;
      values[name] = raw.slice(0, 40);
      entries.push({ target: rest.slice(0, dot), metric: rest.slice(dot + 1), value: parseFrench(raw.slice(0, 40)) });
    }
    try {
      const { changed } = await setObjectives({ ctx: ctxOf(c), input: { month, entries } });
      return c.redirect(`/dashboard?month=${month}&saved=${changed}#objectives`, 303);
    } catch (error) {
      if (!(error instanceof Invalid)) throw error;
      const errors = Object.fromEntries(error.issues.map((i) => [i.field, frenchIssue(i.message)]));
      c.status(400);
      return render(c, month, { values, errors });
    }
  });

/** Styles of these pages, appended to /assets/app.css. */
export const dashboardCss = `
.month-form{display:flex;flex-wrap:wrap;align-items:flex-end;gap:12px;padding:12px 20px 16px}
.month-form label{margin-top:0}
.month-form [aria-invalid=true],.objectives-form [aria-invalid=true]{border-color:var(--err)}
table.dashboard-table tbody tr.group th{background:#f0f4f8;font-size:1rem;text-transform:none;letter-spacing:normal;color:var(--ink);padding-top:10px;border-top:2px solid var(--line)}
table.dashboard-table tbody.team tr.group th{background:#e0e8f9}
.gap{display:inline-block;padding:1px 8px;border-radius:12px;font-weight:600}
@media (min-width:600px){.gap{white-space:nowrap}}
/* On a phone each criterion becomes a small card: its name, then Objectif / Réalisé / Écart side by side, each labelled. */
@media (max-width:600px){
table.dashboard-table thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
table.dashboard-table tbody tr[data-metric]{display:grid;grid-template-columns:1fr 1fr 1.3fr;border-bottom:1px solid var(--line)}
table.dashboard-table tbody tr[data-metric] th{grid-column:1/-1;border:0;padding:8px 8px 0}
table.dashboard-table tbody tr[data-metric] td{border:0;padding:2px 8px 8px;font-size:14px}
table.dashboard-table tbody tr[data-metric] td::before{content:attr(data-label);display:block;font-size:12px;color:var(--muted)}
table.dashboard-table tbody tr.group{display:block}
table.dashboard-table tbody tr.group th{display:block}
}
.gap.met{background:#e3f5ea;color:var(--ok)}
.gap.missed{background:#fde8e7;color:var(--err)}
.objective-groups{display:grid;gap:16px;grid-template-columns:repeat(auto-fit,minmax(260px,1fr))}
fieldset.objective-group{border:1px solid var(--line);border-radius:8px;padding:8px 14px 14px;margin:0;min-width:0}
fieldset.objective-group legend{font-weight:700;padding:0 6px}
.objective-field label{font-weight:500;font-size:.95rem;margin:10px 0 2px}
.objective-field input{max-width:100%}
`;
