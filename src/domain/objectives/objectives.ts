/**
 * Monthly objectives per agent and for the team, which the dashboard compares with what was
 * achieved (reference §1.3: Objectif / Réalisé / Écart). The manager of a call-centre team is
 * the workspace admin here: only admins set objectives; marketers and admins read them.
 */
import { and, eq, inArray } from 'drizzle-orm';
import { memberships, objectives } from '../../db/schema.js';
import { parisMonthRange } from '../../tracking/timeline.js';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import { Forbidden, Invalid, type FieldIssue } from '../errors.js';
import { MAX_OBJECTIVE, metricDef, SCALE } from './metrics.js';

export const TEAM = 'team';

/** The form field (and API issue field) naming one objective. */
export const objectiveField = (target: string, metric: string) => `objective.${target}.${metric}`;

export interface ObjectiveInput {
  /** An agent's user id, or `team`. */
  target: string;
  metric: string;
  /**
   * In the displayed unit (a count, a percentage, euros); null removes the objective. NaN (what
   * a form's non-numeric text parses to) is refused with the field named.
   */
  value: number | null;
}

/** Stored objectives of a month: target → metric → value in the displayed unit. */
export type ObjectiveMap = Map<string, Map<string, number>>;

export function assertMonth(month: string, field = 'month'): { from: Date; to: Date } {
  const range = parisMonthRange(month);
  if (!range) throw new Invalid('invalid_input', 'Invalid month.', [{ field, message: 'must be a month written YYYY-MM' }]);
  return range;
}

/** Objectives of a month (marketers and admins: the router guards). */
export async function listObjectives({ ctx, input }: { ctx: Pick<Ctx, 'db' | 'workspaceId'>; input: { month: string } }): Promise<ObjectiveMap> {
  assertMonth(input.month);
  const rows = await ctx.db.select().from(objectives).where(and(eq(objectives.workspaceId, ctx.workspaceId), eq(objectives.month, input.month)));
  const out: ObjectiveMap = new Map();
  for (const r of rows) {
    const def = metricDef(r.metric);
    if (!def) continue;
    let byMetric = out.get(r.target);
    if (!byMetric) out.set(r.target, (byMetric = new Map()));
    byMetric.set(r.metric, r.value / SCALE[def.unit]);
  }
  return out;
}

function check(entry: ObjectiveInput, members: Set<string>): { issue?: FieldIssue; stored?: number | null } {
  const field = objectiveField(entry.target, entry.metric);
  const def = metricDef(entry.metric);
  if (!def) return { issue: { field, message: 'is not a criterion of the dashboard' } };
  // Clearing is always allowed: a former member still listed for the month (their calls, their
  // leads) must not make the whole form unsavable.
  if (entry.value === null) return { stored: null };
  if (entry.target !== TEAM && !members.has(entry.target)) return { issue: { field, message: 'names nobody in this workspace' } };
  const v = entry.value;
  if (!Number.isFinite(v)) return { issue: { field, message: 'must be a number' } };
  if (v < 0) return { issue: { field, message: 'must be zero or more' } };
  if (v > MAX_OBJECTIVE[def.unit]) return { issue: { field, message: `must be at most ${MAX_OBJECTIVE[def.unit]}` } };
  const stored = v * SCALE[def.unit];
  if (Math.abs(Math.round(stored) - stored) > 1e-6) return { issue: { field, message: def.unit === 'count' ? 'must be a whole number' : 'has more than two decimals' } };
  return { stored: Math.round(stored) };
}

/**
 * Admin only. Sets (or, with a null value, removes) objectives of one month, all or none: every
 * entry is checked first, and a single bad one (unknown criterion, somebody outside the
 * workspace, not a number, negative, a fraction of a call) is an Invalid naming each bad field,
 * with nothing written. Entries not given are left as they are. One transaction with an audit
 * entry listing what changed. Idempotent: the same entries again change nothing.
 */
export async function setObjectives({ ctx, input }: { ctx: Ctx; input: { month: string; entries: ObjectiveInput[] } }): Promise<{ changed: number }> {
  if (ctx.actor.type !== 'user' || ctx.actor.role !== 'admin') throw new Forbidden('forbidden_role', 'Only an administrator sets objectives.');
  assertMonth(input.month);
  const memberRows = await ctx.db.select({ id: memberships.userId }).from(memberships).where(eq(memberships.workspaceId, ctx.workspaceId));
  const members = new Set(memberRows.map((m) => m.id));
  const issues: FieldIssue[] = [];
  const wanted = new Map<string, { target: string; metric: string; stored: number | null }>();
  for (const entry of input.entries) {
    const { issue, stored } = check(entry, members);
    if (issue) issues.push(issue);
    else wanted.set(`${entry.target}\u0000${entry.metric}`, { target: entry.target, metric: entry.metric, stored: stored ?? null });
  }
  if (issues.length) throw new Invalid('invalid_input', 'These objectives cannot be saved.', issues);

  const now = ctx.clock.now();
  const actorId = ctx.actor.userId;
  return ctx.db.transaction(async (tx) => {
    const targets = [...new Set([...wanted.values()].map((w) => w.target))];
    const current = targets.length
      ? await tx
          .select()
          .from(objectives)
          .where(and(eq(objectives.workspaceId, ctx.workspaceId), eq(objectives.month, input.month), inArray(objectives.target, targets)))
      : [];
    const before = new Map(current.map((r) => [`${r.target}\u0000${r.metric}`, r.value]));
    const changes: { target: string; metric: string; from: number | null; to: number | null }[] = [];
    for (const [k, w] of wanted) {
      const was = before.get(k) ?? null;
      if (was === w.stored) continue;
      changes.push({ target: w.target, metric: w.metric, from: was, to: w.stored });
      const where = and(eq(objectives.workspaceId, ctx.workspaceId), eq(objectives.month, input.month), eq(objectives.target, w.target), eq(objectives.metric, w.metric));
      if (w.stored === null) await tx.delete(objectives).where(where);
      else
        await tx
          .insert(objectives)
          .values({ workspaceId: ctx.workspaceId, month: input.month, target: w.target, metric: w.metric, value: w.stored, updatedBy: actorId, updatedAt: now })
          .onConflictDoUpdate({ target: [objectives.workspaceId, objectives.month, objectives.target, objectives.metric], set: { value: w.stored, updatedBy: actorId, updatedAt: now } });
    }
    if (changes.length) await recordAudit(tx, ctx, { action: 'objectives.set', targetType: 'objectives', targetId: input.month, details: { changes } });
    return { changed: changes.length };
  });
}
