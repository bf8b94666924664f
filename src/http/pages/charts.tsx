/** @jsxImportSource hono/jsx */
/**
 * Charts drawn on the server as SVG: d3-scale places things (bands, linear and point scales,
 * "nice" domains and their ticks) and d3-shape draws the lines; this file only writes the
 * elements. No script, so they work under the strict CSP and without JavaScript, print well,
 * and cost the browser nothing.
 *
 * Accessible: each chart is one `role="img"` with a <title> and a <desc> that say what it shows;
 * the figures themselves are in a table next to it (the caller's, or the one under "Données").
 * Machine activity is never told apart by colour alone: hatched bars, dashed lines and square
 * points, named in the legend.
 */
import { scaleBand, scaleLinear, scalePoint } from 'd3-scale';
import { line } from 'd3-shape';
import type { Child } from 'hono/jsx';

/** How a series is drawn. `human` and `machine` are the two kinds of reader; `a`–`c` are plain series. */
export type SeriesKind = 'human' | 'machine' | 'a' | 'b' | 'c';

export interface Series {
  name: string;
  kind: SeriesKind;
  /** One value per category (bars) or per point in time (lines); null: nothing to draw (no base). */
  values: (number | null)[];
}

const COLOURS: Record<SeriesKind, string> = { human: '#1d4ed8', machine: '#52606d', a: '#1d4ed8', b: '#0f7b3f', c: '#9a5b00' };
/** User units across: small enough that text stays legible when a phone shrinks the chart to ~340 px. */
const WIDTH = 400;
const FONT = 13;

const fill = (id: string, kind: SeriesKind) => (kind === 'machine' ? `url(#${id}-hatch)` : COLOURS[kind]);

function Hatch(props: { id: string }) {
  return (
    <defs>
      <pattern id={`${props.id}-hatch`} width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
        <rect width="6" height="6" fill="#e4e7eb" />
        <line x1="0" y1="0" x2="0" y2="6" stroke={COLOURS.machine} stroke-width="3" />
      </pattern>
    </defs>
  );
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** The legend, in HTML so it wraps on a phone; each swatch repeats the series' pattern and shape. */
export function Legend(props: { series: Pick<Series, 'name' | 'kind'>[]; lines?: boolean }) {
  return (
    <ul class="legend">
      {props.series.map((s) => (
        <li>
          <svg width="28" height="14" viewBox="0 0 28 14" aria-hidden="true" focusable="false">
            {props.lines ? (
              <>
                <line x1="1" y1="7" x2="27" y2="7" stroke={COLOURS[s.kind]} stroke-width="2.5" stroke-dasharray={s.kind === 'machine' ? '5 3' : undefined} />
                {s.kind === 'machine' ? <rect x="10" y="3" width="8" height="8" fill={COLOURS.machine} /> : <circle cx="14" cy="7" r="4" fill={COLOURS[s.kind]} />}
              </>
            ) : s.kind === 'machine' ? (
              <>
                <rect x="1" y="1" width="26" height="12" fill="#e4e7eb" stroke={COLOURS.machine} />
                {[4, 10, 16, 22].map((x0) => (
                  <line x1={x0} y1="13" x2={x0 + 6} y2="1" stroke={COLOURS.machine} stroke-width="2" />
                ))}
              </>
            ) : (
              <rect x="1" y="1" width="26" height="12" fill={COLOURS[s.kind]} />
            )}
          </svg>
          {s.name}
        </li>
      ))}
    </ul>
  );
}

/** A chart's frame: heading, the SVG, its legend, and (folded) the figures behind it. */
export function ChartFigure(props: { heading: string; children: Child; data?: Child; dataLabel?: string }) {
  return (
    <figure class="chart">
      <figcaption>{props.heading}</figcaption>
      {props.children}
      {props.data && (
        <details class="chart-data">
          <summary>{props.dataLabel ?? 'Données du graphique'}</summary>
          {props.data}
        </details>
      )}
    </figure>
  );
}

/**
 * Horizontal bars, one group per category and one bar per series (a funnel is one series; human
 * versus machine, two). Each category's name is written above its bars, full width, so long
 * campaign or agent names stay readable on a phone. Bars carry `class="bar"`, `data-series` and
 * `data-category`, and their value is written at their end.
 */
export function BarChart(props: { id: string; title: string; desc: string; categories: string[]; series: Series[]; format: (n: number) => string; max?: number; integer?: boolean }) {
  const n = props.series.length;
  const barH = n === 1 ? 18 : 13;
  const labelH = 17;
  const groupH = labelH + n * barH + (n - 1) * 2;
  const top = 2;
  const axis = 20;
  const left = 4;
  const valueW = 60;
  const height = top + props.categories.length * (groupH + 12) + axis;
  const max = props.max ?? Math.max(0, ...props.series.flatMap((s) => s.values.map((v) => v ?? 0)));
  const x = scaleLinear()
    .domain([0, max > 0 ? max : 1])
    .nice(4)
    .range([left, WIDTH - valueW]);
  const y = scaleBand<number>()
    .domain(props.categories.map((_, i) => i))
    .range([top, height - axis])
    .paddingInner(0.2)
    .paddingOuter(0.05);
  const inner = scaleBand<number>()
    .domain(props.series.map((_, i) => i))
    .range([labelH, y.bandwidth()])
    .paddingInner(0.12);
  const titleId = `${props.id}-title`;
  const descId = `${props.id}-desc`;
  return (
    <svg class="chart-svg" id={props.id} viewBox={`0 0 ${WIDTH} ${height}`} role="img" aria-labelledby={`${titleId} ${descId}`} font-size={FONT}>
      <title id={titleId}>{props.title}</title>
      <desc id={descId}>{props.desc}</desc>
      {props.series.some((s) => s.kind === 'machine') && <Hatch id={props.id} />}
      <g class="grid-lines">
        {/* Counts get whole-number ticks only (a [0, 1] domain would otherwise read "0 0 0 1 1"). */}
        {x.ticks(4).filter((tick) => !props.integer || Number.isInteger(tick)).map((tick) => (
          <g>
            <line x1={x(tick)} x2={x(tick)} y1={top} y2={height - axis} />
            <text x={x(tick)} y={height - 5} text-anchor={tick === 0 ? 'start' : 'middle'} class="tick">
              {props.format(tick)}
            </text>
          </g>
        ))}
      </g>
      {props.categories.map((category, ci) => (
        <g class="category">
          <text x={left} y={(y(ci) ?? 0) + labelH - 5} class="label">
            {clip(category, 48)}
          </text>
          {props.series.map((s, si) => {
            const v = s.values[ci];
            const by = (y(ci) ?? 0) + (inner(si) ?? 0);
            const bh = inner.bandwidth();
            if (v === null || v === undefined) {
              return (
                <text x={left + 2} y={by + bh / 2} dy="0.35em" class="value muted-text">
                  —
                </text>
              );
            }
            const w = Math.max(0, x(v) - left);
            return (
              <g>
                <rect class="bar" data-series={s.name} data-category={category} x={left} y={by} width={Math.max(w, v > 0 ? 1.5 : 0)} height={bh} fill={fill(props.id, s.kind)} stroke={s.kind === 'machine' ? COLOURS.machine : undefined} />
                <text x={left + w + 4} y={by + bh / 2} dy="0.35em" class="value">
                  {props.format(v)}
                </text>
              </g>
            );
          })}
        </g>
      ))}
      <line class="axis" x1={left} x2={left} y1={top} y2={height - axis} />
    </svg>
  );
}

/**
 * Series over time: one line per series with a point per bucket (`class="point"`; circles for
 * people, squares for machines, on a dashed line). X labels are thinned to fit.
 */
export function LineChart(props: { id: string; title: string; desc: string; labels: string[]; series: Series[]; format?: (n: number) => string }) {
  const format = props.format ?? ((v: number) => v.toLocaleString('fr-FR'));
  const height = 200;
  const left = 34;
  const right = 12;
  const top = 10;
  const bottom = 28;
  const max = Math.max(0, ...props.series.flatMap((s) => s.values.map((v) => v ?? 0)));
  const x = scalePoint<number>()
    .domain(props.labels.map((_, i) => i))
    .range([left, WIDTH - right])
    .padding(0.5);
  const y = scaleLinear()
    .domain([0, max > 0 ? max : 1])
    .nice(4)
    .range([height - bottom, top]);
  // Integer-only ticks: these are counts of hits.
  const ticks = y.ticks(4).filter((v) => Number.isInteger(v));
  const path = line<number | null>()
    .defined((v) => v !== null)
    .x((_, i) => x(i) ?? 0)
    .y((v) => y(v ?? 0));
  const every = Math.max(1, Math.ceil(props.labels.length / 4));
  const titleId = `${props.id}-title`;
  const descId = `${props.id}-desc`;
  return (
    <svg class="chart-svg" id={props.id} viewBox={`0 0 ${WIDTH} ${height}`} role="img" aria-labelledby={`${titleId} ${descId}`} font-size={FONT}>
      <title id={titleId}>{props.title}</title>
      <desc id={descId}>{props.desc}</desc>
      <g class="grid-lines">
        {ticks.map((tick) => (
          <g>
            <line x1={left} x2={WIDTH - right} y1={y(tick)} y2={y(tick)} />
            <text x={left - 6} y={y(tick)} dy="0.35em" text-anchor="end" class="tick">
              {format(tick)}
            </text>
          </g>
        ))}
      </g>
      {props.labels.map((label, i) =>
        i % every === 0 ? (
          <text x={x(i)} y={height - 8} text-anchor="middle" class="tick">
            {label}
          </text>
        ) : null,
      )}
      {props.series.map((s) => (
        <g class={`series ${s.kind}`} data-series={s.name}>
          <path d={path(s.values) ?? ''} fill="none" stroke={COLOURS[s.kind]} stroke-width="2.5" stroke-dasharray={s.kind === 'machine' ? '6 4' : undefined} />
          {s.values.map((v, i) =>
            v === null ? null : s.kind === 'machine' ? (
              <rect class="point" x={(x(i) ?? 0) - 3.5} y={y(v) - 3.5} width="7" height="7" fill={COLOURS.machine} />
            ) : (
              <circle class="point" cx={x(i)} cy={y(v)} r="3.5" fill={COLOURS[s.kind]} />
            ),
          )}
        </g>
      ))}
      <line class="axis" x1={left} x2={WIDTH - right} y1={height - bottom} y2={height - bottom} />
    </svg>
  );
}

/** CSS of the charts (part of the reports stylesheet). */
export const chartsCss = `
figure.chart{margin:0 0 16px;min-width:0}
figure.chart figcaption{font-weight:700;margin:0 0 6px}
.chart-svg{display:block;width:100%;max-width:560px;height:auto;overflow:visible}
.chart-svg text{fill:#1f2933}
.chart-svg text.tick{fill:#52606d;font-size:12px}
.chart-svg text.muted-text{fill:#52606d}
.chart-svg text.label{font-weight:600}
.chart-svg .grid-lines line{stroke:#d9e2ec;stroke-width:1}
.chart-svg line.axis{stroke:#7b8794;stroke-width:1}
ul.legend{list-style:none;display:flex;flex-wrap:wrap;gap:4px 16px;padding:0;margin:6px 0 0;font-size:14px}
ul.legend li{display:flex;align-items:center;gap:6px}
details.chart-data{margin-top:6px}
details.chart-data summary{cursor:pointer;color:var(--brand)}
.charts{display:grid;gap:20px;grid-template-columns:repeat(auto-fit,minmax(300px,1fr))}
.charts.fill{grid-template-columns:repeat(auto-fill,minmax(min(100%,440px),1fr))}
/* Row headers name a campaign, a group or an agent: read as text, not as column captions. */
`;

