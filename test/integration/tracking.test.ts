/**
 * Opens and clicks as readers, mail clients and scanners make them: consent gating of the pixel,
 * the redirect's safety, each machine-activity rule, and the write path (batched, flushed on
 * shutdown, floods folded).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferedHitSink, recordHits } from '../../src/tracking/hits.js';
import { clickToken, openToken } from '../../src/tracking/tokens.js';
import { createTestApp, testKeys, type TestApp } from '../helpers/app.js';
import { subscriber } from '../helpers/subscriber.js';
import { asReader, LINKS, trackedCampaign } from '../helpers/tracked-campaign.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.dispose());

const GIF_BYTES = 43;

async function eventsOf(sendId: number) {
  return (await t.client.execute({ sql: 'SELECT type, link_index, machine, machine_reason, hits, user_agent FROM events WHERE send_id = ? ORDER BY id', args: [sendId] })).rows;
}

async function anonymousOpens(campaignId: string) {
  const rows = (await t.client.execute({ sql: 'SELECT machine, hits FROM anonymous_opens WHERE campaign_id = ?', args: [campaignId] })).rows;
  return { human: Number(rows.find((r) => !r.machine)?.hits ?? 0), machine: Number(rows.find((r) => r.machine)?.hits ?? 0) };
}

describe('open pixel', () => {
  it('is in the message only for recipients who consented to open tracking; the honeypot is in every HTML part and no text part', async () => {
    const team = await t.workspaceWithTeam();
    const c = await trackedCampaign(t, team, [
      { prefix: 'yes', n: 2, openTracking: true },
      { prefix: 'no', n: 2, openTracking: false },
    ]);
    for (const r of c.byPrefix('yes')) expect(r.pixel).toMatch(/^\/o\//);
    for (const r of c.byPrefix('no')) {
      expect(r.pixel).toBeNull();
      expect(r.html).not.toContain('/o/');
    }
    const tracks = (await t.client.execute({ sql: 'SELECT c.email, s.tracks_opens FROM sends s JOIN contacts c ON c.id = s.contact_id WHERE s.campaign_id = ?', args: [c.campaignId] })).rows;
    expect(tracks.map((r) => [String(r.email).startsWith('yes'), Number(r.tracks_opens)]).sort()).toEqual([[false, 0], [false, 0], [true, 1], [true, 1]]);
    const text = (await t.client.execute({ sql: "SELECT text FROM outbox_messages WHERE json_extract(tags, '$.campaign') = ?", args: [c.campaignId] })).rows.map((r) => String(r.text));
    for (const body of text) expect(body).not.toMatch(/\/c\/[^\s]*\.-1\./);
  });

  it('answers a 1×1 GIF that is never cached, and records a human open', async () => {
    const team = await t.workspaceWithTeam();
    const c = await trackedCampaign(t, team, [{ prefix: 'r', n: 1, openTracking: true }]);
    const r = c.recipients[0]!;
    t.clock.advance(3600_000);
    const res = await asReader(t, r.pixel!);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/gif');
    expect(res.headers.get('cache-control')).toContain('no-store');
    expect((await res.arrayBuffer()).byteLength).toBe(GIF_BYTES);
    expect(await eventsOf(r.sendId)).toMatchObject([{ type: 'open', machine: 0, machine_reason: null, hits: 1 }]);
    const [send] = (await t.client.execute({ sql: 'SELECT human_opens, machine_opens FROM sends WHERE id = ?', args: [r.sendId] })).rows;
    expect(send).toMatchObject({ human_opens: 1, machine_opens: 0 });
  });

  it('after the person withdraws open-tracking consent, an open of mail already sent is counted only anonymously', async () => {
    const s = await subscriber(t);
    const [mail] = (await t.client.execute({ sql: `SELECT html FROM outbox_messages WHERE "to" = ? AND json_extract(tags, '$.campaign') = ?`, args: [s.email, s.campaignId] })).rows;
    const pixel = /<img src="https?:\/\/[^/"]+(\/o\/[^"]+)"/.exec(String(mail!.html))![1]!;
    const [send] = (await t.client.execute({ sql: 'SELECT id FROM sends WHERE campaign_id = ?', args: [s.campaignId] })).rows;
    const off = await t.request(s.preferences, { method: 'POST', headers: { origin: 'http://localhost' }, body: new URLSearchParams({ purpose: 'open_tracking', action: 'withdraw' }) });
    expect(off.status).toBe(200);
    const res = await asReader(t, pixel);
    expect(res.headers.get('content-type')).toBe('image/gif');
    expect(await eventsOf(Number(send!.id))).toEqual([]);
    expect(await anonymousOpens(s.campaignId)).toEqual({ human: 1, machine: 0 });
    const stats = (await (await t.request(`/api/v1/campaigns/${s.campaignId}/stats`, { token: s.marketer.token })).json()) as {
      total: { counts: { uniqueHumanOpens: number } };
      anonymousOpens: { human: number };
    };
    expect(stats.total.counts.uniqueHumanOpens).toBe(0);
    expect(stats.anonymousOpens.human).toBe(1);
  });

  it('answers the GIF to forged, truncated and foreign tokens, and records nothing', async () => {
    const team = await t.workspaceWithTeam();
    const c = await trackedCampaign(t, team, [{ prefix: 'r', n: 1, openTracking: true }]);
    const real = c.recipients[0]!.pixel!;
    const before = await t.dumpDatabase();
    const foreign = `/o/${openToken([{ kid: 'x', secret: 'another-deployment-secret-0123456789' }], c.recipients[0]!.sendId)}`;
    for (const path of ['/o/nonsense', real.slice(0, -3), real.replace(/\/o\/\w+\./, '/o/zz.'), foreign, '/o/' + 'a'.repeat(5000)]) {
      const res = await asReader(t, path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/gif');
    }
    expect(await t.dumpDatabase()).toBe(before);
  });

  it('answers the GIF even when the hit cannot be handed over', async () => {
    const team = await t.workspaceWithTeam();
    const c = await trackedCampaign(t, team, [{ prefix: 'r', n: 1, openTracking: true }]);
    const broken = (await import('../../src/app.js')).createApp({
      ...t.deps,
      hits: {
        record: () => {
          throw new Error('database is locked');
        },
        flush: async () => {},
        close: async () => {},
      },
    });
    const res = await broken.request(`http://localhost${c.recipients[0]!.pixel}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/gif');
  });

  it('a flood of the same pixel is one row with a count, and the recipient still one unique opener', async () => {
    const team = await t.workspaceWithTeam();
    const c = await trackedCampaign(t, team, [{ prefix: 'r', n: 1, openTracking: true }]);
    const r = c.recipients[0]!;
    t.clock.advance(3600_000);
    await Promise.all(Array.from({ length: 300 }, () => t.app.request(`http://localhost${r.pixel}`, { headers: { 'user-agent': 'Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 Version/17.0 Mobile Safari' } })));
    await t.deps.hits.flush();
    const events = await eventsOf(r.sendId);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'open', hits: 300, machine: 0 });
    const stats = (await (await t.request(`/api/v1/campaigns/${c.campaignId}/stats`, { token: team.marketer.token })).json()) as { total: { counts: { uniqueHumanOpens: number; humanOpens: number } } };
    expect(stats.total.counts).toMatchObject({ uniqueHumanOpens: 1, humanOpens: 300 });
  });
});

describe('click redirect', () => {
  it('goes to the frozen link with its own query string and fragment, adds UTM without overriding the author, and the click id when asked', async () => {
    const team = await t.workspaceWithTeam();
    const tracking = { utm: { source: 'newsletter', medium: 'email', campaign: 'offres-nov' }, appendClickId: true };
    const body = (await import('../helpers/tracked-campaign.js')).BODY.replace(LINKS[1]!, 'https://voyage.example/paris?utm_source=partenaire');
    const c = await trackedCampaign(t, team, [{ prefix: 'r', n: 1, openTracking: false }], { tracking, body });
    const r = c.recipients[0]!;
    t.clock.advance(60_000);
    const rome = await asReader(t, r.clicks[0]!);
    expect(rome.status).toBe(302);
    const to = new URL(rome.headers.get('location')!);
    expect(`${to.origin}${to.pathname}`).toBe('https://voyage.example/rome');
    expect(to.searchParams.get('ref')).toBe('nl');
    expect(to.searchParams.get('utm_source')).toBe('newsletter');
    expect(to.searchParams.get('utm_medium')).toBe('email');
    expect(to.searchParams.get('utm_campaign')).toBe('offres-nov');
    expect(to.searchParams.get('cn_click')).toBe(r.clicks[0]!.slice('/c/'.length));
    expect(rome.headers.get('referrer-policy')).toBe('no-referrer');
    const paris = new URL((await asReader(t, r.clicks[1]!)).headers.get('location')!);
    expect(paris.searchParams.get('utm_source')).toBe('partenaire');
    const lisbon = (await asReader(t, r.clicks[2]!)).headers.get('location')!;
    expect(lisbon).toMatch(/^https:\/\/voyage\.example\/lisbonne\?utm_source=newsletter&.*#offre$/);
    // mailto: links are not wrapped.
    expect(r.html).toContain('href="mailto:contact@voyage.example"');
    expect(await eventsOf(r.sendId)).toHaveLength(3);
  });

  it('a click is a prospect action: it restarts the retention period', async () => {
    const team = await t.workspaceWithTeam();
    const c = await trackedCampaign(t, team, [{ prefix: 'r', n: 1, openTracking: false }]);
    const r = c.recipients[0]!;
    t.clock.advance(2 * 86_400_000);
    await asReader(t, r.clicks[0]!);
    const [row] = (await t.client.execute({ sql: 'SELECT last_prospect_action_at FROM contacts WHERE id = ?', args: [r.contactId] })).rows;
    expect(Number(row!.last_prospect_action_at)).toBe(t.clock.now().getTime());
  });

  it('never redirects anywhere else: forged, altered, cross-campaign and unknown-link tokens get a page', async () => {
    const team = await t.workspaceWithTeam();
    const c = await trackedCampaign(t, team, [{ prefix: 'r', n: 2, openTracking: false }]);
    const other = await trackedCampaign(t, team, [{ prefix: 'o', n: 1, openTracking: false }]);
    const [a, b] = c.recipients as [(typeof c.recipients)[0], (typeof c.recipients)[0]];
    const token = a.clicks[0]!.slice('/c/'.length);
    const [campaignId, send, , mac] = token.split('.');
    const attempts = [
      `/c/${campaignId}.${send}.1.${mac}`, // another link with this link's MAC
      `/c/${campaignId}.${b.sendId.toString(36)}.0.${mac}`, // another recipient
      `/c/${other.campaignId}.${send}.0.${mac}`, // another campaign
      `/c/${token}x`,
      `/c/https%3A%2F%2Fevil.example`,
      `/c/${clickToken(testKeys, { campaignId: campaignId!, sendId: a.sendId, link: 7 })}`, // validly signed, no such link
      a.honeypot,
    ];
    const before = (await t.client.execute('SELECT count(*) AS n FROM events')).rows[0]!.n;
    for (const path of attempts) {
      const res = await asReader(t, path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('location'), path).toBeNull();
      expect(res.headers.get('content-type')).toContain('text/html');
      expect(await res.text()).toContain('Lien invalide');
    }
    // Only the two validly signed ones (link 7, honeypot) were hits on a real message.
    expect(Number((await t.client.execute('SELECT count(*) AS n FROM events')).rows[0]!.n)).toBe(Number(before) + 2);
  });
});

describe('machine activity', () => {
  async function oneRecipient(openTracking = true) {
    const team = await t.workspaceWithTeam();
    const c = await trackedCampaign(t, team, [{ prefix: 'r', n: 1, openTracking }]);
    return { team, c, r: c.recipients[0]! };
  }

  it('HEAD requests are machines, for the pixel and for links', async () => {
    const { r } = await oneRecipient();
    t.clock.advance(3600_000);
    expect((await asReader(t, r.pixel!, { method: 'HEAD' })).status).toBe(200);
    expect((await asReader(t, r.clicks[0]!, { method: 'HEAD' })).status).toBe(302);
    expect(await eventsOf(r.sendId)).toMatchObject([
      { type: 'open', machine: 1, machine_reason: 'head_request' },
      { type: 'click', machine: 1, machine_reason: 'head_request' },
    ]);
  });

  it('Apple Mail Privacy Protection: the bare Mozilla/5.0 agent, or Apple’s 17.0.0.0/8 network', async () => {
    const { r } = await oneRecipient();
    t.clock.advance(3600_000);
    await asReader(t, r.pixel!, { ua: 'Mozilla/5.0' });
    await asReader(t, r.pixel!, { ip: '17.58.101.4', ua: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15' });
    await asReader(t, r.pixel!, { ip: '::ffff:17.1.2.3' });
    const events = await eventsOf(r.sendId);
    expect(events.map((e) => e.machine_reason)).toEqual(['apple_mpp', 'apple_mpp', 'apple_mpp']);
    expect(events.every((e) => e.machine === 1)).toBe(true);
  });

  it('scanner user agents and scanner networks; Gmail’s image proxy stays human', async () => {
    const { r } = await oneRecipient();
    t.clock.advance(3600_000);
    await asReader(t, r.pixel!, { ua: 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)' });
    await asReader(t, r.pixel!, { ua: 'python-requests/2.31.0' });
    await asReader(t, r.pixel!, { ua: '' });
    await asReader(t, r.clicks[0]!, { ua: 'Mozilla/5.0 (compatible; Barracuda Sentinel)' });
    await asReader(t, r.clicks[1]!, { ip: '64.235.150.9' });
    expect((await eventsOf(r.sendId)).map((e) => [e.type, e.machine_reason])).toEqual([
      ['open', null],
      ['open', 'scanner_user_agent'],
      ['open', 'scanner_user_agent'],
      ['click', 'scanner_user_agent'],
      ['click', 'scanner_network'],
    ]);
  });

  it('a click within seconds of delivery is a gateway’s; the same click later is a person’s', async () => {
    const { r } = await oneRecipient(false);
    t.clock.advance(3_000);
    await asReader(t, r.clicks[0]!);
    t.clock.advance(60_000);
    await asReader(t, r.clicks[0]!);
    expect((await eventsOf(r.sendId)).map((e) => e.machine_reason)).toEqual(['too_soon_after_delivery', null]);
  });

  it('every link clicked at once is a burst, including the clicks already recorded', async () => {
    const { r } = await oneRecipient(false);
    t.clock.advance(3600_000);
    await asReader(t, r.clicks[0]!);
    t.clock.advance(1_000);
    await asReader(t, r.clicks[1]!);
    t.clock.advance(1_000);
    await asReader(t, r.clicks[2]!);
    expect((await eventsOf(r.sendId)).map((e) => e.machine_reason)).toEqual(['burst', 'burst', 'burst']);
    const [send] = (await t.client.execute({ sql: 'SELECT human_clicks, machine_clicks FROM sends WHERE id = ?', args: [r.sendId] })).rows;
    expect(send).toMatchObject({ human_clicks: 0, machine_clicks: 3 });
    // A person clicking two links a minute apart is a person.
    const other = await oneRecipient(false);
    t.clock.advance(3600_000);
    await asReader(t, other.r.clicks[0]!);
    t.clock.advance(60_000);
    await asReader(t, other.r.clicks[1]!);
    expect((await eventsOf(other.r.sendId)).map((e) => e.machine_reason)).toEqual([null, null]);
  });

  it('the hidden honeypot link exposes the scanner, and its clicks around it', async () => {
    const { r } = await oneRecipient(false);
    t.clock.advance(3600_000);
    await asReader(t, r.clicks[0]!);
    t.clock.advance(20_000);
    await asReader(t, r.honeypot);
    t.clock.advance(3600_000);
    await asReader(t, r.clicks[1]!); // an hour later: the person, not the scanner
    expect((await eventsOf(r.sendId)).map((e) => [e.link_index, e.machine_reason])).toEqual([
      [0, 'honeypot'],
      [-1, 'honeypot'],
      [1, null],
    ]);
  });
});

describe('writing hits', () => {
  it('the buffered sink writes in batches and loses nothing on close (graceful shutdown)', async () => {
    const team = await t.workspaceWithTeam();
    const c = await trackedCampaign(t, team, [{ prefix: 'r', n: 30, openTracking: true }]);
    const sink = bufferedHitSink(t.db, t.deps.logger, { flushEveryMs: 3_600_000 });
    const at = t.clock.now().getTime() + 3600_000;
    for (const r of c.recipients) sink.record({ kind: 'open', sendId: r.sendId, link: null, at, userAgent: 'Thunderbird/128.0', verdict: null });
    const before = Number((await t.client.execute({ sql: 'SELECT count(*) AS n FROM events WHERE campaign_id = ?', args: [c.campaignId] })).rows[0]!.n);
    expect(before).toBe(0);
    await sink.close();
    const after = Number((await t.client.execute({ sql: 'SELECT count(*) AS n FROM events WHERE campaign_id = ?', args: [c.campaignId] })).rows[0]!.n);
    expect(after).toBe(30);
  });

  it('a hit for a send that does not exist is dropped without failing the batch', async () => {
    const team = await t.workspaceWithTeam();
    const c = await trackedCampaign(t, team, [{ prefix: 'r', n: 1, openTracking: true }]);
    const at = t.clock.now().getTime() + 3600_000;
    await recordHits(t.db, [
      { kind: 'open', sendId: 999_999_999, link: null, at, userAgent: 'x', verdict: null },
      { kind: 'open', sendId: c.recipients[0]!.sendId, link: null, at, userAgent: 'Thunderbird/128.0', verdict: null },
    ]);
    expect(await eventsOf(c.recipients[0]!.sendId)).toHaveLength(1);
  });
});

describe('segments on engagement', () => {
  it('last human click and conversions select people; a scanner’s clicks make nobody engaged', async () => {
    const team = await t.workspaceWithTeam();
    const c = await trackedCampaign(t, team, [{ prefix: 'r', n: 4, openTracking: false }]);
    const [clicker, scanned, buyer] = c.recipients as [(typeof c.recipients)[0], (typeof c.recipients)[0], (typeof c.recipients)[0]];
    t.clock.advance(3600_000);
    await asReader(t, clicker.clicks[0]!);
    await asReader(t, scanned.clicks[0]!, { ua: 'Mozilla/5.0 (compatible; Proofpoint URL Defense)' });
    t.clock.advance(10 * 86_400_000);
    const agent = await t.login(team.agent.email);
    const marketer = await t.login(team.marketer.email);
    const conv = await t.request('/api/v1/conversions', { method: 'POST', token: agent, json: { contactId: buyer.contactId, type: 'booking', value: 10, externalId: `B-${buyer.sendId}` } });
    expect(conv.status).toBe(201);
    const who = async (conditions: unknown[]) => {
      const res = await t.request('/api/v1/segments/preview', { method: 'POST', token: marketer, json: { rules: { match: 'all', conditions } } });
      expect(res.status).toBe(200);
      return ((await res.json()) as { sample: { id: string }[] }).sample.map((s) => s.id).sort();
    };
    expect(await who([{ field: 'lastClickAt', operator: 'within_days', value: 30 }])).toEqual([clicker.contactId]);
    expect(await who([{ field: 'lastClickAt', operator: 'within_days', value: 7 }])).toEqual([]);
    expect(await who([{ field: 'lastClickAt', operator: 'older_than_days', value: 7 }])).toEqual([clicker.contactId]);
    expect(await who([{ field: 'converted', operator: 'is', value: true }])).toEqual([buyer.contactId]);
    expect(await who([{ field: 'lastConversionAt', operator: 'within_days', value: 1 }])).toEqual([buyer.contactId]);
    expect((await who([{ field: 'converted', operator: 'is', value: false }])).length).toBe(3);
  });
});

describe('the person’s rights over measurement', () => {
  it('their export holds their opens, clicks and conversions; erasure keeps the counts and drops what identifies them', async () => {
    const team = await t.workspaceWithTeam();
    const c = await trackedCampaign(t, team, [{ prefix: 'r', n: 1, openTracking: true }]);
    const r = c.recipients[0]!;
    t.clock.advance(3600_000);
    await asReader(t, r.pixel!);
    await asReader(t, r.clicks[0]!);
    const conv = await t.request('/api/v1/conversions', { method: 'POST', token: team.agent.token, json: { contactId: r.contactId, type: 'booking', value: 99, externalId: 'ORDER-RGPD-1' } });
    expect(conv.status).toBe(201);
    const exported = (await (await t.request(`/api/v1/contacts/${r.contactId}/export?format=json`, { token: team.admin.token })).json()) as {
      activity: { type: string; campaign: string; machine: boolean }[];
      conversions: { externalId: string; value: number; attribution: string }[];
    };
    expect(exported.activity.map((a) => [a.type, a.campaign, a.machine])).toEqual([
      ['open', 'Offres', false],
      ['click', 'Offres', false],
    ]);
    expect(exported.conversions).toMatchObject([{ externalId: 'ORDER-RGPD-1', value: 99, attribution: 'last_click' }]);

    const request = (await (await t.request('/api/v1/dsr-requests', { method: 'POST', token: team.admin.token, json: { contactId: r.contactId, type: 'erasure', channel: 'phone' } })).json()) as { id: string };
    expect((await t.request(`/api/v1/contacts/${r.contactId}/erasure`, { method: 'POST', token: team.admin.token, json: { requestId: request.id } })).status).toBe(200);
    expect((await eventsOf(r.sendId)).map((e) => e.user_agent)).toEqual([null, null]);
    const [row] = (await t.client.execute({ sql: 'SELECT external_id FROM conversions WHERE contact_id = ?', args: [r.contactId] })).rows;
    expect(row!.external_id).toBeNull();
    const stats = (await (await t.request(`/api/v1/campaigns/${c.campaignId}/stats`, { token: team.marketer.token })).json()) as { total: { counts: { uniqueHumanOpens: number; uniqueHumanClicks: number; conversions: number } } };
    expect(stats.total.counts).toMatchObject({ uniqueHumanOpens: 1, uniqueHumanClicks: 1, conversions: 1 });
    // And a later open of that old message is anonymous.
    await asReader(t, r.pixel!);
    expect(await eventsOf(r.sendId)).toHaveLength(2);
    expect(await anonymousOpens(c.campaignId)).toEqual({ human: 1, machine: 0 });
  });
});
