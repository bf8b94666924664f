/**
 * Conversions (`POST /api/v1/conversions`) about recipients of a campaign really sent to the dev
 * outbox: each attribution rule (click token, last human click within the window, last delivery,
 * none), the per-send rollup and the retention clock they move, idempotency on externalId,
 * refusals that name the field and write nothing, and who may report one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, type TestApp } from '../helpers/app.js';
import { seedAudience } from '../helpers/audience.js';
import { asReader, trackedCampaign } from '../helpers/tracked-campaign.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.dispose());

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

type Team = Awaited<ReturnType<TestApp['workspaceWithTeam']>>;

interface ConversionBody {
  id: string;
  contactId: string;
  externalId: string | null;
  type: string;
  value: number;
  currency: string;
  occurredAt: string;
  recordedAt: string;
  campaignId: string | null;
  attribution: string;
  replayed: boolean;
}

const convert = (token: string, json: Record<string, unknown>) => t.request('/api/v1/conversions', { method: 'POST', token, json });

async function recorded(token: string, json: Record<string, unknown>, status = 201): Promise<ConversionBody> {
  const res = await convert(token, json);
  expect(res.status, await res.clone().text()).toBe(status);
  return (await res.json()) as ConversionBody;
}

const conversionRows = async (workspaceId: string) =>
  (
    await t.client.execute({
      sql: 'SELECT id, contact_id, external_id, type, value, currency, occurred_at, recorded_at, campaign_id, send_id, attribution, actor_type, actor_id FROM conversions WHERE workspace_id = ? ORDER BY recorded_at, rowid',
      args: [workspaceId],
    })
  ).rows;
const rollupOf = async (sendId: number) => {
  const row = (await t.client.execute({ sql: 'SELECT conversions, conversion_value FROM sends WHERE id = ?', args: [sendId] })).rows[0]!;
  return { conversions: Number(row.conversions), value: Number(row.conversion_value) };
};
const lastActionOf = async (contactId: string) =>
  Number((await t.client.execute({ sql: 'SELECT last_prospect_action_at FROM contacts WHERE id = ?', args: [contactId] })).rows[0]!.last_prospect_action_at);
const clickTokenOf = (clickPath: string) => clickPath.slice('/c/'.length);

async function sentCampaign(n = 2, prefix = 'r', team?: Team) {
  team ??= await t.workspaceWithTeam();
  const c = await trackedCampaign(t, team, [{ prefix, n, openTracking: false }]);
  return { team, c, r: c.byPrefix(prefix)[0]! };
}

/** A human click on the recipient's first link, a minute after sending (not "too soon after delivery"). */
async function humanClick(r: { sendId: number; clicks: string[] }) {
  t.clock.advance(60_000);
  const res = await asReader(t, r.clicks[0]!);
  expect(res.status).toBe(302);
  const clicks = (await t.client.execute({ sql: "SELECT machine, occurred_at FROM events WHERE send_id = ? AND type = 'click'", args: [r.sendId] })).rows;
  expect(clicks).toEqual([expect.objectContaining({ machine: 0 })]);
  return Number(clicks[0]!.occurred_at);
}

describe('attribution', () => {
  it('by click token: the campaign and send of that click, the send’s rollup, and the retention clock moved to the conversion', async () => {
    const { team, c, r } = await sentCampaign(2);
    const other = c.recipients[1]!;
    // Last active long ago (seeded rows carry the real time, unrelated to the test clock).
    const longAgo = new Date('2026-01-15T10:00:00Z').getTime();
    await t.client.execute({ sql: 'UPDATE contacts SET last_prospect_action_at = ? WHERE id = ?', args: [longAgo, r.contactId] });
    t.clock.advance(3 * HOUR);
    const now = t.clock.now();

    const body = await recorded(team.marketer.token, { clickToken: clickTokenOf(r.clicks[1]!), type: 'booking', value: 1290.5, currency: 'eur', externalId: 'BKG-2026-0042' });
    expect(body).toMatchObject({
      contactId: r.contactId,
      externalId: 'BKG-2026-0042',
      type: 'booking',
      value: 1290.5,
      currency: 'EUR',
      occurredAt: now.toISOString(),
      recordedAt: now.toISOString(),
      campaignId: c.campaignId,
      attribution: 'click_token',
      replayed: false,
    });
    expect(await conversionRows(team.workspace.id)).toEqual([
      expect.objectContaining({
        id: body.id,
        contact_id: r.contactId,
        value: 129050,
        currency: 'EUR',
        occurred_at: now.getTime(),
        campaign_id: c.campaignId,
        send_id: r.sendId,
        attribution: 'click_token',
        actor_type: 'user',
        actor_id: team.marketer.id,
      }),
    ]);
    expect(await rollupOf(r.sendId)).toEqual({ conversions: 1, value: 129050 });
    expect(await rollupOf(other.sendId)).toEqual({ conversions: 0, value: 0 });
    expect(await lastActionOf(r.contactId)).toBe(now.getTime());

    // A second one, reported later about an earlier moment: the rollup sums, the clock never goes back.
    t.clock.advance(HOUR);
    const earlier = new Date(now.getTime() - 2 * HOUR);
    await recorded(team.agent.token, { clickToken: clickTokenOf(r.clicks[0]!), type: 'quote', value: 0.29, occurredAt: earlier.toISOString(), externalId: 'Q-7' });
    expect(await rollupOf(r.sendId)).toEqual({ conversions: 2, value: 129079 });
    expect(await lastActionOf(r.contactId)).toBe(now.getTime());
  });

  it('by contact id after a human click: the last campaign clicked, even when a later one was delivered', async () => {
    const { team, c, r } = await sentCampaign(1, 'r');
    await humanClick(r);
    // A second campaign, delivered to the same person later, not clicked.
    t.clock.advance(2 * HOUR);
    const later = await sentCampaign(1, 'o', team);
    expect(later.c.byPrefix('r')).toHaveLength(1);
    t.clock.advance(2 * HOUR);

    const body = await recorded(team.agent.token, { contactId: r.contactId, type: 'booking', value: 800, externalId: 'CALLBACK-1' });
    expect(body).toMatchObject({ contactId: r.contactId, campaignId: c.campaignId, attribution: 'last_click' });
    expect(await conversionRows(team.workspace.id)).toEqual([expect.objectContaining({ send_id: r.sendId, attribution: 'last_click', value: 80000, actor_id: team.agent.id })]);
    expect(await rollupOf(r.sendId)).toEqual({ conversions: 1, value: 80000 });
    expect(await rollupOf(later.c.byPrefix('r')[0]!.sendId)).toEqual({ conversions: 0, value: 0 });
  });

  it('by email with no click: the last campaign delivered; a contact never mailed: none, counted in no campaign', async () => {
    const { team, r } = await sentCampaign(1, 'r');
    t.clock.advance(2 * HOUR);
    const later = await sentCampaign(1, 'o', team);
    const latest = later.c.byPrefix('r')[0]!;
    t.clock.advance(2 * HOUR);

    const body = await recorded(team.marketer.token, { email: `  ${r.email.toUpperCase()} `, type: 'booking', value: 100, externalId: 'E-1' });
    expect(body).toMatchObject({ contactId: r.contactId, campaignId: later.c.campaignId, attribution: 'last_delivered' });
    expect(await rollupOf(latest.sendId)).toEqual({ conversions: 1, value: 10000 });
    expect(await rollupOf(r.sendId)).toEqual({ conversions: 0, value: 0 });

    const [loner] = await seedAudience(t.client, team.workspace.id, 1, { prefix: 'late' });
    const none = await recorded(team.marketer.token, { contactId: loner, type: 'quote', value: 50, externalId: 'E-2' });
    expect(none).toMatchObject({ contactId: loner, campaignId: null, attribution: 'none' });
    expect((await conversionRows(team.workspace.id)).find((row) => row.id === none.id)).toMatchObject({ send_id: null, campaign_id: null, attribution: 'none', value: 5000 });
    const sendsWithConversions = (await t.client.execute({ sql: 'SELECT sum(conversions) AS n FROM sends WHERE workspace_id = ?', args: [team.workspace.id] })).rows[0]!;
    expect(Number(sendsWithConversions.n)).toBe(1);
  });

  it('a click older than the attribution window (30 days) before the conversion does not count; within it, it does', async () => {
    const { team, c, r } = await sentCampaign(1);
    const clickedAt = await humanClick(r);
    t.clock.advance(40 * DAY);
    // Sessions last hours: log in again forty days later.
    const token = await t.login(team.marketer.email);

    const late = await recorded(token, { contactId: r.contactId, type: 'booking', value: 10, externalId: 'LATE-1' });
    expect(late.attribution).not.toBe('last_click');
    // The mail went out 40 days ago too: nothing left in the window.
    expect(late).toMatchObject({ attribution: 'none', campaignId: null });

    // Reported now, but it happened five days after the click: the window runs back from then.
    const inWindow = await recorded(token, { contactId: r.contactId, type: 'booking', value: 20, occurredAt: new Date(clickedAt + 5 * DAY).toISOString(), externalId: 'LATE-2' });
    expect(inWindow).toMatchObject({ attribution: 'last_click', campaignId: c.campaignId });
    expect(await rollupOf(r.sendId)).toEqual({ conversions: 1, value: 2000 });
  });
});

describe('idempotency', () => {
  it('the same request again replays the first record; the same externalId with other data is a 409; other workspaces have their own ids', async () => {
    const { team, r } = await sentCampaign(1);
    const request = { contactId: r.contactId, type: 'booking', value: 450.1, occurredAt: t.clock.now().toISOString(), externalId: 'ORDER-9' };
    const first = await recorded(team.marketer.token, request);
    expect(first.replayed).toBe(false);
    const before = await t.dumpDatabase();

    t.clock.advance(60_000);
    const again = await recorded(team.marketer.token, request, 200);
    expect(again).toEqual({ ...first, replayed: true });

    const conflict = await convert(team.marketer.token, { ...request, value: 450.2 });
    expect(conflict.status).toBe(409);
    const error = await errorOf(conflict);
    expect(error.code).toBe('external_id_conflict');
    expect(error.details?.issues).toEqual([expect.objectContaining({ field: 'externalId' })]);
    expect((await convert(team.marketer.token, { ...request, type: 'quote' })).status).toBe(409);

    expect(await t.dumpDatabase()).toBe(before);
    expect(await conversionRows(team.workspace.id)).toHaveLength(1);
    expect(await rollupOf(r.sendId)).toEqual({ conversions: 1, value: 45010 });

    // Another shop's order numbers are theirs.
    const elsewhere = await sentCampaign(1);
    const theirs = await recorded(elsewhere.team.marketer.token, { ...request, contactId: elsewhere.r.contactId });
    expect(theirs.replayed).toBe(false);
    expect(await conversionRows(elsewhere.team.workspace.id)).toHaveLength(1);
  });

  it('a burst of the same request at once records one conversion; the others are replays of it', async () => {
    const { team, r } = await sentCampaign(1);
    const request = { clickToken: clickTokenOf(r.clicks[0]!), type: 'booking', value: 75, externalId: 'BURST-1' };
    const answers = await Promise.all(Array.from({ length: 8 }, () => convert(team.marketer.token, request)));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 201]);
    const bodies = (await Promise.all(answers.map((a) => a.json()))) as ConversionBody[];
    expect(new Set(bodies.map((b) => b.id)).size).toBe(1);
    expect(await conversionRows(team.workspace.id)).toHaveLength(1);
    expect(await rollupOf(r.sendId)).toEqual({ conversions: 1, value: 7500 });
  });
});

describe('refusals', () => {
  it('each bad input is a 400 naming the field, and writes nothing', async () => {
    const { team, r } = await sentCampaign(1);
    const stranger = await sentCampaign(1);
    const token = clickTokenOf(r.clicks[0]!);
    const [campaignId, send, link, mac] = token.split('.');
    const forged = `${campaignId}.${send}.${link}.${mac!.slice(0, -2)}${mac!.endsWith('AA') ? 'BB' : 'AA'}`;
    const base = { type: 'booking', externalId: 'BAD-1' };
    const future = new Date(t.clock.now().getTime() + 3600_000).toISOString();

    const cases: [string, Record<string, unknown>, string][] = [
      ['negative value', { ...base, contactId: r.contactId, value: -1 }, 'value'],
      ['value over the max', { ...base, contactId: r.contactId, value: 1_000_000.01 }, 'value'],
      ['three decimals', { ...base, contactId: r.contactId, value: 12.345 }, 'value'],
      ['another currency', { ...base, contactId: r.contactId, value: 10, currency: 'USD' }, 'currency'],
      ['in the future', { ...base, contactId: r.contactId, occurredAt: future }, 'occurredAt'],
      ['two identifiers', { ...base, contactId: r.contactId, email: r.email }, 'email'],
      ['click token and contact', { ...base, clickToken: token, contactId: r.contactId }, 'contactId'],
      ['no identifier', { ...base }, 'clickToken'],
      ['invalid email', { ...base, email: 'not-an-email' }, 'email'],
      ['forged click token', { ...base, clickToken: forged }, 'clickToken'],
      ['garbage click token', { ...base, clickToken: 'cmp_nothing.1.0.abcdef' }, 'clickToken'],
      ['bad type', { ...base, contactId: r.contactId, type: 'Big Booking!' }, 'type'],
      ['no externalId', { contactId: r.contactId, type: 'booking' }, 'externalId'],
    ];
    const before = await t.dumpDatabase();
    for (const [label, body, field] of cases) {
      const res = await convert(team.marketer.token, body);
      expect(res.status, label).toBe(400);
      const error = await errorOf(res);
      expect(error.code, label).toBe('invalid_input');
      expect(error.details?.issues?.map((i) => i.field), label).toContain(field);
    }

    // The first team's click token, posted by another workspace: the same answer as a forged one.
    const crossed = await convert(stranger.team.marketer.token, { ...base, clickToken: token });
    expect(crossed.status).toBe(400);
    const crossedError = await errorOf(crossed);
    expect(crossedError.details?.issues).toEqual([{ field: 'clickToken', message: 'is not a click token of this workspace' }]);
    const forgedError = await errorOf(await convert(team.marketer.token, { ...base, clickToken: forged }));
    expect(crossedError.details?.issues).toEqual(forgedError.details?.issues);
    // Nor can it name the other workspace's contact by id or by email.
    const byId = await convert(stranger.team.marketer.token, { ...base, contactId: r.contactId });
    expect(byId.status).toBe(404);
    expect((await errorOf(byId)).code).toBe('contact_not_found');
    expect((await convert(stranger.team.marketer.token, { ...base, email: r.email })).status).toBe(404);

    const unknown = await convert(team.marketer.token, { ...base, contactId: 'ct_00000000000000000000000000000000' });
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).code).toBe('contact_not_found');

    expect(await t.dumpDatabase()).toBe(before);
    expect(await conversionRows(team.workspace.id)).toEqual([]);
    expect(await conversionRows(stranger.team.workspace.id)).toEqual([]);
  });
});

describe('who may report one', () => {
  it('an API key with conversions:write, an agent session; not a key without the scope, nor anonymous callers', async () => {
    const { team, r } = await sentCampaign(1);
    const createKey = async (scopes: string[]) => {
      const res = await t.request('/api/v1/api-keys', { method: 'POST', token: team.admin.token, json: { name: 'Boutique', scopes } });
      expect(res.status).toBe(201);
      return (await res.json()) as { apiKey: { id: string }; secret: string };
    };
    const shop = await createKey(['conversions:write']);
    const reader = await createKey(['stats:read', 'contacts:read']);

    const byKey = await recorded(shop.secret, { clickToken: clickTokenOf(r.clicks[0]!), type: 'booking', value: 99.9, externalId: 'SHOP-1' });
    expect(byKey.attribution).toBe('click_token');
    const byAgent = await recorded(team.agent.token, { contactId: r.contactId, type: 'quote', externalId: 'AGENT-1' });
    expect(byAgent.value).toBe(0);
    expect((await conversionRows(team.workspace.id)).map((row) => [row.external_id, row.actor_type, row.actor_id])).toEqual([
      ['SHOP-1', 'api_key', shop.apiKey.id],
      ['AGENT-1', 'user', team.agent.id],
    ]);

    const before = (await conversionRows(team.workspace.id)).length;
    const refused = await convert(reader.secret, { contactId: r.contactId, type: 'booking', externalId: 'READER-1' });
    expect(refused.status).toBe(403);
    expect((await errorOf(refused)).code).toBe('missing_scope');
    const anonymous = await t.request('/api/v1/conversions', { method: 'POST', json: { contactId: r.contactId, type: 'booking', externalId: 'ANON-1' } });
    expect(anonymous.status).toBe(401);
    expect(await conversionRows(team.workspace.id)).toHaveLength(before);
    expect(await rollupOf(r.sendId)).toEqual({ conversions: 2, value: 9990 });
  });
});
