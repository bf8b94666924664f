/**
 * Per-agent counters for the call-centre dashboard (reference §1.3): calls recorded, answers
 * per purpose, and the newsletter confirmation rate of the grants they collected.
 */
import { and, eq, gte, lt, sql } from 'drizzle-orm';
import { calls, consentEvents, consentState, memberships, users } from '../../db/schema.js';
import type { Ctx } from '../context.js';

export interface AgentCounters {
  agentId: string;
  name: string;
  calls: number;
  answers: Record<string, { granted: number; refused: number }>;
  newsletterGrants: number;
  newsletterConfirmed: number;
  /** confirmed ÷ grants, null when no grant (the denominator is stated, never hidden). */
  confirmationRate: number | null;
}

export async function agentCounters({ ctx, input }: { ctx: Pick<Ctx, 'db' | 'workspaceId'>; input: { from: Date; to: Date } }): Promise<AgentCounters[]> {
  const inPeriod = and(eq(calls.workspaceId, ctx.workspaceId), gte(calls.occurredAt, input.from), lt(calls.occurredAt, input.to));
  const agents = await ctx.db
    .select({ id: users.id, name: users.name })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.workspaceId, ctx.workspaceId), eq(memberships.role, 'agent')));
  const callCounts = await ctx.db.select({ agentId: calls.agentId, n: sql<number>`count(*)` }).from(calls).where(inPeriod).groupBy(calls.agentId);
  const answers = await ctx.db
    .select({ agentId: calls.agentId, purpose: consentEvents.purpose, action: consentEvents.action, n: sql<number>`count(*)` })
    .from(consentEvents)
    .innerJoin(calls, eq(calls.id, consentEvents.callId))
    .where(inPeriod)
    .groupBy(calls.agentId, consentEvents.purpose, consentEvents.action);
  // A grant counts as confirmed when the contact's newsletter consent is currently confirmed.
  const confirmed = await ctx.db
    .select({ agentId: calls.agentId, n: sql<number>`count(distinct ${consentEvents.contactId})` })
    .from(consentEvents)
    .innerJoin(calls, eq(calls.id, consentEvents.callId))
    .innerJoin(consentState, and(eq(consentState.contactId, consentEvents.contactId), eq(consentState.purpose, 'newsletter')))
    .where(and(inPeriod, eq(consentEvents.purpose, 'newsletter'), eq(consentEvents.action, 'granted'), sql`${consentState.confirmedAt} IS NOT NULL`))
    .groupBy(calls.agentId);

  const ids = new Set<string>([...agents.map((a) => a.id), ...callCounts.map((c) => c.agentId).filter((x): x is string => x !== null)]);
  const names = new Map(agents.map((a) => [a.id, a.name]));
  const missing = [...ids].filter((id) => !names.has(id));
  for (const id of missing) {
    const u = await ctx.db.query.users.findFirst({ where: eq(users.id, id) });
    names.set(id, u?.name ?? id);
  }
  return [...ids]
    .map((agentId) => {
      const mine = answers.filter((a) => a.agentId === agentId);
      const byPurpose: AgentCounters['answers'] = {};
      for (const a of mine) {
        const slot = (byPurpose[a.purpose] ??= { granted: 0, refused: 0 });
        if (a.action === 'granted' || a.action === 'refused') slot[a.action] += Number(a.n);
      }
      const grants = byPurpose.newsletter?.granted ?? 0;
      const conf = Number(confirmed.find((c) => c.agentId === agentId)?.n ?? 0);
      return {
        agentId,
        name: names.get(agentId) ?? agentId,
        calls: Number(callCounts.find((c) => c.agentId === agentId)?.n ?? 0),
        answers: byPurpose,
        newsletterGrants: grants,
        newsletterConfirmed: conf,
        confirmationRate: grants > 0 ? conf / grants : null,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}
