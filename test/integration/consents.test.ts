/** Consent capture over the API: ledger, idempotency, refusals that write nothing, double opt-in, proof. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/domain/consent/chain.js';
import { createTestApp, errorOf, type TestApp } from '../helpers/app.js';
import { makeScripts, unique } from '../helpers/factories.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.dispose());

async function team() {
  const team = await t.workspaceWithTeam();
  const scripts = await makeScripts(t.db, team.workspace);
  return { ...team, scripts };
}
type Team = Awaited<ReturnType<typeof team>>;

function captureBody(tm: Team, overrides: Record<string, unknown> = {}, answers?: unknown) {
  return {
    contact: { email: `${unique('lead')}@example.test`, phone: '06 12 34 56 78', firstName: 'Marie', lastName: 'Dupont', attributes: { destination: 'Rome' } },
    call: { ref: unique('CALL'), basis: 'inbound_call', campaign: 'Voyage à Rome' },
    answers: answers ?? [
      { purpose: 'newsletter', answer: 'granted', scriptId: tm.scripts.newsletter.id },
      { purpose: 'open_tracking', answer: 'refused', scriptId: tm.scripts.open_tracking.id },
    ],
    ...overrides,
  };
}

type CaptureResult = {
  contact: { id: string; email: string; phone: string; created: boolean };
  call: { id: string };
  events: { id: string; seq: number; purpose: string; action: string; scriptSha256: string; hash: string }[];
  confirmationEmail: string;
};

async function capture(tm: Team, body: unknown, headers: Record<string, string> = {}, token = tm.agent.token) {
  return t.request('/api/v1/consents', { method: 'POST', token, json: body, headers });
}

async function outboxFor(tm: Team) {
  return ((await (await t.request('/api/v1/dev/outbox', { token: tm.admin.token })).json()) as { messages: { to: string; subject: string; text: string; html: string }[] }).messages;
}

describe('capture', () => {
  it('records the contact, the call, one chained event per purpose with the script hash, and emails a confirmation', async () => {
    const tm = await team();
    const body = captureBody(tm);
    const res = await capture(tm, body);
    expect(res.status).toBe(201);
    const result = (await res.json()) as CaptureResult;
    expect(result.contact).toMatchObject({ email: body.contact.email, phone: '+33612345678', created: true });
    expect(result.events.map((e) => [e.purpose, e.action, e.scriptSha256])).toEqual([
      ['newsletter', 'granted', tm.scripts.newsletter.sha256],
      ['open_tracking', 'refused', tm.scripts.open_tracking.sha256],
    ]);
    expect(result.events.map((e) => e.seq)).toEqual([1, 2]);
    expect(result.confirmationEmail).toBe('queued');

    const contact = (await (await t.request(`/api/v1/contacts/${result.contact.id}`, { token: tm.agent.token })).json()) as {
      ownerAgentId: string;
      sourceCampaign: string;
      attributes: Record<string, string>;
      consents: { purpose: string; status: string; confirmedAt: string | null }[];
    };
    expect(contact).toMatchObject({ ownerAgentId: tm.agent.id, sourceCampaign: 'Voyage à Rome', attributes: { destination: 'Rome' } });
    expect(contact.consents).toEqual([
      expect.objectContaining({ purpose: 'newsletter', status: 'granted', confirmedAt: null }),
      expect.objectContaining({ purpose: 'open_tracking', status: 'refused' }),
    ]);

    const [mail] = await outboxFor(tm);
    expect(mail!.to).toBe(body.contact.email);
    expect(mail!.subject).toBe(`Confirmez votre inscription à la newsletter ${tm.workspace.name}`);
    expect(mail!.text).toContain(`avec ${tm.agent.name}`);
    expect(mail!.text).toContain('newsletter : oui · open_tracking : non');
    expect(mail!.text).toMatch(/Je confirme mon inscription \[http:\/\/localhost\/confirm\/[\w.-]+\]/);
    // No tracking pixel in a confirmation email.
    expect(mail!.html).not.toMatch(/<img[^>]+width="1"/);

    const verification = await verifyChain(t.db, tm.workspace.id);
    expect(verification).toMatchObject({ ok: true, count: 2 });
  });

  it('appends to the same person’s ledger when they are captured again', async () => {
    const tm = await team();
    const body = captureBody(tm);
    const first = (await (await capture(tm, body)).json()) as CaptureResult;
    const again = captureBody(tm, { contact: { ...body.contact, email: body.contact.email.toUpperCase(), firstName: 'Marie-Anne' } }, [
      { purpose: 'newsletter', answer: 'granted', scriptId: tm.scripts.newsletter.id },
      { purpose: 'open_tracking', answer: 'granted', scriptId: tm.scripts.open_tracking.id },
    ]);
    const second = (await (await capture(tm, again)).json()) as CaptureResult;
    expect(second.contact).toMatchObject({ id: first.contact.id, created: false });
    expect(second.events.map((e) => e.seq)).toEqual([3, 4]);
    const found = (await (await t.request(`/api/v1/contacts?email=${encodeURIComponent(body.contact.email)}`, { token: tm.agent.token })).json()) as { contacts: { id: string; firstName: string }[] };
    expect(found.contacts).toEqual([expect.objectContaining({ id: first.contact.id, firstName: 'Marie-Anne' })]);
    const byPhone = (await (await t.request('/api/v1/contacts?phone=%2B33612345678', { token: tm.agent.token })).json()) as { contacts: unknown[] };
    expect(byPhone.contacts.length).toBeGreaterThan(0);
  });

  it('concurrent captures of the same new email create one contact and an unbroken chain', async () => {
    const tm = await team();
    const body = captureBody(tm);
    const results = await Promise.all(Array.from({ length: 6 }, () => capture(tm, { ...body, call: { ...body.call, ref: unique('CALL') } })));
    expect(results.map((r) => r.status)).toEqual(Array(6).fill(201));
    const ids = new Set(await Promise.all(results.map(async (r) => ((await r.json()) as CaptureResult).contact.id)));
    expect(ids.size).toBe(1);
    const rows = await t.client.execute({ sql: 'SELECT count(*) AS n FROM contacts WHERE workspace_id = ?', args: [tm.workspace.id] });
    expect(rows.rows[0]?.n).toBe(1);
    expect(await verifyChain(t.db, tm.workspace.id)).toMatchObject({ ok: true, count: 12 });
  });
});

describe('idempotency', () => {
  it('a retry with the same key returns the first answer and writes nothing', async () => {
    const tm = await team();
    const body = captureBody(tm);
    const key = crypto.randomUUID();
    const first = await capture(tm, body, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    const firstBody = await first.json();
    const before = await t.dumpDatabase();
    const retry = await capture(tm, body, { 'idempotency-key': key });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await retry.json()).toEqual(firstBody);
    expect(await t.dumpDatabase()).toBe(before);
  });

  it('a different call time is a different body (409), not a replay', async () => {
    const tm = await team();
    const key = crypto.randomUUID();
    const body = captureBody(tm);
    const at = (iso: string) => ({ ...body, call: { ...body.call, occurredAt: iso } });
    expect((await capture(tm, at('2026-11-22T08:00:00Z'), { 'idempotency-key': key })).status).toBe(201);
    expect((await capture(tm, at('2026-11-21T08:00:00Z'), { 'idempotency-key': key })).status).toBe(409);
  });

  it('the same key with another body is a 409, and writes nothing', async () => {
    const tm = await team();
    const key = crypto.randomUUID();
    expect((await capture(tm, captureBody(tm), { 'idempotency-key': key })).status).toBe(201);
    const before = await t.dumpDatabase();
    const other = await capture(tm, captureBody(tm), { 'idempotency-key': key });
    expect(other.status).toBe(409);
    expect((await errorOf(other)).code).toBe('idempotency_key_reused');
    expect(await t.dumpDatabase()).toBe(before);
  });
});

describe('bad input writes nothing', () => {
  const cases: [string, (tm: Team, other: Team) => unknown, string][] = [
    ['a malformed email', (tm) => captureBody(tm, { contact: { email: 'marie@', firstName: 'M' } }), 'contact.email'],
    ['a malformed phone', (tm) => captureBody(tm, { contact: { email: 'ok@example.test', phone: '12' } }), 'contact.phone'],
    ['a missing purpose answer', (tm) => captureBody(tm, {}, [{ purpose: 'newsletter', answer: 'granted', scriptId: tm.scripts.newsletter.id }]), 'answers.open_tracking'],
    ['a default instead of an answer', (tm) => captureBody(tm, {}, [{ purpose: 'newsletter', answer: 'yes', scriptId: tm.scripts.newsletter.id }]), 'answers.0.answer'],
    ['an unknown script', (tm) => captureBody(tm, {}, [{ purpose: 'newsletter', answer: 'granted', scriptId: 'scr_nope' }, { purpose: 'open_tracking', answer: 'refused', scriptId: tm.scripts.open_tracking.id }]), 'answers.0.scriptId'],
    ['the script of another workspace', (tm, other) => captureBody(tm, {}, [{ purpose: 'newsletter', answer: 'granted', scriptId: other.scripts.newsletter.id }, { purpose: 'open_tracking', answer: 'refused', scriptId: tm.scripts.open_tracking.id }]), 'answers.0.scriptId'],
    ['the script of another purpose', (tm) => captureBody(tm, {}, [{ purpose: 'newsletter', answer: 'granted', scriptId: tm.scripts.open_tracking.id }, { purpose: 'open_tracking', answer: 'refused', scriptId: tm.scripts.open_tracking.id }]), 'answers.0.scriptId'],
    ['an unknown purpose', (tm) => captureBody(tm, {}, [{ purpose: 'newsletter', answer: 'granted', scriptId: tm.scripts.newsletter.id }, { purpose: 'open_tracking', answer: 'refused', scriptId: tm.scripts.open_tracking.id }, { purpose: 'partners', answer: 'granted', scriptId: tm.scripts.newsletter.id }]), 'answers.2.purpose'],
    ['a purpose answered twice', (tm) => captureBody(tm, {}, [{ purpose: 'newsletter', answer: 'granted', scriptId: tm.scripts.newsletter.id }, { purpose: 'newsletter', answer: 'refused', scriptId: tm.scripts.newsletter.id }, { purpose: 'open_tracking', answer: 'refused', scriptId: tm.scripts.open_tracking.id }]), 'answers.1.purpose'],
    ['a prior-consent call without its reference', (tm) => captureBody(tm, { call: { ref: 'C1', basis: 'prior_consent' } }), 'call.basisRef'],
    ['an unknown call basis', (tm) => captureBody(tm, { call: { ref: 'C1', basis: 'cold_call' } }), 'call.basis'],
    ['a call in the future', (tm) => captureBody(tm, { call: { ref: 'C1', basis: 'inbound_call', occurredAt: '2030-01-01T00:00:00Z' } }), 'call.occurredAt'],
    ['an oversized name', (tm) => captureBody(tm, { contact: { email: 'ok@example.test', firstName: 'x'.repeat(101) } }), 'contact.firstName'],
    ['an unexpected field', (tm) => captureBody(tm, { consentDefault: 'granted' }), '(body)'],
  ];

  it.each(cases)('%s', async (_, make, field) => {
    const tm = await team();
    const other = await team();
    const before = await t.dumpDatabase();
    const res = await capture(tm, make(tm, other));
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.details?.issues?.map((i) => i.field)).toContain(field);
    expect(await t.dumpDatabase()).toBe(before);
  });

  it('invalid JSON', async () => {
    const tm = await team();
    const before = await t.dumpDatabase();
    const res = await t.request('/api/v1/consents', { method: 'POST', token: tm.agent.token, headers: { 'content-type': 'application/json' }, body: '{"contact":' });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe('malformed_json');
    expect(await t.dumpDatabase()).toBe(before);
  });
});

describe('who may capture', () => {
  it('agents and admins, and API keys with consents:write naming their agent', async () => {
    const tm = await team();
    expect((await capture(tm, captureBody(tm), {}, tm.marketer.token)).status).toBe(403);
    expect((await capture(tm, captureBody(tm), {}, tm.admin.token)).status).toBe(201);

    const key = async (scopes: string[]) =>
      ((await (await t.request('/api/v1/api-keys', { method: 'POST', token: tm.admin.token, json: { name: 'Dialer', scopes } })).json()) as { secret: string }).secret;
    const dialer = await key(['consents:write']);
    const viaKey = await capture(tm, captureBody(tm, { agentEmail: tm.agent.email }), {}, dialer);
    expect(viaKey.status).toBe(201);
    const body = (await viaKey.json()) as CaptureResult;
    const contact = (await (await t.request(`/api/v1/contacts/${body.contact.id}`, { token: dialer })).json()) as { ownerAgentId: string };
    expect(contact.ownerAgentId).toBe(tm.agent.id);
    expect((await capture(tm, captureBody(tm, { agentEmail: 'stranger@example.test' }), {}, dialer)).status).toBe(400);
    expect((await capture(tm, captureBody(tm), {}, await key(['stats:read']))).status).toBe(403);
  });
});

describe('the ledger is append-only and tamper-evident', () => {
  it('SQLite refuses UPDATE and DELETE on events and scripts', async () => {
    const tm = await team();
    await capture(tm, captureBody(tm));
    await expect(t.client.execute({ sql: "UPDATE consent_events SET action = 'refused' WHERE workspace_id = ?", args: [tm.workspace.id] })).rejects.toThrow(/append-only/);
    await expect(t.client.execute({ sql: 'DELETE FROM consent_events WHERE workspace_id = ?', args: [tm.workspace.id] })).rejects.toThrow(/append-only/);
    await expect(t.client.execute({ sql: "UPDATE consent_scripts SET text = 'x' WHERE id = ?", args: [tm.scripts.newsletter.id] })).rejects.toThrow(/append-only/);
    await expect(t.client.execute({ sql: 'DELETE FROM consent_scripts WHERE id = ?', args: [tm.scripts.newsletter.id] })).rejects.toThrow(/append-only/);
  });

  it('verification names the first edited or removed event', async () => {
    const tm = await team();
    for (let i = 0; i < 3; i++) await capture(tm, captureBody(tm));
    const events = await t.client.execute({ sql: 'SELECT id, seq FROM consent_events WHERE workspace_id = ? ORDER BY seq', args: [tm.workspace.id] });
    const third = events.rows[2]!;
    await t.client.execute('DROP TRIGGER consent_events_no_update');
    await t.client.execute('DROP TRIGGER consent_events_no_delete');
    try {
      await t.client.execute({ sql: "UPDATE consent_events SET action = 'withdrawn' WHERE id = ?", args: [String(third.id)] });
      const edited = await verifyChain(t.db, tm.workspace.id);
      expect(edited).toMatchObject({ ok: false, count: 2, firstBroken: { id: third.id, seq: 3, reason: expect.stringContaining('edited') } });

      const api = (await (await t.request('/api/v1/consent-ledger/verification', { token: tm.admin.token })).json()) as { ok: boolean; firstBroken: { id: string } };
      expect(api).toMatchObject({ ok: false, firstBroken: { id: third.id } });

      await t.client.execute({ sql: "UPDATE consent_events SET action = 'granted' WHERE id = ?", args: [String(third.id)] });
      expect(await verifyChain(t.db, tm.workspace.id)).toMatchObject({ ok: true, count: 6 });

      await t.client.execute({ sql: 'DELETE FROM consent_events WHERE id = ?', args: [String(events.rows[1]!.id)] });
      const removed = await verifyChain(t.db, tm.workspace.id);
      expect(removed).toMatchObject({ ok: false, firstBroken: { seq: 3, reason: expect.stringContaining('removed') } });
    } finally {
      const { readFileSync } = await import('node:fs');
      const sql = readFileSync('drizzle/0003_ledger_append_only.sql', 'utf8').split('--> statement-breakpoint').slice(0, 2);
      for (const statement of sql) await t.client.execute(statement.replace(/^--.*$/gm, '').trim());
    }
  });
});

describe('double opt-in', () => {
  async function confirmationLink(tm: Team) {
    const [mail] = await outboxFor(tm);
    return /http:\/\/localhost(\/confirm\/[\w.-]+)/.exec(mail!.text)![1]!;
  }
  const newsletterState = async (tm: Team, contactId: string) =>
    ((await (await t.request(`/api/v1/contacts/${contactId}`, { token: tm.admin.token })).json()) as { consents: { purpose: string; status: string; confirmedAt: string | null }[] }).consents.find(
      (c) => c.purpose === 'newsletter',
    )!;

  it('the page only shows a button; the POST records confirmed with IP and user agent, once', async () => {
    const tm = await team();
    const { contact } = (await (await capture(tm, captureBody(tm))).json()) as CaptureResult;
    const link = await confirmationLink(tm);

    const before = await t.dumpDatabase();
    const page = await t.request(link, { headers: { 'user-agent': 'Microsoft Defender SafeLinks' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Je confirme mon inscription');
    expect(await t.dumpDatabase()).toBe(before);

    const post = () =>
      t.request(link, { method: 'POST', headers: { origin: 'http://localhost', 'user-agent': 'Firefox/140', 'x-test-ip': '198.51.100.20' }, body: new URLSearchParams({ answer: 'confirm' }) });
    const confirmed = await post();
    expect(confirmed.status).toBe(200);
    expect(await confirmed.text()).toContain('est confirmée');
    expect((await newsletterState(tm, contact.id)).confirmedAt).toBe(t.clock.now().toISOString());
    const afterFirst = await t.dumpDatabase();
    await post();
    expect(await t.dumpDatabase()).toBe(afterFirst);

    const proof = (await (await t.request(`/api/v1/contacts/${contact.id}/consent-proof`, { token: tm.admin.token })).json()) as {
      events: { action: string; channel: string; actorType: string; evidence: Record<string, string> }[];
    };
    expect(proof.events.at(-1)).toMatchObject({ action: 'confirmed', channel: 'email_link', actorType: 'subscriber', evidence: { ip: '198.51.100.20', userAgent: 'Firefox/140' } });
  });

  it('the refuse link records a withdrawal', async () => {
    const tm = await team();
    const { contact } = (await (await capture(tm, captureBody(tm))).json()) as CaptureResult;
    const link = await confirmationLink(tm);
    expect(await (await t.request(`${link}?refuse=1`)).text()).toContain('Je ne souhaite pas recevoir la newsletter');
    const res = await t.request(link, { method: 'POST', headers: { origin: 'http://localhost' }, body: new URLSearchParams({ answer: 'refuse' }) });
    expect(await res.text()).toContain('vous ne recevrez pas la newsletter');
    expect((await newsletterState(tm, contact.id)).status).toBe('withdrawn');
  });

  it('an older link cannot confirm a newer grant it did not describe', async () => {
    const tm = await team();
    const body = captureBody(tm);
    const { contact } = (await (await capture(tm, body)).json()) as CaptureResult;
    const oldLink = await confirmationLink(tm);
    // The person refuses, then agrees again on a later call: a new grant, a new email. Refusing
    // suppressed the address, so the agent must acknowledge it.
    await t.request(oldLink, { method: 'POST', headers: { origin: 'http://localhost' }, body: new URLSearchParams({ answer: 'refuse' }) });
    t.clock.advance(60_000);
    expect((await capture(tm, { ...body, call: { ...body.call, ref: 'AGAIN' } })).status).toBe(409);
    expect((await capture(tm, { ...body, call: { ...body.call, ref: 'AGAIN' }, suppressionOverride: { reason: 'Changed their mind on the phone' } })).status).toBe(201);
    const newLink = await confirmationLink(tm);
    expect(newLink).not.toBe(oldLink);
    const before = await t.dumpDatabase();
    const stale = await t.request(oldLink, { method: 'POST', headers: { origin: 'http://localhost' }, body: new URLSearchParams({ answer: 'confirm' }) });
    expect(await stale.text()).toContain('remplacé par celui d’un e-mail plus récent');
    expect(await t.dumpDatabase()).toBe(before);
    expect((await newsletterState(tm, contact.id)).confirmedAt).toBeNull();
    await t.request(newLink, { method: 'POST', headers: { origin: 'http://localhost' }, body: new URLSearchParams({ answer: 'confirm' }) });
    expect((await newsletterState(tm, contact.id)).confirmedAt).not.toBeNull();
  });

  it('refuses forged, tampered, cross-purpose and expired tokens, changing nothing', async () => {
    const tm = await team();
    await capture(tm, captureBody(tm));
    const link = await confirmationLink(tm);
    const before = await t.dumpDatabase();
    const session = tm.agent.token;
    for (const bad of [`${link.slice(0, -4)}AAAA`, '/confirm/not-a-token', `/confirm/${session}`]) {
      const get = await t.request(bad);
      expect(get.status, bad).toBe(400);
      expect(await get.text()).toContain('invalide');
      const post = await t.request(bad, { method: 'POST', headers: { origin: 'http://localhost' }, body: new URLSearchParams({ answer: 'confirm' }) });
      expect(post.status).toBe(400);
    }
    const crossSite = await t.request(link, { method: 'POST', headers: { origin: 'https://evil.example' }, body: new URLSearchParams({ answer: 'confirm' }) });
    expect(crossSite.status).toBe(403);
    t.clock.advance(31 * 24 * 3600 * 1000);
    expect((await t.request(link, { method: 'POST', headers: { origin: 'http://localhost' }, body: new URLSearchParams({ answer: 'confirm' }) })).status).toBe(400);
    expect(await t.dumpDatabase()).toBe(before);
  });
});

describe('proof export', () => {
  it('bundles every event with the exact script text and hash, the call basis, the chain check and the controller', async () => {
    const tm = await team();
    const body = captureBody(tm, { call: { ref: 'VOC-42', basis: 'prior_consent', basisRef: 'web-form-2026-10-03', campaign: 'Voyage à Rome' } });
    const { contact } = (await (await capture(tm, body)).json()) as CaptureResult;
    const res = await t.request(`/api/v1/contacts/${contact.id}/consent-proof`, { token: tm.admin.token });
    expect(res.status).toBe(200);
    const proof = (await res.json()) as {
      controller: { legalName: string; dpoContact: string };
      contact: { email: string };
      calls: { callRef: string; basis: string; basisRef: string; agent: string }[];
      scripts: { id: string; text: string; sha256: string }[];
      events: { scriptId: string; scriptSha256: string; checks: { hashMatches: boolean; evidenceMatches: boolean } }[];
      chain: { workspaceVerification: { ok: boolean } };
    };
    expect(proof.controller).toMatchObject({ legalName: tm.workspace.legalName, dpoContact: tm.workspace.dpoContact });
    expect(proof.contact.email).toBe(body.contact.email);
    expect(proof.calls).toEqual([expect.objectContaining({ callRef: 'VOC-42', basis: 'prior_consent', basisRef: 'web-form-2026-10-03', agent: tm.agent.name })]);
    expect(proof.scripts).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: tm.scripts.newsletter.id, text: tm.scripts.newsletter.text, sha256: tm.scripts.newsletter.sha256 })]),
    );
    for (const e of proof.events) {
      expect(e.checks).toEqual({ hashMatches: true, evidenceMatches: true });
      expect(proof.scripts.find((s) => s.id === e.scriptId)?.sha256).toBe(e.scriptSha256);
    }
    expect(proof.chain.workspaceVerification.ok).toBe(true);
    expect((await t.request(`/api/v1/contacts/${contact.id}/consent-proof`, { token: tm.agent.token })).status).toBe(403);
    const other = await team();
    expect((await t.request(`/api/v1/contacts/${contact.id}/consent-proof`, { token: other.admin.token })).status).toBe(404);
  });
});

describe('scripts', () => {
  it('a new wording is a new version; the old one stays for the proofs', async () => {
    const tm = await team();
    const text = `${tm.workspace.name} vous propose sa newsletter mensuelle. Désinscription à tout moment en un clic. Politique de confidentialité sur notre site.`;
    const res = await t.request('/api/v1/consent-scripts', { method: 'POST', token: tm.admin.token, json: { purpose: 'newsletter', label: 'Newsletter', text } });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ purpose: 'newsletter', version: 2 });
    const current = (await (await t.request('/api/v1/consent-scripts', { token: tm.agent.token })).json()) as { scripts: { purpose: string; version: number }[] };
    expect(current.scripts.map((s) => [s.purpose, s.version])).toEqual([
      ['newsletter', 2],
      ['open_tracking', 1],
    ]);
    const all = (await (await t.request('/api/v1/consent-scripts?all=true', { token: tm.agent.token })).json()) as { scripts: unknown[] };
    expect(all.scripts).toHaveLength(3);
    // A capture made with the version actually read (v1) is still accepted and recorded as such.
    expect((await capture(tm, captureBody(tm))).status).toBe(201);
  });

  it('must say who asks, that consent can be withdrawn, and where the privacy policy is', async () => {
    const tm = await team();
    const res = await t.request('/api/v1/consent-scripts', { method: 'POST', token: tm.admin.token, json: { purpose: 'partners', label: 'Partenaires', text: 'Acceptez-vous de recevoir les offres de nos partenaires ?' } });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe('invalid_script');
    expect(error.details?.issues).toHaveLength(3);
    expect((await t.request('/api/v1/consent-scripts', { method: 'POST', token: tm.agent.token, json: { purpose: 'x1', label: 'x', text: 'x'.repeat(30) } })).status).toBe(403);
  });
});

describe('per-agent counters', () => {
  it('count calls, answers and the confirmation rate', async () => {
    const tm = await team();
    for (let i = 0; i < 3; i++) await capture(tm, captureBody(tm));
    await capture(tm, captureBody(tm, {}, [
      { purpose: 'newsletter', answer: 'refused', scriptId: tm.scripts.newsletter.id },
      { purpose: 'open_tracking', answer: 'refused', scriptId: tm.scripts.open_tracking.id },
    ]));
    const messages = await outboxFor(tm);
    const link = /http:\/\/localhost(\/confirm\/[\w.-]+)/.exec(messages[0]!.text)![1]!;
    await t.request(link, { method: 'POST', headers: { origin: 'http://localhost' }, body: new URLSearchParams({ answer: 'confirm' }) });

    const stats = (await (await t.request('/api/v1/stats/agents', { token: tm.marketer.token })).json()) as {
      agents: { agentId: string; calls: number; answers: Record<string, { granted: number; refused: number }>; newsletterGrants: number; newsletterConfirmed: number; confirmationRate: number }[];
    };
    const agent = stats.agents.find((a) => a.agentId === tm.agent.id)!;
    expect(agent).toMatchObject({
      calls: 4,
      answers: { newsletter: { granted: 3, refused: 1 }, open_tracking: { granted: 0, refused: 4 } },
      newsletterGrants: 3,
      newsletterConfirmed: 1,
    });
    expect(agent.confirmationRate).toBeCloseTo(1 / 3);
  });
});
