/** The contact directory pages: search and filters, pagination, profile, CSV export, roles and isolation. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { seedAudience } from '../helpers/audience.js';
import { makeScripts, unique } from '../helpers/factories.js';
import { asReader, trackedCampaign } from '../helpers/tracked-campaign.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.dispose());

async function team() {
  const tm = await t.workspaceWithTeam();
  const scripts = await makeScripts(t.db, tm.workspace);
  return { ...tm, scripts };
}
type Team = Awaited<ReturnType<typeof team>>;

const page = (tm: Team, path: string, role: 'admin' | 'marketer' | 'agent' = 'admin') => t.request(path, { headers: { cookie: `session=${tm[role].token}`, accept: 'text/html' } });

async function capture(tm: Team, contact: Record<string, unknown>, newsletter: 'granted' | 'refused' = 'granted', campaign = 'Voyage à Rome') {
  const res = await t.request('/api/v1/consents', {
    method: 'POST',
    token: tm.agent.token,
    json: {
      contact,
      call: { ref: unique('CALL'), basis: 'inbound_call', campaign },
      answers: [
        { purpose: 'newsletter', answer: newsletter, scriptId: tm.scripts.newsletter.id },
        { purpose: 'open_tracking', answer: 'granted', scriptId: tm.scripts.open_tracking.id },
      ],
    },
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { contact: { id: string }; events: { hash: string }[] }).contact.id;
}

/** The contact links of a list page, in order. */
const listed = (html: string) => [...html.matchAll(/<a href="\/contacts\/(ct_[^"]+)">/g)].map((m) => m[1]!);

describe('roles', () => {
  it('keeps every contacts page and the export to admins (403 for marketers and agents)', async () => {
    const tm = await team();
    const id = await capture(tm, { email: `${unique('r')}@example.test` });
    for (const role of ['marketer', 'agent'] as const) {
      for (const path of ['/contacts', '/contacts/export.csv', '/contacts/import', `/contacts/${id}`]) {
        const res = await page(tm, path, role);
        expect(res.status, `${role} ${path}`).toBe(403);
      }
      const post = await t.request('/contacts/import', { method: 'POST', headers: { cookie: `session=${tm[role].token}`, origin: 'http://localhost' }, body: new FormData() });
      expect(post.status).toBe(403);
    }
    const anonymous = await t.request('/contacts');
    expect(anonymous.status).toBe(303);
  });
});

describe('list and search', () => {
  it('finds contacts by name, email part or phone in any writing, and filters by consent, owner and campaign', async () => {
    const tm = await team();
    const marie = await capture(tm, { email: `marie.${unique('d')}@example.test`, firstName: 'Marie', lastName: 'Dupont', phone: '06 12 34 56 78' });
    const jean = await capture(tm, { email: `jean.${unique('m')}@example.test`, firstName: 'Jean', lastName: 'Martin', phone: '07 98 76 54 32' }, 'refused', 'Voyage à Lisbonne');
    const seeded = await seedAudience(t.client, tm.workspace.id, 3, { prefix: unique('s'), confirmed: true, ownerAgentId: tm.admin.id });
    const other = await team();
    const outsider = await capture(other, { email: `marie.${unique('o')}@example.test`, firstName: 'Marie', lastName: 'Dupont' });

    const all = await page(tm, '/contacts');
    expect(all.status).toBe(200);
    const html = await all.text();
    expect(listed(html).sort()).toEqual([marie, jean, ...seeded].sort());
    expect(html).not.toContain(outsider);
    expect(html).toContain('5 contacts');
    expect(html).toContain('06 12 34 56 78');

    const q = async (query: string) => listed(await (await page(tm, `/contacts?${query}`)).text());
    expect(await q('q=dupont')).toEqual([marie]);
    expect(await q('q=marie%20dupont')).toEqual([marie]);
    expect(await q('q=jean.')).toEqual([jean]);
    expect(await q(`q=${encodeURIComponent('+33798765432')}`)).toEqual([jean]);
    expect(await q(`q=${encodeURIComponent('07.98.76.54.32')}`)).toEqual([jean]);
    expect(await q('q=5678')).toEqual([marie]);
    // A % typed by someone is a character, not "everything".
    expect(await q('q=%25')).toEqual([]);
    expect(await q('newsletter=pending')).toEqual([marie]);
    expect(await q('newsletter=refused')).toEqual([jean]);
    expect((await q('newsletter=confirmed')).sort()).toEqual([...seeded].sort());
    expect((await q('openTracking=none')).sort()).toEqual([...seeded].sort());
    expect((await q(`owner=${tm.agent.id}`)).sort()).toEqual([marie, jean].sort());
    expect(await q(`campaign=${encodeURIComponent('Voyage à Lisbonne')}`)).toEqual([jean]);
    expect(await q(`q=dupont&newsletter=refused`)).toEqual([]);

    const empty = await (await page(tm, '/contacts?q=personne-inexistante')).text();
    expect(empty).toContain('Aucun contact ne correspond.');
  });

  it('pages by 50 and keeps the filter in the page links', async () => {
    const tm = await team();
    const ids = await seedAudience(t.client, tm.workspace.id, 120, { prefix: unique('p'), confirmed: true });
    const first = await (await page(tm, '/contacts?newsletter=confirmed')).text();
    expect(listed(first)).toHaveLength(50);
    expect(first).toContain('Page 1 sur 3');
    expect(first).toContain('href="/contacts?newsletter=confirmed&amp;page=2"');
    const third = listed(await (await page(tm, '/contacts?newsletter=confirmed&page=3')).text());
    expect(third).toHaveLength(20);
    const second = listed(await (await page(tm, '/contacts?newsletter=confirmed&page=2')).text());
    expect(new Set([...listed(first), ...second, ...third]).size).toBe(120);
    expect(new Set([...listed(first), ...second, ...third])).toEqual(new Set(ids));
  });

  it('redirects the old /admin/contacts search to /contacts with its query', async () => {
    const tm = await team();
    const res = await page(tm, '/admin/contacts?q=marie%40example.test');
    expect(res.status).toBe(301);
    expect(res.headers.get('location')).toBe('/contacts?q=marie%40example.test');
  });
});

describe('profile', () => {
  it('shows identity, consents, the ledger with script hash, evidence and event hash, and links to proof and rights', async () => {
    const tm = await team();
    const email = `${unique('p')}@example.test`;
    const id = await capture(tm, { email, firstName: 'Léa', lastName: 'Roux', phone: '06 11 22 33 44' });
    const res = await page(tm, `/contacts/${id}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<h1>Léa Roux</h1>');
    expect(html).toContain(email);
    expect(html).toContain('Voyage à Rome');
    expect(html).toContain('À confirmer');
    expect(html).toContain(tm.scripts.newsletter.sha256.slice(0, 12));
    expect(html).toContain(tm.scripts.open_tracking.sha256.slice(0, 12));
    expect(html).toContain(tm.agent.name);
    const [event] = (await t.client.execute({ sql: 'SELECT hash FROM consent_events WHERE contact_id = ? ORDER BY seq', args: [id] })).rows;
    expect(html).toContain(String(event!.hash).slice(0, 16));
    expect(html).toContain('via : api');
    expect(html).toContain('ip : 203.0.113.1');
    expect(html).toContain(`href="/admin/contacts/${id}/proof"`);
    expect(html).toContain(`/api/v1/contacts/${id}/export?format=json`);
    expect(html).toContain(`action="/admin/contacts/${id}/erase"`);
  });

  it('answers 404 for another workspace’s contact', async () => {
    const tm = await team();
    const other = await team();
    const email = `${unique('x')}@example.test`;
    const id = await capture(other, { email });
    const res = await page(tm, `/contacts/${id}`);
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain(email);
  });

  it('shows an erased person as erased, without their data', async () => {
    const tm = await team();
    const email = `${unique('e')}@example.test`;
    const id = await capture(tm, { email, firstName: 'Effacée', phone: '06 55 44 33 22' });
    const erased = await t.request(`/api/v1/contacts/${id}/erasure`, { method: 'POST', token: tm.admin.token, json: {} });
    expect(erased.status).toBe(200);
    const html = await (await page(tm, `/contacts/${id}`)).text();
    expect(html).toContain('Personne effacée');
    expect(html).not.toContain(email);
    expect(html).not.toContain('Effacée</');
    expect(html).not.toContain('06 55 44 33 22');
    expect(html).not.toContain('/erase"');
    expect(listed(await (await page(tm, '/contacts')).text())).not.toContain(id);
  });

  it('lists the newsletters sent with delivery and human/machine opens and clicks, and each event with its verdict', async () => {
    const tm = await team();
    const c = await trackedCampaign(t, tm, [{ prefix: unique('t'), n: 1, openTracking: true }]);
    t.clock.advance(3600_000);
    const r = c.recipients[0]!;
    await asReader(t, r.pixel!, { ua: 'Mozilla/5.0' }); // Apple Mail Privacy Protection: a machine
    await asReader(t, r.clicks[0]!);
    const html = await (await page(tm, `/contacts/${r.contactId}`)).text();
    expect(html).toContain('Newsletters envoyées');
    expect(html).toMatch(/<td data-label="Campagne">Offres<div class="muted small">/);
    expect(html).toContain('<td data-label="Ouvertures (humaines / machines)">0 / 1</td>'); // 0 human, 1 machine (Apple MPP)
    expect(html).toContain('<td data-label="Clics (humains / machines)">1 / 0</td>');
    expect(html).toContain('Ouverture');
    expect(html).toMatch(/pill warn">Machine<\/span><span class="muted small"> [a-z_]+/);
    expect(html).toContain('pill ok">Humain');
  });
});

describe('CSV export', () => {
  it('streams the filtered contacts with a documented header row, leaves the erased out, and is audited', async () => {
    const tm = await team();
    const keep = await capture(tm, { email: `keep.${unique('k')}@example.test`, firstName: 'Anne', lastName: 'Durand, "AD"', phone: '06 10 20 30 40' });
    const refused = await capture(tm, { email: `no.${unique('n')}@example.test` }, 'refused');
    const gone = await capture(tm, { email: `gone.${unique('g')}@example.test` });
    await t.request(`/api/v1/contacts/${gone}/erasure`, { method: 'POST', token: tm.admin.token, json: {} });

    const res = await page(tm, '/contacts/export.csv?newsletter=granted');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/csv');
    expect(res.headers.get('content-disposition')).toMatch(/attachment; filename="contacts-\d{4}-\d{2}-\d{2}\.csv"/);
    const text = await res.text();
    const lines = text.replace(/^\uFEFF/, '').trim().split('\r\n');
    expect(lines[0]).toBe('id,email,phone,first_name,last_name,newsletter,newsletter_confirmed_at,open_tracking,owner_agent,source_campaign,created_at,last_prospect_action_at,attributes');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(keep);
    expect(lines[1]).toContain('"Durand, ""AD"""');
    // A leading + is what a spreadsheet would run as a formula: the shared CSV writer quotes it away.
    expect(lines[1]).toContain(",'+33610203040,");
    expect(lines[1]).toContain(',granted,,granted,');
    expect(text).not.toContain(refused);
    expect(text).not.toContain(gone);

    const all = await (await page(tm, '/contacts/export.csv')).text();
    expect(all).toContain(refused);
    expect(all).not.toContain(gone);

    const audit = await t.client.execute({ sql: "SELECT actor_id, details FROM audit_log WHERE workspace_id = ? AND action = 'contacts.exported' ORDER BY at", args: [tm.workspace.id] });
    expect(audit.rows).toHaveLength(2);
    expect(audit.rows[0]!.actor_id).toBe(tm.admin.id);
    expect(JSON.parse(String(audit.rows[0]!.details))).toEqual({ filter: { newsletter: 'granted' }, rows: 1, format: 'csv' });
    expect(JSON.parse(String(audit.rows[1]!.details))).toMatchObject({ filter: {}, rows: 2 });
  });

  it('pages through a large audience without losing or repeating anyone', async () => {
    const tm = await team();
    const ids = await seedAudience(t.client, tm.workspace.id, 2345, { prefix: unique('big') });
    const text = await (await page(tm, '/contacts/export.csv')).text();
    const rows = text.trim().split('\r\n').slice(1).map((l) => l.split(',')[0]);
    expect(rows).toHaveLength(2345);
    expect(new Set(rows)).toEqual(new Set(ids));
  });
});
