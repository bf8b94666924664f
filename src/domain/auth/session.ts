/**
 * Sessions are stateless JWS tokens naming a user and a workspace. The role is *not* trusted from
 * the token: every request re-reads the membership, so removing someone or changing their role
 * takes effect at once, not when their token expires.
 */
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { memberships, users } from '../../db/schema.js';
import type { Clock } from '../../lib/clock.js';
import type { Actor, Services } from '../context.js';
import { signToken, verifyToken } from './tokens.js';

/** One working shift: an agent logs in once per shift; a leaked token dies the same day. */
export const SESSION_TTL_SECONDS = 8 * 60 * 60;

export async function issueSession(
  ctx: Pick<Services, 'signingKeys' | 'clock' | 'db'>,
  claims: { userId: string; workspaceId: string; /** Known already when the caller just changed it. */ generation?: number },
): Promise<string> {
  let generation = claims.generation;
  if (generation === undefined) {
    const [user] = await ctx.db.select({ generation: users.sessionGeneration }).from(users).where(eq(users.id, claims.userId)).limit(1);
    if (!user) throw new Error(`no user ${claims.userId}`);
    generation = user.generation;
  }
  return signToken(ctx.signingKeys, ctx.clock, 'session', { sub: claims.userId, wid: claims.workspaceId, gen: generation }, SESSION_TTL_SECONDS);
}

/**
 * Logging out ends every session of this person, on every device: a token copied from a
 * shared call-centre PC stops working when its owner logs out (OWASP Session Management
 * Cheat Sheet, "Session expiration": invalidate on the server side, not only the cookie).
 */
export async function endSessions(db: Db, userId: string): Promise<void> {
  await db
    .update(users)
    .set({ sessionGeneration: sql`${users.sessionGeneration} + 1` })
    .where(eq(users.id, userId));
}

export interface Identity {
  workspaceId: string;
  actor: Actor;
}

export async function resolveSession(
  deps: { db: Db; clock: Clock; signingKeys: Services['signingKeys'] },
  token: string,
): Promise<Identity | null> {
  const payload = await verifyToken(deps.signingKeys, deps.clock, 'session', token);
  if (!payload || typeof payload.wid !== 'string' || typeof payload.gen !== 'number') return null;
  const [row] = await deps.db
    .select({ role: memberships.role, email: users.email, name: users.name, generation: users.sessionGeneration })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.userId, payload.sub), eq(memberships.workspaceId, payload.wid), isNull(users.disabledAt)))
    .limit(1);
  if (!row || row.generation !== payload.gen) return null;
  return {
    workspaceId: payload.wid,
    actor: { type: 'user', userId: payload.sub, role: row.role, email: row.email, name: row.name },
  };
}
