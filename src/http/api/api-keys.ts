import { apiKeyScopes } from '../../db/schema.js';
import { createApiKey, listApiKeys, revokeApiKey, type ApiKeyView } from '../../domain/api-keys/api-keys.js';
import { ctxOf } from '../context.js';
import { apiRouter, defineRoute, Id, iso, IsoDate, json, jsonBody, z } from './openapi.js';

const ApiKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string().openapi({ description: 'First characters of the key, to tell keys apart.' }),
    scopes: z.array(z.enum(apiKeyScopes)),
    createdAt: IsoDate,
    lastUsedAt: IsoDate.nullable(),
    revokedAt: IsoDate.nullable(),
  })
  .openapi('ApiKey');

const keyJson = (k: ApiKeyView) => ({ ...k, createdAt: iso(k.createdAt)!, lastUsedAt: iso(k.lastUsedAt), revokedAt: iso(k.revokedAt) });
const admin = { roles: ['admin'] } as const;
const notFound = json(z.object({ error: z.any() }), 'No such key in this workspace.');

const list = defineRoute({
  method: 'get',
  path: '/api-keys',
  tags: ['API keys'],
  summary: 'Integration keys of this workspace',
  access: admin,
  responses: { 200: json(z.object({ apiKeys: z.array(ApiKeySchema) }), 'Keys, newest first (secrets are never shown again).') },
});

const create = defineRoute({
  method: 'post',
  path: '/api-keys',
  tags: ['API keys'],
  summary: 'Create an integration key',
  description: 'The secret is in this response only; we store its SHA-256.',
  access: admin,
  request: {
    body: jsonBody(
      z
        .object({
          name: z.string().trim().min(1).max(100).openapi({ example: 'Dialer Vocalcom' }),
          scopes: z.array(z.enum(apiKeyScopes)).min(1, 'give the key at least one scope').max(apiKeyScopes.length),
        })
        .strict(),
    ),
  },
  responses: { 201: json(z.object({ apiKey: ApiKeySchema, secret: z.string() }), 'Created; copy the secret now.') },
});

const revoke = defineRoute({
  method: 'post',
  path: '/api-keys/{id}/revoke',
  tags: ['API keys'],
  summary: 'Revoke a key',
  description: 'Takes effect on the next request. Idempotent.',
  access: admin,
  request: { params: z.object({ id: Id('key_5d1e…') }) },
  responses: { 200: json(ApiKeySchema, 'The revoked key.'), 404: notFound },
});

export const apiKeysApi = apiRouter()
  .openapi(list, async (c) => c.json({ apiKeys: (await listApiKeys({ ctx: ctxOf(c) })).map(keyJson) }, 200))
  .openapi(create, async (c) => {
    const { key, secret } = await createApiKey({ ctx: ctxOf(c), input: c.req.valid('json') });
    return c.json({ apiKey: keyJson(key), secret }, 201);
  })
  .openapi(revoke, async (c) => c.json(keyJson(await revokeApiKey({ ctx: ctxOf(c), input: c.req.valid('param') })), 200));
