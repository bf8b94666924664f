/**
 * The DPO pages over app.request: admin only; script versions refused with the field named and
 * nothing written; the suppression search hashes the address and keeps it nowhere; retention
 * validation; the ledger shows its events and names the event where the chain breaks.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { makeScripts, unique } from '../helpers/factories.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.dispose());

const ORIGIN = { origin: 'http://localhost' };
const page = (path: string, token: string) => t.request(path, { headers: { cookie: `session=${token}`, accept: 'text/html' } });
const post = (path: string, token: string, fields: Record<string, string>) =>
  t.request(path, { method: 'POST', headers: { cookie: `session=${token}`, accept: 'text/html', ...ORIGIN }, body: new URLSearchParams(fields) });

async function team() {
  const tm = await t.workspaceWithTeam();
  return { ...tm, scripts: await makeScripts(t.db, tm.workspace) };
}
type Team = Awaited<ReturnType<typeof team>>;

async function capture(tm: Team, email = `${unique('lead')}@example.test`) {
  const res = await t.request('/api/v1/consents', {
    method: 'POST',
    token: tm.agent.token,
    json: {
      contact: { email, firstName: 'Marie', lastName: 'Dupont' },
      call: { ref: unique('CALL'), basis: 'inbound_call', campaign: 'Voyage à Rome' },
      answers: [
        { purpose: 'newsletter', answer: 'granted', scriptId: tm.scripts.newsletter.id },
        { purpose: 'open_tracking', answer: 'refused', scriptId: tm.scripts.open_tracking.id },
      ],
    },
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { contact: { id: string; email: string }; events: { id: string; seq: number; hash: string }[] };
}

const PAGES = ['/admin/compliance', '/admin/scripts', '/admin/ledger', '/admin/retention', '/admin/suppressions', '/admin/workspace', '/admin/workspace/preview', '/admin/requests'];

describe('access', () => {
  it('lets admins in and refuses marketers and agents on every page (403)', async () => {
    const tm = await team();
    for (const path of PAGES) {
      expect((await page(path, tm.admin.token)).status, path).toBe(200);
      expect((await page(path, tm.marketer.token)).status, path).toBe(403);
      expect((await page(path, tm.agent.token)).status, path).toBe(403);
    }
    for (const [path, fields] of [
      ['/admin/scripts', { purpose: 'newsletter', label: 'x', text: 'x' }],
      ['/admin/retention', { retentionDays: '400' }],
      ['/admin/retention/run', { confirm: 'yes' }],
      ['/admin/suppressions', { email: 'a@b.example', reason: 'admin' }],
      ['/admin/suppressions/search', { email: 'a@b.example' }],
      ['/admin/ledger/verify', {}],
    ] as const) {
      expect((await post(path, tm.marketer.token, fields)).status, path).toBe(403);
    }
  });
});

describe('hub', () => {
  it('shows the chain status and the figures', async () => {
    const tm = await team();
    await capture(tm);
    await capture(tm);
    const html = await (await page('/admin/compliance', tm.admin.token)).text();
    expect(html).toContain('intacte');
    expect(html).toContain('4 événements vérifiés');
    expect(html).toContain('2 contacts actifs');
    expect(html).toMatch(/Newsletter[\s\S]*?<td class="num">2<\/td>/);
  });
});

describe('consent scripts', () => {
  it('lists versions with the current one, hash and usage, and creates the next version', async () => {
    const tm = await team();
    await capture(tm);
    const html = await (await page('/admin/scripts', tm.admin.token)).text();
    expect(html).toContain(tm.scripts.newsletter.sha256);
    expect(html).toContain('version en cours');
    expect(html).toContain('1 réponse enregistrée avec cette version');
    expect(html).toContain('jamais modifiable');

    const text = `${tm.workspace.name} vous propose sa newsletter. Vous pouvez vous désinscrire à tout moment. Politique de confidentialité : ${tm.workspace.privacyUrl}.`;
    const res = await post('/admin/scripts', tm.admin.token, { purpose: 'newsletter', label: 'Newsletter v2', text });
    expect(res.status).toBe(303);
    const after = await (await page(res.headers.get('location')!, tm.admin.token)).text();
    expect(after).toContain('Version 2 de « newsletter » enregistrée');
    const rows = await t.client.execute({ sql: "SELECT version FROM consent_scripts WHERE workspace_id = ? AND purpose = 'newsletter' ORDER BY version", args: [tm.workspace.id] });
    expect(rows.rows.map((r) => Number(r.version))).toEqual([1, 2]);
  });

  it('refuses a 21st purpose on the form, next to the purpose field, in French, creating nothing', async () => {
    const tm = await team();
    const text = `${tm.workspace.name} vous propose ces offres. Vous pouvez retirer votre accord à tout moment. Politique de confidentialité : ${tm.workspace.privacyUrl}.`;
    for (let i = 3; i <= 20; i++) {
      const created = await t.request('/api/v1/consent-scripts', { method: 'POST', token: tm.admin.token, json: { purpose: `purpose_${i}`, label: `P${i}`, text } });
      expect(created.status).toBe(201);
    }
    const before = await t.dumpDatabase();
    const res = await post('/admin/scripts', tm.admin.token, { purpose: 'purpose_21', label: 'P21', text });
    expect(res.status).toBe(409);
    expect(await res.text()).toMatch(/id="purpose-error"[^>]*>Finalité : 20 au plus par espace/);
    expect(await t.dumpDatabase()).toBe(before);
  });

  it('refuses a wording that misses Art. 13 information: 400 naming the field, nothing created', async () => {
    const tm = await team();
    const before = await t.dumpDatabase();
    const res = await post('/admin/scripts', tm.admin.token, { purpose: 'partners', label: 'Partenaires', text: 'Acceptez-vous de recevoir les offres de nos partenaires ?' });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('Texte lu à la personne : il doit');
    expect(html).toContain('nommer le responsable de traitement');
    expect(html).toContain('dire où lire la politique de confidentialité');
    expect(html).toContain('aria-invalid="true"');
    // The typed text stays in the form.
    expect(html).toContain('Acceptez-vous de recevoir les offres de nos partenaires ?');
    const badPurpose = await post('/admin/scripts', tm.admin.token, { purpose: 'Bad Purpose', label: 'x', text: `${tm.workspace.name} : désinscription à tout moment, politique de confidentialité en ligne.` });
    expect(badPurpose.status).toBe(400);
    expect(await badPurpose.text()).toContain('Finalité : lettres minuscules');
    expect(await t.dumpDatabase()).toBe(before);
  });

  it('the live check answers the same problems in French', async () => {
    const tm = await team();
    const res = await t.request('/admin/scripts/check', {
      method: 'POST',
      headers: { cookie: `session=${tm.admin.token}`, 'content-type': 'application/json', ...ORIGIN },
      body: JSON.stringify({ text: `${tm.workspace.name} vous écrit. Vous pouvez retirer votre accord à tout moment.` }),
    });
    expect(await res.json()).toEqual({ problems: ['dire où lire la politique de confidentialité'] });
  });
});

describe('suppression list', () => {
  it('finds a suppressed address by its keyed hash; the typed address is stored nowhere', async () => {
    const tm = await team();
    const email = `${unique('optout')}@example.test`;
    const added = await post('/admin/suppressions', tm.admin.token, { email, reason: 'admin' });
    expect(added.status).toBe(303);
    const list = await (await page(added.headers.get('location')!, tm.admin.token)).text();
    expect(list).toContain('Adresse ajoutée à la liste d’opposition.');
    expect(list).toMatch(/Décision de l’administrateur<\/td><td class="num">1</);

    // Typed with other case and spaces: normalised before hashing.
    const search = await post('/admin/suppressions/search', tm.admin.token, { email: `  ${email.toUpperCase()} ` });
    expect(search.status).toBe(200);
    expect(search.headers.get('cache-control')).toBe('no-store');
    expect(await search.text()).toContain('Adresse exclue de tout envoi depuis le');

    const unknown = await post('/admin/suppressions/search', tm.admin.token, { email: `${unique('nobody')}@example.test` });
    expect(await unknown.text()).toContain('n’est pas sur la liste d’opposition');

    const dump = (await t.dumpDatabase()).toLowerCase();
    expect(dump).not.toContain(email.toLowerCase());
    const audit = await t.client.execute({ sql: "SELECT details FROM audit_log WHERE workspace_id = ? AND action = 'suppression.added'", args: [tm.workspace.id] });
    expect(audit.rows).toHaveLength(1);
  });

  it('names the field of a bad address or reason (400), and writes nothing', async () => {
    const tm = await team();
    const before = await t.dumpDatabase();
    const bad = await post('/admin/suppressions/search', tm.admin.token, { email: 'not-an-address' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('Adresse e-mail : ce n’est pas une adresse valide.');
    const badAdd = await post('/admin/suppressions', tm.admin.token, { email: 'x@y.example', reason: 'erased' });
    expect(badAdd.status).toBe(400);
    expect(await badAdd.text()).toContain('Motif : choisissez un motif dans la liste.');
    expect(await t.dumpDatabase()).toBe(before);
  });
});

describe('retention', () => {
  it('validates the duration naming the field (CNIL: 3 years at most) and saves a valid one', async () => {
    const tm = await team();
    const before = await t.dumpDatabase();
    const tooLong = await post('/admin/retention', tm.admin.token, { retentionDays: '1200' });
    expect(tooLong.status).toBe(400);
    const html = await tooLong.text();
    expect(html).toContain('Durée de conservation des prospects : 1095 jours au plus (CNIL : 3 ans pour les prospects).');
    expect(html).toContain('value="1200"');
    expect((await post('/admin/retention', tm.admin.token, { retentionDays: 'abc' })).status).toBe(400);
    expect((await post('/admin/retention', tm.admin.token, { retentionDays: '10' })).status).toBe(400);
    expect(await t.dumpDatabase()).toBe(before);

    const ok = await post('/admin/retention', tm.admin.token, { retentionDays: '730' });
    expect(ok.status).toBe(303);
    const ws = await t.client.execute({ sql: 'SELECT settings FROM workspaces WHERE id = ?', args: [tm.workspace.id] });
    expect(JSON.parse(String(ws.rows[0]!.settings)).retentionDays).toBe(730);
    expect(await (await page(ok.headers.get('location')!, tm.admin.token)).text()).toContain('Durée de conservation enregistrée.');
  });

  it('runs the purge on demand (with confirmation) and lists it in the purge log', async () => {
    const tm = await team();
    const lead = await capture(tm);
    // Four years pass without any sign from the prospect.
    await t.client.execute({ sql: 'UPDATE contacts SET last_prospect_action_at = ? WHERE id = ?', args: [t.clock.now().getTime() - 4 * 365 * 86_400_000, lead.contact.id] });
    const dueHtml = await (await page('/admin/retention', tm.admin.token)).text();
    expect(dueHtml).toContain('1 contact a dépassé la durée de conservation.');

    const unconfirmed = await post('/admin/retention/run', tm.admin.token, {});
    expect(unconfirmed.headers.get('location')).toBe('/admin/retention?error=confirm');
    expect((await t.client.execute({ sql: 'SELECT erased_at FROM contacts WHERE id = ?', args: [lead.contact.id] })).rows[0]!.erased_at).toBeNull();

    const run = await post('/admin/retention/run', tm.admin.token, { confirm: 'yes' });
    expect(run.headers.get('location')).toBe('/admin/retention?ok=ran&erased=1');
    const html = await (await page(run.headers.get('location')!, tm.admin.token)).text();
    expect(html).toContain('Purge effectuée : 1 contact effacé.');
    expect(html).toContain(tm.admin.name);
    expect(html).toContain('1 contact effacé au total');
    // One run in the log, not two (the job's own entry and the request are one run).
    expect(html.match(/<td>1\s?095 jours<\/td>/g)).toHaveLength(1);
  });
});

describe('ledger', () => {
  it('shows the events newest first with filters, and the chain verification; then the broken event after tampering', async () => {
    const tm = await team();
    const first = await capture(tm);
    await capture(tm);
    const third = await capture(tm);
    let html = await (await page('/admin/ledger', tm.admin.token)).text();
    expect(html).toContain('intacte');
    expect(html).toContain('6 événements vérifiés');
    expect(html.indexOf('id="evt-6"')).toBeLessThan(html.indexOf('id="evt-1"'));
    expect(html).toContain(third.events[1]!.hash);

    // Filters: by contact email (any case), by action.
    html = await (await page(`/admin/ledger?email=${encodeURIComponent(first.contact.email.toUpperCase())}`, tm.admin.token)).text();
    expect(html).toContain('id="evt-1"');
    expect(html).not.toContain('id="evt-3"');
    html = await (await page('/admin/ledger?action=refused', tm.admin.token)).text();
    expect(html.match(/id="evt-\d+"/g)).toEqual(['id="evt-6"', 'id="evt-4"', 'id="evt-2"']);
    const bad = await (await page('/admin/ledger?email=nope', tm.admin.token)).text();
    expect(bad).toContain('E-mail du contact : ce n’est pas une adresse e-mail valide.');

    // Pagination by cursor.
    html = await (await page('/admin/ledger?before=3', tm.admin.token)).text();
    expect(html.match(/id="evt-\d+"/g)).toEqual(['id="evt-2"', 'id="evt-1"']);

    // Explicit verification is recorded in the audit log.
    const verify = await post('/admin/ledger/verify', tm.admin.token, {});
    expect(verify.headers.get('location')).toBe('/admin/ledger?ok=verified');
    const audit = await t.client.execute({ sql: "SELECT details FROM audit_log WHERE workspace_id = ? AND action = 'consent_ledger.verified'", args: [tm.workspace.id] });
    expect(JSON.parse(String(audit.rows[0]!.details))).toMatchObject({ ok: true, count: 6 });

    // Tampering, as someone with database access could: the triggers dropped, event 4 edited.
    await t.client.execute('DROP TRIGGER consent_events_no_update');
    await t.client.execute('DROP TRIGGER consent_events_no_delete');
    try {
      await t.client.execute({ sql: "UPDATE consent_events SET action = 'granted' WHERE workspace_id = ? AND seq = 4", args: [tm.workspace.id] });
      html = await (await page('/admin/ledger', tm.admin.token)).text();
      expect(html).toContain('rompue');
      expect(html).toContain('Chaîne rompue à l’événement n° 4.');
      expect(html).toContain('l’empreinte ne correspond plus au contenu');
      expect(html).toMatch(/<tr id="evt-4" class="broken">/);
      const hub = await (await page('/admin/compliance', tm.admin.token)).text();
      expect(hub).toContain('Chaîne rompue à l’événement n° 4.');
    } finally {
      await t.client.execute({ sql: "UPDATE consent_events SET action = 'refused' WHERE workspace_id = ? AND seq = 4", args: [tm.workspace.id] });
      const statements = readFileSync('drizzle/0003_ledger_append_only.sql', 'utf8').split('--> statement-breakpoint').slice(0, 2);
      for (const statement of statements) await t.client.execute(statement.replace(/^--.*$/gm, '').trim());
    }
  });
});

describe('workspace footer preview', () => {
  it('renders the mandatory blocks from the email layout, with its own CSP, and previews unsaved values', async () => {
    const tm = await team();
    const pageHtml = await (await page('/admin/workspace', tm.admin.token)).text();
    expect(pageHtml).toContain('<iframe id="footer-preview"');
    const res = await page('/admin/workspace/preview', tm.admin.token);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'self'");
    expect(res.headers.get('content-security-policy')).toContain('sandbox');
    const html = await res.text();
    for (const block of ['cn-block-unsubscribe', 'cn-block-reason', 'cn-block-identity', 'cn-block-privacy']) expect(html).toContain(block);
    expect(html).toContain(tm.workspace.legalName);
    expect(html).toContain(tm.workspace.privacyUrl);
    expect(html).toContain('/preview-link/unsubscribe');

    const live = await (await page(`/admin/workspace/preview?legalName=${encodeURIComponent('Nouvelle <Raison> SAS')}&privacyUrl=javascript:alert(1)`, tm.admin.token)).text();
    expect(live).toContain('Nouvelle &lt;Raison&gt; SAS');
    expect(live).not.toContain('javascript:');
    expect(live).toContain(tm.workspace.privacyUrl);
  });

  it('names workspace fields in French on a bad value', async () => {
    const tm = await team();
    const res = await post('/admin/workspace', tm.admin.token, {
      name: 'X', legalName: 'X SAS', addressLine: '1 rue', postalCode: '75001', city: 'Paris', country: 'FR', contactEmail: 'nope', contactPhone: '01', privacyUrl: 'https://x.test/p',
      dpoContact: 'dpo@x.test', senderName: 'X', senderEmail: 'news@x.test', replyTo: '', retentionDays: '2000', attributionWindowDays: '30',
    });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('E-mail de contact : n’est pas une adresse e-mail valide');
    expect(html).toContain('doit valoir au plus 1095');
  });
});

describe('data-subject requests', () => {
  it('lists open requests by due date, overdue in red with "en retard", due within 7 days highlighted', async () => {
    const tm = await team();
    const a = await capture(tm);
    const b = await capture(tm);
    const c = await capture(tm);
    const now = t.clock.now().getTime();
    const day = 86_400_000;
    const log = (contactId: string, receivedAt: number) =>
      t.request('/api/v1/dsr-requests', { method: 'POST', token: tm.admin.token, json: { contactId, type: 'access', channel: 'phone', receivedAt: new Date(receivedAt).toISOString() } });
    expect((await log(a.contact.id, now - 10 * day)).status).toBe(201); // due in ~20 days
    expect((await log(b.contact.id, now - 40 * day)).status).toBe(201); // overdue
    expect((await log(c.contact.id, now - 27 * day)).status).toBe(201); // due in ~3-4 days
    const html = await (await page('/admin/requests', tm.admin.token)).text();
    const rows = [...html.matchAll(/<tr( class="due-(\w+)")?><td>[^<]*/g)].map((m) => m[2] ?? 'normal');
    expect(rows).toEqual(['overdue', 'soon', 'normal']);
    expect(html).toContain('<span class="pill err">en retard</span>');
    expect(html).toMatch(/<span class="pill warn">dans \d jours<\/span>/);
  });
});
