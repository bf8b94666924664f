import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { Role } from '../../db/schema.js';
import { Forbidden } from '../../domain/errors.js';
import { getWorkspace } from '../../domain/workspaces/workspaces.js';
import type { AppEnv } from '../env.js';
import type { Viewer } from './layout.js';

/**
 * Pages need a logged-in person: anonymous visitors go to the login form (and come back after),
 * people without the role get the 403 page.
 */
export function pageFor(roles: readonly Role[]) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const identity = c.get('identity');
    if (!identity || identity.actor.type !== 'user') {
      const url = new URL(c.req.url);
      return c.redirect(`/login?next=${encodeURIComponent(url.pathname + url.search)}`, 303);
    }
    if (!roles.includes(identity.actor.role)) {
      throw new Forbidden('forbidden_role', 'Cette page est réservée à un autre rôle.');
    }
    return next();
  });
}

export async function viewerOf(c: Context<AppEnv>): Promise<Viewer> {
  const identity = c.get('identity');
  if (!identity || identity.actor.type !== 'user') throw new Error('viewerOf needs a logged-in user');
  const ws = await getWorkspace({ ctx: { db: c.get('deps').db, workspaceId: identity.workspaceId } });
  return { name: identity.actor.name, role: identity.actor.role, workspaceName: ws.name, outbox: c.get('deps').mailer.kind === 'outbox' };
}

/**
 * Only same-site relative paths, so `?next=` cannot send people to another site (open redirect).
 * Re-encoded through URL so the Location header stays ASCII (an "à" would otherwise go out as Latin-1).
 */
export function safeNext(next: string | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  const url = new URL(next, 'http://local.invalid');
  // Check again after normalisation: "/.//evil.example" becomes "//evil.example".
  if (url.origin !== 'http://local.invalid' || url.pathname.startsWith('//') || url.pathname.includes('\\')) return '/';
  return url.pathname + url.search;
}

export function formString(body: Record<string, unknown>, name: string): string {
  const v = body[name];
  return typeof v === 'string' ? v : '';
}
