/** Inviting people: membership, invitation email in the outbox, single-use link, first password. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, type TestApp } from '../helpers/app.js';
import { unique } from '../helpers/factories.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.dispose());

const ORIGIN = { origin: 'http://localhost' };

async function lastOutboxMessage(token: string) {
  const list = (await (await t.request('/api/v1/dev/outbox', { token })).json()) as { messages: { to: string; subject: string; html: string; text: string }[] };
  return list.messages[0]!;
}

describe('invitations', () => {
  it('emails a single-use link that lets the person choose a password and log in', async () => {
    const { admin, workspace } = await t.workspaceWithTeam();
    const email = `${unique('new')}@example.test`;
    const res = await t.request('/api/v1/members', { method: 'POST', token: admin.token, json: { email: email.toUpperCase(), name: 'Nadia Agent', role: 'agent' } });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ emailed: true, member: { email, role: 'agent', active: false } });

    const message = await lastOutboxMessage(admin.token);
    expect(message.to).toBe(email);
    expect(message.subject).toBe(`Invitation à rejoindre ${workspace.name}`);
    expect(message.text).toContain(workspace.legalName);
    const link = /http:\/\/localhost(\/invite\/[\w.-]+)/.exec(message.text)?.[1];
    expect(link).toBeDefined();

    const page = await t.request(link!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(email);

    const mismatch = await t.request(link!, { method: 'POST', headers: ORIGIN, body: new URLSearchParams({ password: 'a-long-password', confirm: 'another-password' }) });
    expect(mismatch.status).toBe(400);

    const accept = await t.request(link!, { method: 'POST', headers: ORIGIN, body: new URLSearchParams({ password: 'a-long-password', confirm: 'a-long-password' }) });
    expect(accept.status).toBe(303);
    expect(accept.headers.get('set-cookie')).toMatch(/session=.*HttpOnly.*SameSite=Lax/i);
    expect(await t.login(email, 'a-long-password')).toMatch(/^ey/);

    // Used once: the link is dead now.
    const reuse = await t.request(link!, { method: 'POST', headers: ORIGIN, body: new URLSearchParams({ password: 'hijack-password', confirm: 'hijack-password' }) });
    expect(reuse.status).toBe(400);
    expect(await t.login(email, 'a-long-password')).toMatch(/^ey/);

    const audit = (await (await t.request('/api/v1/audit-log', { token: admin.token })).json()) as { entries: { action: string }[] };
    expect(audit.entries.map((e) => e.action)).toEqual(expect.arrayContaining(['member.invited', 'member.activated']));
  });

  it('refuses a forged or expired link', async () => {
    const { admin } = await t.workspaceWithTeam();
    const email = `${unique('late')}@example.test`;
    await t.request('/api/v1/members', { method: 'POST', token: admin.token, json: { email, name: 'Late', role: 'marketer' } });
    const link = /http:\/\/localhost(\/invite\/[\w.-]+)/.exec((await lastOutboxMessage(admin.token)).text)![1]!;
    expect((await t.request(link.slice(0, -3) + 'abc')).status).toBe(400);
    t.clock.advance(7 * 24 * 3600 * 1000 + 1000);
    const expired = await t.request(link);
    expect(expired.status).toBe(400);
    expect(await expired.text()).toContain('invalide, expiré ou déjà utilisé');
  });

  it('adds an existing account to another workspace without a password link', async () => {
    const a = await t.workspaceWithTeam();
    const b = await t.workspaceWithTeam();
    const res = await t.request('/api/v1/members', { method: 'POST', token: b.admin.token, json: { email: a.marketer.email, name: 'ignored', role: 'marketer' } });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { member: { active: boolean } }).member.active).toBe(true);
    expect((await lastOutboxMessage(b.admin.token)).text).not.toContain('/invite/');
    // At login they pick the workspace; the default is the first they joined.
    const login = await t.request('/api/v1/auth/login', { method: 'POST', json: { email: a.marketer.email, password: 'correct horse battery', workspaceId: b.workspace.id } });
    expect(((await login.json()) as { workspace: { id: string } }).workspace.id).toBe(b.workspace.id);
  });

  it('never lets one workspace set the password of someone another workspace invited', async () => {
    const a = await t.workspaceWithTeam();
    const b = await t.workspaceWithTeam();
    const email = `${unique('pending')}@example.test`;
    await t.request('/api/v1/members', { method: 'POST', token: a.admin.token, json: { email, name: 'Pending', role: 'admin' } });
    await t.request('/api/v1/members', { method: 'POST', token: b.admin.token, json: { email, name: 'Pending', role: 'agent' } });
    const inB = (await (await t.request('/api/v1/dev/outbox', { token: b.admin.token })).json()) as { messages: { to: string; text: string }[] };
    const mail = inB.messages.find((m) => m.to === email)!;
    expect(mail.text).not.toContain('/invite/');
    expect(mail.text).toContain('/login');
  });

  it('an invitation dies with the membership', async () => {
    const { admin } = await t.workspaceWithTeam();
    const email = `${unique('gone')}@example.test`;
    const res = await t.request('/api/v1/members', { method: 'POST', token: admin.token, json: { email, name: 'Gone', role: 'agent' } });
    const { member } = (await res.json()) as { member: { userId: string } };
    const link = /http:\/\/localhost(\/invite\/[\w.-]+)/.exec((await lastOutboxMessage(admin.token)).text)![1]!;
    await t.request(`/api/v1/members/${member.userId}`, { method: 'DELETE', token: admin.token });
    expect((await t.request(link)).status).toBe(400);
    expect((await t.request(link, { method: 'POST', headers: ORIGIN, body: new URLSearchParams({ password: 'a-long-password', confirm: 'a-long-password' }) })).status).toBe(400);
  });

  it('refuses a duplicate member and a bad address, writing nothing', async () => {
    const { admin, agent } = await t.workspaceWithTeam();
    const before = await t.dumpDatabase();
    const dup = await t.request('/api/v1/members', { method: 'POST', token: admin.token, json: { email: agent.email, name: 'Again', role: 'agent' } });
    expect(dup.status).toBe(409);
    expect((await errorOf(dup)).code).toBe('already_member');
    const bad = await t.request('/api/v1/members', { method: 'POST', token: admin.token, json: { email: 'not-an-email', name: 'X', role: 'owner' } });
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).details?.issues?.map((i) => i.field).sort()).toEqual(['email', 'role']);
    expect(await t.dumpDatabase()).toBe(before);
  });
});
