/**
 * The one place that turns errors into responses. Every API error has the same envelope:
 * `{ "error": { "code", "message", "details"?, "requestId" } }`. Nothing internal (stack,
 * SQL, file paths) ever reaches the client; unexpected errors are logged with the request id.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ZodError } from 'zod';
import { DomainError, Invalid, RateLimited, type FieldIssue } from '../domain/errors.js';
import { describeError, stackOf, type Logger } from '../lib/logger.js';
import type { AppEnv } from './env.js';
import { errorPage } from './pages/error-page.js';

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown; requestId: string };
}

const statusOf: Record<DomainError['kind'], ContentfulStatusCode> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
};

export function zodIssues(error: ZodError): FieldIssue[] {
  return error.issues.map((i) => ({ field: i.path.map(String).join('.') || '(body)', message: i.message }));
}

export function invalidFromZod(error: ZodError, where: string): Invalid {
  const issues = zodIssues(error);
  const summary = issues.map((i) => `${i.field}: ${i.message}`).join('; ');
  return new Invalid('invalid_input', `Invalid ${where}: ${summary}`, issues);
}

/** Browsers asking for a page get a page; everyone else (API clients, fetch) gets JSON. */
export function wantsHtml(c: Context): boolean {
  if (c.req.path.startsWith('/api/') || c.req.path === '/healthz') return false;
  return (c.req.header('accept') ?? '').includes('text/html');
}

export function errorResponse(
  c: Context<AppEnv>,
  status: ContentfulStatusCode,
  code: string,
  message: string,
  details?: unknown,
) {
  const requestId = c.get('requestId') ?? '';
  if (wantsHtml(c)) return c.html(errorPage({ status, message, requestId }), status);
  const body: ErrorBody = { error: { code, message, ...(details === undefined ? {} : { details }), requestId } };
  return c.json(body, status);
}

export function onError(logger: Logger) {
  return (err: Error, c: Context<AppEnv>) => {
    if (err instanceof DomainError) {
      if (err instanceof RateLimited) c.header('Retry-After', String(err.retryAfterSeconds));
      return errorResponse(c, statusOf[err.kind], err.code, err.message, err.details);
    }
    if (err instanceof ZodError) {
      const invalid = invalidFromZod(err, 'input');
      return errorResponse(c, 400, invalid.code, invalid.message, invalid.details);
    }
    if (err instanceof HTTPException) {
      const status = err.status as ContentfulStatusCode;
      if (status >= 500) logger.error('http exception', { requestId: c.get('requestId'), error: err.cause ?? err });
      const code =
        status === 400 && /json/i.test(err.message) ? 'malformed_json' : status === 413 ? 'payload_too_large' : `http_${status}`;
      return errorResponse(c, status, code, err.message || 'Request refused.');
    }
    const causes = causesOf(err);
    logger.error('unhandled error', {
      requestId: c.get('requestId'),
      method: c.req.method,
      path: c.req.path,
      // With its causes: drizzle's own message only names the failed query, the driver's says why.
      error: describeError(err),
      stack: stackOf(err),
    });
    // A full disk (SQLite's SQLITE_FULL) is not a bug to look up: say so, and that nothing was
    // saved, so a dialer retries later instead of dropping the capture (RFC 4918 §11.5: 507).
    if (causes.some((cause) => /\bSQLITE_FULL\b/.test(cause))) {
      return errorResponse(c, 507, 'storage_full', 'The database is full: nothing was saved. Try again once space has been freed.');
    }
    return errorResponse(c, 500, 'internal_error', 'Something went wrong on our side. The request id identifies it in our logs.');
  };
}

/** The errors `err` wraps (`cause`), and `err` itself when it carries a driver code: `code: message`, innermost last. */
function causesOf(err: unknown): string[] {
  const out: string[] = [];
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (e !== err || typeof code === 'string') out.push(`${typeof code === 'string' ? `${code}: ` : ''}${e.message}`);
  }
  return out;
}

export function notFound(c: Context<AppEnv>) {
  return errorResponse(c, 404, 'not_found', `No route for ${c.req.method} ${c.req.path}.`);
}
