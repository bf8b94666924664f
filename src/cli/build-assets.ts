/**
 * Bundles the browser scripts (src/client/*.ts, one entry per page that needs one) into
 * dist/public/static/, the folder Node serves at /static/* and wrangler publishes as the Worker's
 * static assets. Run by `prestart`, `pretest` and `prebuild:worker`, so nobody runs it by hand.
 * Pages work without these scripts (forms post, tables render on the server); they add the code
 * editor, live counts and previews.
 */
import { build } from 'esbuild';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const entries = readdirSync('src/client')
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.startsWith('_'))
  .map((f) => join('src/client', f));

const result = await build({
  entryPoints: entries,
  outdir: 'dist/public/static',
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2022',
  sourcemap: false,
  legalComments: 'linked',
  logLevel: 'warning',
  metafile: true,
});
const sizes = Object.entries(result.metafile.outputs)
  .filter(([file]) => file.endsWith('.js'))
  .map(([file, out]) => `${file.replace('dist/public', '')} ${(out.bytes / 1024).toFixed(0)} KiB`);
console.log(`assets: ${sizes.join(', ') || 'none'}`);
