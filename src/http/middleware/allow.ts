/**
 * Route guard: who may call a route. People are checked by role, integration keys by scope.
 * A route that lists no scopes is for people only; one that lists no roles is for keys only.
 */
import { createMiddleware } from 'hono/factory';
import type { ApiKeyScope, Role } from '../../db/schema.js';
import { Forbidden, Unauthorized } from '../../domain/errors.js';
import type { AppEnv } from '../env.js';

export interface Access {
  roles?: readonly Role[];
  scopes?: readonly ApiKeyScope[];
}

export const ALL_ROLES: readonly Role[] = ['admin', 'marketer', 'agent'];

export function allow(access: Access) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const identity = c.get('identity');
    if (!identity) throw new Unauthorized('unauthenticated', 'Log in or send an API key (Authorization: Bearer …).');
    const { actor } = identity;
    if (actor.type === 'user') {
      if (!access.roles?.includes(actor.role)) {
        throw new Forbidden('forbidden_role', `Your role (${actor.role}) cannot do this; it needs ${access.roles?.join(' or ') || 'an API key'}.`);
      }
    } else if (actor.type === 'api_key') {
      if (!access.scopes?.some((s) => actor.scopes.includes(s))) {
        throw new Forbidden('missing_scope', access.scopes?.length ? `This API key needs the scope ${access.scopes.join(' or ')}.` : 'API keys cannot use this route.');
      }
    } else {
      throw new Forbidden('forbidden', 'Not allowed.');
    }
    return next();
  });
}
