/** @jsxImportSource hono/jsx */
import { Hono } from 'hono';
import { t } from '../../i18n/fr.js';
import type { AppEnv } from '../env.js';
import { Layout } from './layout.js';

const kinds = ['unsubscribe', 'preferences', 'stop-tracking'] as const;

/**
 * Where the platform links of previews and test sends lead: they say what the real link does,
 * and change nothing (a test send must never unsubscribe anyone). POST answers 200 too, as the
 * RFC 8058 one-click POST of a mail client would expect.
 */
export const previewLinkPage = new Hono<AppEnv>()
  .get('/preview-link/:kind', (c) => {
    const kind = c.req.param('kind') as (typeof kinds)[number];
    if (!kinds.includes(kind)) return c.notFound();
    return c.html(
      <Layout title={t.previewLink.title}>
        <div class="card auth-box">
          <h1>{t.previewLink.title}</h1>
          <p>{t.previewLink[kind]}</p>
          <p class="muted">{t.previewLink.nothingChanged}</p>
        </div>
      </Layout>,
    );
  })
  .post('/preview-link/:kind', (c) => c.text(t.previewLink.nothingChanged, 200));
