/** @jsxImportSource hono/jsx */
import { t } from '../../i18n/fr.js';
import { Layout } from './layout.js';

/** A plain page for browsers: the message and a request id, never a stack trace. */
export function errorPage(props: { status: number; message: string; requestId: string }) {
  return (
    <Layout title={t.errors.title(props.status)}>
      <div class="card auth-box">
        <h1>{t.errors.title(props.status)}</h1>
        <p>{props.message}</p>
        <p class="muted">
          {t.errors.requestId} : <code>{props.requestId}</code>
        </p>
        <p>
          <a href="/">{t.errors.back}</a>
        </p>
      </div>
    </Layout>
  );
}
