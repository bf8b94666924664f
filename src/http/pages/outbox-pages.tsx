/** @jsxImportSource hono/jsx */
import { Hono } from 'hono';
import { getOutboxMessage, listOutbox } from '../../domain/outbox/outbox.js';
import { formatDateTime, t } from '../../i18n/fr.js';
import { assertOutboxEnabled } from '../api/outbox.js';
import { ctxOf } from '../context.js';
import type { AppEnv } from '../env.js';
import { ALL_ROLES } from '../middleware/allow.js';
import { pageFor, viewerOf } from './guard.js';
import { DataTable, Layout } from './layout.js';

const anyone = pageFor(ALL_ROLES);

export const outboxPages = new Hono<AppEnv>()
  .get('/dev/outbox', anyone, async (c) => {
    assertOutboxEnabled(c);
    const messages = await listOutbox({ ctx: ctxOf(c), input: { limit: 200 } });
    return c.html(
      <Layout title={t.outbox.title} viewer={await viewerOf(c)} current="/dev/outbox">
        <h1>{t.outbox.title}</h1>
        <p class="lead">{t.outbox.intro}</p>
        {messages.length === 0 ? (
          <p class="muted">{t.outbox.empty}</p>
        ) : (
          <DataTable headers={[t.outbox.date, t.outbox.to, t.outbox.subject]}>
                {messages.map((m) => (
                  <tr>
                    <td>{formatDateTime(m.createdAt)}</td>
                    <td>{m.to}</td>
                    <td>
                      <a href={`/dev/outbox/${m.id}`}>{m.subject}</a>
                    </td>
                  </tr>
                ))}
              </DataTable>
        )}
      </Layout>,
    );
  })
  .get('/dev/outbox/:id', anyone, async (c) => {
    assertOutboxEnabled(c);
    const m = await getOutboxMessage({ ctx: ctxOf(c), input: { id: c.req.param('id') } });
    return c.html(
      <Layout title={m.subject} viewer={await viewerOf(c)} current="/dev/outbox">
        <p>
          <a href="/dev/outbox">← {t.outbox.back}</a>
        </p>
        <h1>{m.subject}</h1>
        <section class="card">
          <dl class="kv">
            <dt>{t.outbox.from}</dt>
            <dd>{m.from}</dd>
            <dt>{t.outbox.to}</dt>
            <dd>{m.to}</dd>
            <dt>{t.outbox.date}</dt>
            <dd>{formatDateTime(m.createdAt)}</dd>
            {Object.entries(m.headers).map(([k, v]) => (
              <>
                <dt>{k}</dt>
                <dd>
                  <code>{v}</code>
                </dd>
              </>
            ))}
          </dl>
        </section>
        <iframe class="mail" title={m.subject} src={`/dev/outbox/${m.id}/html`} sandbox="allow-popups allow-popups-to-escape-sandbox"></iframe>
        <section class="card">
          <h2>{t.outbox.textPart}</h2>
          <pre>{m.text}</pre>
        </section>
      </Layout>,
    );
  })
  .get('/dev/outbox/:id/html', anyone, async (c) => {
    assertOutboxEnabled(c);
    const m = await getOutboxMessage({ ctx: ctxOf(c), input: { id: c.req.param('id') } });
    // The email's own HTML, shown as a mail client would: no scripts, only inside our page's frame.
    c.set('contentSecurityPolicy', "default-src 'none'; img-src * data:; style-src 'unsafe-inline'; font-src * data:; frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox");
    return c.html(m.html);
  });
