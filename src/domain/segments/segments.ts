/**
 * Saved segments and their audiences: count, sample, and a cursor-paged stream for sending.
 * Marketers and admins (router guard). Changes are audited.
 */
import { and, asc, count, desc, eq, gt } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { contacts, segments } from '../../db/schema.js';
import { newId } from '../../lib/ids.js';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import { Conflict, NotFound } from '../errors.js';
import { campaignsNeedingSegment } from './sample.js';
import { getWorkspace } from '../workspaces/workspaces.js';
import { assertRules, audienceSql, type SegmentRules } from './rules.js';

export type Segment = typeof segments.$inferSelect;

const SAMPLE = 10;

export async function getSegment({ ctx, input }: { ctx: Pick<Ctx, 'db' | 'workspaceId'>; input: { id: string } }): Promise<Segment> {
  const row = await ctx.db.query.segments.findFirst({ where: and(eq(segments.id, input.id), eq(segments.workspaceId, ctx.workspaceId)) });
  if (!row) throw new NotFound('segment_not_found', 'No such segment in this workspace.');
  return row;
}

export async function listSegments({ ctx }: { ctx: Pick<Ctx, 'db' | 'workspaceId'> }): Promise<Segment[]> {
  return ctx.db.select().from(segments).where(eq(segments.workspaceId, ctx.workspaceId)).orderBy(asc(segments.name));
}

export async function createSegment({ ctx, input }: { ctx: Ctx; input: { name: string; rules: SegmentRules } }): Promise<Segment> {
  assertRules(input.rules);
  const now = ctx.clock.now();
  const row: Segment = {
    id: newId('seg'),
    workspaceId: ctx.workspaceId,
    name: input.name,
    rules: input.rules,
    createdBy: ctx.actor.type === 'user' ? ctx.actor.userId : ctx.actor.type === 'api_key' ? ctx.actor.keyId : 'system',
    createdAt: now,
    updatedAt: now,
  };
  await ctx.db.transaction(async (tx) => {
    await tx.insert(segments).values(row);
    await recordAudit(tx, ctx, { action: 'segment.created', targetType: 'segment', targetId: row.id, details: { name: row.name } });
  });
  return row;
}

export async function updateSegment({ ctx, input }: { ctx: Ctx; input: { id: string; name?: string | undefined; rules?: SegmentRules | undefined } }): Promise<Segment> {
  const current = await getSegment({ ctx, input });
  if (input.rules) assertRules(input.rules);
  const next: Segment = { ...current, name: input.name ?? current.name, rules: input.rules ?? current.rules, updatedAt: ctx.clock.now() };
  await ctx.db.transaction(async (tx) => {
    await tx.update(segments).set({ name: next.name, rules: next.rules, updatedAt: next.updatedAt }).where(eq(segments.id, current.id));
    await recordAudit(tx, ctx, { action: 'segment.updated', targetType: 'segment', targetId: current.id, details: { fields: Object.keys(input).filter((k) => k !== 'id') } });
  });
  return next;
}

/**
 * Deletes a segment, unless a campaign will still read it (scheduled, or sending/paused before
 * its audience is in the send ledger): 409 `segment_in_use` naming those campaigns. The check
 * runs in the deleting transaction, so a campaign scheduled at the same moment cannot slip by.
 */
export async function deleteSegment({ ctx, input }: { ctx: Ctx; input: { id: string } }): Promise<void> {
  const current = await getSegment({ ctx, input });
  await ctx.db.transaction(async (tx) => {
    const users = await campaignsNeedingSegment({ ctx: { db: tx, workspaceId: ctx.workspaceId }, input: { id: current.id } });
    if (users.length) throw new Conflict('segment_in_use', 'A scheduled or sending campaign still uses this segment.', { campaigns: users.map((u) => u.name) });
    await tx.delete(segments).where(eq(segments.id, current.id));
    await recordAudit(tx, ctx, { action: 'segment.deleted', targetType: 'segment', targetId: current.id, details: { name: current.name } });
  });
}

async function audienceCondition(ctx: Pick<Ctx, 'db' | 'workspaceId' | 'clock'>, rules: SegmentRules) {
  const ws = await getWorkspace({ ctx });
  return audienceSql(ctx.workspaceId, rules, { requireConfirmation: ws.settings.requireDoubleOptIn, now: ctx.clock.now() });
}

/**
 * How many contacts the rules select who may receive a newsletter now, and a few of them: the
 * live figures a marketer sees while building a segment.
 */
export async function audiencePreview({ ctx, input }: { ctx: Pick<Ctx, 'db' | 'workspaceId' | 'clock'>; input: { rules: SegmentRules } }) {
  assertRules(input.rules);
  const where = await audienceCondition(ctx, input.rules);
  const [total] = await ctx.db.select({ n: count() }).from(contacts).where(where);
  const sample = await ctx.db
    .select({ id: contacts.id, email: contacts.email, firstName: contacts.firstName, lastName: contacts.lastName, sourceCampaign: contacts.sourceCampaign })
    .from(contacts)
    .where(where)
    .orderBy(desc(contacts.createdAt))
    .limit(SAMPLE);
  return { count: total?.n ?? 0, sample };
}

/**
 * The audience in pages of contact ids, by ascending id (a keyset cursor: constant memory
 * whatever the size, and stable while contacts are added).
 */
export async function* streamAudience(db: DbOrTx, ctx: Pick<Ctx, 'db' | 'workspaceId' | 'clock'>, rules: SegmentRules, pageSize = 1000): AsyncGenerator<string[]> {
  const where = await audienceCondition(ctx, rules);
  let after = '';
  for (;;) {
    const page = await db
      .select({ id: contacts.id })
      .from(contacts)
      .where(and(where, gt(contacts.id, after)))
      .orderBy(asc(contacts.id))
      .limit(pageSize);
    if (page.length === 0) return;
    yield page.map((r) => r.id);
    after = page[page.length - 1]!.id;
    if (page.length < pageSize) return;
  }
}
