import { getOutboxMessage, listOutbox } from '../../domain/outbox/outbox.js';
import { NotFound } from '../../domain/errors.js';
import { ctxOf } from '../context.js';
import { ALL_ROLES } from '../middleware/allow.js';
import { apiRouter, defineRoute, Id, iso, IsoDate, json, z } from './openapi.js';
import type { Context } from 'hono';
import type { AppEnv } from '../env.js';

const Message = z
  .object({
    id: z.string(),
    from: z.string(),
    to: z.string(),
    replyTo: z.string().nullable(),
    subject: z.string(),
    html: z.string(),
    text: z.string(),
    headers: z.record(z.string(), z.string()),
    tags: z.record(z.string(), z.string()),
    createdAt: IsoDate,
  })
  .openapi('OutboxMessage');

/** The outbox exists only while no RESEND_API_KEY is set; with real sending it is a 404. */
export function assertOutboxEnabled(c: Context<AppEnv>) {
  if (c.get('deps').mailer.kind !== 'outbox') throw new NotFound('outbox_disabled', 'The dev outbox is off: this platform sends through Resend.');
}

const list = defineRoute({
  method: 'get',
  path: '/dev/outbox',
  tags: ['Dev outbox'],
  summary: 'Messages stored instead of sent (no RESEND_API_KEY)',
  access: { roles: ALL_ROLES },
  request: { query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }) },
  responses: { 200: json(z.object({ messages: z.array(Message) }), 'Newest first.'), 404: json(z.object({ error: z.any() }), 'Outbox disabled.') },
});

const get = defineRoute({
  method: 'get',
  path: '/dev/outbox/{id}',
  tags: ['Dev outbox'],
  summary: 'One stored message',
  access: { roles: ALL_ROLES },
  request: { params: z.object({ id: Id('msg_…') }) },
  responses: { 200: json(Message, 'The message.'), 404: json(z.object({ error: z.any() }), 'No such message, or outbox disabled.') },
});

const messageJson = (m: Awaited<ReturnType<typeof getOutboxMessage>>) => {
  const { workspaceId, idempotencyKey, ...rest } = m;
  return { ...rest, createdAt: iso(m.createdAt)! };
};

export const outboxApi = apiRouter()
  .openapi(list, async (c) => {
    assertOutboxEnabled(c);
    const rows = await listOutbox({ ctx: ctxOf(c), input: c.req.valid('query') });
    return c.json({ messages: rows.map(messageJson) }, 200);
  })
  .openapi(get, async (c) => {
    assertOutboxEnabled(c);
    return c.json(messageJson(await getOutboxMessage({ ctx: ctxOf(c), input: c.req.valid('param') })), 200);
  });
