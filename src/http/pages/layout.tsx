/** @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx';
import type { Role } from '../../db/schema.js';
import { t } from '../../i18n/fr.js';

export interface Viewer {
  name: string;
  role: Role;
  workspaceName: string;
  outbox: boolean;
}

type NavItem = { href: string; label: string; roles: readonly Role[]; outboxOnly?: boolean };

const nav: NavItem[] = [
  { href: '/', label: t.nav.home, roles: ['admin', 'marketer', 'agent'] },
  { href: '/agent', label: t.nav.agent, roles: ['agent', 'admin'] },
  { href: '/campaigns', label: t.nav.campaigns, roles: ['marketer', 'admin'] },
  { href: '/segments', label: t.nav.segments, roles: ['marketer', 'admin'] },
  { href: '/reports', label: t.nav.reports, roles: ['marketer', 'admin'] },
  { href: '/dashboard', label: t.nav.dashboard, roles: ['marketer', 'admin'] },
  { href: '/contacts', label: t.nav.contacts, roles: ['admin'] },
  { href: '/admin/compliance', label: t.nav.compliance, roles: ['admin'] },
  { href: '/admin/workspace', label: t.nav.workspace, roles: ['admin'] },
  { href: '/admin/members', label: t.nav.members, roles: ['admin'] },
  { href: '/admin/api-keys', label: t.nav.apiKeys, roles: ['admin'] },
  { href: '/admin/requests', label: t.nav.requests, roles: ['admin'] },
  { href: '/admin/audit', label: t.nav.audit, roles: ['admin'] },
  { href: '/dev/outbox', label: t.nav.outbox, roles: ['admin', 'marketer', 'agent'], outboxOnly: true },
  { href: '/api/docs', label: t.nav.apiDocs, roles: ['admin', 'marketer', 'agent'] },
];

export function Layout(props: { title: string; viewer?: Viewer | undefined; current?: string; scripts?: string[]; children: Child }) {
  const { viewer } = props;
  return (
    <html lang="fr">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · ${viewer?.workspaceName ?? t.appName}`}</title>
        <link rel="stylesheet" href="/assets/app.css" />
        <link rel="icon" href="/assets/favicon.svg" type="image/svg+xml" />
        {props.scripts?.map((src) => <script src={src} defer></script>)}
      </head>
      <body>
        <a class="skip" href="#main">
          {t.nav.skip}
        </a>
        <header class="top">
          <div class="bar">
            <a class="brand" href="/">
              {viewer?.workspaceName ?? t.appName}
            </a>
            {viewer && (
              <nav aria-label="Navigation principale">
                {nav
                  .filter((n) => n.roles.includes(viewer.role) && (!n.outboxOnly || viewer.outbox))
                  .map((n) => (
                    <a href={n.href} aria-current={props.current === n.href ? 'page' : undefined}>
                      {n.label}
                    </a>
                  ))}
              </nav>
            )}
            {viewer && (
              <div class="account">
                <a class="who" href="/account">
                  {viewer.name} · {t.roles[viewer.role]}
                </a>
                <form method="post" action="/logout">
                  <button class="link" type="submit">
                    {t.nav.logout}
                  </button>
                </form>
              </div>
            )}
          </div>
        </header>
        <main id="main">{props.children}</main>
      </body>
    </html>
  );
}

export function Notice(props: { kind: 'ok' | 'err' | 'info'; children: Child }) {
  return (
    <div class={`notice ${props.kind}`} role={props.kind === 'err' ? 'alert' : 'status'}>
      {props.children}
    </div>
  );
}

export function FieldError(props: { id: string; message?: string | undefined }) {
  return props.message ? (
    <p class="field-error" id={props.id}>
      {props.message}
    </p>
  ) : null;
}

/**
 * A scrollable table with column headers; an empty header string is an actions column. The
 * wrapper is a labelled, focusable region so a keyboard user can scroll a wide table
 * (WCAG 2.1.1; axe "scrollable-region-focusable").
 */
export function DataTable(props: { headers: string[]; label?: string; id?: string; class?: string; children: Child }) {
  return (
    <div class={props.class ? `table-wrap ${props.class}` : 'table-wrap'} id={props.id} role="region" tabindex={0} aria-label={props.label ?? t.common.table}>
      <table>
        <thead>
          <tr>
            {props.headers.map((h) => (
              <th scope="col">{h || <span class="sr-only">Actions</span>}</th>
            ))}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
    </div>
  );
}
