import type { Context } from 'hono';
import type { AnonymousCtx, Ctx } from '../domain/context.js';
import { Unauthorized } from '../domain/errors.js';
import type { AppEnv } from './env.js';

/** The domain context for an authenticated request. */
export function ctxOf(c: Context<AppEnv>): Ctx {
  const identity = c.get('identity');
  if (!identity) throw new Unauthorized('unauthenticated', 'Log in or send an API key (Authorization: Bearer …).');
  return { ...c.get('deps'), workspaceId: identity.workspaceId, actor: identity.actor, requestId: c.get('requestId') };
}

export function anonymousCtxOf(c: Context<AppEnv>): AnonymousCtx {
  return { ...c.get('deps'), requestId: c.get('requestId') };
}
