/**
 * Journey: a marketer builds a two-condition segment with the mouse and the keyboard, watches the
 * live audience count follow each change, saves, and finds it in the list with its count.
 * Every page is checked with axe at 1280 and 390 px, without horizontal scrolling on a phone.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { expectAccessible } from '../helpers/a11y.js';
import { seedAudience } from '../helpers/audience.js';
import { screenshot } from '../helpers/browser.js';
import { loginThroughForm, useServedApp } from '../helpers/served-app.js';

const env = useServedApp();

async function checkBothWidths(page: Page, name: string) {
  await expectAccessible(page, `${name} at 1280 px`);
  await page.setViewportSize({ width: 390, height: 844 });
  await expectAccessible(page, `${name} at 390 px`);
  // Tables scroll inside their wrapper; the page itself never scrolls sideways.
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await screenshot(page, `${name}-mobile`);
  await page.setViewportSize({ width: 1280, height: 900 });
}

/** After the last change: the debounce has fired and the answer is shown. */
async function settled(page: Page) {
  await page.waitForTimeout(400);
  await page.waitForSelector('#audience:not([aria-busy])');
}

const byId = (id: string) => `[id="${id}"]`;

describe('segment builder', () => {
  it('builds a segment with a live count, saves it and lists it with its audience', async () => {
    const { t, server, browser } = env;
    const team = await t.workspaceWithTeam();
    // "Voyage à Rome": 3 leads without owner and 2 owned by the agent; "Paris": 3 owned by the agent.
    await seedAudience(t.client, team.workspace.id, 3, { prefix: 'rome', sourceCampaign: 'Voyage à Rome' });
    await seedAudience(t.client, team.workspace.id, 2, { prefix: 'romeag', sourceCampaign: 'Voyage à Rome', ownerAgentId: team.agent.id });
    await seedAudience(t.client, team.workspace.id, 3, { prefix: 'paris', sourceCampaign: 'Paris', ownerAgentId: team.agent.id });

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(e.message));
    await loginThroughForm(page, server.url, team.marketer.email, '/segments');
    await expect(page.locator('main h2').textContent()).resolves.toBe('Aucun segment pour l’instant');
    await screenshot(page, 'segments-empty');
    await checkBothWidths(page, 'segments-empty');

    await Promise.all([page.waitForURL(/\/segments\/new$/), page.click('text=Créer le premier segment')]);
    // The no-script "update choices" button is hidden once the script runs.
    await expect(page.locator('.nojs-only').isVisible()).resolves.toBe(false);
    await page.click('#name');
    await page.keyboard.type('Rome, leads du conseiller');

    // Condition 1 with the mouse: call campaign (the default field) equals "Voyage à Rome".
    await page.click(byId('conditions.0.value'));
    await page.keyboard.type('Voyage à Rome');
    await page.waitForSelector('#audience-count[data-count="5"]');
    await expect(page.locator('#audience-count').textContent()).resolves.toBe('5 contacts recevraient une campagne envoyée maintenant.');
    await expect(page.locator('#audience-sample li').count()).resolves.toBe(5);

    // Condition 2 with the keyboard: the new row's field has the focus.
    await page.click('button[data-action="add"]');
    await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe('conditions.1.field');
    await page.keyboard.press('ArrowDown'); // Campagne d’appel → Conseiller
    await expect(page.locator(byId('conditions.1.field')).inputValue()).resolves.toBe('ownerAgentId');
    // The operators follow the field: a text field's list, "est égal à" first.
    await expect(page.locator(`${byId('conditions.1.operator')} option`).first().textContent()).resolves.toBe('est égal à');
    await page.keyboard.press('Tab'); // operator: "est égal à"
    await page.keyboard.press('Tab'); // value: the agents
    await expect(page.evaluate(() => document.activeElement?.tagName)).resolves.toBe('SELECT');
    await page.keyboard.press('ArrowDown'); // Choisir… → the agent
    await page.waitForSelector('#audience-count[data-count="2"]');
    await expect(page.locator('#audience-count').textContent()).resolves.toBe('2 contacts recevraient une campagne envoyée maintenant.');
    await expect(page.locator('#audience-sample li').count()).resolves.toBe(2);
    await expect(page.locator('#audience-sample').textContent()).resolves.toContain(team.agent.name);
    await expect(page.locator('#audience-count').getAttribute('aria-live')).resolves.toBe('polite');

    // A third row, removed again: the count comes back to the two conditions'.
    await page.click('button[data-action="add"]');
    await page.click(`button[aria-label="Retirer la condition 3"]`);
    await expect(page.locator('ol.rules > li').count()).resolves.toBe(2);
    // Focus moves to the row before the removed one rather than getting lost.
    await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe('conditions.1.field');

    await settled(page);
    await screenshot(page, 'segments-builder');
    await checkBothWidths(page, 'segments-builder');

    // Enter in the name field saves (not "remove the first row").
    await page.focus('#name');
    await Promise.all([page.waitForURL(/\/segments\?created=/), page.keyboard.press('Enter')]);
    await expect(page.locator('.notice.ok').textContent()).resolves.toBe('Segment « Rome, leads du conseiller » créé.');
    const row = page.locator('tbody tr', { hasText: 'Rome, leads du conseiller' });
    await expect(row.locator('td.audience-cell').textContent()).resolves.toBe('2 contacts');
    await expect(row.locator('td.rules-summary').textContent()).resolves.toBe(`Campagne d’appel est égal à « Voyage à Rome » et Conseiller est égal à « ${team.agent.name} »`);
    await screenshot(page, 'segments-list');
    await checkBothWidths(page, 'segments-list');

    // Opening it again shows the saved rules and the same count.
    await Promise.all([page.waitForURL(/\/segments\/seg_/), page.click('tbody a:has-text("Rome, leads du conseiller")')]);
    await expect(page.locator(byId('conditions.1.value')).inputValue()).resolves.toBe(team.agent.id);
    await expect(page.locator('#audience-count').getAttribute('data-count')).resolves.toBe('2');

    // A nested "or" group; then an emptied value is refused next to its field, nothing saved.
    await page.click('button[data-action="addGroup"]');
    await expect(page.locator(byId('conditions.2.match')).inputValue()).resolves.toBe('any');
    await page.selectOption(byId('conditions.2.conditions.0.field'), 'confirmed');
    await expect(page.locator(`${byId('conditions.2.conditions.0.value')} option`).allTextContents()).resolves.toEqual(['oui', 'non']);
    await settled(page);
    await screenshot(page, 'segments-builder-group');
    await page.fill(byId('conditions.0.value'), '');
    await Promise.all([page.waitForLoadState('load'), page.click('button[name="save"]')]);
    await expect(page.locator(byId('conditions.0.value-error')).textContent()).resolves.toBe('Saisissez une valeur (1 à 200 caractères).');
    await expect(page.locator(byId('conditions.2.conditions.0.field')).inputValue()).resolves.toBe('confirmed');
    await screenshot(page, 'segments-builder-error');
    await expectAccessible(page, 'segments-builder with errors');
    const [saved] = (await t.client.execute({ sql: 'SELECT rules FROM segments WHERE workspace_id = ?', args: [team.workspace.id] })).rows;
    expect(JSON.parse(String(saved!.rules)).conditions).toHaveLength(2);
    // The refused save answers 400 on purpose; nothing else may log an error.
    expect(errors.filter((e) => !e.includes('status of 400'))).toEqual([]);
    await page.close();
  }, 60_000);
});
