/**
 * The agents' dashboard: figures per agent and for the team over a month (calls, answers,
 * confirmation rate, their leads' emails, clicks, unsubscribes and conversions), objectives set
 * by an admin with Objectif / Réalisé / Écart, refusals that name the field and write nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentDashboard } from '../../src/domain/objectives/dashboard.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { makeScripts, makeUser, unique } from '../helpers/factories.js';
import { asReader, trackedCampaign } from '../helpers/tracked-campaign.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.dispose());

const form = (fields: Record<string, string>) => new URLSearchParams(fields);
const text = (html: string) =>
  html
    .replace(/<[^>]+>/g, '')
    .replace(/&#39;|&#x27;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();

/** The cells (Objectif, Réalisé, Écart) of one criterion in one agent's (or the team's) row group. */
function cells(html: string, target: string, metric: string): string[] {
  const group = new RegExp(`<tbody data-target="${target}"[^>]*>([\\s\\S]*?)</tbody>`).exec(html)?.[1];
  if (!group) throw new Error(`no row group for ${target}`);
  const row = new RegExp(`<tr data-metric="${metric.replace(':', '\\:')}">([\\s\\S]*?)</tr>`).exec(group)?.[1];
  if (!row) throw new Error(`no row ${metric} for ${target}`);
  return [...row.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((m) => text(m[1]!));
}

async function seed() {
  const team = await t.workspaceWithTeam();
  const scripts = await makeScripts(t.db, team.workspace);
  const other = await makeUser(t.db, team.workspace.id, 'agent');
  const otherToken = await t.login(other.email);

  // A campaign to leads owned by each agent: three of the first agent's (open tracking on), two of the other's.
  const c = await trackedCampaign(t, team, [
    { prefix: 'a', n: 3, openTracking: true, ownerAgentId: team.agent.id },
    { prefix: 'b', n: 2, openTracking: false, ownerAgentId: other.id },
  ]);
  t.clock.advance(3600_000);
  const [a0, a1] = c.byPrefix('a');
  const [b0] = c.byPrefix('b');
  await asReader(t, a0!.pixel!);
  await asReader(t, a1!.pixel!, { ua: 'Mozilla/5.0' }); // Apple MPP: a machine
  await asReader(t, a0!.clicks[0]!); // a person clicks: the first agent's lead
  await asReader(t, b0!.clicks[1]!, { method: 'HEAD' }); // a link checker: not a click
  const unsubscribe = /\/u\/[\w.-]+/.exec(b0!.html)![0];
  const u = await t.request(unsubscribe, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
  expect(u.status).toBe(200);

  // Calls: four by the first agent (three newsletter grants, one refusal), one by the other.
  const emails: string[] = [];
  const capture = (token: string, newsletter: 'granted' | 'refused') =>
    t.request('/api/v1/consents', {
      method: 'POST',
      token,
      json: {
        contact: { email: emails[emails.push(`${unique('lead')}@example.test`) - 1], phone: '06 12 34 56 78', firstName: 'Marie' },
        call: { ref: unique('CALL'), basis: 'inbound_call', campaign: 'Voyage à Rome' },
        answers: [
          { purpose: 'newsletter', answer: newsletter, scriptId: scripts.newsletter.id },
          { purpose: 'open_tracking', answer: 'granted', scriptId: scripts.open_tracking.id },
        ],
      },
    });
  for (const answer of ['granted', 'granted', 'granted', 'refused'] as const) expect((await capture(team.agent.token, answer)).status).toBe(201);
  const otherLead = (await (await capture(otherToken, 'granted')).json()) as { contact: { id: string } };
  // One of the first agent's grants is confirmed from the mailbox.
  const outbox = (await (await t.request('/api/v1/dev/outbox', { token: team.admin.token })).json()) as { messages: { to: string; text: string }[] };
  const link = /http:\/\/localhost(\/confirm\/[\w.-]+)/.exec(outbox.messages.find((m) => m.to === emails[0])!.text)![1]!;
  expect((await t.request(link, { method: 'POST', headers: { origin: 'http://localhost' }, body: form({ answer: 'confirm' }) })).status).toBe(200);

  // Conversions: the first agent's clicker books (attributed to the campaign, via the send's
  // owner); the other agent's new lead books after a call-back (no campaign: the contact's owner).
  const convert = (json: Record<string, unknown>) => t.request('/api/v1/conversions', { method: 'POST', token: team.marketer.token, json });
  expect((await convert({ contactId: a0!.contactId, type: 'booking', value: 1290.5, externalId: unique('BKG') })).status).toBe(201);
  const unattributed = await convert({ contactId: otherLead.contact.id, type: 'quote', value: 50, externalId: unique('Q') });
  expect(((await unattributed.json()) as { attribution: string }).attribution).toBe('none');
  return { team, other, otherToken, c };
}

describe('agents dashboard', () => {
  it('shows each agent’s and the team’s figures for the month, and objectives with their gap', async () => {
    const { team, other } = await seed();
    const month = '2026-11';
    const d = await agentDashboard({ ctx: { db: t.db, workspaceId: team.workspace.id }, input: { month } });
    const mine = d.agents.find((a) => a.target === team.agent.id)!;
    const theirs = d.agents.find((a) => a.target === other.id)!;
    const achieved = (row: typeof mine) => Object.fromEntries(Object.entries(row.cells).map(([k, v]) => [k, v.achieved]));
    expect(achieved(mine)).toEqual({
      calls: 4,
      'granted:newsletter': 3,
      'granted:open_tracking': 4,
      confirmationRate: 33.33,
      conversions: 1,
      conversionValue: 1290.5,
      sent: 3,
      humanClickers: 1,
      unsubscribes: 0,
    });
    expect(achieved(theirs)).toMatchObject({ calls: 1, 'granted:newsletter': 1, confirmationRate: 0, conversions: 1, conversionValue: 50, sent: 2, humanClickers: 0, unsubscribes: 1 });
    expect(mine.cells.confirmationRate!.base).toEqual({ numerator: 1, denominator: 3 });
    expect(achieved(d.team)).toMatchObject({ calls: 5, 'granted:newsletter': 4, confirmationRate: 25, conversions: 2, conversionValue: 1340.5, sent: 5, humanClickers: 1, unsubscribes: 1 });

    // The admin sets objectives: calls for both, a confirmation rate, a ceiling of unsubscribes.
    const saved = await t.request('/dashboard/objectives', {
      method: 'POST',
      token: team.admin.token,
      body: form({
        month,
        [`objective.${team.agent.id}.calls`]: '10',
        [`objective.${other.id}.calls`]: '2',
        [`objective.${team.agent.id}.confirmationRate`]: '50',
        [`objective.${team.agent.id}.conversionValue`]: '1 000,50',
        [`objective.${other.id}.unsubscribes`]: '0',
        [`objective.team.confirmationRate`]: '',
      }),
      redirect: 'manual',
    });
    expect(saved.status).toBe(303);
    expect(saved.headers.get('location')).toBe(`/dashboard?month=${month}&saved=5#objectives`);
    const audit = await t.client.execute({ sql: "SELECT details FROM audit_log WHERE workspace_id = ? AND action = 'objectives.set'", args: [team.workspace.id] });
    expect(audit.rows).toHaveLength(1);
    expect(JSON.parse(String(audit.rows[0]!.details)).changes).toHaveLength(5);

    const page = await t.request(`/dashboard?month=${month}`, { token: team.marketer.token });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(cells(html, team.agent.id, 'calls')).toEqual(['10', '4', '−6 · Non atteint']);
    expect(cells(html, other.id, 'calls')).toEqual(['2', '1', '−1 · Non atteint']);
    expect(cells(html, team.agent.id, 'confirmationRate')).toEqual(['50 %', '33,3 % (1 / 3)', '−16,7 pts · Non atteint']);
    expect(cells(html, team.agent.id, 'conversionValue')[2]).toMatch(/^\+290,00\s€ · Atteint$/);
    expect(cells(html, other.id, 'unsubscribes')).toEqual(['≤ 0', '1', '+1 · Non atteint']);
    expect(cells(html, team.agent.id, 'humanClickers')).toEqual(['—', '1', '—']);
    // The team's objective for calls is the sum of its agents', and says so; its rate has none.
    expect(cells(html, 'team', 'calls')).toEqual(['12 (somme des téléacteurs)', '5', '−7 · Non atteint']);
    expect(cells(html, 'team', 'confirmationRate')).toEqual(['—', '25 % (1 / 4)', '—']);
    expect(html).not.toContain('Enregistrer les objectifs'); // the form is the admin's

    // An explicit team objective wins over the sum.
    await t.request('/dashboard/objectives', { method: 'POST', token: team.admin.token, body: form({ month, 'objective.team.calls': '4' }) });
    const after = await (await t.request(`/dashboard?month=${month}`, { token: team.admin.token })).text();
    expect(cells(after, 'team', 'calls')).toEqual(['4', '5', '+1 · Atteint']);
    expect(after).toContain('Enregistrer les objectifs');
    expect(after).toContain(`value="10"`);

    // Another month has its own objectives (none here) and no figures.
    const october = await (await t.request('/dashboard?month=2026-10', { token: team.admin.token })).text();
    expect(cells(october, team.agent.id, 'calls')).toEqual(['—', '0', '—']);
  });

  it('refuses a negative or non-numeric objective with the field named, and writes nothing', async () => {
    const team = await t.workspaceWithTeam();
    const month = '2026-11';
    const ok = await t.request('/dashboard/objectives', { method: 'POST', token: team.admin.token, body: form({ month, [`objective.${team.agent.id}.calls`]: '7' }), redirect: 'manual' });
    expect(ok.status).toBe(303);
    const snapshot = async () =>
      JSON.stringify([
        (await t.client.execute({ sql: 'SELECT * FROM objectives WHERE workspace_id = ? ORDER BY target, metric', args: [team.workspace.id] })).rows,
        (await t.client.execute({ sql: 'SELECT id FROM audit_log WHERE workspace_id = ? ORDER BY id', args: [team.workspace.id] })).rows,
      ]);
    const before = await snapshot();
    const res = await t.request('/dashboard/objectives', {
      method: 'POST',
      token: team.admin.token,
      body: form({ month, [`objective.${team.agent.id}.calls`]: '-3', [`objective.${team.agent.id}.conversions`]: 'beaucoup', [`objective.team.calls`]: '12,5', 'objective.team.sent': '40' }),
    });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('rien n’a été enregistré');
    const idOf = (target: string, metric: string) => `obj-${target}-${metric}-error`;
    expect(html).toMatch(new RegExp(`id="${idOf(team.agent.id, 'calls')}">doit être positif ou nul`));
    expect(html).toMatch(new RegExp(`id="${idOf(team.agent.id, 'conversions')}">doit être un nombre`));
    expect(html).toMatch(new RegExp(`id="${idOf('team', 'calls')}">doit être un nombre entier`));
    expect(html).toContain('value="beaucoup"'); // what was typed stays in the field
    expect(await snapshot()).toBe(before);

    // The same rules over the domain action name the field for API callers.
    const unknown = await t.request('/dashboard/objectives', { method: 'POST', token: team.admin.token, body: form({ month, 'objective.usr_nobody.calls': '3' }) });
    expect(unknown.status).toBe(400);
    const badMonth = await t.request('/dashboard/objectives', { method: 'POST', token: team.admin.token, body: form({ month: '2026-13', [`objective.${team.agent.id}.calls`]: '3' }) });
    expect(badMonth.status).toBe(400);
    expect(await badMonth.text()).toContain('un mois au format AAAA-MM');
    expect(await snapshot()).toBe(before);
  });

  it('is for marketers and admins; only admins set objectives', async () => {
    const team = await t.workspaceWithTeam();
    expect((await t.request('/dashboard', { token: team.agent.token })).status).toBe(403);
    const body = form({ month: '2026-11', [`objective.${team.agent.id}.calls`]: '3' });
    expect((await t.request('/dashboard/objectives', { method: 'POST', token: team.agent.token, body })).status).toBe(403);
    expect((await t.request('/dashboard/objectives', { method: 'POST', token: team.marketer.token, body })).status).toBe(403);
    const rows = await t.client.execute({ sql: 'SELECT count(*) AS n FROM objectives WHERE workspace_id = ?', args: [team.workspace.id] });
    expect(Number(rows.rows[0]!.n)).toBe(0);
    const page = await t.request('/dashboard', { token: team.marketer.token });
    expect(page.status).toBe(200);
    // The month defaults to the app clock's (2026-11-22 in tests).
    expect(await page.text()).toContain('value="2026-11"');
    expect((await t.request('/dashboard?month=novembre', { token: team.marketer.token })).status).toBe(400);
    // Another workspace's agent is nobody here.
    const elsewhere = await t.workspaceWithTeam();
    const foreign = await t.request('/dashboard/objectives', { method: 'POST', token: team.admin.token, body: form({ month: '2026-11', [`objective.${elsewhere.agent.id}.calls`]: '3' }) });
    expect(foreign.status).toBe(400);
  });
});
