/**
 * The six journeys of the web app (issue 8), each in real Chromium against the real server on
 * 127.0.0.1, each from its own data so any one can run alone:
 *   (a) an agent records a consent with the keyboard only;
 *   (b) the subscriber confirms from the email in the outbox;
 *   (c) a marketer builds a segment, composes from the starter, previews, sends, sees 100 %;
 *   (d) the subscriber opens the email, clicks a link, unsubscribes with the button;
 *   (e) the dashboard shows that click and that unsubscribe in the right segment and agent row;
 *   (f) an admin exports the subscriber's proof and handles an erasure request.
 * Every page visited is checked by axe-core (no serious or critical violation) and
 * screenshotted into test/artifacts; the README's pictures come from here
 * (`UPDATE_SCREENSHOTS=1 npx vitest run test/browser/journeys.test.ts` refreshes docs/screenshots).
 */
import type { BrowserContext, Page } from 'playwright-core';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible } from '../helpers/a11y.js';
import { seedAudience } from '../helpers/audience.js';
import type { TestApp } from '../helpers/app.js';
import { screenshot } from '../helpers/browser.js';
import { makeScripts, makeUser } from '../helpers/factories.js';
import { loginThroughForm, useServedApp } from '../helpers/served-app.js';
import { HUMAN_UA, LINKS, trackedCampaign } from '../helpers/tracked-campaign.js';

const env = useServedApp();
type Team = Awaited<ReturnType<TestApp['workspaceWithTeam']>>;

/**
 * A screenshot for the README: kept in test/artifacts; copied to docs/screenshots (committed)
 * only when asked with UPDATE_SCREENSHOTS=1, so an ordinary test run leaves the tree clean.
 */
async function documented(page: Page, name: string) {
  const path = await screenshot(page, name);
  if (process.env.UPDATE_SCREENSHOTS !== '1') return;
  const docs = join(process.cwd(), 'docs', 'screenshots');
  mkdirSync(docs, { recursive: true });
  copyFileSync(path, join(docs, `${name}.png`));
}

/** A subscriber's browser: an ordinary desktop Chrome (a headless user agent counts as a machine). */
async function readerContext(): Promise<BrowserContext> {
  return env.browser.newContext({ userAgent: HUMAN_UA, viewport: { width: 390, height: 844 } });
}

function watchErrors(page: Page, ignore?: RegExp): string[] {
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && !ignore?.test(m.text()) && errors.push(`${m.text()} (${m.location().url})`));
  page.on('pageerror', (e) => errors.push(String(e)));
  return errors;
}

async function outboxMail(t: TestApp, admin: Team['admin'], to: string, subject?: RegExp) {
  const outbox = (await (await t.request('/api/v1/dev/outbox?limit=200', { token: admin.token })).json()) as { messages: { to: string; subject: string; html: string }[] };
  const mail = outbox.messages.find((m) => m.to === to && (!subject || subject.test(m.subject)));
  expect(mail, `a message to ${to}`).toBeDefined();
  return mail!;
}

let team: Team;
beforeAll(async () => {
  team = await env.t.workspaceWithTeam();
  await makeScripts(env.t.db, team.workspace);
});

describe('journeys', () => {
  it('(a) an agent records a consent with the keyboard only', async () => {
    const page = await env.browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const errors = watchErrors(page);
    await loginThroughForm(page, env.server.url, team.agent.email, '/agent');
    await expectAccessible(page, 'agent console');
    await page.focus('#phone');
    await page.keyboard.type('06 98 76 54 32');
    await page.keyboard.press('Tab');
    await page.keyboard.type('camille.roux@example.com');
    await page.keyboard.press('Tab');
    await page.keyboard.type('Camille');
    await page.keyboard.press('Tab');
    await page.keyboard.type('Roux');
    await page.keyboard.press('Tab');
    await page.keyboard.type('VOC-2026-0101');
    await page.keyboard.press('Tab');
    await page.keyboard.type('Voyage à Rome');
    await page.keyboard.press('Tab'); // call basis: first choice is "prior consent"; an inbound call is further down
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    expect(await page.locator('#basis').inputValue()).toBe('inbound_call');
    await page.keyboard.press('Tab'); // basis reference
    await page.keyboard.press('Tab'); // newsletter: "Oui"
    await page.keyboard.press('Space');
    await page.keyboard.press('Tab'); // open tracking: "Oui"
    await page.keyboard.press('Space');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.waitForURL(/receipt=/);
    await expect(page.locator('#receipt').textContent()).resolves.toContain('camille.roux@example.com');
    await documented(page, 'agent-console');
    await expectAccessible(page, 'agent console receipt');
    const state = await env.t.client.execute({
      sql: `SELECT s.purpose, s.status FROM consent_state s JOIN contacts c ON c.id = s.contact_id WHERE c.email = ? ORDER BY s.purpose`,
      args: ['camille.roux@example.com'],
    });
    expect(state.rows.map((r) => `${r.purpose}:${r.status}`)).toEqual(['newsletter:granted', 'open_tracking:granted']);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('(b) the subscriber confirms from the email in the outbox', async () => {
    await recordConsent('louise.petit@example.com', 'Louise', team.agent);
    const mail = await outboxMail(env.t, team.admin, 'louise.petit@example.com');
    const context = await readerContext();
    let page = await context.newPage();
    const errors = watchErrors(page);
    await page.setContent(mail.html);
    // The button opens a new tab, as in a mail client.
    const [tab] = await Promise.all([context.waitForEvent('page'), page.click('a:has-text("Je confirme mon inscription")')]);
    const tabErrors = watchErrors(tab);
    await tab.waitForURL(/\/confirm\//);
    await expectAccessible(tab, 'confirmation page');
    await tab.click('button:has-text("Je confirme mon inscription")');
    await expect(tab.locator('.notice.ok').textContent()).resolves.toContain('est confirmée');
    await expectAccessible(tab, 'confirmation done');
    const state = await env.t.client.execute({
      sql: `SELECT s.confirmed_at FROM consent_state s JOIN contacts c ON c.id = s.contact_id WHERE c.email = ? AND s.purpose = 'newsletter'`,
      args: ['louise.petit@example.com'],
    });
    expect(state.rows[0]!.confirmed_at).not.toBeNull();
    expect([...errors, ...tabErrors]).toEqual([]);
    await context.close();
  });

  it('(c) a marketer builds a segment, composes from the starter, previews, sends, and the bar reaches 100 %', async () => {
    const { t, server } = env;
    await seedAudience(t.client, team.workspace.id, 30, { prefix: 'jc-rome', sourceCampaign: 'Rome printemps' });
    await seedAudience(t.client, team.workspace.id, 12, { prefix: 'jc-paris', sourceCampaign: 'Paris hiver' });
    const page = await env.browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(10_000);
    const errors = watchErrors(page, /Failed to load resource/); // the starter's remote images: no network here
    await loginThroughForm(page, server.url, team.marketer.email, '/segments/new');
    await page.fill('#name', 'Leads Rome printemps');
    await page.fill('[id="conditions.0.value"]', 'Rome printemps');
    await page.waitForSelector('#audience-count[data-count="30"]');
    await expectAccessible(page, 'segment builder');
    await documented(page, 'segment-builder');
    await Promise.all([page.waitForURL(/\/segments\?created=/), page.getByRole('button', { name: 'Créer le segment' }).click()]);

    await page.goto(`${server.url}/campaigns`);
    await page.fill('#name', 'Rome au printemps');
    await Promise.all([page.waitForURL(/\/campaigns\/cmp_/), page.click('text=Créer depuis la newsletter de départ')]);
    await page.waitForSelector('.cm-content');
    await page.fill('#subject', 'Rome au printemps, {{firstName|"à vous"}}');
    await page.frameLocator('#preview-frame').getByText('Se désinscrire en un clic').first().waitFor();
    await page.waitForFunction(() => document.getElementById('pv-subject')?.textContent === 'Rome au printemps, Marie');
    await expect(page.locator('#verify-ok').textContent()).resolves.toContain('Mentions obligatoires présentes');
    await expectAccessible(page, 'campaign editor');
    await documented(page, 'campaign-editor');

    await page.selectOption('#segmentId', (await page.locator('#segmentId option', { hasText: 'Leads Rome printemps' }).getAttribute('value'))!);
    await page.waitForFunction(() => document.getElementById('segment-count')?.textContent?.includes('30 destinataires'));
    await page.click('#send button[type=submit]');
    await expect(page.locator('#confirm-audience').textContent()).resolves.toContain('30 destinataires');
    await Promise.all([page.waitForURL(/\/campaigns\/cmp_[^/]+$/), page.click('button:has-text("Confirmer l’envoi")')]);
    await page.waitForFunction(() => {
      const bar = document.getElementById('progress') as HTMLProgressElement | null;
      return bar !== null && bar.max === 30 && bar.value === 30;
    }, undefined, { timeout: 60_000 });
    await expect(page.locator('#status').textContent()).resolves.toBe('Envoyée');
    await expectAccessible(page, 'campaign sent');
    const sent = await t.client.execute({ sql: `SELECT count(*) AS n FROM sends s JOIN contacts c ON c.id = s.contact_id WHERE c.email LIKE 'jc-%' AND s.status = 'sent'`, args: [] });
    expect(Number(sent.rows[0]!.n)).toBe(30);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('(d) the subscriber opens the email, clicks a link, and unsubscribes with the button', async () => {
    const { t } = env;
    const other = await makeUser(t.db, team.workspace.id, 'agent');
    const c = await trackedCampaign(t, team, [
      { prefix: 'jd-nord', n: 2, openTracking: true, ownerAgentId: team.agent.id },
      { prefix: 'jd-sud', n: 1, openTracking: true, ownerAgentId: other.id },
    ]);
    t.clock.advance(3600_000);
    const reader = c.byPrefix('jd-nord')[0]!;
    await readClickAndLeave(reader.html, 'unsubscribe-done');

    const send = await t.client.execute({ sql: 'SELECT human_opens, human_clicks, unsubscribed_at FROM sends WHERE id = ?', args: [reader.sendId] });
    // Opened twice (the second time to unsubscribe), one click; the rates count the person once.
    expect(send.rows[0]).toMatchObject({ human_opens: 2, human_clicks: 1 });
    expect(send.rows[0]!.unsubscribed_at).not.toBeNull();
    const consent = await t.client.execute({ sql: `SELECT status FROM consent_state WHERE contact_id = ? AND purpose = 'newsletter'`, args: [reader.contactId] });
    expect(consent.rows[0]!.status).toBe('withdrawn');
  });

  it('(e) the results and the agent dashboard show that click and that unsubscribe in the right segment and agent row', async () => {
    const { t, server } = env;
    // A workspace of its own: the figures below are exactly this journey's.
    const crew = await t.workspaceWithTeam();
    const karim = await makeUser(t.db, crew.workspace.id, 'agent');
    const region = (value: string) => ({ match: 'all', conditions: [{ field: 'attributes.region', operator: 'equals', value }] });
    await trackedCampaign(t, crew, [{ prefix: 'je-nord', n: 3, openTracking: true, ownerAgentId: crew.agent.id, attributes: { region: 'Nord' } }], { segmentName: 'Région Nord', rules: region('Nord') });
    const sud = await trackedCampaign(t, crew, [{ prefix: 'je-sud', n: 2, openTracking: true, ownerAgentId: karim.id, attributes: { region: 'Sud' } }], { segmentName: 'Région Sud', rules: region('Sud') });
    t.clock.advance(3600_000);
    await readClickAndLeave(sud.byPrefix('je-sud')[0]!.html);

    const page = await env.browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const errors = watchErrors(page);
    await loginThroughForm(page, server.url, crew.marketer.email, '/reports?groupBy=segment');
    const cells = (label: string) => page.locator('#report-groups tbody tr', { has: page.locator('th', { hasText: label }) }).locator('td');
    // Columns: sent, opens, clicks, conversions, unsubscribed, complaints.
    await expect(cells('Région Sud').nth(2).textContent()).resolves.toBe('1 / 2 (50 %)');
    await expect(cells('Région Sud').nth(4).textContent()).resolves.toBe('1');
    await expect(cells('Région Nord').nth(2).textContent()).resolves.toBe('0 / 3 (0 %)');
    await expect(cells('Région Nord').nth(4).textContent()).resolves.toBe('0');
    await expectAccessible(page, 'results by segment');
    await documented(page, 'results-period');

    await page.selectOption('#groupBy', 'agent');
    await Promise.all([page.waitForURL(/groupBy=agent/), page.click('form.period-form button[type=submit]')]);
    await expect(cells(karim.name).nth(2).textContent()).resolves.toBe('1 / 2 (50 %)');
    await expect(cells(karim.name).nth(4).textContent()).resolves.toBe('1');
    await expect(cells(crew.agent.name).nth(4).textContent()).resolves.toBe('0');

    await page.goto(`${server.url}/dashboard`);
    const achieved = (agentId: string, metric: string) => page.locator(`tbody[data-target="${agentId}"] tr[data-metric="${metric}"] td[data-label="Réalisé"]`);
    await expect(achieved(karim.id, 'humanClickers').textContent()).resolves.toBe('1');
    await expect(achieved(karim.id, 'unsubscribes').textContent()).resolves.toBe('1');
    await expect(achieved(crew.agent.id, 'humanClickers').textContent()).resolves.toBe('0');
    await expect(achieved(crew.agent.id, 'unsubscribes').textContent()).resolves.toBe('0');
    await expectAccessible(page, 'agent dashboard');
    await documented(page, 'agent-dashboard');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('(f) an admin exports the subscriber’s proof and handles an erasure request', async () => {
    const { t, server } = env;
    const contactId = await recordConsent('hugo.lambert@example.com', 'Hugo', team.agent);
    const page = await env.browser.newPage({ viewport: { width: 1280, height: 1000 }, acceptDownloads: true });
    const errors = watchErrors(page);
    // The DPO finds the person, then opens the proof from their profile.
    await loginThroughForm(page, server.url, team.admin.email, '/contacts');
    await page.fill('#q', 'hugo.lambert');
    await Promise.all([page.waitForURL(/q=hugo/), page.click('button:has-text("Filtrer")')]);
    await expectAccessible(page, 'contacts search');
    await documented(page, 'contacts');
    await Promise.all([page.waitForURL(new RegExp(`/contacts/${contactId}$`)), page.click('a:has-text("Hugo")')]);
    await expectAccessible(page, 'contact profile');
    await documented(page, 'contact-profile');
    await Promise.all([page.waitForURL(/\/proof/), page.click(`a[href="/admin/contacts/${contactId}/proof"]`)]);
    await expectAccessible(page, 'proof page');
    await documented(page, 'consent-proof');
    const proofLink = page.locator(`a[href="/api/v1/contacts/${contactId}/consent-proof"]`);
    const proof = await page.request.get(server.url + (await proofLink.getAttribute('href'))!);
    expect(proof.status()).toBe(200);
    const bundle = (await proof.json()) as { events: { purpose: string; action: string; scriptId: string | null }[] };
    expect(bundle.events.map((e) => `${e.purpose}:${e.action}`)).toContain('newsletter:granted');

    // The person asks by phone to be erased: the DPO logs it, then answers it from the register.
    await page.click('summary:has-text("Enregistrer une demande reçue")');
    await page.selectOption('#dsr-type', 'erasure');
    await page.selectOption('#dsr-channel', 'phone');
    await page.fill('#dsr-notes', 'Appel du 22/11, identité vérifiée par rappel.');
    await page.click('button:has-text("Enregistrer la demande")');
    await page.goto(`${server.url}/admin/requests`);
    await expectAccessible(page, 'requests register');
    const row = page.locator('tr', { hasText: 'Effacement' }).first();
    await Promise.all([page.waitForURL(/\/proof\?request=/), row.locator('a').last().click()]);
    await page.check('input[name=confirm]');
    await page.click('button:has-text("Effacer")');
    await expect(page.locator('.notice.ok').first().textContent()).resolves.toContain('Personne effacée');
    await documented(page, 'erasure-done');

    const contact = await t.client.execute({ sql: 'SELECT email, erased_at FROM contacts WHERE id = ?', args: [contactId] });
    expect(contact.rows[0]!.erased_at).not.toBeNull();
    expect(contact.rows[0]!.email).not.toBe('hugo.lambert@example.com');
    const request = await t.client.execute({ sql: `SELECT status FROM dsr_requests WHERE contact_id = ? AND type = 'erasure'`, args: [contactId] });
    expect(request.rows[0]!.status).toBe('completed');
    // The compliance hub still finds the ledger intact after the erasure.
    await page.goto(`${server.url}/admin/compliance`);
    await expect(page.locator('main').textContent()).resolves.toMatch(/intact/i);
    await expectAccessible(page, 'compliance hub');
    await documented(page, 'compliance');
    expect(errors).toEqual([]);
    await page.close();
  });
});

/**
 * The subscriber's side of journeys (d) and (e): opens the message (the pixel loads), clicks its
 * first offer (the redirect leads to the brand's site), opens it again and unsubscribes with the
 * page's button. Hits are flushed as the buffered writer would a moment later.
 */
async function readClickAndLeave(html: string, shot?: string) {
  const context = await readerContext();
  let page = await context.newPage();
  const errors = watchErrors(page);
  const pixel = page.waitForResponse((r) => r.url().includes('/o/'));
  await page.setContent(html);
  expect((await pixel).headers()['content-type']).toBe('image/gif');
  // The brand's site is not on this machine: the journey ends at the request the redirect makes.
  const [landing] = await Promise.all([page.waitForRequest((r) => new URL(r.url()).hostname === 'voyage.example'), page.click('a:has-text("Rome")')]);
  expect(landing.url()).toBe(LINKS[0]);
  expect(landing.redirectedFrom()?.url()).toMatch(/\/c\/cmp_/);

  // Back to the message (opened again, in a fresh tab), to the unsubscribe link of its footer.
  await page.close();
  page = await context.newPage();
  const footerErrors = watchErrors(page);
  await page.setContent(html);
  await Promise.all([page.waitForURL(/\/u\//), page.click('a:has-text("Se désinscrire")')]);
  await expectAccessible(page, 'unsubscribe page');
  await page.click('button[type=submit]');
  await expect(page.locator('main').textContent()).resolves.toMatch(/désinscri/i);
  if (shot) await documented(page, shot);
  await expectAccessible(page, 'unsubscribe done');
  await env.t.deps.hits.flush();
  expect([...errors, ...footerErrors]).toEqual([]);
  await context.close();
}

/** A consent recorded through the dialer API (journeys (b) and (f) start after the call). */
async function recordConsent(email: string, firstName: string, agent: Team['agent']): Promise<string> {
  const { t } = env;
  const scripts = (await (await t.request('/api/v1/consent-scripts', { token: agent.token })).json()) as { scripts: { id: string; purpose: string }[] };
  const res = await t.request('/api/v1/consents', {
    method: 'POST',
    token: agent.token,
    json: {
      contact: { email, firstName },
      call: { ref: `VOC-${firstName}`, basis: 'inbound_call' },
      answers: scripts.scripts.map((s) => ({ purpose: s.purpose, answer: 'granted', scriptId: s.id })),
    },
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { contact: { id: string } }).contact.id;
}
