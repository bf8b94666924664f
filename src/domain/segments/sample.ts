/**
 * Read-only helpers for the segment builder pages: the audience with the details a marketer needs
 * to recognise who is in it (owner agent, consent date), counts for a list of segments, what the
 * builder can offer as values (agents, call campaigns, attribute names), and which campaigns still
 * need a segment. Marketers and admins (page guard). Nothing here writes.
 */
import type { DbOrTx } from '../../db/client.js';
import { and, count, desc, eq, inArray, isNotNull, sql } from 'drizzle-orm';
import { campaigns, consentState, contacts, memberships, users } from '../../db/schema.js';
import type { Ctx } from '../context.js';
import { getWorkspace } from '../workspaces/workspaces.js';
import { assertRules, audienceSql, type SegmentRules } from './rules.js';

type ReadCtx = Pick<Ctx, 'db' | 'workspaceId' | 'clock'>;

export interface AudienceMember {
  id: string;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  ownerAgentName: string | null;
  /** Since when the newsletter consent is granted. */
  consentSince: Date | null;
  confirmedAt: Date | null;
}

/**
 * Count and the most recent `limit` contacts of the audience of `rules` (same definition as
 * `audiencePreview`: granted newsletter consent, confirmed if the workspace requires it, not
 * erased, not suppressed), with their owner agent's name and consent date. Throws `Invalid`
 * (with the rule paths) on invalid rules.
 */
export async function audienceSample({ ctx, input }: { ctx: ReadCtx; input: { rules: SegmentRules; limit?: number } }): Promise<{ count: number; sample: AudienceMember[] }> {
  assertRules(input.rules);
  const ws = await getWorkspace({ ctx });
  const where = audienceSql(ctx.workspaceId, input.rules, { requireConfirmation: ws.settings.requireDoubleOptIn, now: ctx.clock.now() });
  const [total] = await ctx.db.select({ n: count() }).from(contacts).where(where);
  const rows = await ctx.db
    .select({
      id: contacts.id,
      email: contacts.email,
      firstName: contacts.firstName,
      lastName: contacts.lastName,
      ownerAgentName: users.name,
      consentSince: consentState.since,
      confirmedAt: consentState.confirmedAt,
    })
    .from(contacts)
    .leftJoin(users, eq(users.id, contacts.ownerAgentId))
    .leftJoin(consentState, and(eq(consentState.contactId, contacts.id), eq(consentState.purpose, 'newsletter')))
    .where(where)
    .orderBy(desc(contacts.createdAt), desc(contacts.id))
    .limit(input.limit ?? 10);
  return { count: total?.n ?? 0, sample: rows };
}

/**
 * The audience count of each rule set, reading the workspace settings once (the segment list
 * shows one count per segment). Invalid stored rules count as null rather than failing the list.
 */
export async function audienceCounts({ ctx, input }: { ctx: ReadCtx; input: { rules: SegmentRules[] } }): Promise<(number | null)[]> {
  const ws = await getWorkspace({ ctx });
  const now = ctx.clock.now();
  return Promise.all(
    input.rules.map(async (rules) => {
      try {
        assertRules(rules);
      } catch {
        return null;
      }
      const [row] = await ctx.db
        .select({ n: count() })
        .from(contacts)
        .where(audienceSql(ctx.workspaceId, rules, { requireConfirmation: ws.settings.requireDoubleOptIn, now }));
      return row?.n ?? 0;
    }),
  );
}

/**
 * Campaigns that will still read this segment: scheduled, sending or paused before every
 * recipient was written to the send ledger. Deleting the segment under them would make the send
 * fail, so the pages refuse it while this list is not empty.
 */
export async function campaignsNeedingSegment({ ctx, input }: { ctx: { db: DbOrTx; workspaceId: string }; input: { id: string } }) {
  return ctx.db
    .select({ id: campaigns.id, name: campaigns.name, status: campaigns.status })
    .from(campaigns)
    .where(
      and(
        eq(campaigns.workspaceId, ctx.workspaceId),
        eq(campaigns.segmentId, input.id),
        sql`(${campaigns.status} = 'scheduled' OR (${campaigns.status} IN ('sending', 'paused') AND ${campaigns.audienceCompleteAt} IS NULL))`,
      ),
    );
}

/**
 * Values the rule builder offers instead of free text: the workspace's agents (owner of a lead is
 * a user id nobody can type), the call campaigns leads came from, and attribute names in use
 * (read from the most recent contacts only, so the page stays fast on large bases).
 */
export async function builderChoices({ ctx }: { ctx: Pick<Ctx, 'db' | 'workspaceId'> }) {
  const memberAgents = await ctx.db
    .select({ id: users.id, name: users.name })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.workspaceId, ctx.workspaceId), inArray(memberships.role, ['agent'])));
  // Owners who left the team or hold another role still own leads.
  const owners = await ctx.db
    .selectDistinct({ id: users.id, name: users.name })
    .from(contacts)
    .innerJoin(users, eq(users.id, contacts.ownerAgentId))
    .where(and(eq(contacts.workspaceId, ctx.workspaceId), isNotNull(contacts.ownerAgentId)));
  const agents = [...new Map([...memberAgents, ...owners].map((a) => [a.id, a])).values()].sort((a, b) => a.name.localeCompare(b.name, 'fr'));
  const campaignsRows = await ctx.db
    .selectDistinct({ name: contacts.sourceCampaign })
    .from(contacts)
    .where(and(eq(contacts.workspaceId, ctx.workspaceId), isNotNull(contacts.sourceCampaign)))
    .limit(100);
  const keys = await ctx.db.all<{ key: string }>(
    sql`SELECT DISTINCT j.key AS key FROM (SELECT ${contacts.attributes} AS a FROM ${contacts} WHERE ${contacts.workspaceId} = ${ctx.workspaceId} ORDER BY ${contacts.createdAt} DESC LIMIT 500) AS recent, json_each(recent.a) AS j ORDER BY j.key LIMIT 30`,
  );
  return {
    agents,
    sourceCampaigns: campaignsRows.map((r) => r.name!).sort((a, b) => a.localeCompare(b, 'fr')),
    attributeKeys: keys.map((k) => k.key).filter((k) => /^[a-zA-Z][a-zA-Z0-9_-]{0,39}$/.test(k)),
  };
}
