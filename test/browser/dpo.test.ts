/**
 * Journey: the DPO (an admin) goes through the compliance pages in Chromium: hub, scripts with
 * the live Art. 13 check, ledger with full hashes on demand, retention, suppression search, the
 * email footer preview following unsaved identity fields, requests. Each page is checked with
 * axe at 1280 and 390 px, without horizontal scrolling on the phone.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { expectAccessible } from '../helpers/a11y.js';
import { join } from 'node:path';
import { ARTIFACTS, screenshot } from '../helpers/browser.js';
import { makeScripts, unique } from '../helpers/factories.js';
import { loginThroughForm, useServedApp } from '../helpers/served-app.js';

const env = useServedApp();

async function bothWidths(page: Page, name: string | null, mobileName: string | null = null) {
  await page.setViewportSize({ width: 1280, height: 900 });
  await expectAccessible(page, `${page.url()} @1280`);
  if (name) await screenshot(page, name);
  await page.setViewportSize({ width: 390, height: 844 });
  await expectAccessible(page, `${page.url()} @390`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow, `horizontal scroll on ${page.url()} at 390 px`).toBeLessThanOrEqual(0);
  if (mobileName) await screenshot(page, mobileName);
  await page.setViewportSize({ width: 1280, height: 900 });
}

describe('the DPO pages', () => {
  it('an admin reviews compliance, writes a script, reads the ledger, checks an address and previews the footer', async () => {
    const { t, server, browser } = env;
    const team = await t.workspaceWithTeam();
    const scripts = await makeScripts(t.db, team.workspace);
    const emails: string[] = [];
    for (let i = 0; i < 5; i++) {
      const email = `${unique('lead')}@example.test`;
      emails.push(email);
      const res = await t.request('/api/v1/consents', {
        method: 'POST',
        token: team.agent.token,
        json: {
          contact: { email, firstName: 'Marie', lastName: `Dupont ${i}` },
          call: { ref: unique('CALL'), basis: 'inbound_call', campaign: 'Voyage à Rome' },
          answers: [
            { purpose: 'newsletter', answer: i === 4 ? 'refused' : 'granted', scriptId: scripts.newsletter.id },
            { purpose: 'open_tracking', answer: i % 2 ? 'granted' : 'refused', scriptId: scripts.open_tracking.id },
          ],
        },
      });
      expect(res.status).toBe(201);
    }

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(String(e)));
    await loginThroughForm(page, server.url, team.admin.email, '/admin/compliance');

    // Hub.
    await expect(page.locator('.chain .pill').textContent()).resolves.toBe('intacte');
    await expect(page.locator('.chain').textContent()).resolves.toContain('10 événements vérifiés');
    await bothWidths(page, 'dpo-compliance-hub', 'dpo-compliance-hub-mobile');

    // Scripts: the live check names what is missing, then the version is created.
    await Promise.all([page.waitForURL(/\/admin\/scripts/), page.click('.dpo-subnav a[href="/admin/scripts"]')]);
    await expect(page.locator('.script-version.current').count()).resolves.toBe(2);
    await page.fill('#purpose', 'partners');
    await page.fill('#label', 'Offres partenaires');
    await page.fill('#script-text', `${team.workspace.name} souhaite transmettre vos coordonnées à ses partenaires voyage.`);
    await page.locator('#script-check li').first().waitFor();
    const missing = await page.locator('#script-check').textContent();
    expect(missing).toContain('dire que le consentement peut être retiré');
    expect(missing).toContain('politique de confidentialité');
    await page.fill('#script-text', `${team.workspace.name} souhaite transmettre vos coordonnées à ses partenaires voyage. Vous pourrez retirer votre accord à tout moment depuis nos e-mails. Politique de confidentialité : ${team.workspace.privacyUrl}.`);
    await page.locator('#script-check .ok-line').waitFor();
    await Promise.all([page.waitForURL(/ok=created/), page.click('#script-form button[type=submit]')]);
    await expect(page.locator('.notice.ok').textContent()).resolves.toContain('Version 1 de « partners » enregistrée');
    await bothWidths(page, 'dpo-scripts', 'dpo-scripts-mobile');

    // Ledger: newest first, full hash on demand, filter by email.
    await Promise.all([page.waitForURL(/\/admin\/ledger/), page.click('.dpo-subnav a[href="/admin/ledger"]')]);
    await expect(page.locator('tbody tr').first().getAttribute('id')).resolves.toBe('evt-10');
    await page.locator('#evt-10 details.hash summary').first().click();
    await expect(page.locator('#evt-10 details.hash .hash-full').first().isVisible()).resolves.toBe(true);
    await bothWidths(page, 'dpo-ledger', 'dpo-ledger-mobile');
    await page.fill('#f-email', emails[0]!.toUpperCase());
    await Promise.all([page.waitForURL(/email=/), page.click('.ledger-filters button[type=submit]')]);
    await expect(page.locator('tbody tr').count()).resolves.toBe(2);
    const verify = page.locator('.chain button');
    await Promise.all([page.waitForURL(/ok=verified/), verify.click()]);
    await expect(page.locator('.notice.ok').first().textContent()).resolves.toContain('Vérification effectuée');

    // Retention.
    await page.goto(`${server.url}/admin/retention`);
    await page.fill('#retentionDays', '730');
    await expect(page.locator('#retention-years').textContent()).resolves.toBe('soit environ 2 an(s)');
    await Promise.all([page.waitForURL(/ok=saved/), page.click('form[action="/admin/retention"] button')]);
    await page.check('input[name=confirm]');
    await Promise.all([page.waitForURL(/ok=ran/), page.click('form[action="/admin/retention/run"] button')]);
    await expect(page.locator('section[aria-labelledby=purge-log] tbody tr').count()).resolves.toBeGreaterThan(0);
    await bothWidths(page, 'dpo-retention', 'dpo-retention-mobile');

    // Suppressions: add one by hand, then look it up.
    await page.goto(`${server.url}/admin/suppressions`);
    const optOut = `${unique('letter')}@example.test`;
    await page.fill('#add-email', optOut);
    await page.selectOption('#add-reason', 'admin');
    await Promise.all([page.waitForURL(/ok=added/), page.click('form[action="/admin/suppressions"] button')]);
    await page.fill('#search-email', optOut);
    await Promise.all([page.waitForURL(/\/admin\/suppressions\/search/), page.click('form[action="/admin/suppressions/search"] button')]);
    await expect(page.locator('#lookup-result').textContent()).resolves.toContain('Adresse exclue de tout envoi');
    await bothWidths(page, 'dpo-suppressions', 'dpo-suppressions-mobile');

    // Workspace: the footer preview renders the mandatory blocks and follows unsaved edits.
    await page.goto(`${server.url}/admin/workspace`);
    const frame = page.frameLocator('#footer-preview');
    await expect(frame.locator('.cn-block-identity').textContent()).resolves.toContain(team.workspace.legalName);
    await expect(frame.locator('.cn-block-unsubscribe').textContent()).resolves.toContain('Se désinscrire');
    await page.fill('#legalName', 'Voyage Online Groupe SAS');
    await expect.poll(() => frame.locator('.cn-block-identity').textContent(), { timeout: 5000 }).toContain('Voyage Online Groupe SAS');
    await page.locator('#preview').scrollIntoViewIfNeeded();
    await bothWidths(page, 'dpo-workspace-preview');
    // On a phone the email keeps its own layout inside the frame (a mail client's view).
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await frame.locator('.cn-block-identity').waitFor();
    // A full-page capture leaves the sandboxed (out-of-process) frame blank at this width: capture the section.
    await page.locator('#preview').screenshot({ path: join(ARTIFACTS, 'dpo-workspace-preview-mobile.png') });
    await page.setViewportSize({ width: 1280, height: 900 });

    // Requests, members, API keys, audit: reachable and accessible.
    for (const path of ['/admin/requests', '/admin/members', '/admin/api-keys', '/admin/audit']) {
      await page.goto(`${server.url}${path}`);
      await bothWidths(page, null);
    }
    expect(errors).toEqual([]);
    await page.close();
  });
});
