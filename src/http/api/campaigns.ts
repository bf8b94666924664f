import { campaignStatuses } from '../../db/schema.js';
import { createCampaign, deleteCampaign, getCampaign, listCampaigns, updateCampaign, type Campaign } from '../../domain/campaigns/campaigns.js';
import { previewCampaign, previewContent, testSendCampaign } from '../../domain/campaigns/preview.js';
import { campaignProgress, cancelCampaign, pauseCampaign, resumeCampaign, scheduleCampaign, sendCampaign } from '../../domain/campaigns/lifecycle.js';
import { BODY_MAX, PREHEADER_MAX, SUBJECT_MAX } from '../../email/compile.js';
import { starterTemplates } from '../../email/templates.generated.js';
import { ctxOf } from '../context.js';
import { apiRouter, defineRoute, Id, iso, IsoDate, json, jsonBody, z } from './openapi.js';

const read = { roles: ['admin', 'marketer'], scopes: ['campaigns:read', 'campaigns:write'] } as const;
const write = { roles: ['admin', 'marketer'], scopes: ['campaigns:write'] } as const;
const anyError = json(z.object({ error: z.any() }), 'See the error envelope.');
const IdParam = z.object({ id: Id('cmp_2b9e…') });

// Lengths here are generous transport limits; the compiler applies the precise rules and names the line.
const Content = {
  subject: z.string().max(SUBJECT_MAX * 4).openapi({ example: '{{firstName|"Bonjour"}}, vos prochaines destinations avec Voyage Online' }),
  preheader: z.string().max(PREHEADER_MAX * 4),
  body: z.string().max(BODY_MAX).openapi({ description: 'MJML sections (mj-section, mj-wrapper…). The platform adds the layout and the mandatory blocks.' }),
};

const UtmValue = z.string().trim().min(1).max(100).regex(/^[\w.+~-]+$/, 'letters, digits and . _ - + ~ only');
const LinkTrackingSchema = z
  .object({
    utm: z
      .object({ source: UtmValue, medium: UtmValue, campaign: UtmValue, content: UtmValue.optional() })
      .strict()
      .optional()
      .openapi({ description: 'Added to every tracked link, unless the author set that parameter in the URL.' }),
    appendClickId: z
      .boolean()
      .optional()
      .openapi({ description: 'Add `cn_click=<token>` to destinations, so the landing site can report conversions with it (POST /conversions `clickToken`).' }),
  })
  .strict()
  .nullable()
  .openapi('LinkTracking');

const Sample = z
  .object({
    firstName: z.string().max(100).nullable(),
    lastName: z.string().max(100).nullable(),
    email: z.string().max(254),
    agentFirstName: z.string().max(100).nullable(),
    agentPhone: z.string().max(40).nullable(),
    consentAgentName: z.string().max(200).nullable(),
    consentDate: z.iso.datetime({ offset: true }).transform((s) => new Date(s)),
    attributes: z.record(z.string().max(40), z.union([z.string().max(500), z.number(), z.boolean()])),
  })
  .partial()
  .strict()
  .openapi('SampleRecipient', { description: 'Values to preview with; anything left out uses sample data.' });

const CampaignSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    subject: z.string(),
    preheader: z.string(),
    body: z.string(),
    templateId: z.string().nullable(),
    status: z.enum(campaignStatuses),
    version: z.number().int(),
    fields: z.array(z.string()).openapi({ description: 'Merge fields the content uses.' }),
    links: z.number().int().openapi({ description: 'Links written in the body (click-trackable).' }),
    segmentId: z.string().nullable(),
    scheduledAt: IsoDate.nullable(),
    startedAt: IsoDate.nullable(),
    finishedAt: IsoDate.nullable(),
    statusReason: z.string().nullable().openapi({ description: 'Why it is paused or failed.' }),
    tracking: LinkTrackingSchema,
    createdAt: IsoDate,
    updatedAt: IsoDate,
  })
  .openapi('Campaign');

const campaignJson = (c: Campaign) => ({
  id: c.id,
  name: c.name,
  subject: c.subject,
  preheader: c.preheader,
  body: c.body,
  templateId: c.templateId,
  status: c.status,
  version: c.version,
  fields: c.compiled.fields,
  links: c.compiled.links.length,
  segmentId: c.segmentId,
  scheduledAt: iso(c.scheduledAt),
  startedAt: iso(c.startedAt),
  finishedAt: iso(c.finishedAt),
  statusReason: c.statusReason,
  tracking: c.linkTracking,
  createdAt: iso(c.createdAt)!,
  updatedAt: iso(c.updatedAt)!,
});

const Progress = z
  .object({
    status: z.enum(campaignStatuses),
    statusReason: z.string().nullable(),
    total: z.number().int(),
    queued: z.number().int(),
    sending: z.number().int(),
    sent: z.number().int(),
    failed: z.number().int(),
    suppressed: z.number().int().openapi({ description: 'Withdrew, lost confirmation or were erased between the start and their batch.' }),
    audienceComplete: z.boolean(),
  })
  .openapi('CampaignProgress');

const changed = { 200: json(CampaignSchema, 'The campaign after the change.'), 404: anyError, 409: anyError };
const lifecycle = (path: string, summary: string, description: string) =>
  defineRoute({
    method: 'post',
    path: `/campaigns/{id}/${path}`,
    tags: ['Campaigns'],
    summary,
    description: `${description} 409 when the campaign is not in a state this applies to.`,
    access: write,
    request: { params: IdParam },
    responses: changed,
  });

const sendRoute = defineRoute({
  method: 'post',
  path: '/campaigns/{id}/send',
  tags: ['Campaigns'],
  summary: 'Send now to a segment',
  description:
    'Freezes the compiled version and sends to the segment’s audience (newsletter consent granted, and confirmed where required), in batches of 100 through the send ledger. 409 when not a draft or scheduled, or the audience is empty.',
  access: write,
  request: { params: IdParam, body: jsonBody(z.object({ segmentId: Id('seg_…') }).strict()) },
  responses: changed,
});
const scheduleRoute = defineRoute({
  method: 'post',
  path: '/campaigns/{id}/schedule',
  tags: ['Campaigns'],
  summary: 'Schedule for later',
  description: 'Sends at `at` (ISO 8601, in the future) to the segment. 409 when not a draft or scheduled.',
  access: write,
  request: { params: IdParam, body: jsonBody(z.object({ segmentId: Id('seg_…'), at: z.iso.datetime({ offset: true }) }).strict()) },
  responses: changed,
});
const pauseRoute = lifecycle('pause', 'Pause', 'The batch in flight finishes; nothing more goes until resumed.');
const resumeRoute = lifecycle('resume', 'Resume', 'Carries on where it stopped (or back to its schedule if it had not started).');
const cancelRoute = lifecycle('cancel', 'Cancel', 'What is sent stays sent; nothing more goes.');

const progressRoute = defineRoute({
  method: 'get',
  path: '/campaigns/{id}/progress',
  tags: ['Campaigns'],
  summary: 'Live progress of a send',
  access: read,
  request: { params: IdParam },
  responses: { 200: json(Progress, 'Counts from the send ledger.'), 404: anyError },
});

const Rendered = z
  .object({ subject: z.string(), preheader: z.string(), html: z.string(), text: z.string(), fields: z.array(z.string()) })
  .openapi('RenderedEmail');


const templatesRoute = defineRoute({
  method: 'get',
  path: '/email-templates',
  tags: ['Campaigns'],
  summary: 'Starter newsletters to begin from',
  access: read,
  responses: {
    200: json(z.object({ templates: z.array(z.object({ id: z.string(), name: z.string(), subject: z.string(), preheader: z.string(), body: z.string() })) }), 'Templates.'),
  },
});

const listRoute = defineRoute({
  method: 'get',
  path: '/campaigns',
  tags: ['Campaigns'],
  summary: 'Campaigns, most recently changed first',
  access: read,
  responses: { 200: json(z.object({ campaigns: z.array(CampaignSchema) }), 'Campaigns.') },
});

const createRouteDef = defineRoute({
  method: 'post',
  path: '/campaigns',
  tags: ['Campaigns'],
  summary: 'Create a draft',
  description:
    'From a starter template (`templateId`) and/or content. The content is compiled and verified at once: unknown merge fields, invalid MJML (with line numbers), scripts, or anything hiding a mandatory block are refused with 400 `invalid_content`, and nothing is stored.',
  access: write,
  request: {
    body: jsonBody(
      z
        .object({ name: z.string().trim().min(1).max(120), templateId: z.string().max(100).optional(), tracking: LinkTrackingSchema.optional(), ...Content })
        .partial({ subject: true, preheader: true, body: true })
        .strict(),
    ),
  },
  responses: { 201: json(CampaignSchema, 'Created.') },
});

const getRouteDef = defineRoute({
  method: 'get',
  path: '/campaigns/{id}',
  tags: ['Campaigns'],
  summary: 'One campaign',
  access: read,
  request: { params: IdParam },
  responses: { 200: json(CampaignSchema, 'The campaign.'), 404: anyError },
});

const patchRoute = defineRoute({
  method: 'patch',
  path: '/campaigns/{id}',
  tags: ['Campaigns'],
  summary: 'Edit a draft',
  description: 'Recompiles and re-verifies; a content change bumps `version`. 409 when the campaign is no longer a draft.',
  access: write,
  request: {
    params: IdParam,
    body: jsonBody(
      z
        .object({ name: z.string().trim().min(1).max(120), tracking: LinkTrackingSchema, ...Content })
        .partial()
        .strict()
        .refine((v) => Object.keys(v).length > 0, 'send at least one field to change'),
    ),
  },
  responses: { 200: json(CampaignSchema, 'Updated.'), 404: anyError, 409: anyError },
});

const deleteRoute = defineRoute({
  method: 'delete',
  path: '/campaigns/{id}',
  tags: ['Campaigns'],
  summary: 'Delete a draft',
  access: write,
  request: { params: IdParam },
  responses: { 204: { description: 'Deleted.' }, 404: anyError, 409: anyError },
});

const previewUnsavedRoute = defineRoute({
  method: 'post',
  path: '/campaigns/preview',
  tags: ['Campaigns'],
  summary: 'Preview content that is not saved yet',
  description: 'Renders subject, preheader, HTML and text exactly as a recipient would get them, for sample data, the given values, or one of your contacts (`contactId`); or 400 with what would be refused.',
  access: read,
  request: { body: jsonBody(z.object({ ...Content, sample: Sample.optional(), contactId: Id('ct_…').optional() }).strict()) },
  responses: { 200: json(Rendered, 'The rendered email.') },
});

const previewRoute = defineRoute({
  method: 'post',
  path: '/campaigns/{id}/preview',
  tags: ['Campaigns'],
  summary: 'Preview a saved campaign',
  access: read,
  request: { params: IdParam, body: { required: false, content: { 'application/json': { schema: z.object({ sample: Sample.optional(), contactId: Id('ct_…').optional().openapi({ description: 'Render exactly as this contact would receive it.' }) }).strict() } } } },
  responses: { 200: json(Rendered, 'The rendered email.'), 404: anyError },
});

const testSendRoute = defineRoute({
  method: 'post',
  path: '/campaigns/{id}/test-send',
  tags: ['Campaigns'],
  summary: 'Send a test to myself',
  description: 'Renders for sample data and sends to the logged-in person, subject prefixed with [TEST]. Locally it lands in the dev outbox.',
  access: { roles: ['admin', 'marketer'] },
  request: { params: IdParam, body: { required: false, content: { 'application/json': { schema: z.object({ sample: Sample.optional(), contactId: Id('ct_…').optional() }).strict() } } } },
  responses: {
    202: json(z.object({ messageId: z.string(), to: z.string(), subject: z.string(), version: z.number().int() }), 'Handed to the mailer.'),
    404: anyError,
  },
});

export const campaignsApi = apiRouter()
  .openapi(sendRoute, async (c) => c.json(campaignJson(await sendCampaign({ ctx: ctxOf(c), input: { ...c.req.valid('param'), ...c.req.valid('json') } })), 200))
  .openapi(scheduleRoute, async (c) => {
    const body = c.req.valid('json');
    return c.json(campaignJson(await scheduleCampaign({ ctx: ctxOf(c), input: { ...c.req.valid('param'), segmentId: body.segmentId, at: new Date(body.at) } })), 200);
  })
  .openapi(pauseRoute, async (c) => c.json(campaignJson(await pauseCampaign({ ctx: ctxOf(c), input: c.req.valid('param') })), 200))
  .openapi(resumeRoute, async (c) => c.json(campaignJson(await resumeCampaign({ ctx: ctxOf(c), input: c.req.valid('param') })), 200))
  .openapi(cancelRoute, async (c) => c.json(campaignJson(await cancelCampaign({ ctx: ctxOf(c), input: c.req.valid('param') })), 200))
  .openapi(progressRoute, async (c) => c.json(await campaignProgress({ ctx: ctxOf(c), input: c.req.valid('param') }), 200))
  .openapi(templatesRoute, (c) => c.json({ templates: starterTemplates.map((t) => ({ ...t })) }, 200))
  .openapi(listRoute, async (c) => c.json({ campaigns: (await listCampaigns({ ctx: ctxOf(c) })).map(campaignJson) }, 200))
  .openapi(previewUnsavedRoute, async (c) => c.json(await previewContent({ ctx: ctxOf(c), input: c.req.valid('json') }), 200))
  .openapi(createRouteDef, async (c) => {
    const { tracking, ...body } = c.req.valid('json');
    return c.json(campaignJson(await createCampaign({ ctx: ctxOf(c), input: { ...body, linkTracking: tracking } })), 201);
  })
  .openapi(getRouteDef, async (c) => c.json(campaignJson(await getCampaign({ ctx: ctxOf(c), input: c.req.valid('param') })), 200))
  .openapi(patchRoute, async (c) => {
    const { tracking, ...body } = c.req.valid('json');
    return c.json(campaignJson(await updateCampaign({ ctx: ctxOf(c), input: { ...c.req.valid('param'), ...body, linkTracking: tracking } })), 200);
  })
  .openapi(deleteRoute, async (c) => {
    await deleteCampaign({ ctx: ctxOf(c), input: c.req.valid('param') });
    return c.body(null, 204);
  })
  .openapi(previewRoute, async (c) => {
    const body = (c.req.header('content-type') ?? '').includes('json') ? c.req.valid('json') : {};
    return c.json(await previewCampaign({ ctx: ctxOf(c), input: { ...c.req.valid('param'), ...body } }), 200);
  })
  .openapi(testSendRoute, async (c) => {
    const body = (c.req.header('content-type') ?? '').includes('json') ? c.req.valid('json') : {};
    return c.json(await testSendCampaign({ ctx: ctxOf(c), input: { ...c.req.valid('param'), ...body } }), 202);
  });
