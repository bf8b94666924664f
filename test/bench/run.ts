/**
 * `npm run bench [-- name…]`: runs the benchmarks in test/bench/*.bench.ts (all, or those named),
 * prints each one's table, and writes its figures to test/bench/results/<name>.json.
 * Figures are ratios measured side by side in one run: this machine is noisy, absolute times
 * are shown for information only.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Figure {
  figure: string;
  value: number;
  unit: string;
  /** e.g. ">= 500" or "<= 1.2"; absent for information-only figures. */
  target?: string;
}

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const names = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .filter((n) => wanted.length === 0 || wanted.includes(n));
if (names.length === 0) {
  console.error(`No benchmark named ${wanted.join(', ')}.`);
  process.exit(2);
}

function meets(f: Figure): string {
  if (!f.target) return '';
  const m = /^(>=|<=)\s*([\d.]+)$/.exec(f.target);
  if (!m) return '';
  const ok = m[1] === '>=' ? f.value >= Number(m[2]) : f.value <= Number(m[2]);
  return ok ? 'yes' : 'NO';
}

let failed = false;
for (const name of names) {
  const mod = (await import(join(here, `${name}.bench.ts`))) as { run(): Promise<Figure[]> };
  console.log(`\n## ${name}\n`);
  const figures = await mod.run();
  const rows = figures.map((f) => [f.figure, f.value >= 100 ? f.value.toFixed(0) : f.value.toPrecision(3), f.unit, f.target ?? '', meets(f)]);
  const header = ['figure', 'value', 'unit', 'target', 'met'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  if (figures.some((f) => meets(f) === 'NO')) failed = true;
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results', `${name}.json`), JSON.stringify(figures, null, 2));
}
process.exitCode = failed ? 1 : 0;
