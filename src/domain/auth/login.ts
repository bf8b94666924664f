import { and, asc, eq } from 'drizzle-orm';
import { memberships, users, workspaces, type Role } from '../../db/schema.js';
import type { AnonymousCtx } from '../context.js';
import { Unauthorized } from '../errors.js';
import { normaliseEmail } from '../users/email.js';
import { decoyHash, verifyPassword } from './password.js';
import { SESSION_TTL_SECONDS, issueSession } from './session.js';
import { assertNotThrottled, clearAccountFailures, recordFailure, throttleKeys } from './throttle.js';

export interface LoginInput {
  email: string;
  password: string;
  /** Needed only by people who belong to several workspaces; defaults to their first one. */
  workspaceId?: string;
  ip?: string;
}

export interface LoginResult {
  token: string;
  expiresAt: Date;
  user: { id: string; email: string; name: string };
  workspace: { id: string; name: string };
  role: Role;
}

/**
 * Checks a password and issues a short-lived session token.
 * Throttled per account and per IP; a wrong address and a wrong password get the same answer,
 * in the same time. Not idempotent in effect: each failure counts towards the lock.
 */
export async function login({ ctx, input }: { ctx: AnonymousCtx; input: LoginInput }): Promise<LoginResult> {
  const now = ctx.clock.now();
  const email = normaliseEmail(input.email) ?? input.email.trim().toLowerCase();
  const keys = throttleKeys(email, input.ip);
  await assertNotThrottled(ctx.db, keys, now);

  const user = await ctx.db.query.users.findFirst({ where: eq(users.email, email) });
  const passwordOk = await verifyPassword(input.password, user?.passwordHash ?? decoyHash);
  const membership =
    user && passwordOk && !user.disabledAt
      ? await ctx.db
          .select({ workspaceId: memberships.workspaceId, role: memberships.role, workspaceName: workspaces.name })
          .from(memberships)
          .innerJoin(workspaces, eq(workspaces.id, memberships.workspaceId))
          .where(
            and(
              eq(memberships.userId, user.id),
              input.workspaceId ? eq(memberships.workspaceId, input.workspaceId) : undefined,
            ),
          )
          .orderBy(asc(memberships.createdAt))
          .limit(1)
          .then((rows) => rows[0])
      : undefined;

  if (!user || !membership) {
    await recordFailure(ctx.db, keys, now);
    ctx.logger.warn('login failed', { requestId: ctx.requestId });
    throw new Unauthorized('invalid_credentials', 'Email or password is incorrect.');
  }
  await clearAccountFailures(ctx.db, email);

  const token = await issueSession(ctx, { userId: user.id, workspaceId: membership.workspaceId });
  return {
    token,
    expiresAt: new Date(now.getTime() + SESSION_TTL_SECONDS * 1000),
    user: { id: user.id, email: user.email, name: user.name },
    workspace: { id: membership.workspaceId, name: membership.workspaceName },
    role: membership.role,
  };
}
