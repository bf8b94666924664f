import { eq } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { defaultWorkspaceSettings, workspaceKeys, workspaces, type WorkspaceSettings } from '../../db/schema.js';
import { newSuppressionKey } from '../privacy/suppressions.js';
import { newId } from '../../lib/ids.js';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import { NotFound } from '../errors.js';

export type Workspace = typeof workspaces.$inferSelect;

/** The controller's identity, printed in every email (CPCE L.34-5, reference §2.2). */
export interface WorkspaceIdentity {
  name: string;
  legalName: string;
  addressLine: string;
  postalCode: string;
  city: string;
  country: string;
  contactEmail: string;
  contactPhone: string;
  privacyUrl: string;
  dpoContact: string;
  senderName: string;
  senderEmail: string;
  replyTo: string | null;
}

export async function getWorkspace({ ctx }: { ctx: { db: DbOrTx; workspaceId: string } }): Promise<Workspace> {
  const ws = await ctx.db.query.workspaces.findFirst({ where: eq(workspaces.id, ctx.workspaceId) });
  if (!ws) throw new NotFound('workspace_not_found', 'This workspace no longer exists.');
  return ws;
}

/** The controller as a proof bundle or an export names it (GDPR Art. 13(1)(a), 15). */
export function controllerOf(workspace: Workspace) {
  return {
    name: workspace.name,
    legalName: workspace.legalName,
    address: `${workspace.addressLine}, ${workspace.postalCode} ${workspace.city}, ${workspace.country}`,
    contactEmail: workspace.contactEmail,
    contactPhone: workspace.contactPhone,
    privacyUrl: workspace.privacyUrl,
    dpoContact: workspace.dpoContact,
  };
}

/** Inserts a workspace row. Used by the demo seed and, later, by workspace onboarding. */
export async function insertWorkspace(
  db: DbOrTx,
  input: WorkspaceIdentity & { slug: string; settings?: Partial<WorkspaceSettings> },
  now: Date,
): Promise<Workspace> {
  const row = {
    id: newId('ws'),
    ...input,
    settings: { ...defaultWorkspaceSettings, ...input.settings },
    createdAt: now,
    updatedAt: now,
  };
  await db.insert(workspaces).values(row);
  await db.insert(workspaceKeys).values({ workspaceId: row.id, suppressionKey: newSuppressionKey(), createdAt: now });
  return row;
}

/**
 * Admin only. Changes the identity and settings printed in emails. Audited with the fields that
 * changed (before → after), because a DPO must be able to say what identity a past email showed.
 */
export async function updateWorkspace({
  ctx,
  input,
}: {
  ctx: Ctx;
  input: Partial<WorkspaceIdentity> & { settings?: Partial<WorkspaceSettings> };
}): Promise<Workspace> {
  return ctx.db.transaction(async (tx) => {
    const current = await getWorkspace({ ctx: { db: tx, workspaceId: ctx.workspaceId } });
    const { settings, ...identity } = input;
    const next: Workspace = {
      ...current,
      ...identity,
      settings: { ...current.settings, ...settings },
      updatedAt: ctx.clock.now(),
    };
    const changes: Record<string, { from: unknown; to: unknown }> = {};
    for (const key of Object.keys(identity) as (keyof WorkspaceIdentity)[]) {
      if (current[key] !== next[key]) changes[key] = { from: current[key], to: next[key] };
    }
    for (const key of Object.keys(settings ?? {}) as (keyof WorkspaceSettings)[]) {
      if (current.settings[key] !== next.settings[key]) changes[`settings.${key}`] = { from: current.settings[key], to: next.settings[key] };
    }
    if (Object.keys(changes).length === 0) return current;
    const { id, slug, createdAt, ...values } = next;
    await tx.update(workspaces).set(values).where(eq(workspaces.id, id));
    await recordAudit(tx, ctx, { action: 'workspace.updated', targetType: 'workspace', targetId: id, details: changes });
    return next;
  });
}
