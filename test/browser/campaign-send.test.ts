/**
 * Journey: a marketer creates the starter newsletter, sends it to a segment from its page (after
 * the confirmation step), and watches the progress bar reach 100 %; the messages are in the dev outbox.
 */
import { describe, expect, it } from 'vitest';
import { seedAudience } from '../helpers/audience.js';
import { screenshot } from '../helpers/browser.js';
import { loginThroughForm, useServedApp } from '../helpers/served-app.js';

const env = useServedApp();

describe('sending from the campaign page', () => {
  it('sends the starter to a segment and the progress bar reaches 100 %', async () => {
    const { t, server, browser } = env;
    const team = await t.workspaceWithTeam();
    await seedAudience(t.client, team.workspace.id, 240);
    await t.request('/api/v1/segments', { method: 'POST', token: team.marketer.token, json: { name: 'Tous les inscrits', rules: { match: 'all', conditions: [] } } });

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    // The draft page previews the starter, whose remote images cannot load here (no network).
    page.on('console', (m) => m.type() === 'error' && !/Failed to load resource/.test(m.text()) && errors.push(m.text()));
    await loginThroughForm(page, server.url, team.marketer.email, '/campaigns');
    await page.fill('#name', 'Rome, printemps 2027');
    await Promise.all([page.waitForURL(/\/campaigns\/cmp_/), page.click('text=Créer depuis la newsletter de départ')]);
    await expect(page.locator('#segmentId option').first().textContent()).resolves.toContain('Tous les inscrits (240 destinataires');
    await screenshot(page, 'campaign-draft');
    await page.click('#send button[type=submit]');
    await expect(page.locator('#confirm-audience').textContent()).resolves.toContain('240 destinataires');
    await Promise.all([page.waitForURL(/\/campaigns\/cmp_[^/]+$/), page.click('button:has-text("Confirmer l’envoi")')]);
    await page.waitForFunction(() => {
      const bar = document.getElementById('progress') as HTMLProgressElement | null;
      return bar !== null && bar.max === 240 && bar.value === 240;
    });
    await expect(page.locator('#status').textContent()).resolves.toBe('Envoyée');
    await expect(page.locator('#counts').textContent()).resolves.toContain('240 envoyé(s) sur 240');
    await screenshot(page, 'campaign-sent');
    expect(errors).toEqual([]);

    const outbox = (await (await t.request('/api/v1/dev/outbox?limit=200', { token: team.admin.token })).json()) as { messages: { subject: string; headers: Record<string, string> }[] };
    expect(outbox.messages.length).toBe(200);
    expect(outbox.messages[0]!.headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    await page.close();
  });
});
