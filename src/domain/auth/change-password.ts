/**
 * A person changes their own password. The current one is required (a session left open on a
 * shared call-centre PC must not be enough to take the account over), wrong guesses count
 * towards the same lock as failed logins, and every other session ends (OWASP Authentication
 * Cheat Sheet, "Change password feature"; Session Management, "renew after privilege change").
 */
import { eq, sql } from 'drizzle-orm';
import { users } from '../../db/schema.js';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import { Invalid } from '../errors.js';
import { hashPassword, PASSWORD_MAX, PASSWORD_MIN, verifyPassword } from './password.js';
import { issueSession, SESSION_TTL_SECONDS } from './session.js';
import { assertNotThrottled, clearAccountFailures, recordFailure, throttleKeys } from './throttle.js';

export interface ChangePasswordInput {
  currentPassword: string;
  newPassword: string;
  ip?: string;
}

export async function changePassword({ ctx, input }: { ctx: Ctx; input: ChangePasswordInput }): Promise<{ token: string; expiresAt: Date }> {
  if (ctx.actor.type !== 'user') throw new Error('changePassword needs a person');
  const { userId, email } = ctx.actor;
  const now = ctx.clock.now();
  const keys = throttleKeys(email, input.ip);
  await assertNotThrottled(ctx.db, keys, now);

  if (input.newPassword.length < PASSWORD_MIN || input.newPassword.length > PASSWORD_MAX) {
    throw new Invalid('invalid_input', `The new password must have ${PASSWORD_MIN} to ${PASSWORD_MAX} characters.`, [
      { field: 'newPassword', message: `must have ${PASSWORD_MIN} to ${PASSWORD_MAX} characters` },
    ]);
  }
  const [user] = await ctx.db.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, userId)).limit(1);
  if (!user?.passwordHash || !(await verifyPassword(input.currentPassword, user.passwordHash))) {
    await recordFailure(ctx.db, keys, now);
    throw new Invalid('wrong_password', 'The current password is incorrect.', [{ field: 'currentPassword', message: 'is incorrect' }]);
  }
  if (input.newPassword === input.currentPassword) {
    throw new Invalid('invalid_input', 'The new password is the current one.', [{ field: 'newPassword', message: 'must differ from the current password' }]);
  }

  const passwordHash = await hashPassword(input.newPassword);
  // The new hash, the end of every other session, the cleared failures and the audit entry land
  // together; the caller's new token is signed from the generation this very update wrote, so
  // nothing between the commit and the answer can leave them logged out with a changed password.
  const generation = await ctx.db.transaction(async (tx) => {
    const [updated] = await tx
      .update(users)
      .set({ passwordHash, sessionGeneration: sql`${users.sessionGeneration} + 1` })
      .where(eq(users.id, userId))
      .returning({ generation: users.sessionGeneration });
    if (!updated) throw new Error(`no user ${userId}`);
    await clearAccountFailures(tx, email);
    await recordAudit(tx, ctx, { action: 'user.password_changed', targetType: 'user', targetId: userId });
    return updated.generation;
  });
  const token = await issueSession(ctx, { userId, workspaceId: ctx.workspaceId, generation });
  return { token, expiresAt: new Date(now.getTime() + SESSION_TTL_SECONDS * 1000) };
}
