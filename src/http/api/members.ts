import { roles } from '../../db/schema.js';
import { changeMemberRole, getMember, inviteMember, listMembers, removeMember, type Member } from '../../domain/users/members.js';
import { ctxOf } from '../context.js';
import { apiRouter, defineRoute, Id, iso, IsoDate, json, jsonBody, z } from './openapi.js';


const MemberSchema = z
  .object({
    userId: z.string(),
    email: z.string(),
    name: z.string(),
    role: z.enum(roles),
    active: z.boolean().openapi({ description: 'False until an invited person has chosen a password.' }),
    since: IsoDate,
  })
  .openapi('Member');

const memberJson = (m: Member) => ({ ...m, since: iso(m.since)! });
const admin = { roles: ['admin'] } as const;
const UserParam = z.object({ userId: Id('usr_0f3a…') });

const list = defineRoute({
  method: 'get',
  path: '/members',
  tags: ['Members'],
  summary: 'People of this workspace',
  access: admin,
  responses: { 200: json(z.object({ members: z.array(MemberSchema) }), 'Members, by name.') },
});

const invite = defineRoute({
  method: 'post',
  path: '/members',
  tags: ['Members'],
  summary: 'Invite someone',
  description: 'Creates the membership and emails an invitation (a link to choose a password, valid 7 days). 409 if already a member.',
  access: admin,
  request: {
    body: jsonBody(
      z
        .object({
          email: z.email({ error: 'is not an email address' }).max(254),
          name: z.string().trim().min(1).max(120),
          role: z.enum(roles),
        })
        .strict(),
    ),
  },
  responses: {
    201: json(z.object({ member: MemberSchema, emailed: z.boolean() }), 'Invited.'),
    409: json(z.object({ error: z.object({ code: z.string(), message: z.string(), requestId: z.string() }) }), 'Already a member.'),
  },
});

const get = defineRoute({
  method: 'get',
  path: '/members/{userId}',
  tags: ['Members'],
  summary: 'One member',
  access: admin,
  request: { params: UserParam },
  responses: { 200: json(MemberSchema, 'The member.'), 404: json(z.object({ error: z.any() }), 'Not a member of this workspace.') },
});

const patch = defineRoute({
  method: 'patch',
  path: '/members/{userId}',
  tags: ['Members'],
  summary: 'Change a role',
  description: 'A workspace always keeps at least one admin (409 otherwise).',
  access: admin,
  request: { params: UserParam, body: jsonBody(z.object({ role: z.enum(roles) }).strict()) },
  responses: { 200: json(MemberSchema, 'The member.'), 404: json(z.object({ error: z.any() }), 'Not a member.'), 409: json(z.object({ error: z.any() }), 'Last admin.') },
});

const remove = defineRoute({
  method: 'delete',
  path: '/members/{userId}',
  tags: ['Members'],
  summary: 'Remove someone from this workspace',
  description: 'Their session stops working at once. A workspace always keeps at least one admin (409 otherwise).',
  access: admin,
  request: { params: UserParam },
  responses: { 204: { description: 'Removed.' }, 404: json(z.object({ error: z.any() }), 'Not a member.'), 409: json(z.object({ error: z.any() }), 'Last admin.') },
});

export const membersApi = apiRouter()
  .openapi(list, async (c) => c.json({ members: (await listMembers({ ctx: ctxOf(c) })).map(memberJson) }, 200))
  .openapi(invite, async (c) => {
    const { member, emailed } = await inviteMember({ ctx: ctxOf(c), input: c.req.valid('json') });
    return c.json({ member: memberJson(member), emailed }, 201);
  })
  .openapi(get, async (c) => c.json(memberJson(await getMember({ ctx: ctxOf(c), input: c.req.valid('param') })), 200))
  .openapi(patch, async (c) => {
    const member = await changeMemberRole({ ctx: ctxOf(c), input: { ...c.req.valid('param'), ...c.req.valid('json') } });
    return c.json(memberJson(member), 200);
  })
  .openapi(remove, async (c) => {
    await removeMember({ ctx: ctxOf(c), input: c.req.valid('param') });
    return c.body(null, 204);
  });
