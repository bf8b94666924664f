/**
 * The reports page over a period, its validation, and the timeline behind the charts: opens and
 * clicks per hour or Paris day, people and machines apart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaignTimeline, machineReasons, parisDayStart, parisMonthRange, periodTimeline } from '../../src/tracking/timeline.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { makeUser } from '../helpers/factories.js';
import { asReader, trackedCampaign } from '../helpers/tracked-campaign.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.dispose());

/** Bars and points of one chart (by its SVG id) in a page. */
function chart(html: string, id: string) {
  const svg = new RegExp(`<svg[^>]*id="${id}"[\\s\\S]*?</svg>`).exec(html)?.[0];
  if (!svg) throw new Error(`no chart ${id}`);
  return {
    svg,
    bars: [...svg.matchAll(/<rect class="bar" data-series="([^"]*)" data-category="([^"]*)"/g)].map((m) => `${m[2]}|${m[1]}`),
    points: (svg.match(/class="point"/g) ?? []).length,
  };
}

describe('timeline', () => {
  it('counts opens and clicks per hour, people and machines apart, and folds hours into Paris days', async () => {
    const team = await t.workspaceWithTeam();
    t.clock.set(new Date('2026-11-22T09:00:00Z'));
    const c = await trackedCampaign(t, team, [{ prefix: 'a', n: 3, openTracking: true }]);
    const [a0, a1, a2] = c.recipients;
    t.clock.set(new Date('2026-11-22T10:10:00Z'));
    await asReader(t, a0!.pixel!);
    await asReader(t, a0!.pixel!); // a second open by the same person: two hits
    await asReader(t, a1!.pixel!, { ua: 'Mozilla/5.0' }); // Apple MPP
    t.clock.set(new Date('2026-11-22T12:30:00Z'));
    await asReader(t, a0!.clicks[0]!);
    await asReader(t, a2!.clicks[1]!, { method: 'HEAD' });
    // 23:30 UTC on the 22nd is 00:30 on the 23rd in Paris.
    t.clock.set(new Date('2026-11-22T23:30:00Z'));
    await asReader(t, a2!.pixel!);

    const campaign = await campaignTimeline(t.db, team.workspace.id, c.campaignId);
    expect(campaign.bucket).toBe('hour');
    // From the start of sending (10:00 Paris) to the last hit's hour (00:00 Paris on the 23rd): 15 hours.
    expect(campaign.points).toHaveLength(15);
    const at = (key: string) => campaign.points.find((p) => p.key === key);
    expect(at('2026-11-22T11')).toMatchObject({ humanOpens: 2, machineOpens: 1, humanClicks: 0, machineClicks: 0 });
    expect(at('2026-11-22T13')).toMatchObject({ humanOpens: 0, machineOpens: 0, humanClicks: 1, machineClicks: 1 });
    expect(at('2026-11-23T00')).toMatchObject({ humanOpens: 1 });

    const november = parisMonthRange('2026-11')!;
    const period = await periodTimeline(t.db, team.workspace.id, november);
    expect(period.bucket).toBe('day');
    expect(period.points).toHaveLength(30);
    expect(period.points[0]!.start.toISOString()).toBe('2026-10-31T23:00:00.000Z');
    expect(period.points.find((p) => p.key === '2026-11-22')).toMatchObject({ humanOpens: 2, machineOpens: 1, humanClicks: 1, machineClicks: 1 });
    expect(period.points.find((p) => p.key === '2026-11-23')).toMatchObject({ humanOpens: 1, machineOpens: 0 });
    // Another workspace sees none of it.
    const other = await t.workspaceWithTeam();
    const theirs = await periodTimeline(t.db, other.workspace.id, november);
    expect(theirs.points.every((p) => p.humanOpens + p.machineOpens + p.humanClicks + p.machineClicks === 0)).toBe(true);
    await expect(campaignTimeline(t.db, other.workspace.id, c.campaignId)).rejects.toThrow(/No such campaign/);

    expect(await machineReasons(t.db, [c.campaignId])).toEqual(
      expect.arrayContaining([
        { type: 'open', reason: 'apple_mpp', hits: 1 },
        { type: 'click', reason: 'head_request', hits: 1 },
      ]),
    );
    // Paris days across the change to summer time are 23 hours long.
    expect(parisDayStart('2026-03-29')!.toISOString()).toBe('2026-03-28T23:00:00.000Z');
    expect(parisDayStart('2026-03-30')!.toISOString()).toBe('2026-03-29T22:00:00.000Z');
    expect(parisDayStart('2026-02-30')).toBeNull();
  });
});

describe('reports page', () => {
  it('shows the period’s campaigns with links, grouped figures, charts and the CSV link', async () => {
    // Later than the previous test: the clock only moves forward (the send throttle remembers it).
    t.clock.set(new Date('2026-11-24T09:00:00Z'));
    const team = await t.workspaceWithTeam();
    const other = await makeUser(t.db, team.workspace.id, 'agent');
    const c = await trackedCampaign(t, team, [
      { prefix: 'a', n: 4, openTracking: true, ownerAgentId: team.agent.id },
      { prefix: 'b', n: 2, openTracking: false, ownerAgentId: other.id },
    ]);
    t.clock.advance(3600_000);
    const [a0, a1] = c.byPrefix('a');
    await asReader(t, a0!.pixel!);
    await asReader(t, a1!.pixel!, { ua: 'Mozilla/5.0' });
    await asReader(t, a0!.clicks[0]!);
    await asReader(t, c.byPrefix('b')[0]!.clicks[1]!);

    const res = await t.request('/reports?from=2026-11-01&to=2026-11-30&groupBy=agent', { token: team.marketer.token });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(`<a href="/campaigns/${c.campaignId}">Offres</a>`);
    expect(html).toContain('1 campagne(s) envoyée(s) du 1 novembre 2026 au 30 novembre 2026.');
    expect(html).toContain('1 / 4 (25 %)'); // human opens out of the tracked base
    expect(html).toContain('2 / 6 (33,3 %)'); // human clicks out of those reached
    // The CSV is the API's, for the same period and grouping.
    const csvHref = /href="(\/api\/v1\/reports\/campaigns\?[^"]+groupBy=agent[^"]*)"/.exec(html)![1]!.replace(/&amp;/g, '&');
    expect(csvHref).toContain('from=2026-10-31T23%3A00%3A00.000Z');
    expect(csvHref).toContain('to=2026-11-30T23%3A00%3A00.000Z');
    const csv = await t.request(csvHref, { token: team.marketer.token });
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect(await csv.text()).toContain(team.agent.name);

    // Charts: five funnel steps; people and machines for opens and clicks; three rates per agent; 30 days × 2 series.
    expect(chart(html, 'rp-funnel').bars).toHaveLength(5);
    expect(chart(html, 'rp-funnel').svg).toContain('role="img"');
    expect(chart(html, 'rp-hm').bars).toEqual(['Ouvertures|Personnes', 'Ouvertures|Machines', 'Clics|Personnes', 'Clics|Machines']);
    // The other agent's leads had no open tracking: no open-rate bar for them (no base), not a zero.
    expect(chart(html, 'rp-compare').bars).toHaveLength(5);
    expect(chart(html, 'rp-opens').points).toBe(60);
    expect(chart(html, 'rp-clicks').points).toBe(60);
    expect(html).toContain('Apple Mail Privacy Protection');

    // A period with nothing sent says so.
    const empty = await (await t.request('/reports?from=2026-01-01&to=2026-01-31', { token: team.marketer.token })).text();
    expect(empty).toContain('Aucune campagne n’a commencé à être envoyée pendant cette période');
    expect(empty).not.toContain('<svg class="chart-svg"');

    // Default: the last 30 days up to today (the app clock).
    const byDefault = await (await t.request('/reports', { token: team.admin.token })).text();
    expect(byDefault).toContain('value="2026-10-26"');
    expect(byDefault).toContain('value="2026-11-24"');
    expect(byDefault).toContain(`/campaigns/${c.campaignId}`);
  });

  it('answers 400 naming the field for a bad or reversed period or grouping, and 403 to agents', async () => {
    const team = await t.workspaceWithTeam();
    const ask = (q: string) => t.request(`/reports?${q}`, { token: team.marketer.token });
    const reversed = await ask('from=2026-11-20&to=2026-11-01');
    expect(reversed.status).toBe(400);
    expect(await reversed.text()).toMatch(/id="to-error">doit être le même jour que « Du » ou après/);
    const badDate = await ask('from=2026-02-30&to=2026-03-01');
    expect(badDate.status).toBe(400);
    expect(await badDate.text()).toMatch(/id="from-error">une date au format AAAA-MM-JJ/);
    const badGroup = await ask('from=2026-11-01&to=2026-11-02&groupBy=attribute:x');
    expect(badGroup.status).toBe(400);
    expect(await badGroup.text()).toContain('id="groupBy-error"');
    const tooLong = await ask('from=2024-01-01&to=2026-11-02');
    expect(tooLong.status).toBe(400);
    expect((await ask('from=2026-11-22&to=2026-11-22')).status).toBe(200);
    expect((await t.request('/reports', { token: team.agent.token })).status).toBe(403);
  });
});
