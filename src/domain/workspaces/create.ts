import { eq } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { memberships, users, workspaces } from '../../db/schema.js';
import type { Clock } from '../../lib/clock.js';
import { newId } from '../../lib/ids.js';
import { recordAudit } from '../audit/record.js';
import type { Actor } from '../context.js';
import { Conflict } from '../errors.js';
import { insertWorkspace, type Workspace, type WorkspaceIdentity } from './workspaces.js';

/** Lower-case letters, digits and single dashes, 2-60 characters: safe in URLs and logs. */
export const WORKSPACE_SLUG = /^(?=.{2,60}$)[a-z0-9]+(?:-[a-z0-9]+)*$/;

export interface CreateWorkspaceInput extends WorkspaceIdentity {
  slug: string;
  /** The first admin. `email` normalised; `passwordHash` used only if the account is new. */
  admin: { email: string; name: string; passwordHash: string };
}

export interface CreateWorkspaceResult {
  workspace: Workspace;
  admin: {
    userId: string;
    email: string;
    name: string;
    /** False: the address already had an account (accounts span workspaces); it was only given the admin role here. */
    accountCreated: boolean;
    /** False for an existing account still waiting for its invitation to be accepted. */
    hasPassword: boolean;
  };
}

/**
 * Onboards a data controller: the workspace (with its suppression key, via `insertWorkspace`),
 * its first admin and the audit entries, in one transaction (nothing is written if any part
 * fails). For operators only (the `workspace:create` CLI); no HTTP route calls it.
 *
 * Accounts are one per address across workspaces (`users.email` is unique): an address that
 * already has an account becomes admin of the new workspace and keeps its name and password
 * (one brand never sets the password of a person another brand manages).
 *
 * Conflict `slug_taken` if the slug exists; Conflict `admin_account_disabled` if the account
 * exists but was disabled. Not idempotent: a second run with the same slug is refused.
 */
export async function createWorkspace({
  ctx,
  input,
}: {
  ctx: { db: Db; clock: Clock; actor: Actor; requestId: string };
  input: CreateWorkspaceInput;
}): Promise<CreateWorkspaceResult> {
  const now = ctx.clock.now();
  const { admin, slug, ...identity } = input;
  return ctx.db.transaction(async (tx) => {
    const taken = await tx.query.workspaces.findFirst({ columns: { id: true }, where: eq(workspaces.slug, slug) });
    if (taken) throw new Conflict('slug_taken', `A workspace with the slug "${slug}" already exists.`);
    const existing = await tx.query.users.findFirst({ where: eq(users.email, admin.email) });
    if (existing?.disabledAt) throw new Conflict('admin_account_disabled', `The account ${admin.email} exists but is disabled; it cannot be the first admin.`);

    const workspace = await insertWorkspace(tx, { slug, ...identity }, now);
    const userId = existing?.id ?? newId('usr');
    if (!existing) await tx.insert(users).values({ id: userId, email: admin.email, name: admin.name, passwordHash: admin.passwordHash, createdAt: now });
    await tx.insert(memberships).values({ workspaceId: workspace.id, userId, role: 'admin', createdAt: now });

    const audit = { ...ctx, workspaceId: workspace.id };
    await recordAudit(tx, audit, { action: 'workspace.created', targetType: 'workspace', targetId: workspace.id, details: { slug, name: identity.name, legalName: identity.legalName } });
    await recordAudit(tx, audit, {
      action: 'member.added',
      targetType: 'user',
      targetId: userId,
      details: { email: admin.email, role: 'admin', account: existing ? 'existing' : 'created' },
    });
    return {
      workspace,
      admin: {
        userId,
        email: admin.email,
        name: existing?.name ?? admin.name,
        accountCreated: !existing,
        hasPassword: existing ? existing.passwordHash !== null : true,
      },
    };
  });
}
