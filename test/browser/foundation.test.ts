/**
 * In real headless Chromium over HTTP: log in with the keyboard only, land on the role's home,
 * invite someone, read the invitation in the dev outbox, and check the pages at phone width.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { expectAccessible } from '../helpers/a11y.js';
import { launchBrowser, screenshot } from '../helpers/browser.js';
import { TEST_PASSWORD } from '../helpers/factories.js';
import { serveOnLoopback } from '../helpers/http-server.js';

let t: TestApp;
let server: Awaited<ReturnType<typeof serveOnLoopback>>;
let browser: Browser;

beforeAll(async () => {
  t = await createTestApp();
  server = await serveOnLoopback(t);
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  t?.dispose();
});

describe('foundation pages in Chromium', () => {
  it('an admin logs in with the keyboard alone, invites a person, and sees the email in the outbox', async () => {
    const { admin } = await t.workspaceWithTeam();
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const consoleErrors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));

    await page.goto(`${server.url}/admin/members`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await screenshot(page, 'login');
    // The email field has focus on load; type, Tab, type, Enter.
    await page.waitForFunction(() => document.activeElement?.id === 'email');
    await page.keyboard.type(admin.email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(TEST_PASSWORD);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${server.url}/admin/members`);
    await expect(page.locator('h1').textContent()).resolves.toBe('Équipe');

    await page.fill('#invite-name', 'Inès Téléactrice');
    await page.fill('#invite-email', 'ines@example.test');
    await page.selectOption('#invite-role', 'agent');
    await page.click('text=Envoyer l’invitation');
    await page.waitForURL(/ok=invited/);
    await expect(page.locator('.notice.ok').textContent()).resolves.toContain('ines@example.test');
    await screenshot(page, 'members');

    await page.goto(`${server.url}/dev/outbox`);
    await page.click('text=Invitation à rejoindre');
    const frame = page.frameLocator('iframe.mail');
    await expect(frame.locator('a', { hasText: 'Choisir mon mot de passe' }).getAttribute('href')).resolves.toContain(`${server.url}/invite/`);
    await screenshot(page, 'outbox-message');

    await page.goto(`${server.url}/`);
    await screenshot(page, 'home-admin');
    await page.goto(`${server.url}/admin/workspace`);
    await screenshot(page, 'workspace');
    expect(consoleErrors, consoleErrors.join("\n")).toEqual([]);
    await page.close();
  });

  it('the invited person activates the account from the emailed link', async () => {
    const { admin } = await t.workspaceWithTeam();
    await t.request('/api/v1/members', { method: 'POST', token: admin.token, json: { email: 'paul@example.test', name: 'Paul', role: 'marketer' } });
    const list = (await (await t.request('/api/v1/dev/outbox', { token: admin.token })).json()) as { messages: { text: string }[] };
    const link = /(http:\/\/127\.0\.0\.1:\d+\/invite\/[\w.-]+)/.exec(list.messages[0]!.text)![1]!;

    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await page.goto(link);
    await page.fill('#password', 'paul-password-1');
    await page.fill('#confirm', 'paul-password-1');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${server.url}/`);
    await expect(page.locator('h1').textContent()).resolves.toBe('Bonjour Paul');
    await screenshot(page, 'home-marketer-mobile');
    // Nothing overflows sideways at phone width.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.close();
  });

  it('a person changes their password from "Mon compte", reached from their name in the header', async () => {
    const { agent } = await t.workspaceWithTeam();
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addCookies([{ name: 'session', value: agent.token, url: server.url }]);
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    await page.click('header .who');
    await page.waitForURL(`${server.url}/account`);
    await page.fill('#current', 'not-my-password');
    await page.fill('#next', 'a-brand-new-passphrase');
    await page.fill('#confirm', 'a-brand-new-passphrase');
    await page.click('button:has-text("Changer le mot de passe")');
    await expect(page.locator('#current-error').textContent()).resolves.toContain('incorrect');
    await expect(page.locator('#current').getAttribute('aria-invalid')).resolves.toBe('true');
    await screenshot(page, 'account-error');
    await page.fill('#current', TEST_PASSWORD);
    await page.fill('#next', 'a-brand-new-passphrase');
    await page.fill('#confirm', 'a-brand-new-passphrase');
    await page.click('button:has-text("Changer le mot de passe")');
    await page.waitForURL(/\/account\?changed=1/);
    await expect(page.locator('.notice.ok').textContent()).resolves.toContain('Mot de passe changé');
    await expectAccessible(page);
    await screenshot(page, 'account');
    // The old session token died with the change; this browser got a new one.
    expect((await t.request('/api/v1/me', { token: agent.token })).status).toBe(401);
    await context.close();
  });

  it('focus is visible when moving through a page with the keyboard', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/login`);
    await page.keyboard.press('Tab');
    const outline = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement;
      return getComputedStyle(el).outlineStyle;
    });
    expect(outline).not.toBe('none');
    await page.close();
  });
});
