/** @jsxImportSource hono/jsx */
/** The results card of a sent campaign: figures per segment, agent or call campaign, rates with their base. */
import { formatEuros as euros, t } from '../../i18n/fr.js';
import type { Ctx } from '../../domain/context.js';
import { campaignStats, type Rate, type StatsRow } from '../../tracking/stats.js';
import { DataTable, Notice } from './layout.js';

const s = t.results;
export const RESULT_GROUPS = ['segment', 'agent', 'sourceCampaign'] as const;

const pct = (r: Rate) => (r.value === null ? s.none : `${(r.value * 100).toLocaleString('fr-FR', { maximumFractionDigits: 1 })} %`);
const ratio = (r: Rate) => (r.denominator ? s.of(r.numerator, r.denominator, pct(r)) : s.none);

function Row(props: { row: StatsRow; total?: boolean }) {
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
    <tr class={props.total ? 'total' : undefined}>
      <th scope="row">{props.total ? s.total : row.label}</th>
      {cells.map((v) => (
        <td>{String(v)}</td>
      ))}
    </tr>
  );
}

/**
 * The results section of a sent campaign page. It loads its own figures, so the campaign page
 * only says which campaign and which grouping (async components render inside c.html).
 */
export async function CampaignResults(props: { ctx: Pick<Ctx, 'db' | 'workspaceId'>; campaignId: string; groupBy: (typeof RESULT_GROUPS)[number] }) {
  const stats = await campaignStats(props.ctx.db, props.ctx.workspaceId, props.campaignId, props.groupBy);
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
      <DataTable headers={[s.group, s.sent, s.opens, s.clicks, s.conversions, s.unsubscribed, s.complaints]}>
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
        <a href={`/api/v1/campaigns/${stats.campaign.id}/stats?groupBy=${props.groupBy}&format=csv`}>{s.csv}</a>
      </p>
    </section>
  );
}
