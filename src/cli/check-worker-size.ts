/**
 * After `wrangler deploy --dry-run --outdir dist/worker` (npm run build:worker): prints the
 * gzipped size of what would be uploaded and fails above the budget. Cloudflare refuses Workers
 * over 3 MiB gzipped on the free plan (10 MiB paid); we keep the free plan's limit, which leaves
 * room to grow and keeps cold starts short.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const BUDGET_BYTES = 3 * 1024 * 1024;
const dir = process.argv[2] ?? 'dist/worker';

const modules = readdirSync(dir).filter((f) => !f.endsWith('.map') && !f.endsWith('.md') && statSync(join(dir, f)).isFile());
if (modules.length === 0) {
  console.error(`No bundle in ${dir}: run npm run build:worker first.`);
  process.exit(2);
}
let raw = 0;
let gzipped = 0;
for (const file of modules) {
  const bytes = readFileSync(join(dir, file));
  raw += bytes.length;
  gzipped += gzipSync(bytes, { level: 9 }).length;
}
const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
const line = `Worker bundle: ${kib(raw)}, ${kib(gzipped)} gzipped (budget ${kib(BUDGET_BYTES)}, ${((gzipped / BUDGET_BYTES) * 100).toFixed(0)} % used)`;
if (gzipped > BUDGET_BYTES) {
  console.error(`${line}: OVER BUDGET`);
  process.exit(1);
}
console.log(line);
