/**
 * Journey: a subscriber opens the links of a newsletter in Chromium: unsubscribes with the
 * page's one button and undoes it, stops open tracking from the preference centre, downloads
 * their data, erases it. Then an agent re-captures the erased address: the console shows the
 * suppression and records the call only with a reason.
 */
import type { Page } from 'playwright-core';
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { screenshot } from '../helpers/browser.js';
import { loginThroughForm, useServedApp } from '../helpers/served-app.js';
import { subscriber, type Subscriber } from '../helpers/subscriber.js';

const env = useServedApp();
let s: Subscriber;

beforeAll(async () => {
  s = await subscriber(env.t);
});

async function open(path: string, viewport = { width: 1100, height: 900 }): Promise<Page> {
  const page = await env.browser.newPage({ viewport, acceptDownloads: true });
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  // A form answered with a 4xx page on purpose (the console's 409) is logged by Chromium; nothing else may be.
  page.on('close', () => expect(errors.filter((e) => !/responded with a status of 409/.test(e))).toEqual([]));
  await page.goto(`${env.server.url}${path}`);
  return page;
}

describe('subscriber pages in Chromium', () => {
  it('unsubscribes with one button, then undoes it', async () => {
    const page = await open(s.unsubscribe);
    await expect(page.locator('h1').textContent()).resolves.toBe(`Se désinscrire de la newsletter de ${s.workspace.name}`);
    await screenshot(page, 'unsubscribe-page');
    await Promise.all([page.waitForLoadState('load'), page.click('button:has-text("Me désinscrire")')]);
    await expect(page.locator('.notice.ok').textContent()).resolves.toContain('vous ne recevrez plus la newsletter');
    // No redirect: the POST answered the page itself (RFC 8058 asks for 200).
    expect(new URL(page.url()).pathname).toBe(s.unsubscribe);
    await screenshot(page, 'unsubscribe-done');
    await page.click('summary:has-text("Ce que vous acceptez")');
    await Promise.all([page.waitForLoadState('load'), page.click('button:has-text("Me réinscrire")')]);
    await expect(page.locator('.notice.ok').textContent()).resolves.toContain('à nouveau inscrit');
    await page.close();
  });

  it('stops open tracking alone from the preference centre, on a phone', async () => {
    const page = await open(`${s.preferences}?stop=opens`, { width: 390, height: 844 });
    await expect(page.locator('#purpose-open_tracking').getAttribute('class')).resolves.toBe('focus');
    await screenshot(page, 'preferences-mobile');
    await Promise.all([page.waitForLoadState('load'), page.click('#purpose-open_tracking button:has-text("Désactiver")')]);
    await expect(page.locator('.notice.ok').textContent()).resolves.toBe('Votre choix est enregistré.');
    await expect(page.locator('#purpose-open_tracking .pill').textContent()).resolves.toBe('Désactivé');
    await expect(page.locator('#purpose-newsletter .pill').textContent()).resolves.toBe('Activé');
    await page.close();
  });

  it('downloads the person’s data, then erases it', async () => {
    const page = await open(s.preferences);
    await screenshot(page, 'preferences-desktop');
    await Promise.all([page.waitForLoadState('load'), page.click('button:has-text("Télécharger mes données")')]);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('a:has-text("JSON")')]);
    const data = JSON.parse(await readFile((await download.path())!, 'utf8')) as { contact: { email: string } };
    expect(data.contact.email).toBe(s.email);

    await page.goto(`${env.server.url}${s.preferences}`);
    await page.check('input[name=confirm]');
    await Promise.all([page.waitForLoadState('load'), page.click('button:has-text("Effacer mes données")')]);
    await expect(page.locator('h1').textContent()).resolves.toBe('Données effacées');
    await screenshot(page, 'preferences-erased');
    await page.close();
  });

  it('the agent console shows an erased address as suppressed and records it only with a reason', async () => {
    const page = await open('/');
    await loginThroughForm(page, env.server.url, s.agent.email, '/agent?callRef=VOC-RECALL-1');
    await page.fill('#email', s.email);
    await page.fill('#firstName', 'Marie');
    await page.selectOption('#basis', 'inbound_call');
    await page.check('input[name="answer:newsletter"][value=granted]');
    await page.check('input[name="answer:open_tracking"][value=refused]');
    await Promise.all([page.waitForLoadState('load'), page.click('button:has-text("Enregistrer")')]);
    await expect(page.locator('.override h2').textContent()).resolves.toBe('Adresse sur la liste d’opposition');
    await expect(page.locator('.override').textContent()).resolves.toContain('a demandé l’effacement de ses données le');
    await screenshot(page, 'agent-console-suppressed');
    await page.fill('#overrideReason', 'A rappelé pour recevoir les offres Rome');
    await Promise.all([page.waitForURL((u) => u.searchParams.has('receipt')), page.click('.override button')]);
    const rows = await env.t.client.execute({ sql: "SELECT details FROM audit_log WHERE action = 'consent.suppression_override'" });
    expect(String(rows.rows[0]!.details)).toContain('A rappelé pour recevoir les offres Rome');
    await page.close();
  });

  it('an admin logs a request received by phone, sees its deadline in the register, and closes it', async () => {
    const other = await subscriber(env.t);
    const page = await open('/');
    await loginThroughForm(page, env.server.url, other.admin.email, `/admin/contacts/${other.contactId}/proof`);
    await page.click('summary:has-text("Enregistrer une demande reçue")');
    await page.selectOption('#dsr-type', 'access');
    await page.selectOption('#dsr-channel', 'phone');
    await Promise.all([page.waitForURL((u) => u.pathname === '/admin/requests'), page.click('button:has-text("Enregistrer la demande")')]);
    await expect(page.locator('.notice.ok').textContent()).resolves.toBe('Demande enregistrée.');
    const row = page.locator('tbody tr').first();
    await expect(row.textContent()).resolves.toContain(other.email);
    await expect(row.textContent()).resolves.toContain('À traiter');
    await screenshot(page, 'requests-register');
    await row.locator('input[name=outcome]').fill('Export envoyé par courrier');
    await Promise.all([page.waitForURL((u) => u.searchParams.get('ok') === 'closed'), row.locator('button:has-text("Clore")').click()]);
    await expect(page.locator('tbody tr').first().textContent()).resolves.toContain('Traitée');
    await page.close();
  });
});
