/**
 * CSRF defence for cookie-authenticated writes. The session cookie is SameSite=Lax, which
 * already keeps it off cross-site POSTs in current browsers; on top of that, a state-changing
 * request that relies on the cookie must come from our own origin (OWASP CSRF cheat sheet:
 * "verifying origin with standard headers"). Bearer-token calls are not exposed to CSRF.
 * Login and invitation forms carry no session yet, so they are checked the same way by origin.
 */
import { createMiddleware } from 'hono/factory';
import { Forbidden } from '../../domain/errors.js';
import type { Context } from 'hono';
import type { AppEnv } from '../env.js';

/** Our origins: the one the request reached, and the public one (they differ behind a proxy). */
function ourOrigins(c: Context<AppEnv>): string[] {
  return [new URL(c.req.url).origin, new URL(c.get('deps').publicBaseUrl).origin];
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isSameOrigin(allowed: string[], origin: string | undefined, secFetchSite: string | undefined): boolean {
  if (origin && origin !== 'null') return allowed.includes(origin);
  // Older browsers omit Origin on same-origin POSTs; Fetch Metadata still tells us.
  if (secFetchSite) return secFetchSite === 'same-origin' || secFetchSite === 'none';
  return false;
}

/** For cookie-authenticated requests anywhere (pages and API called from our own pages). */
export const sameOriginForCookieWrites = createMiddleware<AppEnv>(async (c, next) => {
  if (!SAFE.has(c.req.method) && c.get('authVia') === 'cookie') {
    if (!isSameOrigin(ourOrigins(c), c.req.header('origin'), c.req.header('sec-fetch-site'))) {
      throw new Forbidden('cross_origin_request', 'This form was sent from another site. Reload the page and try again.');
    }
  }
  return next();
});

/** For public form POSTs (login, invitation) that have no cookie yet. */
export const sameOriginForm = createMiddleware<AppEnv>(async (c, next) => {
  if (!SAFE.has(c.req.method) && !isSameOrigin(ourOrigins(c), c.req.header('origin'), c.req.header('sec-fetch-site'))) {
    throw new Forbidden('cross_origin_request', 'This form was sent from another site. Reload the page and try again.');
  }
  return next();
});
