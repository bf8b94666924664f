/**
 * Node only: serves the bundled browser scripts (dist/public, built by `npm run assets`) at
 * /static/*. On Workers the same folder is published as static assets (wrangler.toml [assets]),
 * so the runtime-free app never reads files itself.
 */
import { serveStatic } from '@hono/node-server/serve-static';
import type { Hono } from 'hono';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any app's env; the middleware reads none of it
export function serveBuiltAssets(app: Hono<any>) {
  app.use(
    '/static/*',
    serveStatic({
      root: './dist/public',
      onFound: (_path, c) => {
        c.header('Cache-Control', 'public, max-age=3600');
      },
    }),
  );
}
