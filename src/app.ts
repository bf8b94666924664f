/**
 * `createApp(deps)`: the whole platform as one Hono app, built from injected dependencies and
 * using Web APIs only, so `src/node.ts` and `src/worker.ts` run the same code.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import { authApi } from './http/api/auth.js';
import { apiKeysApi } from './http/api/api-keys.js';
import { auditApi } from './http/api/audit.js';
import { campaignsApi } from './http/api/campaigns.js';
import { consentsApi } from './http/api/consents.js';
import { segmentsApi } from './http/api/segments.js';
import { privacyApi } from './http/api/privacy.js';
import { trackingApi } from './http/api/tracking.js';
import { apiRouter } from './http/api/openapi.js';
import { membersApi } from './http/api/members.js';
import { outboxApi } from './http/api/outbox.js';
import { workspaceApi } from './http/api/workspace.js';
import type { AppDeps, AppEnv } from './http/env.js';
import { errorResponse, notFound, onError } from './http/errors.js';
import { authenticate } from './http/middleware/authenticate.js';
import { sameOriginForCookieWrites } from './http/middleware/same-origin.js';
import { adminPages } from './http/pages/admin-pages.js';
import { apiDocsPage } from './http/pages/api-docs.js';
import { appCss, faviconSvg } from './http/pages/assets.js';
import { agentJs } from './http/pages/assets-agent.js';
import { agentConsole } from './http/pages/agent-console.js';
import { conversionPage } from './http/pages/conversion-page.js';
import { proofPages } from './http/pages/proof-pages.js';
import { campaignJs, campaignPages, campaignsCss } from './http/pages/campaign-pages.js';
import { segmentPages, segmentsCss } from './http/pages/segment-pages.js';
import { reportPages, reportsCss } from './http/pages/report-pages.js';
import { dashboardPages, dashboardCss } from './http/pages/dashboard-page.js';
import { contactPages, contactsCss } from './http/pages/contact-pages.js';
import { dpoPages, dpoCss } from './http/pages/dpo-pages.js';
import { authPages } from './http/pages/auth-pages.js';
import { homePage } from './http/pages/home.js';
import { outboxPages } from './http/pages/outbox-pages.js';
import { previewLinkPage } from './http/pages/preview-link.js';
import { confirmPage } from './http/pages/confirm-page.js';
import { subscriberPages } from './http/pages/subscriber-pages.js';
import { privacyPages } from './http/pages/privacy-pages.js';
import { workspacePage } from './http/pages/workspace-page.js';
import { trackingRoutes } from './http/pages/tracking-routes.js';
import { resendWebhook } from './http/webhooks/resend.js';

export type { AppDeps } from './http/env.js';

/** Requests larger than this are refused before parsing (a newsletter body is far smaller). */
const MAX_BODY_BYTES = 1024 * 1024;

/** One stylesheet for every page: the base, then each area's own rules. */
const stylesheet = [appCss, campaignsCss, segmentsCss, reportsCss, dashboardCss, contactsCss, dpoCss].join('\n');

export function createApp(deps: AppDeps & { demo?: boolean }) {
  const app = new Hono<AppEnv>();

  app.onError(onError(deps.logger));
  app.notFound(notFound);

  app.use(requestId({ headerName: 'X-Request-Id' }));
  app.use(async (c, next) => {
    c.set('deps', deps);
    await next();
  });
  const pageHeaders = secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      imgSrc: ["'self'", 'data:', 'https:'],
      styleSrc: ["'self'"],
      scriptSrc: ["'self'"],
      frameSrc: ["'self'"],
      frameAncestors: ["'none'"],
      formAction: ["'self'"],
      baseUri: ["'none'"],
      objectSrc: ["'none'"],
    },
    referrerPolicy: 'strict-origin-when-cross-origin',
    xFrameOptions: 'DENY',
    // A route's own, stricter header stays: token pages (/u, /p, /confirm) send no Referer.
    overwrite: false,
  });
  // The pixel, the click redirect and the provider's webhooks come before every other
  // middleware: no session, CSRF or body parsing concerns them, and they must stay fast and
  // never fail on account of something they do not use. Only the pages' security headers apply
  // to clicks: a bad link answers an HTML page, which must not be framed or sniffed either.
  app.use('/c/*', pageHeaders);
  app.route('/', trackingRoutes);
  app.route('/', resendWebhook);
  // Runs outside secureHeaders so a route's own, stricter policy wins over the default one.
  app.use(async (c, next) => {
    await next();
    const own = c.get('contentSecurityPolicy');
    if (own) {
      c.res.headers.set('Content-Security-Policy', own);
      // Such HTML is shown in a frame of our own pages: allow that, and only that.
      if (own.includes("frame-ancestors 'self'")) c.res.headers.set('X-Frame-Options', 'SAMEORIGIN');
    }
  });
  app.use(pageHeaders);
  // 1 MB for every request but the contacts CSV import, which takes files up to 5 MB (the form
  // carries the file again at the mapping step, base64-encoded and gzipped: 8 MB leaves room).
  const defaultLimit = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => errorResponse(c, 413, 'payload_too_large', `Request body over ${MAX_BODY_BYTES} bytes.`) });
  const importLimit = bodyLimit({ maxSize: 8 * 1024 * 1024, onError: (c) => errorResponse(c, 413, 'payload_too_large', 'Fichier de plus de 5 Mo : découpez-le en plusieurs fichiers.') });
  const IMPORT_PATHS = new Set(['/contacts/import', '/contacts/import/report.csv']);
  app.use((c, next) => (c.req.method === 'POST' && IMPORT_PATHS.has(c.req.path) ? importLimit(c, next) : defaultLimit(c, next)));
  app.use(authenticate);
  app.use(sameOriginForCookieWrites);
  // A form body that does not parse (broken multipart, a boundary that is not in the body) is
  // the sender's mistake: a 400, where each page's parseBody() would have thrown a 500. Parsed
  // once here; Hono caches the FormData, so the handlers' parseBody() reuses it. After the
  // identity and CSRF checks, so a cross-site post is refused unread; an anonymous import (up
  // to 8 MB) is left to its page's guard, which sends it to the login form unread.
  app.use(async (c, next) => {
    const anonymousImport = !c.get('identity') && IMPORT_PATHS.has(c.req.path);
    if (!anonymousImport && c.req.method !== 'GET' && c.req.method !== 'HEAD' && /^\s*(multipart\/form-data|application\/x-www-form-urlencoded)\b/i.test(c.req.header('content-type') ?? '')) {
      try {
        await c.req.parseBody();
      } catch {
        return errorResponse(c, 400, 'malformed_form', 'The form body could not be read.');
      }
    }
    return next();
  });
  // Nothing personal may sit in shared caches; pages that are safe to cache say so themselves.
  app.use(async (c, next) => {
    await next();
    if (!c.res.headers.has('Cache-Control')) c.header('Cache-Control', 'no-store');
  });

  app.get('/healthz', async (c) => {
    try {
      await deps.pingDatabase();
      return c.json({ status: 'ok', database: 'ok', runtime: deps.runtime });
    } catch (error) {
      deps.logger.error('health check failed', { error });
      return c.json({ status: 'error', database: 'unreachable', runtime: deps.runtime }, 503);
    }
  });

  app.get('/assets/app.css', (c) => {
    c.header('Cache-Control', 'public, max-age=3600');
    return c.body(stylesheet, 200, { 'Content-Type': 'text/css; charset=utf-8' });
  });

  app.get('/assets/agent.js', (c) => {
    c.header('Cache-Control', 'public, max-age=3600');
    return c.body(agentJs, 200, { 'Content-Type': 'text/javascript; charset=utf-8' });
  });

  app.get('/assets/campaign.js', (c) => {
    c.header('Cache-Control', 'public, max-age=3600');
    return c.body(campaignJs, 200, { 'Content-Type': 'text/javascript; charset=utf-8' });
  });

  app.get('/assets/favicon.svg', (c) => {
    c.header('Cache-Control', 'public, max-age=86400');
    return c.body(faviconSvg, 200, { 'Content-Type': 'image/svg+xml' });
  });

  const api = apiRouter()
    .route('/', authApi)
    .route('/', workspaceApi)
    .route('/', membersApi)
    .route('/', apiKeysApi)
    .route('/', auditApi)
    .route('/', outboxApi)
    .route('/', campaignsApi)
    .route('/', consentsApi)
    .route('/', segmentsApi)
    .route('/', privacyApi)
    .route('/', trackingApi);
  api.openAPIRegistry.registerComponent('securitySchemes', 'Bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'A session token from POST /auth/login, or an API key (cnk_…).',
  });
  const openApiConfig = {
    openapi: '3.1.0',
    info: {
      title: 'Consent & Newsletter API',
      version: '1',
      description:
        'Consent capture, newsletters and measurement for call centres. Errors always have the shape { error: { code, message, details?, requestId } }.',
    },
    servers: [{ url: '/api/v1' }],
  };
  let openApiDocument: ReturnType<typeof api.getOpenAPI31Document> | undefined;
  const getOpenApiDocument = () => (openApiDocument ??= api.getOpenAPI31Document(openApiConfig));

  app.route('/api/v1', api);
  app.get('/api/openapi.json', (c) => c.json(getOpenApiDocument()));
  app.route('/', apiDocsPage(getOpenApiDocument as never));

  app.route('/', authPages({ demo: deps.demo ?? false }));
  app.route('/', homePage);
  app.route('/', workspacePage);
  app.route('/', adminPages);
  app.route('/', outboxPages);
  app.route('/', previewLinkPage);
  app.route('/', confirmPage);
  app.route('/', subscriberPages);
  app.route('/', privacyPages);
  app.route('/', agentConsole);
  app.route('/', conversionPage);
  app.route('/', proofPages);
  app.route('/', campaignPages);
  app.route('/', segmentPages);
  app.route('/', reportPages);
  app.route('/', dashboardPages);
  app.route('/', contactPages);
  app.route('/', dpoPages);

  return app;
}

export type App = ReturnType<typeof createApp>;
