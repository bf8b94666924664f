/**
 * Journeys: a marketer reads a sent campaign's results per segment and per agent; an agent
 * records the booking of a prospect who called back after clicking the newsletter.
 */
import { describe, expect, it } from 'vitest';
import { screenshot } from '../helpers/browser.js';
import { makeUser } from '../helpers/factories.js';
import { loginThroughForm, useServedApp } from '../helpers/served-app.js';
import { asReader, trackedCampaign } from '../helpers/tracked-campaign.js';

const env = useServedApp();

describe('campaign results and conversions', () => {
  it('shows human opens out of the tracked base, human clicks, machine activity apart; per agent on request', async () => {
    const { t, server, browser } = env;
    const team = await t.workspaceWithTeam();
    const other = await makeUser(t.db, team.workspace.id, 'agent');
    const c = await trackedCampaign(t, team, [
      { prefix: 'a', n: 4, openTracking: true, ownerAgentId: team.agent.id },
      { prefix: 'b', n: 2, openTracking: false, ownerAgentId: other.id },
    ]);
    t.clock.advance(3600_000);
    const [a0, a1] = c.byPrefix('a');
    await asReader(t, a0!.pixel!);
    await asReader(t, a1!.pixel!, { ua: 'Mozilla/5.0' }); // Apple MPP
    await asReader(t, a0!.clicks[0]!);
    await asReader(t, c.byPrefix('b')[0]!.clicks[1]!);

    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await loginThroughForm(page, server.url, team.marketer.email, `/campaigns/${c.campaignId}`);
    const total = page.locator('#results-table tr.total');
    await expect(total.locator('td').nth(0).textContent()).resolves.toBe('6');
    await expect(total.locator('td').nth(1).textContent()).resolves.toBe('1 / 4 (25 %)');
    await expect(total.locator('td').nth(2).textContent()).resolves.toBe('2 / 6 (33,3 %)');
    await expect(page.locator('#results').textContent()).resolves.toContain('1 ouverture(s) (Apple MPP, scanners)');
    await page.selectOption('#groupBy', 'agent');
    await Promise.all([page.waitForURL(/groupBy=agent/), page.click('#results button:has-text("Afficher")')]);
    await expect(page.locator('#results-table tbody tr').count()).resolves.toBe(3);
    await expect(page.locator(`#results-table tbody tr:has-text("${other.name}") td`).nth(2).textContent()).resolves.toBe('1 / 2 (50 %)');
    await screenshot(page, 'campaign-results');
    const csv = await page.request.get(`${server.url}/api/v1/campaigns/${c.campaignId}/stats?groupBy=agent&format=csv`);
    expect(csv.headers()['content-type']).toContain('text/csv');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('an agent records a call-back booking; it is attributed to the campaign the prospect clicked', async () => {
    const { t, server, browser } = env;
    const team = await t.workspaceWithTeam();
    const c = await trackedCampaign(t, team, [{ prefix: 'r', n: 2, openTracking: false }]);
    t.clock.advance(3600_000);
    const r = c.recipients[0]!;
    await asReader(t, r.clicks[0]!);

    const page = await browser.newPage({ viewport: { width: 1024, height: 800 } });
    await loginThroughForm(page, server.url, team.agent.email, '/agent');
    await Promise.all([page.waitForURL(/\/agent\/conversion/), page.click('text=Enregistrer une conversion')]);
    await page.fill('#who', 'nobody@nowhere.example');
    await Promise.all([page.waitForLoadState('load'), page.click('button:has-text("Enregistrer la conversion")')]);
    await expect(page.locator('#who-error').textContent()).resolves.toContain('aucun contact');
    await page.fill('#who', r.email);
    await page.selectOption('#type', 'booking');
    await page.fill('#value', '1 290,50');
    await Promise.all([page.waitForLoadState('load'), page.click('button:has-text("Enregistrer la conversion")')]);
    await expect(page.locator('.notice.ok').textContent()).resolves.toContain('attribuée à la campagne « Offres » (dernier clic)');
    await screenshot(page, 'agent-conversion');
    const [row] = (await t.client.execute({ sql: 'SELECT value, attribution, campaign_id, actor_id FROM conversions WHERE contact_id = ?', args: [r.contactId] })).rows;
    expect(row).toMatchObject({ value: 129050, attribution: 'last_click', campaign_id: c.campaignId, actor_id: team.agent.id });
    await page.close();
  });
});
