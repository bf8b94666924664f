/**
 * The criteria of the agents' dashboard (reference §1.3) that a manager can set an objective
 * for, and how each is stored and compared.
 */
import { PURPOSE_PATTERN } from '../../db/schema.js';

/** `count`: a whole number; `rate`: a percentage (stored in hundredths of a percent); `money`: euros (stored in cents). */
export type MetricUnit = 'count' | 'rate' | 'money';

export interface MetricDef {
  key: string;
  unit: MetricUnit;
  /**
   * `min`: the objective is a floor (more is better); `max`: a ceiling (unsubscribes: fewer is
   * better), so a figure under it is the objective met.
   */
  direction: 'min' | 'max';
}

/** Fixed metrics; `granted:<purpose>` (consents granted for a purpose) come on top, one per purpose. */
export const FIXED_METRICS: MetricDef[] = [
  { key: 'calls', unit: 'count', direction: 'min' },
  { key: 'confirmationRate', unit: 'rate', direction: 'min' },
  { key: 'conversions', unit: 'count', direction: 'min' },
  { key: 'conversionValue', unit: 'money', direction: 'min' },
  { key: 'sent', unit: 'count', direction: 'min' },
  { key: 'humanClickers', unit: 'count', direction: 'min' },
  { key: 'unsubscribes', unit: 'count', direction: 'max' },
];

export const grantedMetric = (purpose: string) => `granted:${purpose}`;

/** The definition of a metric key, or null for an unknown one. */
export function metricDef(key: string): MetricDef | null {
  const fixed = FIXED_METRICS.find((m) => m.key === key);
  if (fixed) return fixed;
  if (key.startsWith('granted:') && PURPOSE_PATTERN.test(key.slice('granted:'.length))) return { key, unit: 'count', direction: 'min' };
  return null;
}

/** Stored integer per displayed unit: 1 for counts, 100 for percentages (0.01 %) and euros (cents). */
export const SCALE: Record<MetricUnit, number> = { count: 1, rate: 100, money: 100 };

/** Largest objective accepted per unit (displayed unit): beyond it, a typo. */
export const MAX_OBJECTIVE: Record<MetricUnit, number> = { count: 10_000_000, rate: 100, money: 100_000_000 };

/**
 * Team objectives default to the sum of the agents' objectives for metrics that add up
 * (counts and money); a rate does not add up, so it has no default.
 */
export const sumsUp = (m: MetricDef) => m.unit !== 'rate';
