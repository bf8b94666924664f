/** @jsxImportSource hono/jsx */
import { Hono } from 'hono';
import { listApiKeys } from '../../domain/api-keys/api-keys.js';
import { listOutbox } from '../../domain/outbox/outbox.js';
import { listMembers } from '../../domain/users/members.js';
import { getWorkspace } from '../../domain/workspaces/workspaces.js';
import { t } from '../../i18n/fr.js';
import { ctxOf } from '../context.js';
import type { AppEnv } from '../env.js';
import { ALL_ROLES } from '../middleware/allow.js';
import { pageFor, viewerOf } from './guard.js';
import { Layout, Notice } from './layout.js';
import { IdentityCard } from './workspace-page.js';

/** The landing page: what this role does here, and the state of what they are responsible for. */
export const homePage = new Hono<AppEnv>().get('/', pageFor(ALL_ROLES), async (c) => {
  const ctx = ctxOf(c);
  const viewer = await viewerOf(c);
  const workspace = await getWorkspace({ ctx });
  const outbox = viewer.outbox ? await listOutbox({ ctx, input: { limit: 200 } }) : [];
  let body;
  if (viewer.role === 'admin') {
    const [members, keys] = await Promise.all([listMembers({ ctx }), listApiKeys({ ctx })]);
    body = (
      <>
        <p class="lead">{t.home.admin.intro}</p>
        <div class="grid">
          <section class="card">
            <h2>{t.home.admin.identityTitle}</h2>
            <IdentityCard ws={workspace} />
            <p>
              <a href="/admin/workspace">{t.nav.workspace}</a>
            </p>
          </section>
          <section class="card">
            <h2>{t.home.admin.teamTitle}</h2>
            <ul>
              {members.map((m) => (
                <li>
                  {m.name} · {t.roles[m.role]} {!m.active && <span class="pill warn">{t.members.invited}</span>}
                </li>
              ))}
            </ul>
            <p>
              <a href="/admin/members">{t.nav.members}</a>
            </p>
          </section>
          <section class="card">
            <h2>{t.home.admin.keysTitle}</h2>
            <p>{t.home.admin.keysLine(keys.filter((k) => !k.revokedAt).length)}</p>
            <p>
              <a href="/admin/api-keys">{t.nav.apiKeys}</a> · <a href="/api/docs">{t.nav.apiDocs}</a>
            </p>
          </section>
        </div>
      </>
    );
  } else if (viewer.role === 'marketer') {
    body = (
      <>
        <p class="lead">{t.home.marketer.intro}</p>
        <p>
          <a class="button" href="/campaigns">
            {t.nav.campaigns}
          </a>
        </p>
        {viewer.outbox && (
          <section class="card">
            <h2>{t.outbox.title}</h2>
            <p>{t.home.marketer.outboxLine(outbox.length)}</p>
            <p>
              <a href="/dev/outbox">{t.nav.outbox}</a>
            </p>
          </section>
        )}
      </>
    );
  } else {
    body = (
      <>
        <p class="lead">{t.home.agent.intro}</p>
        <p>
          <a class="button" href="/agent">
            {t.nav.agent}
          </a>
        </p>
        <section class="card">
          <p>{t.home.agent.apiLine}</p>
          <p>
            <a href="/api/docs">{t.nav.apiDocs}</a>
          </p>
        </section>
      </>
    );
  }
  return c.html(
    <Layout title={t.nav.home} viewer={viewer} current="/">
      <h1>{t.home.greeting(viewer.name)}</h1>
      <p>{t.home.roleLine(t.roles[viewer.role].toLowerCase(), workspace.name)}</p>
      {viewer.outbox && <Notice kind="info">{t.home.devOutbox}</Notice>}
      {body}
    </Layout>,
  );
});
