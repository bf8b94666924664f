/**
 * Journey: a marketer creates a campaign from the starter template, edits the subject and the
 * MJML body in the code editor, watches the live preview follow, breaks the MJML and sees the
 * verification name the line, fixes it, saves, sends a test (in the dev outbox), then sends to a
 * segment after the confirmation step and watches the progress bar reach 100 %.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { seedAudience } from '../helpers/audience.js';
import { expectAccessible } from '../helpers/a11y.js';
import { screenshot } from '../helpers/browser.js';
import { loginThroughForm, useServedApp } from '../helpers/served-app.js';

const env = useServedApp();

/** Waits for a text in the preview frame (sandboxed, refilled through srcdoc by the editor script). */
async function inPreview(page: Page, text: string) {
  await page.frameLocator('#preview-frame').getByText(text).first().waitFor();
}

async function replaceBody(page: Page, text: string) {
  await page.click('.cm-content');
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(text);
}

describe('campaign editor', () => {
  it('edits with live preview and inline verification, tests, then sends to a segment', async () => {
    const { t, server, browser } = env;
    const team = await t.workspaceWithTeam();
    await seedAudience(t.client, team.workspace.id, 240);
    await t.request('/api/v1/segments', { method: 'POST', token: team.marketer.token, json: { name: 'Tous les inscrits', rules: { match: 'all', conditions: [] } } });

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(10_000);
    const problems: string[] = [];
    page.on('console', (m) => {
      // Remote images of the starter cannot load here (no network); anything else is a bug.
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(m.text());
    });
    page.on('pageerror', (err) => problems.push(String(err)));

    await loginThroughForm(page, server.url, team.marketer.email, '/campaigns');
    await expect(page.locator('main').textContent()).resolves.toContain('Aucune campagne pour l’instant');
    await expectAccessible(page, 'campaign list (empty)');
    await page.fill('#name', 'Rome, printemps 2027');
    await Promise.all([page.waitForURL(/\/campaigns\/cmp_/), page.click('text=Créer depuis la newsletter de départ')]);
    const campaignUrl = page.url();

    // The textarea became a code editor, in sync with the form.
    await page.waitForSelector('.cm-content');
    expect(await page.isHidden('textarea#body')).toBe(true);
    await expect(page.locator('#verify-ok').textContent()).resolves.toContain('Mentions obligatoires présentes');
    const original = await page.inputValue('textarea#body');
    expect(original).toContain('<mj-section');

    // Subject and body edits reach the live preview (no save).
    await page.fill('#subject', 'Le printemps à Rome, {{firstName|"à vous"}}');
    const edited = original.replace('Le nouveau catalogue {{brand.name}} est sorti !', 'Rome au printemps : 5 jours dès 690 €');
    await replaceBody(page, edited);
    await page.waitForFunction(() => document.getElementById('pv-subject')?.textContent === 'Le printemps à Rome, Marie');
    await inPreview(page, 'Rome au printemps : 5 jours dès 690 €');
    expect(await page.inputValue('textarea#body')).toContain('Rome au printemps');
    await inPreview(page, 'Se désinscrire en un clic');
    await expectAccessible(page, 'campaign editor');
    await screenshot(page, 'campaign-editor');

    // Mobile width.
    await page.check('input[name=width][value=mobile]');
    expect(await page.$eval('#preview-frame', (f) => f.getBoundingClientRect().width)).toBe(375);
    await page.check('input[name=width][value=desktop]');

    // Autocompletion knows MJML: typing "<mj-sec" after the last section offers mj-section.
    await page.click('.cm-content');
    await page.keyboard.press('Control+End');
    await page.keyboard.type('\n<mj-sec');
    await page.waitForSelector('.cm-tooltip-autocomplete >> text=mj-section');
    await page.keyboard.press('Escape');
    await replaceBody(page, edited);

    // Broken MJML: the verification names the line, next to the editor.
    const broken = edited.replace('<mj-column>', '<mj-colum>').replace('</mj-column>', '</mj-colum>');
    await replaceBody(page, broken);
    await page.waitForSelector('#verify-fail:not([hidden])');
    const failure = (await page.locator('#verify-fail').textContent())!;
    expect(failure).toContain('ligne 2');
    expect(failure).toContain('mj-colum');
    expect(await page.isHidden('#verify-ok')).toBe(true);
    await page.waitForSelector('.cm-lintRange-error');
    await page.click('#verify-issues button.cmp-line');
    await expect(page.locator('.cm-activeLine').textContent()).resolves.toContain('<mj-colum>');
    await screenshot(page, 'campaign-editor-error');

    // Fixed: green again, and the preview shows the fixed version.
    await replaceBody(page, edited);
    await page.waitForSelector('#verify-ok:not([hidden])');
    expect(await page.isHidden('#verify-fail')).toBe(true);

    // Save, then a test to myself (saves first), visible in the dev outbox.
    await Promise.all([page.waitForURL(/notice=saved/), page.click('button[value=save]')]);
    await expect(page.locator('.notice.ok').first().textContent()).resolves.toContain('Brouillon enregistré');
    await page.waitForSelector('.cm-content');
    expect(await page.inputValue('#subject')).toBe('Le printemps à Rome, {{firstName|"à vous"}}');
    await Promise.all([page.waitForURL(/notice=tested/), page.click('button[value=test]')]);
    await expect(page.locator('.notice.ok').first().textContent()).resolves.toContain(`Test envoyé à ${team.marketer.email}`);
    await page.click('text=Ouvrir la boîte d’envoi');
    await page.waitForSelector('text=[TEST] Le printemps à Rome, Marie');

    // Mobile layout of the editor.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(campaignUrl);
    await page.waitForSelector('.cm-content');
    await inPreview(page, 'Se désinscrire en un clic');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await expectAccessible(page, 'campaign editor (390 px)');
    // Let the (out-of-process, sandboxed) frame paint before the full-page capture.
    await page.locator('#preview-frame').scrollIntoViewIfNeeded();
    await page.waitForTimeout(300);
    await screenshot(page, 'campaign-editor-mobile');
    await page.setViewportSize({ width: 1280, height: 900 });

    // Send: segment with its count, confirmation with the audience, progress bar to 100 %.
    await expect(page.locator('#segment-count').textContent()).resolves.toContain('240 destinataires');
    await page.click('#send button[type=submit]');
    await expect(page.locator('#confirm-audience').textContent()).resolves.toContain('240 destinataires du segment « Tous les inscrits »');
    await expectAccessible(page, 'send confirmation');
    await Promise.all([page.waitForURL(/\/campaigns\/cmp_[^/]+$/), page.click('button:has-text("Confirmer l’envoi")')]);
    await screenshot(page, 'campaign-sending');
    await page.waitForFunction(() => {
      const bar = document.getElementById('progress') as HTMLProgressElement | null;
      return bar !== null && bar.max === 240 && bar.value === 240;
    }, undefined, { timeout: 60_000 });
    await expect(page.locator('#status').textContent()).resolves.toBe('Envoyée');
    await page.waitForSelector('#results');
    await screenshot(page, 'campaign-sent-results');
    await expectAccessible(page, 'campaign status');
    await page.setViewportSize({ width: 390, height: 844 });
    await expectAccessible(page, 'campaign status (390 px)');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.setViewportSize({ width: 1280, height: 900 });

    // The list shows it sent with its figures.
    await page.click('text=Toutes les campagnes');
    const row = page.locator('tr', { hasText: 'Rome, printemps 2027' });
    await expect(row.textContent()).resolves.toContain('Envoyée');
    await expect(row.textContent()).resolves.toContain('240');
    await expectAccessible(page, 'campaign list');
    await screenshot(page, 'campaigns-list');
    await page.setViewportSize({ width: 390, height: 844 });
    await expectAccessible(page, 'campaign list (390 px)');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot(page, 'campaigns-list-mobile');

    expect(problems).toEqual([]);
    await page.close();
  }, 120_000);
});
