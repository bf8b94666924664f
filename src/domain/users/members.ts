/**
 * People of a workspace: list, invite, change role, remove. Admin only (enforced by the router's
 * role guard; these actions also refuse to leave a workspace without an admin).
 */
import { and, asc, count, eq, isNull, ne, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { memberships, users, type Role } from '../../db/schema.js';
import { invitationEmail } from '../../email/messages/invitation.js';
import { newId } from '../../lib/ids.js';
import { recordAudit } from '../audit/record.js';
import { hashPassword } from '../auth/password.js';
import { signToken, verifyToken } from '../auth/tokens.js';
import type { AnonymousCtx, Ctx } from '../context.js';
import { Conflict, Invalid, NotFound } from '../errors.js';
import { getWorkspace } from '../workspaces/workspaces.js';
import { normaliseEmail } from './email.js';

export interface Member {
  userId: string;
  email: string;
  name: string;
  role: Role;
  /** False while an invited person has not chosen a password yet. */
  active: boolean;
  since: Date;
}

const INVITATION_TTL_SECONDS = 7 * 24 * 60 * 60;

export async function listMembers({ ctx }: { ctx: Pick<Ctx, 'db' | 'workspaceId'> }): Promise<Member[]> {
  const rows = await ctx.db
    .select({
      userId: users.id,
      email: users.email,
      name: users.name,
      role: memberships.role,
      passwordHash: users.passwordHash,
      since: memberships.createdAt,
    })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.workspaceId, ctx.workspaceId))
    .orderBy(asc(users.name));
  return rows.map(({ passwordHash, ...r }) => ({ ...r, active: passwordHash !== null }));
}

async function findMember(db: DbOrTx, workspaceId: string, userId: string): Promise<Member> {
  const [row] = await db
    .select({ userId: users.id, email: users.email, name: users.name, role: memberships.role, passwordHash: users.passwordHash, since: memberships.createdAt })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, userId)));
  // Someone of another workspace is "not found" here, never "forbidden": ids do not leak across brands.
  if (!row) throw new NotFound('member_not_found', 'No such person in this workspace.');
  const { passwordHash, ...rest } = row;
  return { ...rest, active: passwordHash !== null };
}

export async function getMember({ ctx, input }: { ctx: Pick<Ctx, 'db' | 'workspaceId'>; input: { userId: string } }) {
  return findMember(ctx.db, ctx.workspaceId, input.userId);
}

/**
 * Adds a person with a role and emails them. A new person gets a link (valid 7 days) to choose a
 * password; someone who already has an account elsewhere is simply added. Audited.
 * Conflict if they are already a member.
 */
export async function inviteMember({
  ctx,
  input,
}: {
  ctx: Ctx;
  input: { email: string; name: string; role: Role };
}): Promise<{ member: Member; emailed: boolean }> {
  const email = normaliseEmail(input.email);
  if (!email) throw new Invalid('invalid_input', 'Invalid email address.', [{ field: 'email', message: 'is not an email address' }]);
  const workspace = await getWorkspace({ ctx });
  const now = ctx.clock.now();

  const { userId, isNewAccount } = await ctx.db.transaction(async (tx) => {
    const existing = await tx.query.users.findFirst({ where: eq(users.email, email) });
    const userId = existing?.id ?? newId('usr');
    if (!existing) await tx.insert(users).values({ id: userId, email, name: input.name, passwordHash: null, createdAt: now });
    const already = await tx.query.memberships.findFirst({
      where: and(eq(memberships.workspaceId, ctx.workspaceId), eq(memberships.userId, userId)),
    });
    if (already) throw new Conflict('already_member', 'This person is already a member of this workspace.');
    await tx.insert(memberships).values({ workspaceId: ctx.workspaceId, userId, role: input.role, createdAt: now });
    await recordAudit(tx, ctx, { action: 'member.invited', targetType: 'user', targetId: userId, details: { email, role: input.role } });
    // A password link only for an account nobody else manages: accounts are shared across
    // workspaces, so one brand must never set the password of a person another brand invited.
    const elsewhere = existing
      ? await tx.query.memberships.findFirst({ where: and(eq(memberships.userId, userId), ne(memberships.workspaceId, ctx.workspaceId)) })
      : undefined;
    return { userId, isNewAccount: !existing || (existing.passwordHash === null && !elsewhere) };
  });

  const link = isNewAccount
    ? `${ctx.publicBaseUrl}/invite/${await signToken(ctx.signingKeys, ctx.clock, 'invite', { sub: userId, wid: ctx.workspaceId }, INVITATION_TTL_SECONDS)}`
    : null;
  const inviterName = ctx.actor.type === 'user' ? ctx.actor.name : workspace.name;
  let emailed = true;
  try {
    await ctx.mailer.send(await invitationEmail({ workspace, inviterName, to: email, role: input.role, link, loginUrl: `${ctx.publicBaseUrl}/login` }));
  } catch (error) {
    // The membership stands; the admin sees that the email did not go and can resend.
    emailed = false;
    ctx.logger.error('invitation email failed', { requestId: ctx.requestId, error });
  }
  return { member: await findMember(ctx.db, ctx.workspaceId, userId), emailed };
}

/** Reads an invitation link; null if forged, expired, or already used. */
export async function readInvitation({ ctx, input }: { ctx: AnonymousCtx; input: { token: string } }) {
  const payload = await verifyToken(ctx.signingKeys, ctx.clock, 'invite', input.token);
  if (!payload || typeof payload.wid !== 'string') return null;
  const user = await ctx.db.query.users.findFirst({ where: eq(users.id, payload.sub) });
  if (!user || user.passwordHash !== null) return null;
  // Removed before accepting: the invitation died with the membership.
  const membership = await ctx.db.query.memberships.findFirst({ where: and(eq(memberships.userId, user.id), eq(memberships.workspaceId, payload.wid)) });
  if (!membership) return null;
  const workspace = await getWorkspace({ ctx: { db: ctx.db, workspaceId: payload.wid } }).catch(() => null);
  if (!workspace) return null;
  return { user: { id: user.id, email: user.email, name: user.name }, workspace: { id: workspace.id, name: workspace.name } };
}

/** Sets the first password of an invited person. Single use: a used link is refused. */
export async function acceptInvitation({
  ctx,
  input,
}: {
  ctx: AnonymousCtx;
  input: { token: string; password: string };
}): Promise<{ userId: string; workspaceId: string }> {
  const invitation = await readInvitation({ ctx, input });
  if (!invitation) throw new Invalid('invalid_invitation', 'This invitation link is invalid, expired or already used.');
  const passwordHash = await hashPassword(input.password);
  await ctx.db.transaction(async (tx) => {
    // The `password_hash IS NULL` guard makes a double submit harmless (single use).
    const updated = await tx
      .update(users)
      // A new password starts a new generation: no session from before (a reset account) survives.
      .set({ passwordHash, sessionGeneration: sql`${users.sessionGeneration} + 1` })
      .where(and(eq(users.id, invitation.user.id), isNull(users.passwordHash)))
      .returning({ id: users.id, passwordHash: users.passwordHash });
    if (updated.length !== 1) throw new Invalid('invalid_invitation', 'This invitation link is invalid, expired or already used.');
    const member = await findMember(tx, invitation.workspace.id, invitation.user.id);
    await recordAudit(
      tx,
      { ...ctx, workspaceId: invitation.workspace.id, actor: { type: 'user', userId: member.userId, role: member.role, email: member.email, name: member.name } },
      { action: 'member.activated', targetType: 'user', targetId: member.userId },
    );
  });
  return { userId: invitation.user.id, workspaceId: invitation.workspace.id };
}

async function assertAnotherAdminRemains(db: DbOrTx, workspaceId: string, userId: string) {
  const [row] = await db
    .select({ n: count() })
    .from(memberships)
    .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.role, 'admin')));
  const member = await findMember(db, workspaceId, userId);
  if (member.role === 'admin' && (row?.n ?? 0) <= 1) {
    throw new Conflict('last_admin', 'A workspace needs at least one admin: promote someone else first.');
  }
}

export async function changeMemberRole({ ctx, input }: { ctx: Ctx; input: { userId: string; role: Role } }): Promise<Member> {
  return ctx.db.transaction(async (tx) => {
    const member = await findMember(tx, ctx.workspaceId, input.userId);
    if (member.role === input.role) return member;
    if (input.role !== 'admin') await assertAnotherAdminRemains(tx, ctx.workspaceId, input.userId);
    await tx
      .update(memberships)
      .set({ role: input.role })
      .where(and(eq(memberships.workspaceId, ctx.workspaceId), eq(memberships.userId, input.userId)));
    await recordAudit(tx, ctx, { action: 'member.role_changed', targetType: 'user', targetId: input.userId, details: { from: member.role, to: input.role } });
    return { ...member, role: input.role };
  });
}

export async function removeMember({ ctx, input }: { ctx: Ctx; input: { userId: string } }): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    await assertAnotherAdminRemains(tx, ctx.workspaceId, input.userId);
    await tx.delete(memberships).where(and(eq(memberships.workspaceId, ctx.workspaceId), eq(memberships.userId, input.userId)));
    // Their sessions end everywhere, so a token taken before the removal does not come back to
    // life if the person is invited again (sessions are re-checked against the membership, but
    // a new membership would match an old token).
    await tx
      .update(users)
      .set({ sessionGeneration: sql`${users.sessionGeneration} + 1` })
      .where(eq(users.id, input.userId));
    await recordAudit(tx, ctx, { action: 'member.removed', targetType: 'user', targetId: input.userId });
  });
}
