/**
 * The starter newsletter as a reader sees it, in real Chromium at desktop and phone widths:
 * every mandatory block is on screen and readable, nothing wider than 600 px, no sideways scroll.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileEmail } from '../../src/email/compile.js';
import { renderEmail } from '../../src/email/render.js';
import { starterTemplates } from '../../src/email/templates.generated.js';
import { launchBrowser, screenshot } from '../helpers/browser.js';
import { voyageBrand } from '../helpers/brand.js';

const brand = voyageBrand;

let browser: Browser;
let html: string;
beforeAll(async () => {
  browser = await launchBrowser();
  const t = starterTemplates[0];
  const artefact = await compileEmail({ layout: 'newsletter', subject: t.subject, preheader: t.preheader, body: t.body, brand });
  html = renderEmail(
    artefact,
    { email: 'marie@example.test', firstName: 'Marie', agentFirstName: 'Sophie', consentDate: new Date('2026-03-12T10:00:00Z'), consentAgentName: 'Sophie Bernard' },
    { unsubscribeUrl: 'https://news.test/u/T', preferencesUrl: 'https://news.test/p/T', stopTrackingUrl: 'https://news.test/p/T?stop=opens' },
    { brand },
  ).html;
});
afterAll(async () => {
  await browser?.close();
});

describe('starter newsletter in Chromium', () => {
  for (const [label, width] of [
    ['desktop', 1280],
    ['mobile', 390],
  ] as const) {
    it(`shows every mandatory block at ${label} width (${width}px)`, async () => {
      const page = await browser.newPage({ viewport: { width, height: 900 } });
      // Offline: remote images (the hero) fail to load and show their alt text, as in a client that blocks images.
      await page.route('**/*', (route) => (route.request().url().startsWith('data:') ? route.continue() : route.abort()));
      await page.setContent(html, { waitUntil: 'domcontentloaded' });
      await screenshot(page, `newsletter-starter-${label}`);

      for (const text of [
        'Se désinscrire en un clic',
        'Gérer mes préférences et mes données',
        'Ne plus mesurer l’ouverture de mes e-mails',
        'lors d’un entretien téléphonique le 12 mars 2026 avec Sophie Bernard',
        'Voyage Online SAS · 12 avenue Kléber, 75116 Paris',
        'politique de confidentialité',
      ]) {
        const node = page.getByText(text, { exact: false }).first();
        await expect(node.isVisible(), text).resolves.toBe(true);
        const box = await node.boundingBox();
        expect(box && box.height >= 10 && box.width > 20, `${text} has a readable size`).toBe(true);
        expect(box!.x >= 0 && box!.x + box!.width <= width, `${text} is on screen`).toBe(true);
      }
      const layout = await page.evaluate(() => ({
        overflow: document.documentElement.scrollWidth - window.innerWidth,
        widest: Math.max(...[...document.body.querySelectorAll('div,table')].map((el) => el.getBoundingClientRect().width).filter((w) => w < window.innerWidth)),
        lang: document.documentElement.lang,
        title: document.title,
      }));
      expect(layout.overflow).toBeLessThanOrEqual(0);
      expect(layout.widest).toBeLessThanOrEqual(600);
      expect(layout.lang).toBe('fr');
      expect(layout.title).toBe('Marie, vos prochaines destinations avec Voyage Online');
      await page.close();
    });
  }
});
