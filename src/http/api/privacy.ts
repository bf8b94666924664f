/**
 * Data-subject rights for admins (the DPO's role): the request register with its deadlines,
 * and the actions that answer requests received by phone or letter: export (access,
 * portability), erasure, rectification. Plus the suppression list lookup and the retention run.
 */
import { dsrChannels, dsrStatuses, dsrTypes } from '../../db/schema.js';
import { exportToCsv } from '../../domain/privacy/export.js';
import { closeRequest, eraseOnRequest, exportOnRequest, listRequests, logRequest, rectifyOnRequest, type DsrRequest } from '../../domain/privacy/requests.js';
import { runRetention } from '../../domain/privacy/retention.js';
import { activeSuppression, emailHash } from '../../domain/privacy/suppressions.js';
import { normaliseEmail } from '../../domain/contacts/normalise.js';
import { Invalid } from '../../domain/errors.js';
import { recordAudit } from '../../domain/audit/record.js';
import { ctxOf } from '../context.js';
import { apiRouter, defineRoute, Id, iso, IsoDate, json, jsonBody, z } from './openapi.js';

const admin = { roles: ['admin'] } as const;
const anyError = json(z.object({ error: z.any() }), 'See the error envelope.');

const RequestSchema = z
  .object({
    id: z.string(),
    contactId: z.string().nullable(),
    contact: z.string().nullable().openapi({ description: 'Name and email while the person is not erased.' }),
    type: z.enum(dsrTypes),
    status: z.enum(dsrStatuses),
    channel: z.enum(dsrChannels),
    notes: z.string(),
    receivedAt: IsoDate,
    dueAt: IsoDate.openapi({ description: 'One month after receipt (GDPR Art. 12(3)).' }),
    overdue: z.boolean(),
    completedAt: IsoDate.nullable(),
    outcome: z.string().nullable(),
  })
  .openapi('DataSubjectRequest');

const requestJson = (r: DsrRequest & { contactLabel?: string | null; overdue?: boolean }) => ({
  id: r.id,
  contactId: r.contactId,
  contact: r.contactLabel ?? null,
  type: r.type,
  status: r.status,
  channel: r.channel,
  notes: r.notes,
  receivedAt: iso(r.receivedAt)!,
  dueAt: iso(r.dueAt)!,
  overdue: r.overdue ?? false,
  completedAt: iso(r.completedAt),
  outcome: r.outcome,
});

const listRoute = defineRoute({
  method: 'get',
  path: '/dsr-requests',
  tags: ['Privacy'],
  summary: 'Data-subject requests, soonest deadline first',
  access: admin,
  request: { query: z.object({ status: z.enum(dsrStatuses).optional() }) },
  responses: { 200: json(z.object({ requests: z.array(RequestSchema) }), 'Open ones first, by due date; then closed ones, latest first.') },
});

const logRoute = defineRoute({
  method: 'post',
  path: '/dsr-requests',
  tags: ['Privacy'],
  summary: 'Log a request received by phone, email or letter',
  description: 'Due one month after `receivedAt` (default now). Do not repeat personal data in `notes`: it is not erased with the contact.',
  access: admin,
  request: {
    body: jsonBody(
      z
        .object({
          contactId: Id('ct_…'),
          type: z.enum(dsrTypes),
          channel: z.enum(dsrChannels).exclude(['preference_centre']),
          notes: z.string().max(2000).optional(),
          receivedAt: z.iso.datetime({ offset: true }).transform((s) => new Date(s)).optional(),
        })
        .strict(),
    ),
  },
  responses: { 201: json(RequestSchema, 'Logged.'), 404: anyError, 409: anyError },
});

const closeRoute = defineRoute({
  method: 'post',
  path: '/dsr-requests/{id}/close',
  tags: ['Privacy'],
  summary: 'Close a request by hand: completed (what was done) or refused (why, Art. 12(4))',
  access: admin,
  request: { params: z.object({ id: Id('dsr_…') }), body: jsonBody(z.object({ status: z.enum(['completed', 'refused']), outcome: z.string().max(2000) }).strict()) },
  responses: { 200: json(RequestSchema, 'Closed.'), 404: anyError, 409: anyError },
});

const RequestRef = z.string().max(100).optional().openapi({ description: 'The logged request this answers; it is closed as completed.' });

const exportRoute = defineRoute({
  method: 'get',
  path: '/contacts/{id}/export',
  tags: ['Privacy'],
  summary: 'Everything held about a person (access, portability): JSON or CSV',
  access: admin,
  request: { params: z.object({ id: Id('ct_…') }), query: z.object({ format: z.enum(['json', 'csv']).default('json'), requestId: RequestRef }) },
  responses: {
    200: {
      description: 'The export (CSV: one `section,item,field,value` row per fact).',
      content: { 'application/json': { schema: z.record(z.string(), z.unknown()).openapi('ContactExport') }, 'text/csv': { schema: z.string() } },
    },
    404: anyError,
    409: anyError,
  },
});

const eraseRoute = defineRoute({
  method: 'post',
  path: '/contacts/{id}/erasure',
  tags: ['Privacy'],
  summary: 'Erase a person (Art. 17)',
  description:
    'Withdraws every granted consent in the ledger, wipes email, phone, names, attributes and event evidence, deletes queued mail to them, and suppresses the address (keyed hash). The ledger still verifies. Irreversible.',
  access: admin,
  request: { params: z.object({ id: Id('ct_…') }), body: jsonBody(z.object({ requestId: RequestRef }).strict()) },
  responses: { 200: json(z.object({ erased: z.boolean(), closedRequests: z.array(z.string()) }), 'Erased (false: it already was).'), 404: anyError, 409: anyError },
});

const rectifyRoute = defineRoute({
  method: 'patch',
  path: '/contacts/{id}',
  tags: ['Privacy'],
  summary: 'Correct a person’s details (rectification, Art. 16)',
  description: 'Only the fields sent change; an attribute set to null is removed. The audit log names the fields, not the values.',
  access: admin,
  request: {
    params: z.object({ id: Id('ct_…') }),
    body: jsonBody(
      z
        .object({
          email: z.string().trim().max(254).optional(),
          phone: z.string().trim().max(40).nullable().optional(),
          firstName: z.string().trim().max(100).nullable().optional(),
          lastName: z.string().trim().max(100).nullable().optional(),
          attributes: z.record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9_-]{0,39}$/), z.union([z.string().max(500), z.number(), z.boolean(), z.null()])).optional(),
          requestId: RequestRef,
        })
        .strict(),
    ),
  },
  responses: { 200: json(z.object({ changed: z.array(z.string()) }), 'Fields changed.'), 404: anyError, 409: anyError },
});

const suppressionRoute = defineRoute({
  method: 'get',
  path: '/suppressions/check',
  tags: ['Privacy'],
  summary: 'Is this address on the suppression list?',
  description: 'The list holds keyed hashes only; this hashes the address you give and looks it up.',
  access: admin,
  request: { query: z.object({ email: z.string().max(254) }) },
  responses: { 200: json(z.object({ suppressed: z.boolean(), reason: z.string().nullable(), since: IsoDate.nullable() }), 'Lookup.') },
});

const retentionRoute = defineRoute({
  method: 'post',
  path: '/retention/run',
  tags: ['Privacy'],
  summary: 'Run the retention job now for this workspace',
  description: 'Erases contacts whose last prospect-originated action is older than the workspace retention (default 3 years; opens do not count). It also runs daily by itself. Safe to run twice.',
  access: admin,
  responses: { 200: json(z.object({ erased: z.number().int(), cutoff: IsoDate }), 'What it did.') },
});

export const privacyApi = apiRouter()
  .openapi(listRoute, async (c) => c.json({ requests: (await listRequests({ ctx: ctxOf(c), input: c.req.valid('query') })).map(requestJson) }, 200))
  .openapi(logRoute, async (c) => c.json(requestJson(await logRequest({ ctx: ctxOf(c), input: c.req.valid('json') })), 201))
  .openapi(closeRoute, async (c) => c.json(requestJson(await closeRequest({ ctx: ctxOf(c), input: { id: c.req.valid('param').id, ...c.req.valid('json') } })), 200))
  .openapi(exportRoute, async (c) => {
    const q = c.req.valid('query');
    const data = await exportOnRequest({ ctx: ctxOf(c), input: { contactId: c.req.valid('param').id, requestId: q.requestId } });
    if (q.format === 'csv') {
      return c.body(exportToCsv(data), 200, { 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': `attachment; filename="${data.contact.id}.csv"` }) as never;
    }
    return c.json(data as Record<string, unknown>, 200);
  })
  .openapi(eraseRoute, async (c) => c.json(await eraseOnRequest({ ctx: ctxOf(c), input: { contactId: c.req.valid('param').id, requestId: c.req.valid('json').requestId } }), 200))
  .openapi(rectifyRoute, async (c) => {
    const { requestId, ...changes } = c.req.valid('json');
    return c.json(await rectifyOnRequest({ ctx: ctxOf(c), input: { contactId: c.req.valid('param').id, changes, requestId } }), 200);
  })
  .openapi(suppressionRoute, async (c) => {
    const ctx = ctxOf(c);
    const email = normaliseEmail(c.req.valid('query').email);
    if (!email) throw new Invalid('invalid_input', 'Invalid email.', [{ field: 'email', message: 'is not an email address' }]);
    const found = await activeSuppression(ctx.db, ctx.workspaceId, await emailHash(ctx.db, ctx.workspaceId, email));
    return c.json({ suppressed: !!found, reason: found?.reason ?? null, since: iso(found?.suppressedAt ?? null) }, 200);
  })
  .openapi(retentionRoute, async (c) => {
    const ctx = ctxOf(c);
    const [report] = await runRetention(ctx.db, ctx.clock.now(), { workspaceId: ctx.workspaceId });
    await ctx.db.transaction((tx) => recordAudit(tx, ctx, { action: 'retention.requested', details: { erased: report!.erased } }));
    return c.json({ erased: report!.erased, cutoff: report!.cutoff }, 200);
  });
