/**
 * A campaign's life: draft → scheduled | sending → paused ⇄ sending → sent, or cancelled / failed.
 * Each transition checks where the campaign is (a conditional UPDATE, so two clicks cannot both
 * win), is audited in the same transaction, and hands the work to the send queue.
 * Marketers and admins (router guard).
 */
import { and, eq, inArray } from 'drizzle-orm';
import { campaigns, type CampaignStatus } from '../../db/schema.js';
import { progressOf } from '../../sending/ledger.js';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import { Conflict, Invalid } from '../errors.js';
import { audiencePreview, getSegment } from '../segments/segments.js';
import { getCampaign, type Campaign } from './campaigns.js';

async function transition(
  ctx: Ctx,
  campaign: Campaign,
  from: CampaignStatus[],
  set: Partial<typeof campaigns.$inferInsert> & { status: CampaignStatus },
  action: string,
  details: Record<string, unknown> = {},
): Promise<Campaign> {
  return ctx.db.transaction(async (tx) => {
    const updated = await tx
      .update(campaigns)
      .set({ ...set, updatedAt: ctx.clock.now() })
      .where(and(eq(campaigns.id, campaign.id), eq(campaigns.workspaceId, ctx.workspaceId), inArray(campaigns.status, from)))
      .returning();
    if (updated.length !== 1) {
      throw new Conflict('campaign_state', `This campaign is ${campaign.status}; it cannot go to ${set.status} from there.`);
    }
    await recordAudit(tx, ctx, { action, targetType: 'campaign', targetId: campaign.id, details: { from: campaign.status, to: set.status, ...details } });
    return updated[0]!;
  });
}

async function checkSegment(ctx: Ctx, segmentId: string) {
  const segment = await getSegment({ ctx, input: { id: segmentId } }).catch(() => {
    throw new Invalid('invalid_input', 'Unknown segment.', [{ field: 'segmentId', message: 'is not a segment of this workspace' }]);
  });
  const { count } = await audiencePreview({ ctx, input: { rules: segment.rules } });
  if (count === 0) throw new Conflict('empty_audience', `Nobody in « ${segment.name} » may receive a newsletter now (consent granted${''} and confirmed where required).`);
  return { segment, count };
}

/** Freezes the compiled version and starts sending to the segment's audience now. */
export async function sendCampaign({ ctx, input }: { ctx: Ctx; input: { id: string; segmentId: string } }) {
  const campaign = await getCampaign({ ctx, input });
  const { segment, count } = await checkSegment(ctx, input.segmentId);
  const updated = await transition(ctx, campaign, ['draft', 'scheduled'], { status: 'sending', segmentId: segment.id, startedAt: ctx.clock.now(), scheduledAt: null }, 'campaign.send_started', {
    segment: segment.name,
    audience: count,
    version: campaign.version,
  });
  ctx.sendQueue.kick(campaign.id);
  return updated;
}

export async function scheduleCampaign({ ctx, input }: { ctx: Ctx; input: { id: string; segmentId: string; at: Date } }) {
  if (input.at.getTime() <= ctx.clock.now().getTime()) throw new Invalid('invalid_input', 'The time is in the past.', [{ field: 'at', message: 'must be in the future' }]);
  const campaign = await getCampaign({ ctx, input });
  const { segment } = await checkSegment(ctx, input.segmentId);
  return transition(ctx, campaign, ['draft', 'scheduled'], { status: 'scheduled', segmentId: segment.id, scheduledAt: input.at }, 'campaign.scheduled', { at: input.at.toISOString(), segment: segment.name });
}

export async function pauseCampaign({ ctx, input }: { ctx: Ctx; input: { id: string } }) {
  const campaign = await getCampaign({ ctx, input });
  const who = ctx.actor.type === 'user' ? ctx.actor.name : 'API';
  return transition(ctx, campaign, ['sending', 'scheduled'], { status: 'paused', statusReason: `Mis en pause par ${who}.` }, 'campaign.paused');
}

/** Back to sending (or to its schedule, if it had not started yet). */
export async function resumeCampaign({ ctx, input }: { ctx: Ctx; input: { id: string } }) {
  const campaign = await getCampaign({ ctx, input });
  const backToSchedule = !campaign.startedAt && campaign.scheduledAt !== null && campaign.scheduledAt > ctx.clock.now();
  const updated = await transition(
    ctx,
    campaign,
    ['paused'],
    backToSchedule ? { status: 'scheduled', statusReason: null } : { status: 'sending', statusReason: null, startedAt: campaign.startedAt ?? ctx.clock.now() },
    'campaign.resumed',
  );
  if (!backToSchedule) ctx.sendQueue.kick(campaign.id);
  return updated;
}

/** Stops for good: what is already sent stays sent, nothing more goes. */
export async function cancelCampaign({ ctx, input }: { ctx: Ctx; input: { id: string } }) {
  const campaign = await getCampaign({ ctx, input });
  return transition(ctx, campaign, ['scheduled', 'sending', 'paused'], { status: 'cancelled', finishedAt: ctx.clock.now() }, 'campaign.cancelled');
}

export async function campaignProgress({ ctx, input }: { ctx: Ctx; input: { id: string } }) {
  const campaign = await getCampaign({ ctx, input });
  return { status: campaign.status, statusReason: campaign.statusReason, ...(await progressOf(ctx.db, campaign.id)) };
}
