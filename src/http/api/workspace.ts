import { getWorkspace, updateWorkspace, type Workspace } from '../../domain/workspaces/workspaces.js';
import { ctxOf } from '../context.js';
import { ALL_ROLES } from '../middleware/allow.js';
import { apiRouter, defineRoute, iso, IsoDate, json, jsonBody, z } from './openapi.js';

const text = (max: number) => z.string().trim().min(1).max(max);
const email = z.email({ error: 'is not an email address' }).max(254);
const httpsUrl = z
  .url({ error: 'must be an absolute URL' })
  .max(500)
  .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL');

/** The identity fields; all required on a workspace, all optional in a PATCH. */
const identityShape = {
  name: text(120).openapi({ description: 'Brand name shown to subscribers', example: 'Voyage Online' }),
  legalName: text(200).openapi({ example: 'Voyage Online SAS' }),
  addressLine: text(200),
  postalCode: text(20),
  city: text(100),
  country: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code such as FR'),
  contactEmail: email,
  contactPhone: text(40),
  privacyUrl: httpsUrl,
  dpoContact: text(200).openapi({ description: 'How to reach the DPO (email or postal address)' }),
  senderName: text(120),
  senderEmail: email,
  replyTo: email.nullable(),
};

export const SettingsSchema = z.object({
  requireDoubleOptIn: z.boolean(),
  retentionDays: z.number().int().min(30).max(3 * 365).openapi({ description: 'CNIL: at most 3 years after the last prospect-originated contact.' }),
  attributionWindowDays: z.number().int().min(1).max(365),
});

export const WorkspaceSchema = z
  .object({ id: z.string(), slug: z.string(), ...identityShape, settings: SettingsSchema, createdAt: IsoDate, updatedAt: IsoDate })
  .openapi('Workspace');

const WorkspacePatch = z
  .object({ ...identityShape, settings: SettingsSchema.partial() })
  .partial()
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'send at least one field to change')
  .openapi('WorkspacePatch');

export const workspaceJson = (ws: Workspace) => ({ ...ws, createdAt: iso(ws.createdAt)!, updatedAt: iso(ws.updatedAt)! });

const getRoute = defineRoute({
  method: 'get',
  path: '/workspace',
  tags: ['Workspace'],
  summary: 'The current workspace: controller identity and settings',
  access: { roles: ALL_ROLES },
  responses: { 200: json(WorkspaceSchema, 'The workspace.') },
});

const patchRoute = defineRoute({
  method: 'patch',
  path: '/workspace',
  tags: ['Workspace'],
  summary: 'Change identity or settings',
  description: 'Every change is audited with its before and after values.',
  access: { roles: ['admin'] },
  request: { body: jsonBody(WorkspacePatch) },
  responses: { 200: json(WorkspaceSchema, 'The updated workspace.') },
});

export const workspaceApi = apiRouter()
  .openapi(getRoute, async (c) => c.json(workspaceJson(await getWorkspace({ ctx: ctxOf(c) })), 200))
  .openapi(patchRoute, async (c) => {
    const ws = await updateWorkspace({ ctx: ctxOf(c), input: c.req.valid('json') });
    return c.json(workspaceJson(ws), 200);
  });

export { identityShape };
