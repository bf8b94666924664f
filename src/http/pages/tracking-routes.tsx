/** @jsxImportSource hono/jsx */
/**
 * The open pixel and the click redirect: tiny, and they never fail the reader (listmonk's rule).
 * The handlers check the token's MAC (no database), hand the hit to the sink and answer; the
 * sink checks consent and classifies when it writes (src/tracking/hits.ts). The caller's IP is
 * used for the machine verdict here and goes no further.
 */
import { Hono, type Context } from 'hono';
import { t } from '../../i18n/fr.js';
import type { Hit } from '../../tracking/hits.js';
import { destination } from '../../tracking/links.js';
import { classifyRequest } from '../../tracking/machine.js';
import { readClickToken, readOpenToken } from '../../tracking/tokens.js';
import type { AppEnv } from '../env.js';
import { Layout } from './layout.js';

/** A transparent 1×1 GIF (43 bytes). */
const GIF = Uint8Array.from([
  0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00,
  0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
]);

export function gifResponse(): Response {
  // no-store: every open must reach us (a cached pixel hides re-opens) and nothing is shared.
  return new Response(GIF, { status: 200, headers: { 'Content-Type': 'image/gif', 'Content-Length': String(GIF.length), 'Cache-Control': 'no-store, max-age=0' } });
}

function record(c: Context<AppEnv>, hit: Hit) {
  const written = c.get('deps').hits.record(hit);
  if (!written) return;
  try {
    c.executionCtx.waitUntil(written);
  } catch {
    // Node has no ExecutionContext: the write simply runs on.
  }
}

function facts(c: Context<AppEnv>, kind: Hit['kind']) {
  const userAgent = c.req.header('user-agent') ?? '';
  const verdict = classifyRequest({ kind, method: c.req.method, userAgent, ip: c.get('deps').clientIp(c) });
  return { userAgent, verdict, at: c.get('deps').clock.now().getTime() };
}

function InvalidLink() {
  return (
    <Layout title={t.tracking.invalidTitle}>
      <div class="card auth-box">
        <h1>{t.tracking.invalidTitle}</h1>
        <p>{t.tracking.invalid}</p>
      </div>
    </Layout>
  );
}

export const trackingRoutes = new Hono<AppEnv>();

// GET and HEAD (Hono answers HEAD with the GET handler, without the body).
trackingRoutes.get('/o/:token', (c) => {
  try {
    const claims = readOpenToken(c.get('deps').signingKeys, c.req.param('token'));
    if (claims) record(c, { kind: 'open', sendId: claims.sendId, link: null, ...facts(c, 'open') });
  } catch (error) {
    c.get('deps').logger.error('open pixel', { error: String(error) });
  }
  return gifResponse();
});

trackingRoutes.get('/c/:token', async (c) => {
  const token = c.req.param('token');
  const claims = readClickToken(c.get('deps').signingKeys, token);
  if (!claims) return c.html(<InvalidLink />, 404);
  let to: string | null = null;
  try {
    record(c, { kind: 'click', sendId: claims.sendId, link: claims.link, ...facts(c, 'click') });
    const links = await c.get('deps').frozenLinks.get(claims.campaignId);
    to = links ? destination(links, claims.link, token) : null;
  } catch (error) {
    c.get('deps').logger.error('click redirect', { error: String(error) });
  }
  // The honeypot and unknown link indexes have no destination: a page, never a guess.
  if (!to) return c.html(<InvalidLink />, 404);
  c.header('Referrer-Policy', 'no-referrer');
  return c.redirect(to, 302);
});
