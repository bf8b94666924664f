/**
 * Segment pages over app.request: the list with audience counts, the rule builder as a plain
 * form (create, edit, add/remove rows without script, invalid rules next to their field),
 * deletion with confirmation (refused while a campaign still needs the segment), the preview
 * endpoint the script uses, workspace isolation and roles.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { starterTemplates } from '../../src/email/templates.generated.js';
import { seedAudience } from '../helpers/audience.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { unique } from '../helpers/factories.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.dispose());

type Team = Awaited<ReturnType<TestApp['workspaceWithTeam']>>;
const html = { accept: 'text/html' };
const get = (path: string, token: string) => t.request(path, { headers: { cookie: `session=${token}`, ...html } });
const post = (path: string, token: string, fields: Record<string, string> | [string, string][]) =>
  t.request(path, { method: 'POST', headers: { cookie: `session=${token}`, origin: 'http://localhost', ...html }, body: new URLSearchParams(fields) });

/** Three leads from "Voyage à Rome" (one of them owned by the team's agent), two from "Paris". */
async function teamWithLeads(): Promise<Team> {
  const team = await t.workspaceWithTeam();
  await seedAudience(t.client, team.workspace.id, 2, { prefix: unique('rome').replace(/-/g, ''), sourceCampaign: 'Voyage à Rome' });
  await seedAudience(t.client, team.workspace.id, 1, { prefix: unique('romeag').replace(/-/g, ''), sourceCampaign: 'Voyage à Rome', ownerAgentId: team.agent.id });
  await seedAudience(t.client, team.workspace.id, 2, { prefix: unique('paris').replace(/-/g, ''), sourceCampaign: 'Paris' });
  return team;
}

async function segmentsOf(workspaceId: string) {
  const rows = await t.client.execute({ sql: 'SELECT id, name, rules FROM segments WHERE workspace_id = ? ORDER BY created_at', args: [workspaceId] });
  return rows.rows.map((r) => ({ id: String(r.id), name: String(r.name), rules: JSON.parse(String(r.rules)) as unknown }));
}

const romeForm = (name: string) => ({
  name,
  match: 'all',
  'conditions.0.field': 'sourceCampaign',
  'conditions.0.operator': 'equals',
  'conditions.0.value': 'voyage à rome',
  save: '1',
});

describe('segment list', () => {
  it('invites to create the first segment when there is none', async () => {
    const team = await t.workspaceWithTeam();
    const res = await get('/segments', team.marketer.token);
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('Aucun segment pour l’instant');
    expect(page).toContain('href="/segments/new"');
  });

  it('shows each segment with its rules in French and its audience today', async () => {
    const team = await teamWithLeads();
    await post('/segments', team.marketer.token, romeForm('Rome'));
    const page = await (await get('/segments', team.marketer.token)).text();
    expect(page).toContain('>Rome</a>');
    expect(page).toContain('Campagne d’appel est égal à « voyage à rome »');
    expect(page).toMatch(/class="num audience-cell">3 contacts</);
  });
});

describe('rule builder form', () => {
  it('creates a segment from the form and lands on the list with a notice', async () => {
    const team = await teamWithLeads();
    const res = await post('/segments', team.marketer.token, romeForm('Intéressés par Rome'));
    expect(res.status).toBe(303);
    const [saved] = await segmentsOf(team.workspace.id);
    expect(res.headers.get('location')).toBe(`/segments?created=${saved!.id}`);
    expect(saved).toMatchObject({ name: 'Intéressés par Rome', rules: { match: 'all', conditions: [{ field: 'sourceCampaign', operator: 'equals', value: 'voyage à rome' }] } });
    const list = await (await get(res.headers.get('location')!, team.marketer.token)).text();
    expect(list).toContain('Segment « Intéressés par Rome » créé.');
    const audit = await t.client.execute({ sql: "SELECT count(*) AS n FROM audit_log WHERE workspace_id = ? AND action = 'segment.created'", args: [team.workspace.id] });
    expect(audit.rows[0]!.n).toBe(1);
  });

  it('edits the name, the combinator and nested conditions of a segment', async () => {
    const team = await teamWithLeads();
    await post('/segments', team.marketer.token, romeForm('Rome'));
    const [seg] = await segmentsOf(team.workspace.id);
    const editor = await (await get(`/segments/${seg!.id}`, team.marketer.token)).text();
    expect(editor).toContain('value="voyage à rome"');
    expect(editor).toContain('3 contacts recevraient une campagne envoyée maintenant.');

    const res = await post(`/segments/${seg!.id}`, team.admin.token, {
      name: 'Rome ou conseiller',
      match: 'any',
      'conditions.0.field': 'sourceCampaign',
      'conditions.0.operator': 'in',
      'conditions.0.value': 'Paris, Lyon',
      'conditions.1.match': 'all',
      'conditions.1.conditions.0.field': 'ownerAgentId',
      'conditions.1.conditions.0.operator': 'equals',
      'conditions.1.conditions.0.value': team.agent.id,
      'conditions.1.conditions.1.field': 'consentDate',
      'conditions.1.conditions.1.operator': 'within_days',
      'conditions.1.conditions.1.value': '30',
      save: '1',
    });
    expect(res.status).toBe(303);
    const [updated] = await segmentsOf(team.workspace.id);
    expect(updated).toMatchObject({
      id: seg!.id,
      name: 'Rome ou conseiller',
      rules: {
        match: 'any',
        conditions: [
          { field: 'sourceCampaign', operator: 'in', value: ['Paris', 'Lyon'] },
          { match: 'all', conditions: [{ field: 'ownerAgentId', operator: 'equals', value: team.agent.id }, { field: 'consentDate', operator: 'within_days', value: 30 }] },
        ],
      },
    });
    const list = await (await get('/segments', team.marketer.token)).text();
    // Two from Paris, plus the one lead the agent owns.
    expect(list).toMatch(/class="num audience-cell">3 contacts</);
    expect(list).toContain(`Campagne d’appel fait partie de la liste « Paris », « Lyon » ou (Conseiller est égal à « ${team.agent.name} » et Date du consentement newsletter dans les 30 derniers jours)`);
  });

  it('adds and removes rows without script, saving nothing', async () => {
    const team = await teamWithLeads();
    const before = await t.dumpDatabase();
    const added = await post('/segments', team.marketer.token, { ...romeForm(''), save: '', add: '' });
    expect(added.status).toBe(200);
    const withTwo = await added.text();
    expect(withTwo).toContain('id="conditions.1.field"');
    expect(withTwo).toContain('value="voyage à rome"');

    const grouped = await (await post('/segments', team.marketer.token, [...Object.entries(romeForm('x')).filter(([k]) => k !== 'save'), ['addGroup', '']])).text();
    expect(grouped).toContain('name="conditions.1.match"');
    expect(grouped).toContain('id="conditions.1.conditions.0.field"');

    const removed = await (
      await post('/segments', team.marketer.token, { ...romeForm('x'), save: '', 'conditions.1.field': 'email', 'conditions.1.operator': 'contains', 'conditions.1.value': 'x', remove: 'conditions.0' })
    ).text();
    expect(removed).not.toContain('id="conditions.1.field"');
    expect(removed).toMatch(/<option value="email" selected="">E-mail<\/option>/);

    // Changing the field without script: "update choices" gives that field's operators.
    const refreshed = await (
      await post('/segments', team.marketer.token, { name: 'x', match: 'all', 'conditions.0.field': 'createdAt', 'conditions.0.operator': 'equals', 'conditions.0.value': '', refresh: '1' })
    ).text();
    expect(refreshed).toMatch(/<option value="before" selected="">est avant le<\/option>/);
    expect(refreshed).toContain('type="date"');
    expect(await t.dumpDatabase()).toBe(before);
  });

  it('answers 400 with the message next to the faulty field, and saves nothing', async () => {
    const team = await teamWithLeads();
    const before = await t.dumpDatabase();
    const res = await post('/segments', team.marketer.token, {
      name: '',
      match: 'all',
      'conditions.0.field': 'sourceCampaign',
      'conditions.0.operator': 'equals',
      'conditions.0.value': 'Paris',
      'conditions.1.field': 'lastClickAt',
      'conditions.1.operator': 'within_days',
      'conditions.1.value': 'trente',
      save: '1',
    });
    expect(res.status).toBe(400);
    const page = await res.text();
    expect(page).toContain('Le segment n’a pas été enregistré : corrigez les conditions signalées.');
    expect(page).toContain('<p class="field-error" id="conditions.1.value-error" data-error-for="value">Saisissez un nombre entier de jours, de 0 à 3650.</p>');
    expect(page).toMatch(/id="conditions\.1\.value" name="conditions\.1\.value" data-part="value" aria-invalid="true" aria-describedby="conditions\.1\.value-error"/);
    expect(page).toContain('id="name-error"');
    expect(page).not.toContain('conditions.0.value-error');
    // What was typed is shown again.
    expect(page).toContain('value="trente"');
    expect(await t.dumpDatabase()).toBe(before);

    const wrongOperator = await post('/segments', team.marketer.token, { name: 'x', match: 'all', 'conditions.0.field': 'confirmed', 'conditions.0.operator': 'contains', 'conditions.0.value': 'true', save: '1' });
    expect(wrongOperator.status).toBe(400);
    expect(await wrongOperator.text()).toContain('id="conditions.0.operator-error"');
    expect(await segmentsOf(team.workspace.id)).toEqual([]);
  });
});

describe('contact attributes', () => {
  it('offers the attributes contacts carry as fields, and reads them back in French', async () => {
    const team = await t.workspaceWithTeam();
    await seedAudience(t.client, team.workspace.id, 2, { prefix: unique('dest').replace(/-/g, ''), attributes: { destination: 'Rome' } });
    const editor = await (await get('/segments/new', team.marketer.token)).text();
    expect(editor).toContain('<option value="attributes.destination">Attribut « destination »</option>');
    const res = await post('/segments', team.marketer.token, { name: 'Rome', match: 'all', 'conditions.0.field': 'attributes.destination', 'conditions.0.operator': 'equals', 'conditions.0.value': 'rome', save: '1' });
    expect(res.status).toBe(303);
    const list = await (await get('/segments', team.marketer.token)).text();
    expect(list).toContain('Attribut « destination » est égal à « rome »');
    expect(list).toMatch(/class="num audience-cell">2 contacts</);
  });
});

describe('deleting', () => {
  it('asks for confirmation, then deletes', async () => {
    const team = await teamWithLeads();
    await post('/segments', team.marketer.token, romeForm('Rome'));
    const [seg] = await segmentsOf(team.workspace.id);
    const unconfirmed = await post(`/segments/${seg!.id}/delete`, team.marketer.token, {});
    expect(unconfirmed.status).toBe(303);
    expect(unconfirmed.headers.get('location')).toBe(`/segments/${seg!.id}?error=confirm`);
    expect(await (await get(unconfirmed.headers.get('location')!, team.marketer.token)).text()).toContain('Cochez la case de confirmation');
    expect(await segmentsOf(team.workspace.id)).toHaveLength(1);

    const res = await post(`/segments/${seg!.id}/delete`, team.marketer.token, { confirm: 'yes' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/segments?deleted=1');
    expect(await segmentsOf(team.workspace.id)).toEqual([]);
  });

  it('refuses while a scheduled campaign still needs the segment, naming it', async () => {
    const team = await teamWithLeads();
    await post('/segments', team.marketer.token, romeForm('Rome'));
    const [seg] = await segmentsOf(team.workspace.id);
    const created = await t.request('/api/v1/campaigns', { method: 'POST', token: team.marketer.token, json: { name: 'Offres de décembre', templateId: starterTemplates[0].id } });
    const campaign = (await created.json()) as { id: string };
    const scheduled = await t.request(`/api/v1/campaigns/${campaign.id}/schedule`, { method: 'POST', token: team.marketer.token, json: { segmentId: seg!.id, at: '2026-12-01T09:00:00Z' } });
    expect(scheduled.status).toBe(200);

    const res = await post(`/segments/${seg!.id}/delete`, team.marketer.token, { confirm: 'yes' });
    expect(res.status).toBe(409);
    expect(await res.text()).toContain('la campagne « Offres de décembre » l’utilise encore');
    expect(await segmentsOf(team.workspace.id)).toHaveLength(1);
  });
});

describe('live preview endpoint', () => {
  it('counts and samples the audience of the form as typed; masks addresses for marketers', async () => {
    const team = await teamWithLeads();
    const form = { name: '', match: 'all', 'conditions.0.field': 'sourceCampaign', 'conditions.0.operator': 'equals', 'conditions.0.value': 'Voyage à Rome' };
    const res = await post('/segments/preview', team.marketer.token, form);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { ok: boolean; count: number; countText: string; rows: { name: string; email: string; owner: string; consent: string }[] };
    expect(body.ok).toBe(true);
    expect(body.count).toBe(3);
    expect(body.countText).toBe('3 contacts recevraient une campagne envoyée maintenant.');
    expect(body.rows).toHaveLength(3);
    expect(body.rows.every((r) => /^ro•••@/.test(r.email))).toBe(true);
    expect(body.rows.map((r) => r.owner)).toContain(team.agent.name);
    expect(body.rows[0]!.consent).toMatch(/confirmé$/);

    const admin = (await (await post('/segments/preview', team.admin.token, form)).json()) as { rows: { email: string }[] };
    expect(admin.rows[0]!.email).toMatch(/^rome.*@.*\.example$/);

    const incomplete = (await (await post('/segments/preview', team.marketer.token, { ...form, 'conditions.0.value': '' })).json()) as { ok: boolean; rows: unknown[] };
    expect(incomplete).toMatchObject({ ok: false, rows: [] });
  });
});

describe('access', () => {
  it('answers 404 for another workspace’s segment, and changes nothing', async () => {
    const mine = await teamWithLeads();
    const theirs = await teamWithLeads();
    await post('/segments', theirs.marketer.token, romeForm('Theirs'));
    const [seg] = await segmentsOf(theirs.workspace.id);
    const before = await t.dumpDatabase();
    expect((await get(`/segments/${seg!.id}`, mine.marketer.token)).status).toBe(404);
    expect((await post(`/segments/${seg!.id}`, mine.marketer.token, romeForm('Hijacked'))).status).toBe(404);
    expect((await post(`/segments/${seg!.id}/delete`, mine.admin.token, { confirm: 'yes' })).status).toBe(404);
    expect(await t.dumpDatabase()).toBe(before);
    expect(await (await get('/segments', mine.marketer.token)).text()).not.toContain('Theirs');
  });

  it('keeps agents out (403) and sends anonymous visitors to the login form', async () => {
    const team = await teamWithLeads();
    const before = await t.dumpDatabase();
    for (const path of ['/segments', '/segments/new']) expect((await get(path, team.agent.token)).status).toBe(403);
    expect((await post('/segments', team.agent.token, romeForm('Agent'))).status).toBe(403);
    expect((await post('/segments/preview', team.agent.token, romeForm('Agent'))).status).toBe(403);
    expect(await t.dumpDatabase()).toBe(before);
    const anonymous = await t.request('/segments/new');
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toBe('/login?next=%2Fsegments%2Fnew');
  });
});
