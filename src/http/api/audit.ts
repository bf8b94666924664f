import { auditCursorOf, listAuditLog, parseAuditCursor } from '../../domain/audit/list.js';
import { ctxOf } from '../context.js';
import { apiRouter, defineRoute, iso, IsoDate, json, z } from './openapi.js';

const Entry = z
  .object({
    id: z.string(),
    actorType: z.enum(['user', 'api_key', 'subscriber', 'system']),
    actorId: z.string().nullable(),
    action: z.string().openapi({ example: 'api_key.created' }),
    targetType: z.string().nullable(),
    targetId: z.string().nullable(),
    details: z.record(z.string(), z.unknown()).nullable(),
    requestId: z.string().nullable(),
    at: IsoDate,
  })
  .openapi('AuditEntry');

const list = defineRoute({
  method: 'get',
  path: '/audit-log',
  tags: ['Audit'],
  summary: 'Who did what in this workspace',
  access: { roles: ['admin'] },
  request: {
    query: z.object({
      limit: z.coerce.number().int().min(1).max(200).default(50),
      before: z
        .string()
        .regex(/^\d{1,16}(\.[\w-]{1,100})?$/, 'must be the nextBefore of a previous page')
        .optional()
        .openapi({ description: 'Cursor: `nextBefore` of the previous page.' }),
    }),
  },
  responses: { 200: json(z.object({ entries: z.array(Entry), nextBefore: z.string().nullable() }), 'Newest first.') },
});

export const auditApi = apiRouter().openapi(list, async (c) => {
  const query = c.req.valid('query');
  const input = { limit: query.limit, before: parseAuditCursor(query.before) };
  const rows = await listAuditLog({ ctx: ctxOf(c), input });
  const last = rows.at(-1);
  return c.json(
    {
      entries: rows.map((r) => ({ ...r, at: iso(r.at)! })),
      nextBefore: rows.length === input.limit && last ? auditCursorOf(last) : null,
    },
    200,
  );
});
