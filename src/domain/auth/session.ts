/**
 * Sessions are stateless JWS tokens naming a user and a workspace. The role is *not* trusted from
 * the token: every request re-reads the membership, so removing someone or changing their role
 * takes effect at once, not when their token expires.
 */
import { and, eq, isNull } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { memberships, users } from '../../db/schema.js';
import type { Clock } from '../../lib/clock.js';
import type { Actor, Services } from '../context.js';
import { signToken, verifyToken } from './tokens.js';

/** One working shift: an agent logs in once per shift; a leaked token dies the same day. */
export const SESSION_TTL_SECONDS = 8 * 60 * 60;

export async function issueSession(
  ctx: Pick<Services, 'signingKeys' | 'clock'>,
  claims: { userId: string; workspaceId: string },
): Promise<string> {
  return signToken(ctx.signingKeys, ctx.clock, 'session', { sub: claims.userId, wid: claims.workspaceId }, SESSION_TTL_SECONDS);
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
  if (!payload || typeof payload.wid !== 'string') return null;
  const [row] = await deps.db
    .select({ role: memberships.role, email: users.email, name: users.name })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.userId, payload.sub), eq(memberships.workspaceId, payload.wid), isNull(users.disabledAt)))
    .limit(1);
  if (!row) return null;
  return {
    workspaceId: payload.wid,
    actor: { type: 'user', userId: payload.sub, role: row.role, email: row.email, name: row.name },
  };
}
