import { login } from '../../domain/auth/login.js';
import { endSessions } from '../../domain/auth/session.js';
import { PASSWORD_MAX, PASSWORD_MIN } from '../../domain/auth/password.js';
import { changePassword } from '../../domain/auth/change-password.js';
import { apiKeyScopes, roles } from '../../db/schema.js';
import { anonymousCtxOf, ctxOf } from '../context.js';
import { ALL_ROLES } from '../middleware/allow.js';
import { apiRouter, defineRoute, IsoDate, json, jsonBody, z } from './openapi.js';
import { getWorkspace } from '../../domain/workspaces/workspaces.js';

const LoginBody = z
  .object({
    email: z.string().trim().min(3).max(254).openapi({ example: 'marketer@voyage-online.test' }),
    password: z.string().min(1).max(PASSWORD_MAX).openapi({ example: 'demo-password' }),
    workspaceId: z.string().max(100).optional().openapi({ description: 'Only for people in several workspaces.' }),
  })
  .openapi('LoginRequest');

const LoginResponse = z
  .object({
    token: z.string().openapi({ description: 'Send as `Authorization: Bearer <token>`.' }),
    expiresAt: IsoDate,
    user: z.object({ id: z.string(), email: z.string(), name: z.string() }),
    workspace: z.object({ id: z.string(), name: z.string() }),
    role: z.enum(roles),
  })
  .openapi('LoginResponse');

const loginRoute = defineRoute({
  method: 'post',
  path: '/auth/login',
  tags: ['Auth'],
  summary: 'Log in with email and password',
  description: 'Returns a short-lived session token (JWS, 8 hours). Throttled: 5 failures per account or 30 per IP in 15 minutes lock further attempts (429 with Retry-After).',
  access: 'public',
  request: { body: jsonBody(LoginBody) },
  responses: {
    200: json(LoginResponse, 'Logged in.'),
    401: json(z.object({ error: z.object({ code: z.string(), message: z.string(), requestId: z.string() }) }), 'Wrong email or password.'),
    429: json(z.object({ error: z.object({ code: z.string(), message: z.string(), requestId: z.string() }) }), 'Too many failures; see Retry-After.'),
  },
});

const MeResponse = z
  .object({
    actor: z.discriminatedUnion('type', [
      z.object({ type: z.literal('user'), userId: z.string(), email: z.string(), name: z.string(), role: z.enum(roles) }),
      z.object({ type: z.literal('api_key'), keyId: z.string(), scopes: z.array(z.string()) }),
    ]),
    workspace: z.object({ id: z.string(), name: z.string() }),
  })
  .openapi('Me');

const meRoute = defineRoute({
  method: 'get',
  path: '/me',
  tags: ['Auth'],
  summary: 'Who am I',
  access: { roles: ALL_ROLES, scopes: apiKeyScopes },
  responses: { 200: json(MeResponse, 'The caller and their workspace.') },
});

const logoutRoute = defineRoute({
  method: 'post',
  path: '/auth/logout',
  tags: ['Auth'],
  summary: 'Log out everywhere',
  description: 'Ends every session of the caller at once, on every device (tokens carry a generation that this bumps). API keys are revoked instead (POST /api-keys/{id}/revoke).',
  access: { roles: ALL_ROLES },
  responses: { 204: { description: 'Every session of the caller has ended.' } },
});

const ChangePasswordBody = z
  .object({
    currentPassword: z.string().min(1).max(PASSWORD_MAX),
    newPassword: z.string().min(PASSWORD_MIN).max(PASSWORD_MAX),
  })
  .openapi('ChangePasswordRequest');

const changePasswordRoute = defineRoute({
  method: 'post',
  path: '/auth/password',
  tags: ['Auth'],
  summary: 'Change my password',
  description:
    'Needs the current password (wrong guesses count towards the login lock). Ends every other session of the caller and returns a fresh token for this one.',
  access: { roles: ALL_ROLES },
  request: { body: jsonBody(ChangePasswordBody) },
  responses: {
    200: json(z.object({ token: z.string(), expiresAt: IsoDate }).openapi('ChangePasswordResponse'), 'Changed; use the new token.'),
  },
});

export const authApi = apiRouter()
  .openapi(loginRoute, async (c) => {
    const input = c.req.valid('json');
    const result = await login({ ctx: anonymousCtxOf(c), input: { ...input, ip: c.get('deps').clientIp(c) } });
    return c.json({ ...result, expiresAt: result.expiresAt.toISOString() }, 200);
  })
  .openapi(meRoute, async (c) => {
    const ctx = ctxOf(c);
    const ws = await getWorkspace({ ctx });
    const actor = ctx.actor;
    if (actor.type !== 'user' && actor.type !== 'api_key') throw new Error('unexpected actor');
    return c.json({ actor, workspace: { id: ws.id, name: ws.name } }, 200);
  })
  .openapi(changePasswordRoute, async (c) => {
    const input = c.req.valid('json');
    const result = await changePassword({ ctx: ctxOf(c), input: { ...input, ip: c.get('deps').clientIp(c) } });
    return c.json({ token: result.token, expiresAt: result.expiresAt.toISOString() }, 200);
  })
  .openapi(logoutRoute, async (c) => {
    const { actor } = ctxOf(c);
    if (actor.type === 'user') await endSessions(c.get('deps').db, actor.userId);
    return c.body(null, 204);
  });
