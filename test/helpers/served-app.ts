/**
 * For browser journeys: the real app served on 127.0.0.1 over a fresh database, and Debian's
 * Chromium, set up before the file's tests and torn down after.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { createTestApp, type TestApp } from './app.js';
import { launchBrowser } from './browser.js';
import { TEST_PASSWORD } from './factories.js';
import { serveOnLoopback } from './http-server.js';

export interface ServedApp {
  t: TestApp;
  server: Awaited<ReturnType<typeof serveOnLoopback>>;
  browser: Browser;
}

export function useServedApp(): ServedApp {
  const env = {} as ServedApp;
  beforeAll(async () => {
    env.t = await createTestApp();
    env.server = await serveOnLoopback(env.t);
    env.browser = await launchBrowser();
  });
  afterAll(async () => {
    await env.browser?.close();
    await env.server?.close();
    env.t?.dispose();
  });
  return env;
}

/** Logs in through the form and lands on `next`. */
export async function loginThroughForm(page: Page, baseUrl: string, email: string, next: string, password = TEST_PASSWORD) {
  await page.goto(`${baseUrl}/login?next=${encodeURIComponent(next)}`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL((url) => url.pathname === new URL(next, baseUrl).pathname), page.click('button[type=submit]')]);
}
