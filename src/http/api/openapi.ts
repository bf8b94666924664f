/**
 * Helpers to declare API routes once: the zod schemas validate requests, type handlers and
 * produce the OpenAPI document served at /api/openapi.json (and rendered at /api/docs).
 */
import { createRoute, OpenAPIHono, z, type RouteConfig } from '@hono/zod-openapi';
import { invalidFromZod } from '../errors.js';
import type { AppEnv } from '../env.js';
import { allow, type Access } from '../middleware/allow.js';

export { z };

export const ErrorEnvelope = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'invalid_input' }),
      message: z.string().openapi({ example: 'Invalid body: email: is not an email address' }),
      details: z.unknown().optional(),
      requestId: z.string(),
    }),
  })
  .openapi('Error');

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: ErrorEnvelope } },
});

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { 'application/json': { schema } },
});

/** A new API router whose validation failures become our 400 envelope, naming each field. */
export function apiRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw invalidFromZod(result.error, result.target === 'json' ? 'body' : result.target);
    },
  });
}

function describeAccess(access: Access | 'public'): string {
  if (access === 'public') return 'Public.';
  const who = [
    access.roles?.length ? `roles: ${access.roles.join(', ')}` : null,
    access.scopes?.length ? `API key scopes: ${access.scopes.join(', ')}` : null,
  ].filter(Boolean);
  return `Access: ${who.join('; ')}.`;
}

/**
 * `createRoute` plus our conventions: the access rule is enforced by middleware *and* written
 * into the document, and the error responses every route can give are declared.
 */
export function defineRoute<const R extends Omit<RouteConfig, 'middleware' | 'security'> & { access: Access | 'public' }>(
  config: R,
) {
  const { access, ...rest } = config;
  const errors: RouteConfig['responses'] = {
    400: errorResponse('Invalid input: `details.issues` names each field and why.'),
    ...(access === 'public'
      ? {}
      : { 401: errorResponse('Not authenticated.'), 403: errorResponse('Authenticated, but not allowed (role or scope).') }),
  };
  return createRoute({
    ...rest,
    description: [rest.description, describeAccess(access)].filter(Boolean).join('\n\n'),
    ...(access === 'public' ? {} : { security: [{ Bearer: [] }], middleware: [allow(access)] as const }),
    responses: { ...errors, ...rest.responses },
  } as unknown as Omit<R, 'access'>);
}

export const Id = (example: string) => z.string().min(1).max(100).openapi({ example });
export const IsoDate = z.string().openapi({ format: 'date-time', example: '2026-11-22T09:30:00.000Z' });
export const iso = (d: Date | null) => (d ? d.toISOString() : null);
