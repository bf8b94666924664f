/**
 * Campaign drafts: create, edit, list, delete. Content is compiled and verified on every save;
 * content that does not compile, or hides a mandatory block, is refused and nothing is stored.
 * Marketers and admins (router guard). Every change is audited in its transaction.
 */
import { and, desc, eq } from 'drizzle-orm';
import { campaigns, type LinkTracking } from '../../db/schema.js';
import type { CompiledEmail } from '../../email/artefact.js';
import { brandOf } from '../../email/brand.js';
import { CompileError, compileEmail } from '../../email/compile.js';
import { starterTemplates } from '../../email/templates.generated.js';
import { newId } from '../../lib/ids.js';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import { Conflict, Invalid, NotFound } from '../errors.js';
import { getWorkspace, type Workspace } from '../workspaces/workspaces.js';

export type Campaign = typeof campaigns.$inferSelect;

export interface CampaignContent {
  subject: string;
  preheader: string;
  body: string;
}

/** Compiles newsletter content for a workspace; a refusal becomes a 400 naming field and line. */
export async function compileContent(ws: Workspace, content: CampaignContent): Promise<CompiledEmail> {
  try {
    return await compileEmail({ layout: 'newsletter', ...content, brand: brandOf(ws) });
  } catch (error) {
    if (error instanceof CompileError) {
      throw new Invalid('invalid_content', `The newsletter cannot be sent as written:\n${error.message}`, error.issues);
    }
    throw error;
  }
}

function actorId(ctx: Ctx): string {
  return ctx.actor.type === 'user' ? ctx.actor.userId : ctx.actor.type === 'api_key' ? ctx.actor.keyId : 'system';
}

export async function createCampaign({
  ctx,
  input,
}: {
  ctx: Ctx;
  input: { name: string; templateId?: string | undefined; linkTracking?: LinkTracking | null | undefined } & Partial<CampaignContent>;
}): Promise<Campaign> {
  const template = input.templateId ? starterTemplates.find((t) => t.id === input.templateId) : undefined;
  if (input.templateId && !template) {
    throw new Invalid('invalid_input', `Unknown template ${input.templateId}.`, [{ field: 'templateId', message: 'no such template' }]);
  }
  const content: CampaignContent = {
    subject: input.subject ?? template?.subject ?? '',
    preheader: input.preheader ?? template?.preheader ?? '',
    body: input.body ?? template?.body ?? '',
  };
  const ws = await getWorkspace({ ctx });
  const compiled = await compileContent(ws, content);
  const now = ctx.clock.now();
  const row: Campaign = {
    id: newId('cmp'),
    workspaceId: ctx.workspaceId,
    name: input.name,
    ...content,
    templateId: template?.id ?? null,
    status: 'draft',
    version: 1,
    compiled,
    compiledAt: now,
    createdBy: actorId(ctx),
    createdAt: now,
    updatedAt: now,
    segmentId: null,
    scheduledAt: null,
    startedAt: null,
    finishedAt: null,
    audienceCompleteAt: null,
    statusReason: null,
    linkTracking: input.linkTracking ?? null,
    sendLeaseUntil: null,
  };
  await ctx.db.transaction(async (tx) => {
    await tx.insert(campaigns).values(row);
    await recordAudit(tx, ctx, { action: 'campaign.created', targetType: 'campaign', targetId: row.id, details: { name: row.name, templateId: row.templateId } });
  });
  return row;
}

export async function getCampaign({ ctx, input }: { ctx: Pick<Ctx, 'db' | 'workspaceId'>; input: { id: string } }): Promise<Campaign> {
  const row = await ctx.db.query.campaigns.findFirst({ where: and(eq(campaigns.id, input.id), eq(campaigns.workspaceId, ctx.workspaceId)) });
  if (!row) throw new NotFound('campaign_not_found', 'No such campaign in this workspace.');
  return row;
}

export async function listCampaigns({ ctx }: { ctx: Pick<Ctx, 'db' | 'workspaceId'> }): Promise<Campaign[]> {
  return ctx.db.select().from(campaigns).where(eq(campaigns.workspaceId, ctx.workspaceId)).orderBy(desc(campaigns.updatedAt));
}

/** Drafts only (a campaign being sent is frozen). A content change bumps the version. */
export async function updateCampaign({
  ctx,
  input,
}: {
  ctx: Ctx;
  input: { id: string; name?: string | undefined; linkTracking?: LinkTracking | null | undefined } & Partial<CampaignContent>;
}): Promise<Campaign> {
  const current = await getCampaign({ ctx, input });
  if (current.status !== 'draft') throw new Conflict('campaign_not_draft', `This campaign is ${current.status}: only drafts can be edited.`);
  const content: CampaignContent = {
    subject: input.subject ?? current.subject,
    preheader: input.preheader ?? current.preheader,
    body: input.body ?? current.body,
  };
  const contentChanged = content.subject !== current.subject || content.preheader !== current.preheader || content.body !== current.body;
  const ws = await getWorkspace({ ctx });
  const compiled = contentChanged ? await compileContent(ws, content) : current.compiled;
  const now = ctx.clock.now();
  const next: Campaign = {
    ...current,
    ...content,
    name: input.name ?? current.name,
    linkTracking: input.linkTracking !== undefined ? input.linkTracking : current.linkTracking,
    version: contentChanged ? current.version + 1 : current.version,
    compiled,
    compiledAt: contentChanged ? now : current.compiledAt,
    updatedAt: now,
  };
  await ctx.db.transaction(async (tx) => {
    // The status guard in the WHERE makes a concurrent "send" win cleanly: we then change nothing.
    const updated = await tx
      .update(campaigns)
      .set({ name: next.name, ...content, linkTracking: next.linkTracking, version: next.version, compiled, compiledAt: next.compiledAt, updatedAt: now })
      .where(and(eq(campaigns.id, current.id), eq(campaigns.status, 'draft'), eq(campaigns.version, current.version)))
      .returning({ id: campaigns.id });
    if (updated.length !== 1) throw new Conflict('campaign_changed', 'This campaign changed meanwhile; reload it and try again.');
    await recordAudit(tx, ctx, {
      action: 'campaign.updated',
      targetType: 'campaign',
      targetId: current.id,
      details: { version: next.version, fields: Object.keys(input).filter((k) => k !== 'id') },
    });
  });
  return next;
}

export async function deleteCampaign({ ctx, input }: { ctx: Ctx; input: { id: string } }): Promise<void> {
  const current = await getCampaign({ ctx, input });
  if (current.status !== 'draft') throw new Conflict('campaign_not_draft', `This campaign is ${current.status}: only drafts can be deleted.`);
  await ctx.db.transaction(async (tx) => {
    await tx.delete(campaigns).where(and(eq(campaigns.id, current.id), eq(campaigns.status, 'draft')));
    await recordAudit(tx, ctx, { action: 'campaign.deleted', targetType: 'campaign', targetId: current.id, details: { name: current.name } });
  });
}

/**
 * The artefact to render now: the stored one, or a fresh compile when the workspace identity
 * changed since (the identity block must show the current controller details).
 */
export async function currentArtefact(ctx: Pick<Ctx, 'db' | 'workspaceId'>, campaign: Campaign): Promise<{ compiled: CompiledEmail; workspace: Workspace }> {
  const workspace = await getWorkspace({ ctx });
  if (workspace.updatedAt <= campaign.compiledAt) return { compiled: campaign.compiled, workspace };
  const compiled = await compileContent(workspace, campaign);
  if (campaign.status === 'draft') {
    await ctx.db
      .update(campaigns)
      .set({ compiled, compiledAt: workspace.updatedAt })
      .where(and(eq(campaigns.id, campaign.id), eq(campaigns.version, campaign.version)));
  }
  return { compiled, workspace };
}
