/**
 * Automated accessibility check (axe-core from npm, injected into the page under test): a page
 * passes when axe reports no violation of "serious" or "critical" impact. Minor and moderate
 * findings are returned so a test can print them, never silently dropped.
 */
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

interface AxeViolation {
  id: string;
  impact: 'minor' | 'moderate' | 'serious' | 'critical' | null;
  help: string;
  nodes: { target: string[] }[];
}

export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  // The page's CSP allows only its own scripts; an init-less evaluate of axe's source is not
  // subject to CSP (it runs in the isolated devtools context), unlike a <script> tag.
  if (!(await page.evaluate(() => 'axe' in window))) {
    const { readFileSync } = await import('node:fs');
    await page.evaluate(readFileSync(axePath, 'utf8'));
  }
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'], runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }));
  });
}

/** Fails with the rule, its help text and the offending elements when a serious or critical violation is found. */
export async function expectAccessible(page: Page, label = page.url()): Promise<AxeViolation[]> {
  const violations = await axeViolations(page);
  const blocking = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(
    blocking.map((v) => `${v.id} (${v.impact}): ${v.help} → ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join(', ')}`),
    `accessibility of ${label}`,
  ).toEqual([]);
  return violations;
}
