/**
 * Journey: an admin searches the contact directory, opens a profile (ledger, sends), then imports a
 * small CSV through the mapping step, reads the row-by-row report and imports. Each page is
 * checked with axe at 1280 and 390 px, and screenshotted.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { expectAccessible } from '../helpers/a11y.js';
import { screenshot } from '../helpers/browser.js';
import { seedAudience } from '../helpers/audience.js';
import { makeScripts, unique } from '../helpers/factories.js';
import { loginThroughForm, useServedApp } from '../helpers/served-app.js';

const env = useServedApp();

/** No horizontal page scroll at this width: wide tables scroll inside their own box. */
async function expectNoPageScroll(page: Page) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
}

async function checkBothWidths(page: Page, name: string, mobileShot?: string) {
  await page.setViewportSize({ width: 1280, height: 900 });
  await expectAccessible(page, `${name} 1280`);
  await page.setViewportSize({ width: 390, height: 844 });
  await expectAccessible(page, `${name} 390`);
  await expectNoPageScroll(page);
  if (mobileShot) await screenshot(page, mobileShot);
  await page.setViewportSize({ width: 1280, height: 900 });
}

describe('contacts', () => {
  it('an admin finds a contact, reads their profile, and imports a CSV with consent', async () => {
    const { t, server, browser } = env;
    const team = await t.workspaceWithTeam();
    const scripts = await makeScripts(t.db, team.workspace);
    const people = [
      { email: `marie.dupont.${unique('m')}@example.test`, firstName: 'Marie', lastName: 'Dupont', phone: '06 12 34 56 78', answer: 'granted', campaign: 'Voyage à Rome' },
      { email: `jean.martin.${unique('j')}@example.test`, firstName: 'Jean', lastName: 'Martin', phone: '07 11 22 33 44', answer: 'refused', campaign: 'Voyage à Lisbonne' },
      { email: `chloe.bernard.${unique('c')}@example.test`, firstName: 'Chloé', lastName: 'Bernard', phone: '06 98 76 54 32', answer: 'granted', campaign: 'Voyage à Rome' },
    ];
    let marieId = '';
    for (const p of people) {
      const res = await t.request('/api/v1/consents', {
        method: 'POST',
        token: team.agent.token,
        json: {
          contact: { email: p.email, firstName: p.firstName, lastName: p.lastName, phone: p.phone },
          call: { ref: unique('VOC'), basis: 'inbound_call', campaign: p.campaign },
          answers: [
            { purpose: 'newsletter', answer: p.answer, scriptId: scripts.newsletter.id },
            { purpose: 'open_tracking', answer: 'granted', scriptId: scripts.open_tracking.id },
          ],
        },
      });
      expect(res.status).toBe(201);
      if (p.firstName === 'Marie') marieId = ((await res.json()) as { contact: { id: string } }).contact.id;
    }
    await seedAudience(t.client, team.workspace.id, 8, { prefix: unique('lead'), confirmed: true, ownerAgentId: team.agent.id, sourceCampaign: 'Voyage à Rome' });

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(String(e)));
    await loginThroughForm(page, server.url, team.admin.email, '/contacts');

    // The list, then a search by phone in national writing.
    await expect(page.locator('.ct-total').textContent()).resolves.toContain('11 contacts');
    await screenshot(page, 'contacts-list');
    await checkBothWidths(page, 'contacts list', 'contacts-list-mobile');
    await page.fill('#q', '06 12 34 56 78');
    await Promise.all([page.waitForURL(/q=06/), page.click('button:has-text("Filtrer")')]);
    await expect(page.locator('tbody tr').count()).resolves.toBe(1);
    await expect(page.locator('tbody tr').textContent()).resolves.toContain('Marie Dupont');

    // The profile.
    await Promise.all([page.waitForURL(new RegExp(`/contacts/${marieId}$`)), page.click('a:has-text("Marie Dupont")')]);
    await expect(page.locator('h1').textContent()).resolves.toBe('Marie Dupont');
    await expect(page.locator('#ledger + p + .table-wrap tbody tr').count()).resolves.toBe(2);
    await expect(page.locator('main').textContent()).resolves.toContain(scripts.newsletter.sha256.slice(0, 12));
    await expect(page.locator(`a[href="/admin/contacts/${marieId}/proof"]`).count()).resolves.toBe(1);
    await screenshot(page, 'contact-profile');
    await checkBothWidths(page, 'contact profile', 'contact-profile-mobile');

    // Import: upload, mapping (guessed from the header), dry run, import.
    await page.goto(`${server.url}/contacts`);
    await Promise.all([page.waitForURL(/\/contacts\/import$/), page.click('a:has-text("Importer un fichier CSV")').then(() => undefined)]);
    await checkBothWidths(page, 'import upload');
    const csv = [
      'E-mail;Prénom;Nom;Consentement;Date du consentement;Canal;Référence de l’appel;Agent',
      `lucie.${unique('l')}@example.test;Lucie;Moreau;oui;15/11/2026 14:05;téléphone;VOC-901;${team.agent.email}`,
      `paul.${unique('p')}@example.test;Paul;Lefèvre;oui;2026-11-16 10:00;web;https://voyage-online.example/newsletter;Site`,
      `refus.${unique('r')}@example.test;Nina;Petit;non;15/11/2026 14:20;téléphone;VOC-902;`,
      `sansdate.${unique('s')}@example.test;Hugo;Roux;oui;;téléphone;VOC-903;`,
      `sansref.${unique('s')}@example.test;Léo;Blanc;oui;15/11/2026 15:00;téléphone;;`,
      `${people[1]!.email};Jean;Martin;oui;01/11/2026 09:00;téléphone;VOC-904;`,
    ].join('\n');
    await page.setInputFiles('#file', { name: 'salon-novembre.csv', mimeType: 'text/csv', buffer: Buffer.from(csv, 'utf8') });
    await Promise.all([page.waitForLoadState('load'), page.click('button:has-text("Lire le fichier")')]);
    await expect(page.locator('h2').first().textContent()).resolves.toBe('Correspondance des colonnes');
    await expect(page.locator('#map-consent').inputValue()).resolves.toBe('3');
    await expect(page.locator('#map-consentAt').inputValue()).resolves.toBe('4');
    await expect(page.locator('#map-evidence').inputValue()).resolves.toBe('6');
    await expect(page.locator('#map-source').inputValue()).resolves.toBe('7');
    await checkBothWidths(page, 'import mapping', 'contacts-import-mapping-mobile');
    await screenshot(page, 'contacts-import-mapping');
    await Promise.all([page.waitForLoadState('load'), page.click('button:has-text("Vérifier le fichier")')]);

    const rows = page.locator('tbody tr');
    await expect(rows.count()).resolves.toBe(6);
    await expect(rows.nth(0).textContent()).resolves.toContain('À importer');
    await expect(rows.nth(2).textContent()).resolves.toContain('la personne n’a pas consenti');
    await expect(rows.nth(3).textContent()).resolves.toContain('date du consentement manquante');
    await expect(rows.nth(4).textContent()).resolves.toContain('appel sans référence');
    await expect(rows.nth(5).textContent()).resolves.toContain('réponse plus récente');
    await screenshot(page, 'contacts-import-report');
    await checkBothWidths(page, 'import report', 'contacts-import-report-mobile');

    await Promise.all([page.waitForLoadState('load'), page.click('button:has-text("Importer 2 lignes")')]);
    await expect(page.locator('.notice.ok').textContent()).resolves.toContain('2 lignes importées');
    await expect(rows.nth(0).textContent()).resolves.toContain('Importée');
    await screenshot(page, 'contacts-import-done');
    await checkBothWidths(page, 'import done');

    // The imported person is in the directory, with the import in their ledger.
    await page.goto(`${server.url}/contacts?q=lucie`);
    await Promise.all([page.waitForURL(/\/contacts\/ct_/), page.click('a:has-text("Lucie Moreau")')]);
    const ledger = await page.locator('#ledger + p + .table-wrap').textContent();
    expect(ledger).toContain('csv_import');
    expect(ledger).toContain('VOC-901');
    expect(ledger).toContain(team.admin.name);
    expect(errors).toEqual([]);
    await page.close();
  });
});
