import { callBases, consentActions } from '../../db/schema.js';
import { agentCounters } from '../../domain/consent/agent-stats.js';
import { captureConsent } from '../../domain/consent/capture.js';
import { verifyChain } from '../../domain/consent/chain.js';
import { consentProof } from '../../domain/consent/proof.js';
import { createScriptVersion, currentScripts, listScriptVersions, MAX_PURPOSES, SCRIPT_MAX, type ConsentScript } from '../../domain/consent/scripts.js';
import { getContact, searchContacts, type ContactView } from '../../domain/contacts/contacts.js';
import { ctxOf } from '../context.js';
import { apiRouter, defineRoute, Id, iso, IsoDate, json, jsonBody, z } from './openapi.js';

const anyError = json(z.object({ error: z.any() }), 'See the error envelope.');
const capturers = { roles: ['agent', 'admin'], scopes: ['consents:write'] } as const;
const readers = { roles: ['agent', 'admin', 'marketer'], scopes: ['consents:write', 'contacts:read'] } as const;
/**
 * Whole contacts (addresses, phones, consents) are for agents on the phone, admins and
 * integrations: marketers work on segments and see addresses masked (src/domain/contacts/mask.ts).
 */
const contactReaders = { roles: ['agent', 'admin'], scopes: ['consents:write', 'contacts:read'] } as const;

const ScriptSchema = z
  .object({ id: z.string(), purpose: z.string(), version: z.number().int(), label: z.string(), text: z.string(), sha256: z.string(), createdAt: IsoDate })
  .openapi('ConsentScript');
const scriptJson = (s: ConsentScript) => ({ id: s.id, purpose: s.purpose, version: s.version, label: s.label, text: s.text, sha256: s.sha256, createdAt: iso(s.createdAt)! });

const ContactSchema = z
  .object({
    id: z.string(),
    email: z.string().nullable(),
    phone: z.string().nullable(),
    firstName: z.string().nullable(),
    lastName: z.string().nullable(),
    locale: z.string(),
    attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
    ownerAgentId: z.string().nullable(),
    ownerAgentName: z.string().nullable(),
    sourceCampaign: z.string().nullable(),
    consents: z.array(z.object({ purpose: z.string(), status: z.enum(['granted', 'refused', 'withdrawn']), since: IsoDate, confirmedAt: IsoDate.nullable() })),
    createdAt: IsoDate,
    updatedAt: IsoDate,
  })
  .openapi('Contact');
const contactJson = (c: ContactView) => ({
  id: c.id,
  email: c.email,
  phone: c.phone,
  firstName: c.firstName,
  lastName: c.lastName,
  locale: c.locale,
  attributes: c.attributes,
  ownerAgentId: c.ownerAgentId,
  ownerAgentName: c.ownerAgentName,
  sourceCampaign: c.sourceCampaign,
  consents: c.consents.map((x) => ({ ...x, since: iso(x.since)!, confirmedAt: iso(x.confirmedAt) })),
  createdAt: iso(c.createdAt)!,
  updatedAt: iso(c.updatedAt)!,
});

const text = (max: number) => z.string().trim().max(max);
export const CaptureBody = z
  .object({
    contact: z
      .object({
        email: z.string().trim().min(3).max(254).openapi({ example: 'marie.dupont@example.com' }),
        phone: text(40).nullable().optional().openapi({ example: '06 12 34 56 78', description: 'Any format; French by default; stored in E.164.' }),
        firstName: text(100).nullable().optional(),
        lastName: text(100).nullable().optional(),
        locale: z.string().regex(/^[a-z]{2}(-[A-Z]{2})?$/, 'must be a language tag such as fr or fr-FR').optional(),
        attributes: z
          .record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9_-]{0,39}$/, 'attribute names: letters, digits, _ and - (40 max)'), z.union([z.string().max(500), z.number(), z.boolean()]))
          .refine((a) => Object.keys(a).length <= 50, 'at most 50 attributes')
          .optional(),
      })
      .strict(),
    call: z
      .object({
        ref: text(100).min(1).openapi({ example: 'VOC-2026-11-22-0042', description: 'The dialer’s reference of the call.' }),
        basis: z.enum(callBases).openapi({ description: 'Why the call was lawful (Code de la consommation L.223-1).' }),
        basisRef: text(200).nullable().optional().openapi({ description: 'Reference of the prior consent or contract (required for prior_consent).' }),
        campaign: text(120).nullable().optional().openapi({ example: 'Voyage à Rome' }),
        occurredAt: z.iso.datetime({ offset: true }).transform((s) => new Date(s)).optional(),
      })
      .strict(),
    answers: z
      .array(
        z
          .object({
            purpose: z.string().max(40).openapi({ example: 'newsletter' }),
            answer: z.enum(['granted', 'refused']),
            scriptId: z.string().max(100).openapi({ description: 'The script version read to the person (GET /consent-scripts).' }),
          })
          .strict(),
      )
      .min(1)
      .max(MAX_PURPOSES),
    agentEmail: z.string().max(254).nullable().optional().openapi({ description: 'With an API key: the login email of the agent who made the call.' }),
    suppressionOverride: z
      .object({ reason: z.string().trim().max(500).openapi({ example: 'A rappelé de lui-même pour recevoir à nouveau les offres' }) })
      .strict()
      .nullable()
      .optional()
      .openapi({
        description:
          'Only when the answer was 409 `suppressed` (the person withdrew or was erased) and they asked again on this call. The address stays suppressed, and nothing is mailed, until they confirm by email; the override is audited.',
      }),
  })
  .strict()
  .openapi('ConsentCapture');

const CaptureResponse = z
  .object({
    contact: z.object({ id: z.string(), email: z.string(), phone: z.string().nullable(), firstName: z.string().nullable(), lastName: z.string().nullable(), created: z.boolean() }),
    call: z.object({ id: z.string(), ref: z.string(), basis: z.enum(callBases), occurredAt: IsoDate }),
    events: z.array(z.object({ id: z.string(), seq: z.number().int(), purpose: z.string(), action: z.enum(consentActions), scriptId: z.string().nullable(), scriptSha256: z.string().nullable(), hash: z.string() })),
    confirmationEmail: z.enum(['queued', 'not_needed']).openapi({ description: 'queued: a confirmation email (double opt-in) goes out right after commit, retried if need be.' }),
    suppression: z.enum(['none', 'kept_until_confirmed']).openapi({ description: 'kept_until_confirmed: the address was suppressed and stays so until the person confirms by email.' }),
  })
  .openapi('ConsentCaptureResult');

const scriptsRoute = defineRoute({
  method: 'get',
  path: '/consent-scripts',
  tags: ['Consent'],
  summary: 'Consent scripts: the current version per purpose, or every version',
  access: readers,
  request: { query: z.object({ all: z.enum(['true', 'false']).optional(), purpose: z.string().max(40).optional() }) },
  responses: { 200: json(z.object({ scripts: z.array(ScriptSchema) }), 'Scripts.') },
});

const createScriptRoute = defineRoute({
  method: 'post',
  path: '/consent-scripts',
  tags: ['Consent'],
  summary: 'Write a new version of a purpose’s script',
  description: 'Versions are immutable; this creates the next one. The text must name the controller, say consent can be withdrawn and how, and where the privacy policy is (GDPR Art. 13).',
  access: { roles: ['admin'] },
  request: {
    body: jsonBody(
      z
        .object({
          purpose: z.string().max(40).openapi({ example: 'partners' }),
          label: z.string().trim().min(1).max(120),
          text: z.string().trim().min(20).max(SCRIPT_MAX),
        })
        .strict(),
    ),
  },
  responses: { 201: json(ScriptSchema, 'Created.'), 409: { ...anyError, description: `\`too_many_purposes\`: a capture answers every purpose, at most ${MAX_PURPOSES}.` } },
});

const captureRoute = defineRoute({
  method: 'post',
  path: '/consents',
  tags: ['Consent'],
  summary: 'Record the consent answers of a call',
  description:
    'Creates or finds the contact (by email), records the call and its legal basis, and appends one ledger event per purpose. Every purpose with a script needs an explicit granted or refused. Send an `Idempotency-Key` header: a retry returns the first answer (header `Idempotent-Replayed: true`) and writes nothing; the same key with another body is a 409. A newsletter grant triggers the confirmation email (double opt-in). An address on the suppression list (withdrew, erased) is refused with 409 `suppressed` and the date, unless `suppressionOverride` says why the person asked again.',
  access: capturers,
  request: {
    headers: z.object({ 'idempotency-key': z.string().optional().openapi({ description: '8-200 visible ASCII characters; a UUID per call is ideal.' }) }),
    body: jsonBody(CaptureBody),
  },
  responses: { 201: json(CaptureResponse, 'Recorded.'), 409: anyError },
});

const searchRoute = defineRoute({
  method: 'get',
  path: '/contacts',
  tags: ['Contacts'],
  summary: 'Find contacts by email or phone',
  access: contactReaders,
  request: { query: z.object({ email: z.string().max(254).optional(), phone: z.string().max(40).optional() }) },
  responses: { 200: json(z.object({ contacts: z.array(ContactSchema) }), 'Matches (up to 20).') },
});

const contactRoute = defineRoute({
  method: 'get',
  path: '/contacts/{id}',
  tags: ['Contacts'],
  summary: 'One contact and their current consents',
  access: contactReaders,
  request: { params: z.object({ id: Id('ct_…') }) },
  responses: { 200: json(ContactSchema, 'The contact.'), 404: anyError },
});

const proofRoute = defineRoute({
  method: 'get',
  path: '/contacts/{id}/consent-proof',
  tags: ['Contacts'],
  summary: 'The consent proof bundle of a contact',
  description: 'Every ledger event with the exact script text and hash, the calls and their legal basis, the evidence, the chain verification and the controller identity: what a DPO hands the CNIL. Also readable at /admin/contacts/{id}/proof.',
  access: { roles: ['admin'] },
  request: { params: z.object({ id: Id('ct_…') }) },
  responses: { 200: json(z.record(z.string(), z.unknown()).openapi('ConsentProof'), 'The bundle.'), 404: anyError },
});

const verifyRoute = defineRoute({
  method: 'get',
  path: '/consent-ledger/verification',
  tags: ['Consent'],
  summary: 'Verify the whole consent ledger of this workspace',
  access: { roles: ['admin'] },
  responses: {
    200: json(z.object({ ok: z.boolean(), count: z.number(), headHash: z.string(), firstBroken: z.object({ id: z.string(), seq: z.number(), reason: z.string() }).optional() }), 'Result; `firstBroken` names the first event that fails.'),
  },
});

const agentStatsRoute = defineRoute({
  method: 'get',
  path: '/stats/agents',
  tags: ['Stats'],
  summary: 'Per-agent counters over a period',
  description: 'Calls recorded, answers per purpose, newsletter grants and how many are confirmed (confirmation rate = confirmed ÷ grants).',
  access: { roles: ['admin', 'marketer'], scopes: ['stats:read'] },
  request: { query: z.object({ from: z.iso.date().optional(), to: z.iso.date().optional() }) },
  responses: {
    200: json(
      z.object({
        from: z.string(),
        to: z.string(),
        agents: z.array(
          z.object({
            agentId: z.string(),
            name: z.string(),
            calls: z.number(),
            answers: z.record(z.string(), z.object({ granted: z.number(), refused: z.number() })),
            newsletterGrants: z.number(),
            newsletterConfirmed: z.number(),
            confirmationRate: z.number().nullable(),
          }),
        ),
      }),
      'Counters.',
    ),
  },
});


export const consentsApi = apiRouter()
  .openapi(scriptsRoute, async (c) => {
    const ctx = ctxOf(c);
    const q = c.req.valid('query');
    const scripts = q.all === 'true' || q.purpose ? await listScriptVersions({ ctx, input: { purpose: q.purpose } }) : await currentScripts(ctx.db, ctx.workspaceId);
    return c.json({ scripts: scripts.map(scriptJson) }, 200);
  })
  .openapi(createScriptRoute, async (c) => c.json(scriptJson(await createScriptVersion({ ctx: ctxOf(c), input: c.req.valid('json') })), 201))
  .openapi(captureRoute, async (c) => {
    const result = await captureConsent({
      ctx: ctxOf(c),
      input: c.req.valid('json'),
      idempotencyKey: c.req.valid('header')['idempotency-key'],
      evidence: { via: 'api', ip: c.get('deps').clientIp(c) ?? '', userAgent: (c.req.header('user-agent') ?? '').slice(0, 300) },
    });
    if (result.replayed) c.header('Idempotent-Replayed', 'true');
    return c.json(result.body, 201);
  })
  .openapi(searchRoute, async (c) => c.json({ contacts: (await searchContacts({ ctx: ctxOf(c), input: c.req.valid('query') })).map(contactJson) }, 200))
  .openapi(contactRoute, async (c) => c.json(contactJson(await getContact({ ctx: ctxOf(c), input: c.req.valid('param') })), 200))
  .openapi(proofRoute, async (c) => c.json(await consentProof({ ctx: ctxOf(c), input: { contactId: c.req.valid('param').id } }), 200))
  .openapi(verifyRoute, async (c) => {
    const ctx = ctxOf(c);
    return c.json(await verifyChain(ctx.db, ctx.workspaceId), 200);
  })
  .openapi(agentStatsRoute, async (c) => {
    const q = c.req.valid('query');
    const ctx = ctxOf(c);
    const to = q.to ? new Date(`${q.to}T00:00:00Z`) : new Date(ctx.clock.now().getTime() + 86_400_000);
    const from = q.from ? new Date(`${q.from}T00:00:00Z`) : new Date(to.getTime() - 30 * 86_400_000);
    return c.json({ from: from.toISOString(), to: to.toISOString(), agents: await agentCounters({ ctx, input: { from, to } }) }, 200);
  });
