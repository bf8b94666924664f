/**
 * Campaign stats on a seeded campaign whose every recipient does something known (opens, Apple
 * MPP fetches, clicks, scanner clicks, bounces, a complaint, an unsubscribe, conversions). The
 * expected figures are computed here from that script, one recipient at a time, independently
 * of the SQL under test.
 */
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, TEST_WEBHOOK_SECRET, type TestApp } from '../helpers/app.js';
import { makeUser } from '../helpers/factories.js';
import { asReader, trackedCampaign, type Recipient } from '../helpers/tracked-campaign.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.dispose());

type Action = 'open' | 'mpp' | 'click0' | 'click1' | 'scan' | 'hard_bounce' | 'soft_bounce' | 'complaint' | 'unsubscribe' | 'delivered' | { convert: number };

/** What each recipient does, by group prefix and index. */
const SCRIPT: Record<string, Action[][]> = {
  // agent A, Rome, open tracking consented
  ra: [['delivered', 'open', 'open', 'click0', { convert: 120.5 }], ['delivered', 'mpp'], ['delivered', 'open', 'scan'], ['hard_bounce']],
  // agent A, Paris, no open-tracking consent (no pixel)
  rb: [['delivered', 'click1', 'click0'], ['delivered', 'complaint'], ['delivered', 'unsubscribe']],
  // agent B, Paris, open tracking consented
  pb: [['delivered', 'open', 'click1', { convert: 80 }], ['soft_bounce', 'delivered', 'open'], ['delivered', { convert: 30 }]],
};

interface Expected {
  sent: number;
  delivered: number;
  bounced: number;
  complained: number;
  unsubscribed: number;
  trackedBase: number;
  uniqueHumanOpens: number;
  machineOpens: number;
  uniqueHumanClicks: number;
  machineClicks: number;
  convertedRecipients: number;
  conversions: number;
  value: number;
}

function expectedFor(scripts: { actions: Action[]; tracked: boolean }[]): Expected {
  const e: Expected = { sent: 0, delivered: 0, bounced: 0, complained: 0, unsubscribed: 0, trackedBase: 0, uniqueHumanOpens: 0, machineOpens: 0, uniqueHumanClicks: 0, machineClicks: 0, convertedRecipients: 0, conversions: 0, value: 0 };
  for (const { actions, tracked } of scripts) {
    const has = (a: Action) => actions.includes(a);
    const bounced = has('hard_bounce') || has('soft_bounce');
    e.sent++;
    if (has('delivered')) e.delivered++;
    if (bounced) e.bounced++;
    if (has('complaint')) e.complained++;
    if (has('unsubscribe')) e.unsubscribed++;
    if (tracked && !bounced) e.trackedBase++;
    if (tracked && has('open')) e.uniqueHumanOpens++;
    if (tracked && has('mpp')) e.machineOpens++;
    if (has('click0') || has('click1')) e.uniqueHumanClicks++;
    if (has('scan')) e.machineClicks++;
    const converts = actions.filter((a): a is { convert: number } => typeof a === 'object');
    if (converts.length) e.convertedRecipients++;
    e.conversions += converts.length;
    e.value += converts.reduce((sum, c) => sum + Math.round(c.convert * 100), 0);
  }
  return e;
}

const webhook = new Webhook(TEST_WEBHOOK_SECRET);
let svix = 0;
async function report(type: string, emailId: string, data: Record<string, unknown> = {}) {
  const id = `msg_${++svix}_${Math.random().toString(36).slice(2)}`;
  const body = JSON.stringify({ type, created_at: t.clock.now().toISOString(), data: { email_id: emailId, created_at: t.clock.now().toISOString(), to: ['x@example.test'], ...data } });
  const now = new Date();
  const res = await t.request('/webhooks/resend', {
    method: 'POST',
    headers: { 'svix-id': id, 'svix-timestamp': String(Math.floor(now.getTime() / 1000)), 'svix-signature': webhook.sign(id, now, body), 'content-type': 'application/json' },
    body,
  });
  expect(res.status).toBe(200);
}

async function play(team: Awaited<ReturnType<TestApp['workspaceWithTeam']>>, r: Recipient, actions: Action[], apiKey: string) {
  const [row] = (await t.client.execute({ sql: 'SELECT provider_id FROM sends WHERE id = ?', args: [r.sendId] })).rows;
  const providerId = String(row!.provider_id);
  let clicked: string | null = null;
  for (const a of actions) {
    t.clock.advance(60_000);
    if (a === 'delivered') await report('email.delivered', providerId);
    else if (a === 'hard_bounce') await report('email.bounced', providerId, { bounce: { type: 'Permanent', subType: 'General', message: 'no such user' } });
    else if (a === 'soft_bounce') await report('email.bounced', providerId, { bounce: { type: 'Transient', subType: 'MailboxFull', message: 'full' } });
    else if (a === 'complaint') await report('email.complained', providerId);
    else if (a === 'open') await asReader(t, r.pixel!);
    else if (a === 'mpp') await asReader(t, r.pixel!, { ua: 'Mozilla/5.0', ip: '17.10.1.1' });
    else if (a === 'click0' || a === 'click1') {
      clicked = r.clicks[a === 'click0' ? 0 : 1]!;
      expect((await asReader(t, clicked)).status).toBe(302);
    } else if (a === 'scan') {
      t.clock.advance(-59_000);
      await asReader(t, r.clicks[2]!, { ua: 'Mozilla/5.0 (compatible; Mimecast URL Protect)' });
    } else if (a === 'unsubscribe') {
      const [mail] = (await t.client.execute({ sql: 'SELECT headers FROM outbox_messages WHERE "to" = ?', args: [r.email] })).rows;
      const u = /<https?:\/\/[^/>]+(\/u\/[\w.-]+)>/.exec(String(mail!.headers))![1]!;
      const res = await t.request(u, { method: 'POST', body: new URLSearchParams({ 'List-Unsubscribe': 'One-Click' }) });
      expect(res.status).toBe(200);
    } else {
      const who = clicked ? { clickToken: clicked.slice('/c/'.length) } : { email: r.email };
      const res = await t.request('/api/v1/conversions', { method: 'POST', token: apiKey, json: { ...who, type: 'booking', value: a.convert, externalId: `ORDER-${r.sendId}-${a.convert}` } });
      expect(res.status, await res.clone().text()).toBe(201);
    }
  }
  void team;
}

describe('campaign stats', () => {
  it('per agent, per attribute and per source campaign match the script, with named denominators; CSV has the same figures', async () => {
    const team = await t.workspaceWithTeam();
    const agentB = await makeUser(t.db, team.workspace.id, 'agent');
    const c = await trackedCampaign(t, team, [
      { prefix: 'ra', n: SCRIPT.ra!.length, openTracking: true, ownerAgentId: team.agent.id, attributes: { destination: 'Rome' }, sourceCampaign: 'Voyage à Rome' },
      { prefix: 'rb', n: SCRIPT.rb!.length, openTracking: false, ownerAgentId: team.agent.id, attributes: { destination: 'Paris' }, sourceCampaign: 'Voyage à Rome' },
      { prefix: 'pb', n: SCRIPT.pb!.length, openTracking: true, ownerAgentId: agentB.id, attributes: { destination: 'Paris' }, sourceCampaign: 'Paris automne' },
    ]);
    const key = await t.request('/api/v1/api-keys', { method: 'POST', token: team.admin.token, json: { name: 'Boutique', scopes: ['conversions:write'] } });
    const apiKey = ((await key.json()) as { secret: string }).secret;

    const meta = { ra: { agent: team.agent.id, destination: 'Rome', source: 'Voyage à Rome', tracked: true }, rb: { agent: team.agent.id, destination: 'Paris', source: 'Voyage à Rome', tracked: false }, pb: { agent: agentB.id, destination: 'Paris', source: 'Paris automne', tracked: true } };
    const everyone: { prefix: keyof typeof meta; actions: Action[]; tracked: boolean }[] = [];
    for (const prefix of ['ra', 'rb', 'pb'] as const) {
      const recipients = c.byPrefix(prefix).sort((a, b) => a.email.localeCompare(b.email));
      expect(recipients).toHaveLength(SCRIPT[prefix]!.length);
      for (const [i, r] of recipients.entries()) {
        await play(team, r, SCRIPT[prefix]![i]!, apiKey);
        everyone.push({ prefix, actions: SCRIPT[prefix]![i]!, tracked: meta[prefix].tracked });
      }
    }

    type Row = { key: string | null; label: string; counts: Expected & Record<string, number>; rates: Record<string, { value: number | null; numerator: number; denominator: number; of: string }> };
    const get = async (groupBy: string) => {
      const res = await t.request(`/api/v1/campaigns/${c.campaignId}/stats?groupBy=${groupBy}`, { token: team.marketer.token });
      expect(res.status).toBe(200);
      return (await res.json()) as { total: Row; rows: Row[]; alarms: { code: string }[]; machineActivity: { type: string; reason: string; hits: number }[]; links: { index: number; uniqueHumanClicks: number; machineClicks: number }[] };
    };
    const check = (row: Row | undefined, expected: Expected) => {
      expect(row).toBeDefined();
      expect(row!.counts).toMatchObject(expected);
      const reached = expected.sent - expected.bounced;
      expect(row!.rates.openRate).toMatchObject({ numerator: expected.uniqueHumanOpens, denominator: expected.trackedBase });
      expect(row!.rates.openRate!.of).toMatch(/open pixel/);
      expect(row!.rates.clickRate).toMatchObject({ numerator: expected.uniqueHumanClicks, denominator: reached, value: reached ? expected.uniqueHumanClicks / reached : null });
      expect(row!.rates.conversionRate).toMatchObject({ numerator: expected.convertedRecipients, denominator: reached });
    };

    const byAgent = await get('agent');
    check(byAgent.total, expectedFor(everyone));
    for (const agent of [team.agent.id, agentB.id]) {
      check(
        byAgent.rows.find((r) => r.key === agent),
        expectedFor(everyone.filter((e) => meta[e.prefix].agent === agent)),
      );
    }
    expect(byAgent.rows.find((r) => r.key === agentB.id)!.label).toBe(agentB.name);

    const byDestination = await get('attribute:destination');
    for (const destination of ['Rome', 'Paris']) {
      check(
        byDestination.rows.find((r) => r.key === destination),
        expectedFor(everyone.filter((e) => meta[e.prefix].destination === destination)),
      );
    }
    const bySource = await get('sourceCampaign');
    for (const source of ['Voyage à Rome', 'Paris automne']) {
      check(
        bySource.rows.find((r) => r.key === source),
        expectedFor(everyone.filter((e) => meta[e.prefix].source === source)),
      );
    }
    const bySegment = await get('segment');
    check(bySegment.rows.find((r) => r.key === 'Tous'), expectedFor(everyone));

    // One complaint in 8 reached: far above 0.1 %.
    expect(byAgent.alarms.map((a) => a.code)).toEqual(['complaint_rate']);
    expect(byAgent.machineActivity).toEqual(expect.arrayContaining([{ type: 'open', reason: 'apple_mpp', hits: 1 }, { type: 'click', reason: 'scanner_user_agent', hits: 1 }]));
    const humansOnLink0 = everyone.filter((e) => e.actions.includes('click0')).length;
    expect(byAgent.links.find((l) => l.index === 0)!.uniqueHumanClicks).toBe(humansOnLink0);
    expect(byAgent.links.find((l) => l.index === 2)!.machineClicks).toBe(everyone.filter((e) => e.actions.includes('scan')).length);

    const csv = await t.request(`/api/v1/campaigns/${c.campaignId}/stats?groupBy=agent&format=csv`, { token: team.marketer.token });
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const lines = (await csv.text()).replace(/^\uFEFF/, '').trim().split('\r\n');
    const header = lines[0]!.split(',');
    const total = lines.at(-1)!.split(',');
    const col = (name: string) => total[header.indexOf(name)];
    const all = expectedFor(everyone);
    expect(col('sent')).toBe(String(all.sent));
    expect(col('uniqueHumanOpens')).toBe(String(all.uniqueHumanOpens));
    expect(col('value_eur')).toBe((all.value / 100).toFixed(2));
    expect(lines).toHaveLength(1 + 2 + 1);
  });

  it('the workspace report over a period groups by segment across campaigns, and counts unattributed conversions apart', async () => {
    const team = await t.workspaceWithTeam();
    const rome = await trackedCampaign(t, team, [{ prefix: 'ro', n: 3, openTracking: true, attributes: { destination: 'Rome' } }], {
      segmentName: 'Rome',
      rules: { match: 'all', conditions: [{ field: 'attributes.destination', operator: 'equals', value: 'Rome' }] },
    });
    const paris = await trackedCampaign(t, team, [{ prefix: 'pa', n: 2, openTracking: false, attributes: { destination: 'Paris' } }], {
      segmentName: 'Paris',
      rules: { match: 'all', conditions: [{ field: 'attributes.destination', operator: 'equals', value: 'Paris' }] },
    });
    t.clock.advance(3600_000);
    await asReader(t, rome.recipients[0]!.clicks[0]!);
    await asReader(t, paris.recipients[0]!.clicks[1]!);
    await asReader(t, paris.recipients[1]!.clicks[1]!);
    // Someone who received nothing converts: counted for the workspace, in no campaign.
    const { seedAudience } = await import('../helpers/audience.js');
    const [loner] = await seedAudience(t.client, team.workspace.id, 1, { prefix: 'solo' });
    const conv = await t.request('/api/v1/conversions', { method: 'POST', token: team.agent.token, json: { contactId: loner, type: 'quote', value: 50, externalId: 'Q-1' } });
    expect(((await conv.json()) as { attribution: string }).attribution).toBe('none');

    const from = new Date(t.clock.now().getTime() - 86_400_000).toISOString();
    const to = new Date(t.clock.now().getTime() + 86_400_000).toISOString();
    const res = await t.request(`/api/v1/reports/campaigns?from=${from}&to=${to}&groupBy=segment`, { token: team.marketer.token });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { campaigns: number; rows: { key: string; counts: { sent: number; uniqueHumanClicks: number; trackedBase: number } }[]; total: { counts: { sent: number } }; unattributedConversions: { conversions: number; value: number } };
    expect(body.campaigns).toBe(2);
    expect(body.total.counts.sent).toBe(5);
    expect(body.rows.find((r) => r.key === 'Rome')!.counts).toMatchObject({ sent: 3, uniqueHumanClicks: 1, trackedBase: 3 });
    expect(body.rows.find((r) => r.key === 'Paris')!.counts).toMatchObject({ sent: 2, uniqueHumanClicks: 2, trackedBase: 0 });
    expect(body.unattributedConversions).toEqual({ conversions: 1, value: 5000 });

    const perCampaign = (await (await t.request(`/api/v1/reports/campaigns?from=${from}&to=${to}`, { token: team.marketer.token })).json()) as { groupBy: string; rows: { key: string }[] };
    expect(perCampaign.groupBy).toBe('campaign');
    expect(perCampaign.rows.map((r) => r.key).sort()).toEqual([rome.campaignId, paris.campaignId].sort());
  });

  it('refuses unknown groupings and empty periods, naming the field; agents and foreign workspaces cannot read stats', async () => {
    const team = await t.workspaceWithTeam();
    const c = await trackedCampaign(t, team, [{ prefix: 'r', n: 1, openTracking: true }]);
    const bad = await t.request(`/api/v1/campaigns/${c.campaignId}/stats?groupBy=attribute:bad%20name`, { token: team.marketer.token });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain('groupBy');
    const empty = await t.request(`/api/v1/reports/campaigns?from=2026-11-22T00:00:00Z&to=2026-11-21T00:00:00Z`, { token: team.marketer.token });
    expect(empty.status).toBe(400);
    expect(JSON.stringify(await empty.json())).toContain('"to"');
    expect((await t.request(`/api/v1/campaigns/${c.campaignId}/stats`, { token: team.agent.token })).status).toBe(403);
    const other = await t.workspaceWithTeam();
    expect((await t.request(`/api/v1/campaigns/${c.campaignId}/stats`, { token: other.marketer.token })).status).toBe(404);
  });
});
