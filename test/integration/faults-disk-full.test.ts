/**
 * Disk full on the embedded database (issue 10, fault injection). `PRAGMA max_page_count` caps
 * the real database file a few pages above its size, so SQLite itself answers SQLITE_FULL as on
 * a full disk, wherever the write happens to need a new page. Captures and an import are driven
 * into the wall:
 *  - the client gets a clear answer: 507 `storage_full` (RFC 4918 §11.5) saying nothing was
 *    saved, an HTML page for the console and the import;
 *  - nothing is half-written (the database is what it was before that request), every capture
 *    acknowledged before is there, `PRAGMA integrity_check` says ok and the chain verifies;
 *  - once there is room again, the refused capture goes through with its same Idempotency-Key,
 *    once, and the confirmation emails held up by the full disk go out, once each.
 */
import { createClient } from '@libsql/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, type TestApp } from '../helpers/app.js';
import { makeScripts, unique } from '../helpers/factories.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.dispose());

const pragma = async (sql: string) => (await t.client.execute(sql)).rows[0]![0];
/** Room for `pages` more pages of 4 KiB, like a disk about to fill up. */
const leaveRoom = async (pages: number) => pragma(`PRAGMA max_page_count = ${Number(await pragma('PRAGMA page_count')) + pages}`);
const noLimit = () => pragma('PRAGMA max_page_count = 4294967294');
const count = async (sql: string, ...args: string[]) => Number((await t.client.execute({ sql, args })).rows[0]!.n);

async function expectChainVerifies(adminToken: string) {
  const res = await t.request('/api/v1/consent-ledger/verification', { token: adminToken });
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ ok: true });
}

describe('the embedded database runs out of space', () => {
  it('refuses captures with 507 storage_full, writes nothing half-way, loses nothing acknowledged, and works again once there is room', async () => {
    const tm = await t.workspaceWithTeam();
    const scripts = await makeScripts(t.db, tm.workspace);
    const capture = (email: string, key: string) =>
      t.request('/api/v1/consents', {
        method: 'POST',
        token: tm.agent.token,
        headers: { 'idempotency-key': key },
        json: {
          // A long attribute, so a few captures fill the room left.
          contact: { email, firstName: 'Marie', lastName: 'Dupont', attributes: { notes: 'x'.repeat(500), more: 'y'.repeat(500), extra: 'z'.repeat(500) } },
          call: { ref: key, basis: 'inbound_call', campaign: 'Voyage à Rome' },
          answers: [
            { purpose: 'newsletter', answer: 'granted', scriptId: scripts.newsletter.id },
            { purpose: 'open_tracking', answer: 'refused', scriptId: scripts.open_tracking.id },
          ],
        },
      });

    await leaveRoom(6);
    const acknowledged: string[] = [];
    let refused: { email: string; key: string } | null = null;
    for (let i = 0; i < 200 && !refused; i++) {
      const lead = { email: `${unique('full')}@example.test`, key: unique('capture') };
      const before = await t.dumpDatabase();
      const res = await capture(lead.email, lead.key);
      if (res.status === 201) {
        acknowledged.push(lead.email);
        continue;
      }
      expect(res.status).toBe(507);
      const error = await errorOf(res);
      expect(error).toMatchObject({ code: 'storage_full', requestId: res.headers.get('x-request-id') });
      expect(error.message).toMatch(/database is full: nothing was saved/);
      expect(await t.dumpDatabase(), 'nothing half-written').toBe(before);
      refused = lead;
    }
    expect(refused, 'the database filled up').not.toBeNull();
    expect(acknowledged.length).toBeGreaterThan(0);

    // Still full: the console says so on a page, and reading still works.
    const page = await t.request('/agent', {
      method: 'POST',
      headers: { cookie: `session=${tm.agent.token}`, origin: 'http://localhost', accept: 'text/html' },
      body: new URLSearchParams({ email: `${unique('console')}@example.test`, callRef: 'FULL-1', basis: 'inbound_call', 'answer:newsletter': 'granted', 'answer:open_tracking': 'granted', idempotencyKey: crypto.randomUUID() }),
      redirect: 'manual',
    });
    expect(page.status).toBe(507);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('The database is full: nothing was saved.');

    expect(await pragma('PRAGMA integrity_check')).toBe('ok');
    await expectChainVerifies(tm.admin.token);
    for (const email of acknowledged) expect(await count('SELECT count(*) AS n FROM contacts WHERE email = ?', email), email).toBe(1);

    // Room again: the dialer's retry of the refused capture goes through, once.
    await noLimit();
    const retry = await capture(refused!.email, refused!.key);
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    const replay = await capture(refused!.email, refused!.key);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await count('SELECT count(*) AS n FROM calls WHERE call_ref = ?', refused!.key)).toBe(1);
    // Confirmation emails the full disk held up go out now (past the queue's claim and backoff), once each.
    t.clock.advance(10 * 60_000);
    t.deps.mailQueue.kick();
    await t.deps.mailQueue.drain();
    for (const email of [...acknowledged, refused!.email]) expect(await count('SELECT count(*) AS n FROM outbox_messages WHERE "to" = ?', email), email).toBe(1);
    expect(await pragma('PRAGMA integrity_check')).toBe('ok');
    await expectChainVerifies(tm.admin.token);

    // Committed for real, not left in a transaction the failure kept open: another connection sees it.
    const other = createClient({ url: t.url });
    try {
      expect(Number((await other.execute({ sql: 'SELECT count(*) AS n FROM calls WHERE call_ref = ?', args: [refused!.key] })).rows[0]!.n)).toBe(1);
    } finally {
      other.close();
    }
  });

  it('refuses an import whole with a page saying the database is full, and imports it once there is room', async () => {
    const tm = await t.workspaceWithTeam();
    const scripts = await makeScripts(t.db, tm.workspace);
    const cookie = `session=${tm.admin.token}`;
    const post = async (fields: Record<string, string | File>) => {
      const fd = new FormData();
      for (const [k, v] of Object.entries(fields)) fd.append(k, v);
      return t.request('/contacts/import', { method: 'POST', headers: { cookie, origin: 'http://localhost', accept: 'text/html' }, body: fd });
    };
    const emails = Array.from({ length: 300 }, (_, i) => `${unique(`row${i}`)}@example.test`);
    const csv = ['E-mail;Prénom;Consentement;Date;Canal;Référence', ...emails.map((e, i) => `${e};Jean;oui;01/11/2026 10:00;téléphone;CALL-${i}`)].join('\r\n');
    const html = await (await post({ step: 'upload', file: new File([csv], 'leads.csv', { type: 'text/csv' }) })).text();
    const hidden = (name: string) => new RegExp(`<input type="hidden" name="${name}" value="([^"]*)"`).exec(html)![1]!;
    const commit = () =>
      post({ file: hidden('file'), fileName: hidden('fileName'), step: 'commit', scriptId: scripts.newsletter.id, email: '0', firstName: '1', consent: '2', consentAt: '3', channel: '4', evidence: '5', lastName: '', phone: '', source: '', channelDefault: '' });

    await leaveRoom(4);
    const before = await t.dumpDatabase();
    const full = await commit();
    expect(full.status).toBe(507);
    expect(await full.text()).toContain('The database is full: nothing was saved.');
    expect(await t.dumpDatabase(), 'nothing half-written').toBe(before);
    expect(await pragma('PRAGMA integrity_check')).toBe('ok');
    await expectChainVerifies(tm.admin.token);

    await noLimit();
    const done = await commit();
    expect(done.status).toBe(200);
    expect(await done.text()).toContain('300 lignes importées');
    expect(await count("SELECT count(*) AS n FROM consent_events WHERE workspace_id = ? AND action = 'granted'", tm.workspace.id)).toBe(300);
    await expectChainVerifies(tm.admin.token);
  });
});
