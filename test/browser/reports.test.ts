/**
 * Journeys: a marketer reads a sent campaign's charts and the period's report; a manager (admin)
 * sets the month's objectives on the agents' dashboard and reads Objectif / Réalisé / Écart.
 * Each page is checked with axe at desktop and phone widths, and photographed.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { expectAccessible } from '../helpers/a11y.js';
import { screenshot } from '../helpers/browser.js';
import { makeUser, unique } from '../helpers/factories.js';
import { loginThroughForm, useServedApp } from '../helpers/served-app.js';
import { asReader, trackedCampaign } from '../helpers/tracked-campaign.js';

const env = useServedApp();

async function seedCampaign() {
  const { t } = env;
  const team = await t.workspaceWithTeam();
  const other = await makeUser(t.db, team.workspace.id, 'agent');
  // Times relative to the app clock, which only moves forward (the send throttle remembers it),
  // from the next whole hour so the hourly chart has a known number of points.
  const HOUR = 3_600_000;
  const start = Math.ceil(t.clock.now().getTime() / HOUR) * HOUR;
  t.clock.set(new Date(start));
  const c = await trackedCampaign(t, team, [
    { prefix: 'a', n: 6, openTracking: true, ownerAgentId: team.agent.id, sourceCampaign: 'Voyage à Rome' },
    { prefix: 'b', n: 4, openTracking: false, ownerAgentId: other.id, sourceCampaign: 'Voyage à Lisbonne' },
  ]);
  const a = c.byPrefix('a');
  const b = c.byPrefix('b');
  t.clock.set(new Date(start + HOUR + 20 * 60_000));
  await asReader(t, a[0]!.pixel!);
  await asReader(t, a[1]!.pixel!);
  await asReader(t, a[2]!.pixel!, { ua: 'Mozilla/5.0' }); // Apple MPP
  t.clock.set(new Date(start + 3 * HOUR + 5 * 60_000));
  await asReader(t, a[0]!.clicks[0]!);
  await asReader(t, b[0]!.clicks[1]!);
  await asReader(t, b[1]!.clicks[0]!, { method: 'HEAD' }); // a link checker
  t.clock.set(new Date(start + 24 * HOUR + 40 * 60_000));
  await asReader(t, a[3]!.pixel!);
  await asReader(t, a[3]!.clicks[2]!);
  // Sessions last 8 hours: a day later, log in again.
  const converted = await t.request('/api/v1/conversions', { method: 'POST', token: await t.login(team.marketer.email), json: { contactId: a[0]!.contactId, type: 'booking', value: 1290.5, externalId: unique('BKG') } });
  expect(converted.status).toBe(201);
  return { team, other, c };
}

async function bothWidths(page: Page, name: string, check: () => Promise<void> = async () => {}) {
  await page.setViewportSize({ width: 1280, height: 900 });
  await check();
  await expectAccessible(page);
  await screenshot(page, name);
  await page.setViewportSize({ width: 390, height: 844 });
  await check();
  await expectAccessible(page);
  // No horizontal page scroll on a phone: wide tables scroll inside their own box.
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await screenshot(page, `${name}-mobile`);
}

describe('charts, reports and the agents dashboard', () => {
  it('a sent campaign shows its funnel, its activity over time and people versus machines', { timeout: 90_000 }, async () => {
    const { server, browser } = env;
    const { team, c } = await seedCampaign();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await loginThroughForm(page, server.url, team.marketer.email, `/campaigns/${c.campaignId}?groupBy=agent`);
    await expect(page.locator('#cr-funnel rect.bar').count()).resolves.toBe(5);
    await expect(page.locator('#cr-funnel').getAttribute('role')).resolves.toBe('img');
    await expect(page.locator('#cr-funnel title').textContent()).resolves.toBe('Du message remis à la conversion');
    await expect(page.locator('#cr-hm rect.bar').count()).resolves.toBe(4);
    // Two agents, three rates each, but the second agent's leads had no open tracking: no open-rate bar.
    await expect(page.locator('#cr-compare rect.bar').count()).resolves.toBe(5);
    // From the hour sending started to the last hit, 24 h 40 min later: 25 hours, one point per hour and series.
    await expect(page.locator('#cr-opens .point').count()).resolves.toBe(2 * 25);
    await expect(page.locator('#cr-opens .series.machine .point').count()).resolves.toBe(25);
    await expect(page.locator('#results').textContent()).resolves.toContain('Apple Mail Privacy Protection');
    await page.locator('#results').scrollIntoViewIfNeeded();
    await expectAccessible(page);
    await screenshot(page, 'campaign-results-charts');
    await page.setViewportSize({ width: 390, height: 844 });
    await expectAccessible(page);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot(page, 'campaign-results-charts-mobile');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('the period report: the form, the campaigns of the period, the charts, a bad period named', { timeout: 90_000 }, async () => {
    const { server, browser } = env;
    const { team, c } = await seedCampaign();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await loginThroughForm(page, server.url, team.marketer.email, '/reports');
    await page.fill('#from', '2026-11-01');
    await page.fill('#to', '2026-11-30');
    await page.selectOption('#groupBy', 'sourceCampaign');
    await Promise.all([page.waitForURL(/groupBy=sourceCampaign/), page.click('button:has-text("Afficher")')]);
    await expect(page.locator(`#report-campaigns a[href="/campaigns/${c.campaignId}"]`).textContent()).resolves.toBe('Offres');
    await expect(page.locator('#report-groups tbody tr').count()).resolves.toBe(3); // two call campaigns and the total
    await expect(page.locator('#rp-funnel rect.bar').count()).resolves.toBe(5);
    await expect(page.locator('#rp-compare rect.bar').count()).resolves.toBe(5);
    // Thirty days, two series.
    await expect(page.locator('#rp-clicks .point').count()).resolves.toBe(60);
    const csv = await page.locator('#report-groups a:has-text("Télécharger le CSV")').getAttribute('href');
    const res = await page.request.get(`${server.url}${csv}`);
    expect(res.headers()['content-type']).toContain('text/csv');
    expect(await res.text()).toContain('Voyage à Rome');
    await bothWidths(page, 'reports-period');

    await page.setViewportSize({ width: 1280, height: 900 });
    await page.fill('#from', '2026-11-30');
    await page.fill('#to', '2026-11-01');
    await Promise.all([page.waitForLoadState('load'), page.click('button:has-text("Afficher")')]);
    await expect(page.locator('#to-error').textContent()).resolves.toContain('doit être le même jour que « Du » ou après');
    await expect(page.locator('#to').getAttribute('aria-describedby')).resolves.toBe('to-error');
    await expectAccessible(page);
    await page.close();
  });

  it('the agents dashboard: the admin sets objectives and reads the gaps per agent and for the team', { timeout: 120_000 }, async () => {
    const { t, server, browser } = env;
    const { team, other } = await seedCampaign();
    // trackedCampaign wrote the workspace's scripts.
    const rows = (await t.client.execute({ sql: 'SELECT id, purpose FROM consent_scripts WHERE workspace_id = ?', args: [team.workspace.id] })).rows;
    const scriptOf = (purpose: string) => String(rows.find((r) => r.purpose === purpose)!.id);
    for (const [token, n] of [
      [await t.login(team.agent.email), 5],
      [await t.login(other.email), 2],
    ] as const) {
      for (let i = 0; i < n; i++) {
        const res = await t.request('/api/v1/consents', {
          method: 'POST',
          token,
          json: {
            contact: { email: `${unique('lead')}@example.test`, phone: '06 12 34 56 78' },
            call: { ref: unique('CALL'), basis: 'inbound_call', campaign: 'Voyage à Rome' },
            answers: [
              { purpose: 'newsletter', answer: i === 0 ? 'refused' : 'granted', scriptId: scriptOf('newsletter') },
              { purpose: 'open_tracking', answer: 'granted', scriptId: scriptOf('open_tracking') },
            ],
          },
        });
        expect(res.status).toBe(201);
      }
    }

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await loginThroughForm(page, server.url, team.admin.email, '/dashboard');
    await expect(page.locator('#month').inputValue()).resolves.toBe('2026-11');
    await page.fill(`#obj-${team.agent.id}-calls`, '8');
    await page.fill(`#obj-${other.id}-calls`, 'abc');
    await Promise.all([page.waitForLoadState('load'), page.click('button:has-text("Enregistrer les objectifs")')]);
    await expect(page.locator(`#obj-${other.id}-calls-error`).textContent()).resolves.toBe('doit être un nombre (ex. 120 ou 12,5)');
    await expect(page.locator(`#obj-${team.agent.id}-calls`).inputValue()).resolves.toBe('8'); // kept, not saved
    await expect(page.locator(`tbody[data-target="${team.agent.id}"] tr[data-metric="calls"] td`).nth(0).textContent()).resolves.toBe('—');
    await expectAccessible(page);

    await page.fill(`#obj-${other.id}-calls`, '2');
    await page.fill(`#obj-${team.agent.id}-confirmationRate`, '50');
    await page.fill(`#obj-${team.agent.id}-conversionValue`, '1 000');
    await Promise.all([page.waitForURL(/saved=4/), page.click('button:has-text("Enregistrer les objectifs")')]);
    await expect(page.locator('.notice.ok').textContent()).resolves.toContain('4 objectif(s) enregistré(s).');
    const row = (target: string, metric: string) => page.locator(`tbody[data-target="${target}"] tr[data-metric="${metric}"] td`);
    await expect(row(team.agent.id, 'calls').allTextContents()).resolves.toEqual(['8', '5', '−3 · Non atteint']);
    await expect(row(other.id, 'calls').allTextContents()).resolves.toEqual(['2', '2', '±0 · Atteint']);
    await expect(row('team', 'calls').allTextContents()).resolves.toEqual(['10 (somme des téléacteurs)', '7', '−3 · Non atteint']);
    await expect(row(team.agent.id, 'humanClickers').nth(1).textContent()).resolves.toBe('2');
    await expect(row(team.agent.id, 'conversionValue').nth(2).textContent()).resolves.toMatch(/^\+290,50\s€ · Atteint$/);
    await expect(page.locator('#dash-calls rect.bar').count()).resolves.toBe(6); // objective and achieved for two agents and the team
    await bothWidths(page, 'dashboard-agents');
    await page.close();
  });
});
