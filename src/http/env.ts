import type { Context } from 'hono';
import type { Identity } from '../domain/auth/session.js';
import type { Services } from '../domain/context.js';
import type { Runtime } from '../env.js';
import type { HitSink } from '../tracking/hits.js';
import type { FrozenLinksCache } from '../tracking/links.js';

/** Everything `createApp` is built from. Each runtime entry assembles one. */
export interface AppDeps extends Services {
  runtime: Runtime;
  /** The caller's address, as the runtime knows it (socket on Node, `cf-connecting-ip` on Workers). */
  clientIp(c: Context): string | undefined;
  /** Where pixel and link hits go (buffered on Node, per request on Workers). */
  hits: HitSink;
  /** Campaign links frozen at send, for the click redirect. */
  frozenLinks: FrozenLinksCache;
  /** Resend's webhook signing secret (`whsec_…`); webhooks are refused without it. */
  resendWebhookSecret: string | undefined;
  /** Checks the database answers; used by /healthz. */
  pingDatabase(): Promise<void>;
}

export interface AppEnv {
  Variables: {
    requestId: string;
    deps: AppDeps;
    identity: Identity | null;
    /** How the caller authenticated: a cookie needs CSRF protection, a bearer token does not. */
    authVia: 'cookie' | 'bearer' | null;
    /** A route that serves foreign HTML (an email preview) sets a stricter policy than our pages'. */
    contentSecurityPolicy?: string;
  };
}
