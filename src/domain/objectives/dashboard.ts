/**
 * The call-centre dashboard of one month (reference §1.3): per agent and for the team, what was
 * achieved on each criterion, next to the objective the manager set, and the gap.
 *
 * Where each figure comes from:
 *  - calls and answers per purpose, newsletter confirmations: the calls the agent recorded that
 *    month (src/domain/consent/agent-stats.ts);
 *  - email engagement of their leads (sent, recipients who clicked, unsubscribes): the
 *    campaigns that started sending that month, grouped by the owner agent copied onto each send
 *    when it was queued (workspaceReport, groupBy agent), so a click or an unsubscribe lands in
 *    the row of the agent who owned the lead when the mail left;
 *  - conversions and their value: conversions that occurred that month, credited to the owner
 *    agent copied on the send the conversion is attributed to (the same snapshot as engagement,
 *    stable when leads are reassigned later), else, for a conversion explained by no campaign
 *    (a prospect who called back), to the contact's current owner: their lead either way.
 * The team is the sum of its agents; its confirmation rate is confirmed ÷ grants over the team.
 */
import { and, eq, gte, inArray, lt, sql } from 'drizzle-orm';
import { contacts, conversions, sends, users } from '../../db/schema.js';
import { workspaceReport } from '../../tracking/stats.js';
import { agentCounters } from '../consent/agent-stats.js';
import { currentScripts } from '../consent/scripts.js';
import type { Ctx } from '../context.js';
import { FIXED_METRICS, grantedMetric, metricDef, sumsUp, type MetricDef } from './metrics.js';
import { assertMonth, listObjectives, TEAM } from './objectives.js';

export interface Cell {
  /** Achieved, in the displayed unit (count, percentage, euros); null when there is no base (a rate of nothing). */
  achieved: number | null;
  /** For rates: numerator and denominator, so the base is always shown. */
  base?: { numerator: number; denominator: number };
  objective: number | null;
  /** True when the team objective is the sum of the agents' (none set for the team itself). */
  defaulted: boolean;
  /** achieved − objective, in the displayed unit; null without both. */
  gap: number | null;
  /** Objective met (floor reached, or ceiling not exceeded); null without an objective. */
  met: boolean | null;
}

export interface DashboardRow {
  /** The agent's user id, or `team`. */
  target: string;
  name: string;
  cells: Record<string, Cell>;
}

export interface Dashboard {
  month: string;
  from: Date;
  to: Date;
  /** Purposes shown, core ones first; with the label of their current script when there is one. */
  purposes: { purpose: string; label: string | null }[];
  metrics: MetricDef[];
  agents: DashboardRow[];
  team: DashboardRow;
  /** Figures of leads owned by no agent (not in the team's total). */
  unowned: { sent: number; conversions: number; value: number };
}

interface Achieved {
  values: Record<string, number | null>;
  confirmation: { numerator: number; denominator: number };
}

const round2 = (n: number) => Math.round(n * 100) / 100;

function cellOf(def: MetricDef, achieved: number | null, objective: number | null, defaulted: boolean, base?: Cell['base']): Cell {
  const gap = achieved !== null && objective !== null ? round2(achieved - objective) : null;
  const met = gap === null ? null : def.direction === 'min' ? gap >= 0 : gap <= 0;
  return { achieved, objective, defaulted, gap, met, ...(base ? { base } : {}) };
}

/**
 * The dashboard of a month `YYYY-MM` (Paris calendar). Marketers and admins (router guard).
 * Reads only. Agents are the workspace's agents and anyone who recorded a call or owns a lead
 * with figures that month.
 */
export async function agentDashboard({ ctx, input }: { ctx: Pick<Ctx, 'db' | 'workspaceId'>; input: { month: string } }): Promise<Dashboard> {
  const range = assertMonth(input.month);
  const counters = await agentCounters({ ctx, input: range });
  const report = await workspaceReport(ctx.db, ctx.workspaceId, range, 'agent');
  const won = await ctx.db
    .select({
      agentId: sql<string | null>`coalesce(${sends.ownerAgentId}, ${contacts.ownerAgentId})`,
      n: sql<number>`count(*)`,
      value: sql<number>`coalesce(sum(${conversions.value}), 0)`,
    })
    .from(conversions)
    .innerJoin(contacts, eq(contacts.id, conversions.contactId))
    .leftJoin(sends, eq(sends.id, conversions.sendId))
    .where(and(eq(conversions.workspaceId, ctx.workspaceId), gte(conversions.occurredAt, range.from), lt(conversions.occurredAt, range.to)))
    .groupBy(sql`1`);
  const objectives = await listObjectives({ ctx, input: { month: input.month } });

  const scripts = await currentScripts(ctx.db, ctx.workspaceId);
  const purposeSet = new Set<string>(['newsletter', 'open_tracking', ...scripts.map((s) => s.purpose)]);
  for (const c of counters) for (const p of Object.keys(c.answers)) purposeSet.add(p);
  const purposes = [...purposeSet].map((purpose) => ({ purpose, label: scripts.find((s) => s.purpose === purpose)?.label ?? null }));
  const metrics: MetricDef[] = [FIXED_METRICS[0]!, ...purposes.map((p) => metricDef(grantedMetric(p.purpose))!), ...FIXED_METRICS.slice(1)];

  // Everyone with a figure: agents, callers, and owners of leads mailed or converted this month.
  const names = new Map(counters.map((c) => [c.agentId, c.name]));
  const extra = [...report.rows.map((r) => r.key), ...won.map((w) => w.agentId)].filter((id): id is string => id !== null && !names.has(id));
  if (extra.length) {
    const found = await ctx.db.select({ id: users.id, name: users.name }).from(users).where(inArray(users.id, [...new Set(extra)]));
    for (const id of new Set(extra)) names.set(id, found.find((f) => f.id === id)?.name ?? id);
  }

  const achievedOf = (agentId: string): Achieved => {
    const c = counters.find((x) => x.agentId === agentId);
    const r = report.rows.find((x) => x.key === agentId);
    const w = won.find((x) => x.agentId === agentId);
    const values: Record<string, number | null> = {
      calls: c?.calls ?? 0,
      conversions: Number(w?.n ?? 0),
      conversionValue: Number(w?.value ?? 0) / 100,
      sent: r?.counts.sent ?? 0,
      humanClickers: r?.counts.uniqueHumanClicks ?? 0,
      unsubscribes: r?.counts.unsubscribed ?? 0,
    };
    for (const p of purposes) values[grantedMetric(p.purpose)] = c?.answers[p.purpose]?.granted ?? 0;
    const confirmation = { numerator: c?.newsletterConfirmed ?? 0, denominator: c?.newsletterGrants ?? 0 };
    values.confirmationRate = confirmation.denominator ? round2((confirmation.numerator / confirmation.denominator) * 100) : null;
    return { values, confirmation };
  };

  const rowOf = (target: string, name: string, a: Achieved, objectiveOf: (m: MetricDef) => { value: number | null; defaulted: boolean }): DashboardRow => {
    const cells: Record<string, Cell> = {};
    for (const m of metrics) {
      const o = objectiveOf(m);
      cells[m.key] = cellOf(m, a.values[m.key] ?? null, o.value, o.defaulted, m.key === 'confirmationRate' ? a.confirmation : undefined);
    }
    return { target, name, cells };
  };

  const ids = [...names.keys()].sort((x, y) => names.get(x)!.localeCompare(names.get(y)!, 'fr'));
  const agentAchieved = new Map(ids.map((id) => [id, achievedOf(id)]));
  const agents = ids.map((id) => rowOf(id, names.get(id)!, agentAchieved.get(id)!, (m) => ({ value: objectives.get(id)?.get(m.key) ?? null, defaulted: false })));

  const teamValues: Record<string, number | null> = {};
  const teamConfirmation = { numerator: 0, denominator: 0 };
  for (const a of agentAchieved.values()) {
    for (const m of metrics) if (m.unit !== 'rate') teamValues[m.key] = round2((teamValues[m.key] ?? 0) + (a.values[m.key] ?? 0));
    teamConfirmation.numerator += a.confirmation.numerator;
    teamConfirmation.denominator += a.confirmation.denominator;
  }
  for (const m of metrics) teamValues[m.key] ??= 0;
  teamValues.confirmationRate = teamConfirmation.denominator ? round2((teamConfirmation.numerator / teamConfirmation.denominator) * 100) : null;
  const team = rowOf(TEAM, TEAM, { values: teamValues, confirmation: teamConfirmation }, (m) => {
    const explicit = objectives.get(TEAM)?.get(m.key);
    if (explicit !== undefined) return { value: explicit, defaulted: false };
    if (!sumsUp(m)) return { value: null, defaulted: false };
    const set = ids.map((id) => objectives.get(id)?.get(m.key)).filter((v): v is number => v !== undefined);
    return set.length ? { value: round2(set.reduce((a, b) => a + b, 0)), defaulted: true } : { value: null, defaulted: false };
  });

  const unownedReport = report.rows.find((r) => r.key === null);
  const unownedWon = won.find((w) => w.agentId === null);
  return {
    month: input.month,
    from: range.from,
    to: range.to,
    purposes,
    metrics,
    agents,
    team,
    unowned: { sent: unownedReport?.counts.sent ?? 0, conversions: Number(unownedWon?.n ?? 0), value: Number(unownedWon?.value ?? 0) },
  };
}
