/**
 * Resolves who is calling, once per request: a session JWT or an API key in
 * `Authorization: Bearer`, or the session cookie set by the login page. A bearer credential
 * that is present but wrong is a 401 at once (never a silent downgrade to anonymous).
 */
import { getCookie } from 'hono/cookie';
import { createMiddleware } from 'hono/factory';
import { authenticateApiKey, API_KEY_PREFIX } from '../../domain/api-keys/api-keys.js';
import { resolveSession } from '../../domain/auth/session.js';
import { Unauthorized } from '../../domain/errors.js';
import type { AppEnv } from '../env.js';

export const SESSION_COOKIE = 'session';

export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  const deps = c.get('deps');
  c.set('identity', null);
  c.set('authVia', null);

  const header = c.req.header('authorization');
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) throw new Unauthorized('invalid_authorization', 'Authorization header must be "Bearer <token>".');
    const credential = match[1];
    const identity = credential.startsWith(API_KEY_PREFIX)
      ? await authenticateApiKey(deps, credential)
      : await resolveSession(deps, credential);
    if (!identity) throw new Unauthorized('invalid_credentials', 'The token or API key is invalid, expired or revoked.');
    c.set('identity', identity);
    c.set('authVia', 'bearer');
    return next();
  }

  const cookie = getCookie(c, SESSION_COOKIE);
  if (cookie) {
    // An expired or stale cookie just means "not logged in": pages send people to the login form.
    const identity = await resolveSession(deps, cookie);
    if (identity) {
      c.set('identity', identity);
      c.set('authVia', 'cookie');
    }
  }
  return next();
});
