/**
 * The campaign pages over app.request with the session cookie: list with key figures, the draft
 * editor's save (valid, refused with the field named and nothing written), the send step
 * (confirmation with the audience, past schedule refused), isolation between workspaces, roles.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { seedAudience } from '../helpers/audience.js';
import { parseParisLocal } from '../../src/http/pages/campaign-pages.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.dispose());

type Team = Awaited<ReturnType<TestApp['workspaceWithTeam']>>;

const page = (path: string, token: string) => t.request(path, { headers: { cookie: `session=${token}` } });
const post = (path: string, token: string, fields: Record<string, string>) =>
  t.request(path, { method: 'POST', headers: { cookie: `session=${token}`, origin: 'http://localhost' }, body: new URLSearchParams(fields) });

async function draft(team: Team, name = 'Rome, printemps') {
  const res = await post('/campaigns', team.marketer.token, { name });
  expect(res.status).toBe(303);
  const id = /\/campaigns\/(cmp_[^?/]+)/.exec(res.headers.get('location') ?? '')![1]!;
  const api = (await (await t.request(`/api/v1/campaigns/${id}`, { token: team.marketer.token })).json()) as { subject: string; preheader: string; body: string; version: number };
  return { id, ...api };
}

async function segment(team: Team, name = 'Tous') {
  const res = await t.request('/api/v1/segments', { method: 'POST', token: team.marketer.token, json: { name, rules: { match: 'all', conditions: [] } } });
  return ((await res.json()) as { id: string }).id;
}

describe('campaign list', () => {
  it('shows an empty state, then campaigns with status and key figures of sent ones', async () => {
    const team = await t.workspaceWithTeam();
    const empty = await (await page('/campaigns', team.marketer.token)).text();
    expect(empty).toContain('Aucune campagne pour l’instant');

    const cp = await draft(team, 'Printemps');
    await seedAudience(t.client, team.workspace.id, 5, { openTracking: true });
    const seg = await segment(team, 'Les cinq');
    await t.request(`/api/v1/campaigns/${cp.id}/send`, { method: 'POST', token: team.marketer.token, json: { segmentId: seg } });
    // One human open among the 5 tracked recipients.
    await t.client.execute({ sql: 'UPDATE sends SET human_opens = 1 WHERE rowid = (SELECT min(rowid) FROM sends WHERE campaign_id = ?)', args: [cp.id] });
    await draft(team, 'Brouillon suivant');

    const html = await (await page('/campaigns', team.marketer.token)).text();
    expect(html).toContain('Printemps');
    expect(html).toContain('Envoyée');
    expect(html).toContain('Les cinq');
    expect(html).toContain('20 % (1 sur 5)');
    expect(html).toContain('Brouillon suivant');
  });
});

describe('draft editor', () => {
  it('renders the editor with the body, the preview frame, the verification and its own CSP', async () => {
    const team = await t.workspaceWithTeam();
    const cp = await draft(team);
    const res = await page(`/campaigns/${cp.id}`, team.marketer.token);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self' 'unsafe-inline'");
    const html = await res.text();
    expect(html).toContain('id="body"');
    expect(html).toContain('sandbox=""');
    expect(html).toContain('Mentions obligatoires présentes');
    expect(html).toContain('/static/campaign-editor.js');

    const preview = await page(`/campaigns/${cp.id}/preview`, team.marketer.token);
    expect(preview.status).toBe(200);
    expect(preview.headers.get('content-security-policy')).toContain("frame-ancestors 'self'");
    expect(preview.headers.get('content-security-policy')).not.toContain('script-src');
    expect(await preview.text()).toContain('Se désinscrire en un clic');
  });

  it('previews without script as a chosen contact of a segment, at mobile width', async () => {
    const team = await t.workspaceWithTeam();
    const cp = await draft(team);
    const [contactId] = await seedAudience(t.client, team.workspace.id, 2, { prefix: 'pv' });
    await segment(team);
    const html = await (await page(`/campaigns/${cp.id}?as=${contactId}&width=mobile`, team.marketer.token)).text();
    expect(html).toContain(`<option value="${contactId}" selected="">`);
    expect(html).toContain(`src="/campaigns/${cp.id}/preview?as=${contactId}"`);
    expect(html).toContain('class="cmp-frame mobile"');
    const preview = await (await page(`/campaigns/${cp.id}/preview?as=${contactId}`, team.marketer.token)).text();
    expect(preview).toContain('Bonjour Prénom0');
    // An id that is not one of this workspace's contacts falls back to the sample.
    expect(await (await page(`/campaigns/${cp.id}/preview?as=ct_nope`, team.marketer.token)).text()).toContain('Bonjour Marie');
  });

  it('saves a valid edit', async () => {
    const team = await t.workspaceWithTeam();
    const cp = await draft(team);
    const res = await post(`/campaigns/${cp.id}`, team.marketer.token, { name: 'Rome', subject: 'Nouveau : Rome en mai', preheader: cp.preheader, body: cp.body, intent: 'save' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/campaigns/${cp.id}?notice=saved`);
    const after = (await (await t.request(`/api/v1/campaigns/${cp.id}`, { token: team.marketer.token })).json()) as { name: string; subject: string; version: number };
    expect(after).toMatchObject({ name: 'Rome', subject: 'Nouveau : Rome en mai', version: cp.version + 1 });
  });

  it('refuses an empty subject and broken MJML with a 400 naming the field and line, and writes nothing', async () => {
    const team = await t.workspaceWithTeam();
    const cp = await draft(team);
    const before = await t.dumpDatabase();

    const noSubject = await post(`/campaigns/${cp.id}`, team.marketer.token, { name: 'Rome', subject: '  ', preheader: cp.preheader, body: cp.body, intent: 'save' });
    expect(noSubject.status).toBe(400);
    const a = await noSubject.text();
    expect(a).toContain('id="subject-error"');
    expect(a).toContain('ne peut pas être vide');
    expect(a).toContain('aria-invalid="true"');

    const broken = '<mj-section>\n  <mj-column>\n    <mj-text>Bonjour <script>alert(1)</script></mj-text>\n  </mj-column>\n</mj-section>';
    const badBody = await post(`/campaigns/${cp.id}`, team.marketer.token, { name: 'Rome', subject: 'Objet', preheader: cp.preheader, body: broken, intent: 'save' });
    expect(badBody.status).toBe(400);
    const b = await badBody.text();
    expect(b).toContain('id="body-error"');
    expect(b).toContain('ligne 3');
    expect(b).toContain('Ce message serait refusé à l’envoi');
    // What was typed comes back, so nothing is lost.
    expect(b).toContain('Bonjour &lt;script&gt;');

    const noName = await post(`/campaigns/${cp.id}`, team.marketer.token, { name: ' ', subject: 'Objet', preheader: cp.preheader, body: cp.body, intent: 'save' });
    expect(noName.status).toBe(400);
    expect(await noName.text()).toContain('id="name-error"');

    expect(await t.dumpDatabase()).toBe(before);
  });

  it('sends a test to the marketer, in the outbox', async () => {
    const team = await t.workspaceWithTeam();
    const cp = await draft(team);
    const res = await post(`/campaigns/${cp.id}`, team.marketer.token, { name: 'Rome', subject: 'Test de Rome', preheader: cp.preheader, body: cp.body, intent: 'test' });
    expect(res.headers.get('location')).toBe(`/campaigns/${cp.id}?notice=tested`);
    const outbox = (await (await t.request('/api/v1/dev/outbox', { token: team.marketer.token })).json()) as { messages: { subject: string; to: string }[] };
    expect(outbox.messages.map((m) => [m.to, m.subject])).toContainEqual([team.marketer.email, '[TEST] Test de Rome']);
    expect(await (await page(`/campaigns/${cp.id}?notice=tested`, team.marketer.token)).text()).toContain(`Test envoyé à ${team.marketer.email}`);
  });
});

describe('sending', () => {
  it('asks to confirm with the audience count, then sends', async () => {
    const team = await t.workspaceWithTeam();
    const cp = await draft(team);
    await seedAudience(t.client, team.workspace.id, 7);
    const seg = await segment(team, 'Les sept');
    const confirm = await post(`/campaigns/${cp.id}/confirm`, team.marketer.token, { segmentId: seg, when: 'now', at: '' });
    expect(confirm.status).toBe(200);
    expect(await confirm.text()).toContain('maintenant à 7 destinataires du segment « Les sept »');
    const sent = await post(`/campaigns/${cp.id}/send`, team.marketer.token, { segmentId: seg, when: 'now', at: '' });
    expect(sent.status).toBe(303);
    const status = await (await page(`/campaigns/${cp.id}`, team.marketer.token)).text();
    expect(status).toContain('id="progress"');
    expect(status).toContain('7 envoyé(s) sur 7');
  });

  it('refuses a schedule in the past or without a date, naming the field, and changes nothing', async () => {
    const team = await t.workspaceWithTeam();
    const cp = await draft(team);
    await seedAudience(t.client, team.workspace.id, 3);
    const seg = await segment(team);
    const before = await t.dumpDatabase();
    // The test clock is 2026-11-22 09:00 UTC (10:00 in Paris).
    for (const path of ['confirm', 'send']) {
      const past = await post(`/campaigns/${cp.id}/${path}`, team.marketer.token, { segmentId: seg, when: 'later', at: '2026-11-22T09:30' });
      expect(past.status).toBe(400);
      const html = await past.text();
      expect(html).toContain('id="at-error"');
      expect(html).toContain('cette date est passée');
    }
    const none = await post(`/campaigns/${cp.id}/send`, team.marketer.token, { segmentId: seg, when: 'later', at: '' });
    expect(none.status).toBe(400);
    expect(await none.text()).toContain('indiquez la date et l’heure d’envoi');
    const noSegment = await post(`/campaigns/${cp.id}/send`, team.marketer.token, { segmentId: 'seg_nope', when: 'now', at: '' });
    expect(noSegment.status).toBe(400);
    expect(await noSegment.text()).toContain('id="segmentId-error"');
    expect(await t.dumpDatabase()).toBe(before);
  });

  it('schedules at a Paris time in the future', async () => {
    const team = await t.workspaceWithTeam();
    const cp = await draft(team);
    await seedAudience(t.client, team.workspace.id, 3);
    const seg = await segment(team);
    const res = await post(`/campaigns/${cp.id}/send`, team.marketer.token, { segmentId: seg, when: 'later', at: '2026-12-01T08:30' });
    expect(res.status).toBe(303);
    const api = (await (await t.request(`/api/v1/campaigns/${cp.id}`, { token: team.marketer.token })).json()) as { status: string; scheduledAt: string };
    expect(api).toMatchObject({ status: 'scheduled', scheduledAt: '2026-12-01T07:30:00.000Z' });
    expect(await (await page(`/campaigns/${cp.id}`, team.marketer.token)).text()).toContain('Mettre en pause');

    // Pause, resume (back to its schedule), cancel: each a form post that lands on the page.
    const status = async () => ((await (await t.request(`/api/v1/campaigns/${cp.id}`, { token: team.marketer.token })).json()) as { status: string }).status;
    expect((await post(`/campaigns/${cp.id}/pause`, team.marketer.token, {})).status).toBe(303);
    expect(await status()).toBe('paused');
    expect(await (await page(`/campaigns/${cp.id}`, team.marketer.token)).text()).toContain('Reprendre');
    await post(`/campaigns/${cp.id}/resume`, team.marketer.token, {});
    expect(await status()).toBe('scheduled');
    await post(`/campaigns/${cp.id}/cancel`, team.marketer.token, {});
    expect(await status()).toBe('cancelled');
    // A second cancel is refused with a message, not a crash.
    const again = await post(`/campaigns/${cp.id}/cancel`, team.marketer.token, {});
    expect(again.headers.get('location')).toContain('error=');
  });

  it('reads datetime-local values as Paris time, across daylight saving changes', () => {
    expect(parseParisLocal('2026-07-01T12:00')?.toISOString()).toBe('2026-07-01T10:00:00.000Z');
    expect(parseParisLocal('2026-01-15T12:00')?.toISOString()).toBe('2026-01-15T11:00:00.000Z');
    expect(parseParisLocal('2026-13-01T12:00')).toBeNull();
    expect(parseParisLocal('demain')).toBeNull();
  });
});

describe('access', () => {
  it('answers 404 for another workspace’s campaign, on every route', async () => {
    const mine = await t.workspaceWithTeam();
    const other = await t.workspaceWithTeam();
    const cp = await draft(other);
    const before = await t.dumpDatabase();
    expect((await page(`/campaigns/${cp.id}`, mine.marketer.token)).status).toBe(404);
    expect((await page(`/campaigns/${cp.id}/preview`, mine.marketer.token)).status).toBe(404);
    expect((await post(`/campaigns/${cp.id}`, mine.marketer.token, { name: 'x', subject: 'x', preheader: 'x', body: cp.body })).status).toBe(404);
    expect((await post(`/campaigns/${cp.id}/pause`, mine.marketer.token, {})).status).toBe(404);
    expect(await t.dumpDatabase()).toBe(before);
  });

  it('forbids agents (403) and sends anonymous visitors to the login form', async () => {
    const team = await t.workspaceWithTeam();
    const cp = await draft(team);
    expect((await page('/campaigns', team.agent.token)).status).toBe(403);
    expect((await page(`/campaigns/${cp.id}`, team.agent.token)).status).toBe(403);
    expect((await post(`/campaigns/${cp.id}`, team.agent.token, { name: 'x', subject: 'x', preheader: 'x', body: cp.body })).status).toBe(403);
    const anon = await t.request(`/campaigns/${cp.id}`);
    expect(anon.status).toBe(303);
    expect(anon.headers.get('location')).toContain('/login');
  });
});
