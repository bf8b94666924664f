/**
 * CSV import with consent: upload → mapping → dry run row by row → import. Only provable consents
 * reach the ledger (script hash, import evidence, the row's date); every other row is refused with
 * its number and reason; re-importing is idempotent; a failing batch writes nothing; the chain verifies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/domain/consent/chain.js';
import { MAX_IMPORT_BYTES, parseConsentDate, readCsvFile } from '../../src/domain/contacts/import.js';
import { emailHash, suppress } from '../../src/domain/privacy/suppressions.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { makeScripts, unique } from '../helpers/factories.js';

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

async function post(tm: Team, path: string, fields: Record<string, string | File>, role: 'admin' | 'agent' | 'marketer' = 'admin') {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  return t.request(path, { method: 'POST', headers: { cookie: `session=${tm[role].token}`, origin: 'http://localhost', accept: 'text/html' }, body: fd });
}

const fileOf = (content: string | Uint8Array, name = 'leads.csv') => new File([content as BlobPart], name, { type: 'text/csv' });
const hidden = (html: string, name: string) => new RegExp(`<input type="hidden" name="${name}" value="([^"]*)"`).exec(html)?.[1] ?? null;
const selected = (html: string, name: string) => new RegExp(`<select id="map-${name}" name="${name}"[^>]*>(?:(?!</select>).)*?<option value="(\\d*)" selected`, 's').exec(html)?.[1] ?? '';

/** The report table: row number → [outcome, email, reason text]. */
function reportOf(html: string): Map<number, { outcome: string; email: string; reason: string }> {
  const out = new Map<number, { outcome: string; email: string; reason: string }>();
  for (const m of html.matchAll(/<tr class="ct-(\w+)"><td[^>]*>(\d+)<\/td><td[^>]*>([^<]*)<\/td><td[^>]*>.*?<\/td><td[^>]*>([^<]*)<\/td><\/tr>/g)) {
    out.set(Number(m[2]), { outcome: m[1]!, email: m[3]!, reason: m[4]!.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&') });
  }
  return out;
}

const MAPPING = { email: '0', firstName: '1', lastName: '2', phone: '3', consent: '4', consentAt: '5', channel: '6', evidence: '7', source: '8', channelDefault: '' };

/** Runs the upload step and returns what the next steps carry. */
async function upload(tm: Team, content: string | Uint8Array, name = 'leads.csv') {
  const res = await post(tm, '/contacts/import', { step: 'upload', file: fileOf(content, name) });
  const html = await res.text();
  return { res, html, carried: { file: hidden(html, 'file') ?? '', fileName: hidden(html, 'fileName') ?? '' } };
}

async function step(tm: Team, carried: { file: string; fileName: string }, fields: Record<string, string>, path = '/contacts/import') {
  return post(tm, path, { ...carried, ...MAPPING, ...fields });
}

function mixedFile(tm: Team, s: { suppressed: string; captured: string; dup: string }) {
  const rows = [
    'E-mail;Prénom;Nom;Téléphone;Consentement;Date du consentement;Canal;Référence;Agent',
    `${s.dup};Marie;"Dupont; Jr";06 11 22 33 44;oui;01/10/2026 10:30;téléphone;CALL-1;${tm.agent.email}`, // 2 ok (phone)
    'web.ok@example.test;Jean;Martin;;yes;2026-10-02T08:00:00Z;web;https://voyage.example/inscription;Salon du voyage', // 3 ok (web)
    'said.no@example.test;;;;non;01/10/2026;téléphone;CALL-3;', // 4
    'blank.consent@example.test;;;;;01/10/2026;téléphone;CALL-4;', // 5
    'no.date@example.test;;;;oui;;téléphone;CALL-5;', // 6
    'future@example.test;;;;oui;01/01/2027 10:00;téléphone;CALL-6;', // 7
    'bad.date@example.test;;;;oui;31/02/2026;téléphone;CALL-7;', // 8
    'no.ref@example.test;;;;oui;01/10/2026;téléphone;;', // 9
    'no.url@example.test;;;;oui;01/10/2026;web;;', // 10
    'not-an-email;;;;oui;01/10/2026;téléphone;CALL-10;', // 11
    'bad.phone@example.test;;;12;oui;01/10/2026;téléphone;CALL-11;', // 12
    `${s.suppressed};;;;oui;01/10/2026;téléphone;CALL-12;`, // 13
    `${s.dup.toUpperCase()};;;;oui;02/10/2026;téléphone;CALL-13;`, // 14 same address as row 2
    `${s.captured};;;;oui;01/10/2026;téléphone;CALL-14;`, // 15 the ledger has a newer answer
    'too.old@example.test;;;;oui;01/01/2020;téléphone;CALL-15;', // 16 beyond retention
    'no.channel@example.test;;;;oui;01/10/2026;;CALL-16;', // 17
    'odd.answer@example.test;;;;peut-être;01/10/2026;téléphone;CALL-17;', // 18
    'odd.channel@example.test;;;;oui;01/10/2026;fax;CALL-18;', // 19
    'bad.url@example.test;;;;oui;01/10/2026;web;pas une url;', // 20
  ];
  return `\uFEFF${rows.join('\r\n')}\r\n`;
}

async function setupMixed() {
  const tm = await team();
  const suppressed = `${unique('unsub')}@example.test`;
  await suppress(t.db, tm.workspace.id, await emailHash(t.db, tm.workspace.id, suppressed), 'unsubscribed', {}, new Date('2026-09-01T00:00:00Z'));
  const captured = `${unique('captured')}@example.test`;
  const res = await t.request('/api/v1/consents', {
    method: 'POST',
    token: tm.agent.token,
    json: {
      contact: { email: captured },
      call: { ref: 'LIVE-1', basis: 'inbound_call' },
      answers: [
        { purpose: 'newsletter', answer: 'refused', scriptId: tm.scripts.newsletter.id },
        { purpose: 'open_tracking', answer: 'refused', scriptId: tm.scripts.open_tracking.id },
      ],
    },
  });
  expect(res.status).toBe(201);
  const dup = `${unique('marie')}@example.test`;
  return { tm, csv: mixedFile(tm, { suppressed, captured, dup }), suppressed, captured, dup };
}

const expectedRefusals: Record<number, RegExp> = {
  4: /n’a pas consenti/,
  5: /consentement non renseigné/,
  6: /date du consentement manquante/,
  7: /date dans le futur/,
  8: /date illisible « 31\/02\/2026 »/,
  9: /appel sans référence/,
  10: /formulaire web sans adresse/,
  11: /e-mail invalide/,
  12: /téléphone invalide « 12 »/,
  13: /liste d’opposition \(désinscription\)/,
  14: /même adresse qu’à la ligne 2/,
  15: /réponse plus récente \(Refusé le/,
  16: /plus ancien que la durée de conservation/,
  17: /mode de recueil non indiqué/,
  18: /réponse illisible « peut-être »/,
  19: /mode de recueil inconnu « fax »/,
  20: /adresse du formulaire invalide/,
};

describe('import with consent', () => {
  it('maps the columns, reports every refused row with its reason, imports only provable consents, and is idempotent', async () => {
    const { tm, csv, dup } = await setupMixed();
    const { res, html, carried } = await upload(tm, csv, 'salon-2026.csv');
    expect(res.status).toBe(200);
    // The mapping step guesses from the header names, and offers the workspace's script versions.
    for (const [field, index] of Object.entries(MAPPING)) if (field !== 'channelDefault') expect(selected(html, field), field).toBe(index);
    expect(html).toContain(tm.scripts.newsletter.sha256.slice(0, 12));
    expect(html).toContain('séparateur « ; »');
    const bytes = new TextEncoder().encode(csv);
    const sha = [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
    expect(html).toContain(sha);

    // Dry run: the report row by row, and nothing written.
    const before = await t.dumpDatabase();
    const dry = await step(tm, carried, { step: 'dryrun', scriptId: tm.scripts.newsletter.id });
    expect(dry.status).toBe(200);
    const dryHtml = await dry.text();
    expect(await t.dumpDatabase()).toBe(before);
    expect(dryHtml).toContain('rien n’a encore été importé');
    const report = reportOf(dryHtml);
    expect([...report.keys()]).toEqual(Array.from({ length: 19 }, (_, i) => i + 2));
    expect(report.get(2)).toMatchObject({ outcome: 'accepted', email: dup });
    expect(report.get(3)).toMatchObject({ outcome: 'accepted' });
    for (const [row, reason] of Object.entries(expectedRefusals)) {
      expect(report.get(Number(row))?.outcome, `row ${row}`).toBe('refused');
      expect(report.get(Number(row))?.reason, `row ${row}`).toMatch(reason);
    }
    expect(dryHtml).toContain('2 lignes à importer');
    expect(dryHtml).toContain('17 lignes refusées');
    expect(dryHtml).toContain('1 e-mail de confirmation sera envoyé');
    expect(dryHtml).toContain('Importer 2 lignes');

    // The import.
    const done = await step(tm, carried, { step: 'commit', scriptId: tm.scripts.newsletter.id });
    expect(done.status).toBe(200);
    const doneHtml = await done.text();
    expect(doneHtml).toContain('Import terminé : 2 lignes importées');
    expect(hidden(doneHtml, 'imported')).toBe('2-3');
    const after = reportOf(doneHtml);
    expect(after.get(2)?.outcome).toBe('imported');
    expect(after.get(13)?.outcome).toBe('refused');

    const events = await t.client.execute({
      sql: `SELECT e.*, c.email, c.first_name, c.last_name, c.phone, c.owner_agent_id, c.source_campaign, v.data AS evidence
            FROM consent_events e JOIN contacts c ON c.id = e.contact_id LEFT JOIN consent_evidence v ON v.event_id = e.id
            WHERE e.workspace_id = ? AND e.actor_id = ? ORDER BY e.seq`,
      args: [tm.workspace.id, tm.admin.id],
    });
    expect(events.rows.map((r) => r.email)).toEqual([dup, 'web.ok@example.test']);
    const [phoneRow, webRow] = events.rows;
    expect(phoneRow).toMatchObject({
      purpose: 'newsletter',
      action: 'granted',
      channel: 'phone',
      actor_type: 'user',
      call_ref: 'CALL-1',
      script_id: tm.scripts.newsletter.id,
      script_sha256: tm.scripts.newsletter.sha256,
      occurred_at: Date.parse('2026-10-01T08:30:00Z'), // 10:30 in Paris (CEST)
      first_name: 'Marie',
      last_name: 'Dupont; Jr',
      phone: '+33611223344',
      owner_agent_id: tm.agent.id,
    });
    expect(JSON.parse(String(phoneRow!.evidence))).toEqual({ via: 'csv_import', fileSha256: sha, fileName: 'salon-2026.csv', row: '2', collectedVia: 'phone', callRef: 'CALL-1', agentId: tm.agent.id });
    expect(webRow).toMatchObject({ channel: 'web', call_ref: null, occurred_at: Date.parse('2026-10-02T08:00:00Z'), source_campaign: 'Salon du voyage', owner_agent_id: null });
    expect(JSON.parse(String(webRow!.evidence))).toMatchObject({ row: '3', collectedVia: 'web', formUrl: 'https://voyage.example/inscription', source: 'Salon du voyage' });
    // Nobody refused reached the contacts.
    const names = await t.client.execute({ sql: "SELECT email FROM contacts WHERE workspace_id = ? AND email LIKE '%@example.test' ORDER BY email", args: [tm.workspace.id] });
    expect(names.rows.map((r) => r.email)).not.toContain('said.no@example.test');
    expect(names.rows.map((r) => r.email)).not.toContain('future@example.test');

    // Double opt-in as after a call: the phone consent gets the confirmation email, the web one not.
    const outbox = ((await (await t.request('/api/v1/dev/outbox', { token: tm.admin.token })).json()) as { messages: { to: string; text: string }[] }).messages;
    expect(outbox.filter((m) => m.to === dup)).toHaveLength(1);
    expect(outbox.filter((m) => m.to === 'web.ok@example.test')).toHaveLength(0);
    expect(outbox.find((m) => m.to === dup)!.text).toContain('1 octobre 2026');

    // The audit names the file and the rows, not the people.
    const audit = await t.client.execute({ sql: "SELECT actor_id, details FROM audit_log WHERE workspace_id = ? AND action = 'contacts.imported'", args: [tm.workspace.id] });
    expect(audit.rows).toHaveLength(1);
    expect(JSON.parse(String(audit.rows[0]!.details))).toMatchObject({ fileSha256: sha, purpose: 'newsletter', rows: [2, 3], created: 2, confirmationEmails: 1 });
    expect(String(audit.rows[0]!.details)).not.toContain('@');

    // The same file again: nothing new.
    const countEvents = async () => Number((await t.client.execute({ sql: 'SELECT count(*) AS n FROM consent_events WHERE workspace_id = ?', args: [tm.workspace.id] })).rows[0]!.n);
    const n = await countEvents();
    const again = await upload(tm, csv, 'salon-2026-copie.csv');
    const second = await step(tm, again.carried, { step: 'commit', scriptId: tm.scripts.newsletter.id });
    const secondHtml = await second.text();
    expect(await countEvents()).toBe(n);
    expect(reportOf(secondHtml).get(2)).toMatchObject({ outcome: 'already_imported', reason: 'cette ligne de ce fichier est déjà dans le registre' });
    expect(secondHtml).toContain('Import terminé : 0 ligne importée');
    expect(secondHtml).toContain('2 lignes déjà importées');

    const chain = await verifyChain(t.db, tm.workspace.id);
    expect(chain).toMatchObject({ ok: true, count: n });
  });

  it('refuses a script version written after the consent, and takes the same grant from another file as already there', async () => {
    const tm = await team();
    const header = 'E-mail;Prénom;Nom;Téléphone;Consentement;Date du consentement;Canal;Référence;Agent';
    const before = `early@example.test;;;;oui;15/12/2025 10:00;téléphone;CALL-E;`; // the scripts date from 01/01/2026
    const same = `same@example.test;Léa;;;oui;01/10/2026 10:30;téléphone;CALL-S;`;
    const first = await upload(tm, [header, before, same].join('\n'));
    const dry = reportOf(await (await step(tm, first.carried, { step: 'dryrun', scriptId: tm.scripts.newsletter.id })).text());
    expect(dry.get(2)).toMatchObject({ outcome: 'refused' });
    expect(dry.get(2)!.reason).toContain('écrite après ce consentement');
    expect((await step(tm, first.carried, { step: 'commit', scriptId: tm.scripts.newsletter.id })).status).toBe(200);

    // Next week's export: the same row, in another file (another SHA-256), after a new row.
    const other = await upload(tm, [header, 'new@example.test;;;;oui;02/10/2026;téléphone;CALL-N;', same].join('\n'), 'export-2.csv');
    const events = async () => Number((await t.client.execute({ sql: "SELECT count(*) AS n FROM consent_events e JOIN contacts c ON c.id = e.contact_id WHERE c.email = 'same@example.test'", args: [] })).rows[0]!.n);
    const mails = async () => Number((await t.client.execute({ sql: "SELECT count(*) AS n FROM outbox_messages WHERE \"to\" = 'same@example.test'", args: [] })).rows[0]!.n);
    const [eventsBefore, mailsBefore] = [await events(), await mails()];
    const second = reportOf(await (await step(tm, other.carried, { step: 'commit', scriptId: tm.scripts.newsletter.id })).text());
    expect(second.get(3)!.outcome).not.toBe('imported');
    expect(await events()).toBe(eventsBefore);
    expect(await mails()).toBe(mailsBefore);
  });

  it('gives the report as CSV: row, email, outcome, reason', async () => {
    const { tm, csv, dup } = await setupMixed();
    const { carried } = await upload(tm, csv);
    const res = await step(tm, carried, { scriptId: tm.scripts.newsletter.id }, '/contacts/import/report.csv');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/csv');
    expect(res.headers.get('content-disposition')).toMatch(/attachment; filename="import-[0-9a-f]{12}-rapport\.csv"/);
    const lines = (await res.text()).replace(/^\uFEFF/, '').trim().split('\r\n');
    expect(lines[0]).toBe('row,email,outcome,reason,message');
    expect(lines).toHaveLength(20);
    expect(lines[1]).toBe(`2,${dup},accepted,,`);
    expect(lines[3]).toBe('4,said.no@example.test,refused,consent_no,la personne n’a pas consenti (« non »)');
    expect(lines.find((l) => l.startsWith('14,'))).toContain('duplicate_in_file');
    // After an import, the report says which rows this run imported.
    await step(tm, carried, { step: 'commit', scriptId: tm.scripts.newsletter.id });
    const afterImport = await step(tm, carried, { scriptId: tm.scripts.newsletter.id, imported: '2-3' }, '/contacts/import/report.csv');
    expect((await afterImport.text()).split('\r\n')[1]).toBe(`2,${dup},imported,,`);
  });

  it('refuses every row when no consent column is mapped, and asks again for a missing email column', async () => {
    const tm = await team();
    const csv = 'email,name\r\na@example.test,A\r\nb@example.test,B\r\n';
    const { carried } = await upload(tm, csv);
    const none = await step(tm, carried, { step: 'dryrun', email: '0', firstName: '1', lastName: '', phone: '', consent: '', consentAt: '', channel: '', evidence: '', source: '', scriptId: tm.scripts.newsletter.id });
    const report = reportOf(await none.text());
    expect([...report.values()].map((r) => r.reason)).toEqual(['aucune colonne de consentement n’a été désignée', 'aucune colonne de consentement n’a été désignée']);

    const before = await t.dumpDatabase();
    const noEmail = await step(tm, carried, { step: 'commit', email: '', scriptId: tm.scripts.newsletter.id });
    expect(noEmail.status).toBe(400);
    const html = await noEmail.text();
    expect(html).toContain('id="email-error"');
    expect(html).toContain('Vérifiez la correspondance');
    expect(await t.dumpDatabase()).toBe(before);
  });

  it('names what is wrong with the file itself: encoding, row count, size', async () => {
    const tm = await team();
    const latin1 = new Uint8Array([...new TextEncoder().encode('email;prenom\r\na@example.test;'), 0xe9, 0x0d, 0x0a]);
    const bad = await upload(tm, latin1);
    expect(bad.res.status).toBe(400);
    expect(bad.html).toContain('n’est pas encodé en UTF-8');

    const many = `email\n${Array.from({ length: 50_001 }, (_, i) => `${i}@x.fr`).join('\n')}\n`;
    const tooMany = await upload(tm, many);
    expect(tooMany.res.status).toBe(400);
    expect(tooMany.html).toContain('plus de 50');

    const headerOnly = await upload(tm, 'email;consent\n');
    expect(headerOnly.html).toContain('qu’une ligne d’en-tête');

    const noFile = await post(tm, '/contacts/import', { step: 'upload' });
    expect(noFile.status).toBe(400);
    expect(await noFile.text()).toContain('Choisissez un fichier CSV.');

    // Over 5 MB (the request limit of the app may refuse it even earlier).
    await expect(readCsvFile(new Uint8Array(MAX_IMPORT_BYTES + 1))).rejects.toMatchObject({ code: 'file_too_large' });
  });

  it('carries a file near the request size limit through every step (compressed between steps)', async () => {
    const tm = await team();
    const rows = Array.from({ length: 9_500 }, (_, i) => `prospect.numero.${i}@exemple-de-domaine.test;oui;2026-11-01 12:00;web;https://voyage.example/f?i=${i}`);
    const csv = `email;consentement;date;canal;formulaire\n${rows.join('\n')}\n`;
    expect(csv.length).toBeGreaterThan(850_000);
    const { res, carried } = await upload(tm, csv);
    expect(res.status).toBe(200);
    expect(carried.file.length).toBeLessThan(csv.length / 4);
    const dry = await step(tm, carried, { step: 'dryrun', email: '0', consent: '1', consentAt: '2', channel: '3', evidence: '4', firstName: '', lastName: '', phone: '', source: '', scriptId: tm.scripts.newsletter.id });
    expect(dry.status).toBe(200);
    expect(await dry.text()).toMatch(/9\s500 lignes à importer/);
  });

  it('writes nothing of a batch that fails midway', async () => {
    const tm = await team();
    const rows = Array.from({ length: 5 }, (_, i) => `lead${i}.${tm.workspace.id.slice(-5)}@example.test;oui;2026-11-01 12:00;téléphone;C-${i}`);
    const csv = `email;consentement;date;canal;ref\n${rows.join('\n')}\n`;
    const { carried } = await upload(tm, csv);
    const mapping = { email: '0', consent: '1', consentAt: '2', channel: '3', evidence: '4', firstName: '', lastName: '', phone: '', source: '', scriptId: tm.scripts.newsletter.id };
    const before = await t.dumpDatabase();
    const queue = t.deps.mailQueue;
    const enqueue = queue.enqueue;
    let calls = 0;
    queue.enqueue = async (tx, message, key) => {
      if (++calls === 4) throw new Error('mail queue unavailable');
      return enqueue.call(queue, tx, message, key);
    };
    try {
      const res = await step(tm, carried, { ...mapping, step: 'commit' });
      expect(res.status).toBe(500);
    } finally {
      queue.enqueue = enqueue;
    }
    expect(await t.dumpDatabase()).toBe(before);
    const retry = await step(tm, carried, { ...mapping, step: 'commit' });
    expect(await retry.text()).toContain('5 lignes importées');
    expect((await verifyChain(t.db, tm.workspace.id)).ok).toBe(true);
  });

  it('imports thousands of rows in batches, each row once, with the chain intact', async () => {
    const tm = await team();
    const n = 1200;
    // Half collected on the phone: those get their confirmation email rendered and queued in the batch.
    const rows = Array.from({ length: n }, (_, i) => `bulk${i}.${tm.workspace.id.slice(-5)}@example.test,yes,2026-11-0${(i % 9) + 1} 09:00,${i % 2 ? `web,https://voyage.example/f` : `phone,CALL-${i}`}`);
    const csv = `email,consent,collected_at,channel,form\n${rows.join('\n')}`;
    const { carried } = await upload(tm, csv);
    const started = performance.now();
    const res = await step(tm, carried, { step: 'commit', email: '0', consent: '1', consentAt: '2', channel: '3', evidence: '4', firstName: '', lastName: '', phone: '', source: '', scriptId: tm.scripts.newsletter.id });
    const ms = performance.now() - started;
    const html = await res.text();
    expect(html).toMatch(/Import terminé : 1\s200 lignes importées/);
    expect(html).toMatch(/1\s000 lignes affichées sur 1\s200/);
    expect(reportOf(html).size).toBe(1000);
    console.log(`import of ${n} rows: ${ms.toFixed(0)} ms`);
    const audit = await t.client.execute({ sql: "SELECT count(*) AS n FROM audit_log WHERE workspace_id = ? AND action = 'contacts.imported'", args: [tm.workspace.id] });
    expect(Number(audit.rows[0]!.n)).toBe(3); // batches of 500
    const state = await t.client.execute({ sql: "SELECT count(*) AS n FROM consent_state WHERE workspace_id = ? AND purpose = 'newsletter' AND status = 'granted'", args: [tm.workspace.id] });
    expect(Number(state.rows[0]!.n)).toBe(n);
    expect(html).toMatch(/600 e-mails de confirmation envoyés/);
    const queued = await t.client.execute({ sql: 'SELECT count(*) AS n FROM email_queue WHERE workspace_id = ?', args: [tm.workspace.id] });
    expect(Number(queued.rows[0]!.n)).toBe(600);
    expect(await verifyChain(t.db, tm.workspace.id)).toMatchObject({ ok: true, count: n });
  });
});

describe('consent dates', () => {
  it('reads ISO and French dates, Paris time unless an offset is given', () => {
    expect(parseConsentDate('2026-10-01T10:30:00Z')?.toISOString()).toBe('2026-10-01T10:30:00.000Z');
    expect(parseConsentDate('2026-10-01 10:30')?.toISOString()).toBe('2026-10-01T08:30:00.000Z');
    expect(parseConsentDate('2026-01-15 10:30')?.toISOString()).toBe('2026-01-15T09:30:00.000Z');
    expect(parseConsentDate('2026-10-01T10:30:00+02:00')?.toISOString()).toBe('2026-10-01T08:30:00.000Z');
    expect(parseConsentDate('01/10/2026 10h30')?.toISOString()).toBe('2026-10-01T08:30:00.000Z');
    expect(parseConsentDate('1/2/2026')?.toISOString()).toBe('2026-01-31T23:00:00.000Z');
    for (const bad of ['31/02/2026', '2026-13-01', 'hier', '10/2026', '2026-10-01 25:00']) expect(parseConsentDate(bad), bad).toBeNull();
  });
});
