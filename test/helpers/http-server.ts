import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { AddressInfo } from 'node:net';
import type { TestApp } from './app.js';
import { createApp } from '../../src/app.js';
import { serveBuiltAssets } from '../../src/http/node-static.js';

/**
 * Serves a test app over real HTTP on 127.0.0.1 (a free port), with the public base URL set to
 * it so emailed links point back here.
 */
export async function serveOnLoopback(t: TestApp): Promise<{ url: string; close(): Promise<void> }> {
  const deps = { ...t.deps, clientIp: (c: Parameters<typeof getConnInfo>[0]) => getConnInfo(c).remote.address };
  const app = createApp(deps);
  serveBuiltAssets(app);
  let resolveUrl: (url: string) => void;
  const ready = new Promise<string>((r) => (resolveUrl = r));
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => resolveUrl(`http://127.0.0.1:${info.port}`));
  const url = await ready;
  // Both the served app and `t.request` build links to this server.
  deps.publicBaseUrl = url;
  t.deps.publicBaseUrl = url;
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      }),
  };
}
