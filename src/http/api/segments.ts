import { maskAddress, seesWholeAddresses } from '../../domain/contacts/mask.js';
import { audiencePreview, createSegment, deleteSegment, getSegment, listSegments, updateSegment, type Segment } from '../../domain/segments/segments.js';
import { fieldCatalogue, type SegmentRules } from '../../domain/segments/rules.js';
import { ctxOf } from '../context.js';
import { apiRouter, defineRoute, Id, iso, IsoDate, json, jsonBody, z } from './openapi.js';

const read = { roles: ['admin', 'marketer'], scopes: ['campaigns:read', 'campaigns:write'] } as const;
const write = { roles: ['admin', 'marketer'], scopes: ['campaigns:write'] } as const;
const anyError = json(z.object({ error: z.any() }), 'See the error envelope.');

const ConditionSchema = z
  .object({
    field: z.string().max(60).openapi({ example: 'attributes.destination' }),
    operator: z.string().max(20).openapi({ example: 'equals' }),
    value: z.union([z.string().max(200), z.number(), z.boolean(), z.array(z.string().max(200)).max(200)]).optional(),
  })
  .strict();

// Shape only; field/operator/value combinations are checked by the domain, which names the path.
// Groups nest four levels at most, spelled out (a recursive schema would not fit in OpenAPI).
function group(depth: number): z.ZodType<SegmentRules> {
  const item = depth > 1 ? z.union([ConditionSchema, group(depth - 1)]) : ConditionSchema;
  return z.object({ match: z.enum(['all', 'any']), conditions: z.array(item).max(50) }).strict() as z.ZodType<SegmentRules>;
}
const RulesSchema = group(5).openapi('SegmentRules');

const Sample = z.object({ id: z.string(), email: z.string().nullable(), firstName: z.string().nullable(), lastName: z.string().nullable(), sourceCampaign: z.string().nullable() });
const Audience = z.object({ count: z.number().int().openapi({ description: 'Contacts in the segment who may receive a newsletter now.' }), sample: z.array(Sample) });

const SegmentSchema = z
  .object({ id: z.string(), name: z.string(), rules: z.any(), createdAt: IsoDate, updatedAt: IsoDate })
  .openapi('Segment');
const segmentJson = (s: Segment) => ({ id: s.id, name: s.name, rules: s.rules, createdAt: iso(s.createdAt)!, updatedAt: iso(s.updatedAt)! });
const IdParam = z.object({ id: Id('seg_…') });
const rulesDoc =
  'Rules: `{ match: "all"|"any", conditions: [ { field, operator, value } | nested group ] }`. Fields and their operators: GET /segments/fields. Text comparisons ignore case.';

const fieldsRoute = defineRoute({
  method: 'get',
  path: '/segments/fields',
  tags: ['Segments'],
  summary: 'What a rule can test, and how',
  access: read,
  responses: { 200: json(z.object({ fields: z.array(z.object({ name: z.string(), kind: z.string(), label: z.string(), operators: z.array(z.string()) })), attributes: z.string() }), 'Catalogue.') },
});

const listRoute = defineRoute({ method: 'get', path: '/segments', tags: ['Segments'], summary: 'Saved segments', access: read, responses: { 200: json(z.object({ segments: z.array(SegmentSchema) }), 'By name.') } });

const previewRoute = defineRoute({
  method: 'post',
  path: '/segments/preview',
  tags: ['Segments'],
  summary: 'Count and sample the audience of rules (not saved)',
  description: `The audience is the segment among live contacts whose newsletter consent is granted now (and confirmed, when the workspace requires double opt-in). ${rulesDoc}`,
  access: read,
  request: { body: jsonBody(z.object({ rules: RulesSchema }).strict()) },
  responses: { 200: json(Audience, 'Count and up to 10 contacts; addresses are masked (`ma•••@example.com`) for anyone but admins.') },
});

const createRouteDef = defineRoute({
  method: 'post',
  path: '/segments',
  tags: ['Segments'],
  summary: 'Save a segment',
  description: rulesDoc,
  access: write,
  request: { body: jsonBody(z.object({ name: z.string().trim().min(1).max(120), rules: RulesSchema }).strict()) },
  responses: { 201: json(SegmentSchema.extend({ audience: Audience }), 'Saved, with its audience now.') },
});

const getRouteDef = defineRoute({
  method: 'get',
  path: '/segments/{id}',
  tags: ['Segments'],
  summary: 'One segment and its audience now',
  access: read,
  request: { params: IdParam },
  responses: { 200: json(SegmentSchema.extend({ audience: Audience }), 'The segment.'), 404: anyError },
});

const patchRoute = defineRoute({
  method: 'patch',
  path: '/segments/{id}',
  tags: ['Segments'],
  summary: 'Rename or change the rules',
  access: write,
  request: {
    params: IdParam,
    body: jsonBody(
      z
        .object({ name: z.string().trim().min(1).max(120), rules: RulesSchema })
        .partial()
        .strict()
        .refine((v) => Object.keys(v).length > 0, 'send at least one field to change'),
    ),
  },
  responses: { 200: json(SegmentSchema, 'Updated.'), 404: anyError },
});

const deleteRoute = defineRoute({
  method: 'delete',
  path: '/segments/{id}',
  tags: ['Segments'],
  summary: 'Delete a segment',
  access: write,
  request: { params: IdParam },
  responses: { 204: { description: 'Deleted.' }, 404: anyError },
});

export const segmentsApi = apiRouter()
  .openapi(fieldsRoute, (c) => c.json({ fields: fieldCatalogue().map((f) => ({ ...f, operators: [...f.operators] })), attributes: 'attributes.<name>: text operators on a contact attribute' }, 200))
  .openapi(listRoute, async (c) => c.json({ segments: (await listSegments({ ctx: ctxOf(c) })).map(segmentJson) }, 200))
  .openapi(previewRoute, async (c) => {
    const ctx = ctxOf(c);
    const audience = await audiencePreview({ ctx, input: c.req.valid('json') });
    // Same minimisation as the segment page: marketers and keys recognise people, admins read.
    const whole = seesWholeAddresses(ctx.actor);
    return c.json({ ...audience, sample: audience.sample.map((m) => ({ ...m, email: m.email && !whole ? maskAddress(m.email) : m.email })) }, 200);
  })
  .openapi(createRouteDef, async (c) => {
    const ctx = ctxOf(c);
    const segment = await createSegment({ ctx, input: c.req.valid('json') });
    return c.json({ ...segmentJson(segment), audience: await audiencePreview({ ctx, input: { rules: segment.rules } }) }, 201);
  })
  .openapi(getRouteDef, async (c) => {
    const ctx = ctxOf(c);
    const segment = await getSegment({ ctx, input: c.req.valid('param') });
    return c.json({ ...segmentJson(segment), audience: await audiencePreview({ ctx, input: { rules: segment.rules } }) }, 200);
  })
  .openapi(patchRoute, async (c) => c.json(segmentJson(await updateSegment({ ctx: ctxOf(c), input: { ...c.req.valid('param'), ...c.req.valid('json') } })), 200))
  .openapi(deleteRoute, async (c) => {
    await deleteSegment({ ctx: ctxOf(c), input: c.req.valid('param') });
    return c.body(null, 204);
  });
