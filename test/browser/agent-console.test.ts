/**
 * Journey: an agent opens the console from the dialer's link and records a consent with the
 * keyboard alone; the receipt shows, the form is empty for the next call; then the prospect
 * confirms from the email in the outbox.
 */
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers/app.js';
import { screenshot } from '../helpers/browser.js';
import { makeScripts } from '../helpers/factories.js';
import { loginThroughForm, useServedApp } from '../helpers/served-app.js';

const env = useServedApp();
let t: TestApp;
let server: ServedServer;
let browser: ServedBrowser;
let team: Awaited<ReturnType<TestApp['workspaceWithTeam']>>;
type ServedServer = (typeof env)['server'];
type ServedBrowser = (typeof env)['browser'];

beforeAll(async () => {
  ({ t, server, browser } = env);
  team = await t.workspaceWithTeam();
  await makeScripts(t.db, team.workspace);
});

const login = (page: Page, email: string, next: string) => loginThroughForm(page, server.url, email, next);

describe('agent console in Chromium', () => {
  it('records a consent with the keyboard only, pre-filled from the dialer link', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    const dialerLink = '/agent?phone=0612345678&callRef=VOC-2026-0042&campaign=Voyage%20%C3%A0%20Rome';
    await login(page, team.agent.email, dialerLink);

    // Nothing is pre-selected.
    expect(await page.locator('input[type=radio]:checked').count()).toBe(0);
    // The phone came from the dialer, so the email field has the focus.
    await page.waitForFunction(() => document.activeElement?.id === 'email');
    await page.keyboard.type('marie.dupont@example.com');
    await expect(page.locator('#email-spelled').textContent()).resolves.toBe('marie [point] dupont [arobase] example [point] com');
    await page.keyboard.press('Tab');
    await page.keyboard.type('Marie');
    await page.keyboard.press('Tab');
    await page.keyboard.type('Dupont');
    await page.keyboard.press('Tab'); // call ref (pre-filled)
    await page.keyboard.press('Tab'); // campaign (pre-filled)
    await page.keyboard.press('Tab'); // call basis
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    expect(await page.locator('#basis').inputValue()).toBe('inbound_call');
    await page.keyboard.press('Tab'); // basis reference (none for an inbound call)
    await page.keyboard.press('Tab'); // newsletter: "Oui"
    await page.keyboard.press('Space');
    await page.keyboard.press('Tab'); // open tracking group
    await page.keyboard.press('ArrowRight'); // "Non"
    await screenshot(page, 'agent-console-filled');
    await page.keyboard.press('Tab'); // submit
    await page.keyboard.press('Enter');
    await page.waitForURL(/receipt=/);

    const receipt = page.locator('#receipt');
    await expect(receipt.textContent()).resolves.toContain('marie.dupont@example.com');
    await expect(receipt.textContent()).resolves.toContain('VOC-2026-0042');
    await expect(receipt.textContent()).resolves.toContain('E-mail de confirmation envoyé');
    // An empty form for the next call, focus back on its first field; same campaign and basis.
    expect(await page.locator('#email').inputValue()).toBe('');
    expect(await page.locator('#callRef').inputValue()).toBe('');
    expect(await page.locator('#campaign').inputValue()).toBe('Voyage à Rome');
    expect(await page.locator('#basis').inputValue()).toBe('inbound_call');
    expect(await page.locator('input[type=radio]:checked').count()).toBe(0);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('phone');
    await screenshot(page, 'agent-console-receipt');
    expect(errors).toEqual([]);

    const contacts = (await (await t.request('/api/v1/contacts?email=marie.dupont%40example.com', { token: team.admin.token })).json()) as {
      contacts: { phone: string; firstName: string; sourceCampaign: string; ownerAgentId: string; consents: { purpose: string; status: string }[] }[];
    };
    expect(contacts.contacts[0]).toMatchObject({
      phone: '+33612345678',
      firstName: 'Marie',
      sourceCampaign: 'Voyage à Rome',
      ownerAgentId: team.agent.id,
      consents: [
        { purpose: 'newsletter', status: 'granted' },
        { purpose: 'open_tracking', status: 'refused' },
      ],
    });
    await page.close();
  });

  it('finds a returning prospect from the dialer’s phone number and fills what is known', async () => {
    const scripts = (await (await t.request('/api/v1/consent-scripts', { token: team.agent.token })).json()) as { scripts: { id: string; purpose: string }[] };
    await t.request('/api/v1/consents', {
      method: 'POST',
      token: team.agent.token,
      json: {
        contact: { email: 'jules.bernard@example.com', phone: '07 11 22 33 44', firstName: 'Jules', lastName: 'Bernard' },
        call: { ref: 'VOC-8', basis: 'inbound_call' },
        answers: scripts.scripts.map((s) => ({ purpose: s.purpose, answer: 'refused', scriptId: s.id })),
      },
    });
    const page = await browser.newPage();
    await login(page, team.agent.email, '/agent?phone=0711223344&callRef=VOC-9');
    await page.waitForFunction(() => (document.getElementById('email') as HTMLInputElement).value !== '');
    expect(await page.locator('#email').inputValue()).toBe('jules.bernard@example.com');
    expect(await page.locator('#firstName').inputValue()).toBe('Jules');
    await expect(page.locator('#lead-found').textContent()).resolves.toContain('Contact connu : Jules Bernard — newsletter : refused');
    // Still nothing pre-selected: the agent asks again.
    expect(await page.locator('input[type=radio]:checked').count()).toBe(0);
    await page.close();
  });

  it('shows what is missing and saves nothing when an answer is not chosen', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 900 } });
    await login(page, team.agent.email, '/agent?callRef=VOC-2&basis=inbound_call');
    const before = await t.dumpDatabase();
    await page.fill('#email', 'paul@example.com');
    await page.getByRole('button', { name: 'Enregistrer', exact: true }).click();
    await page.waitForLoadState('domcontentloaded');
    await expect(page.locator('.notice.err').first().textContent()).resolves.toContain('champs sont à corriger');
    await expect(page.locator('#email').inputValue()).resolves.toBe('paul@example.com');
    expect(await page.locator('.field-error').count()).toBe(2);
    await screenshot(page, 'agent-console-errors-mobile');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    expect(await t.dumpDatabase()).toBe(before);
    await page.close();
  });

  it('the prospect confirms from the email in the outbox', async () => {
    const scripts = (await (await t.request('/api/v1/consent-scripts', { token: team.agent.token })).json()) as { scripts: { id: string; purpose: string }[] };
    const captured = await t.request('/api/v1/consents', {
      method: 'POST',
      token: team.agent.token,
      json: {
        contact: { email: 'lea.martin@example.com', firstName: 'Léa' },
        call: { ref: 'VOC-7', basis: 'inbound_call' },
        answers: scripts.scripts.map((s) => ({ purpose: s.purpose, answer: 'granted', scriptId: s.id })),
      },
    });
    expect(captured.status).toBe(201);
    const page = await browser.newPage();
    const outbox = (await (await t.request('/api/v1/dev/outbox', { token: team.admin.token })).json()) as { messages: { to: string; html: string }[] };
    const mail = outbox.messages.find((m) => m.to === 'lea.martin@example.com')!;
    await page.setContent(mail.html);
    const href = await page.locator('a', { hasText: 'Je confirme mon inscription' }).getAttribute('href');
    expect(href).toContain(`${server.url}/confirm/`);
    await page.goto(href!);
    await screenshot(page, 'confirm-page');
    await page.click('text=Je confirme mon inscription');
    await expect(page.locator('.notice.ok').textContent()).resolves.toContain('est confirmée');
    await screenshot(page, 'confirm-done');
    await page.close();
  });
});
