/** @jsxImportSource hono/jsx */
import { Hono } from 'hono';
import { apiKeyScopes, roles, type ApiKeyScope, type Role } from '../../db/schema.js';
import { createApiKey, listApiKeys, revokeApiKey } from '../../domain/api-keys/api-keys.js';
import { auditCursorOf, listAuditLog, parseAuditCursor } from '../../domain/audit/list.js';
import { Conflict, Invalid } from '../../domain/errors.js';
import { changeMemberRole, inviteMember, listMembers, removeMember } from '../../domain/users/members.js';
import { formatDateTime, t } from '../../i18n/fr.js';
import { ctxOf } from '../context.js';
import type { AppEnv } from '../env.js';
import { formString, pageFor, viewerOf } from './guard.js';
import { ScrollTable } from './dpo-pages.js';
import { DataTable, Layout, Notice } from './layout.js';

const adminOnly = pageFor(['admin']);
const isRole = (v: string): v is Role => (roles as readonly string[]).includes(v);

function RoleSelect(props: { id: string; value?: Role }) {
  return (
    <select id={props.id} name="role">
      {roles.map((r) => (
        <option value={r} selected={props.value === r}>
          {t.roles[r]}
        </option>
      ))}
    </select>
  );
}

export const adminPages = new Hono<AppEnv>()
  .get('/admin/members', adminOnly, async (c) => {
    const members = await listMembers({ ctx: ctxOf(c) });
    const ok = c.req.query('ok');
    const email = c.req.query('email') ?? '';
    const error = c.req.query('error');
    return c.html(
      <Layout title={t.members.title} viewer={await viewerOf(c)} current="/admin/members">
        <h1>{t.members.title}</h1>
        {ok === 'invited' && <Notice kind="ok">{t.members.invited_ok(email)}</Notice>}
        {ok === 'invited_not_emailed' && <Notice kind="err">{t.members.invited_not_emailed(email)}</Notice>}
        {ok === 'removed' && <Notice kind="ok">{t.members.removed}</Notice>}
        {ok === 'role' && <Notice kind="ok">{t.members.roleChanged}</Notice>}
        {error && <Notice kind="err">{error}</Notice>}
        <DataTable headers={[t.members.name, t.members.email, t.members.role, t.members.status, '']}>
              {members.map((m) => (
                <tr>
                  <td>{m.name}</td>
                  <td>{m.email}</td>
                  <td>
                    <form method="post" action={`/admin/members/${m.userId}/role`} class="inline-form">
                      <label class="sr-only" for={`role-${m.userId}`}>
                        {t.members.role}
                      </label>
                      <RoleSelect id={`role-${m.userId}`} value={m.role} />
                      <button class="secondary" type="submit">
                        {t.members.changeRole}
                      </button>
                    </form>
                  </td>
                  <td>{m.active ? <span class="pill ok">{t.members.active}</span> : <span class="pill warn">{t.members.invited}</span>}</td>
                  <td>
                    <form method="post" action={`/admin/members/${m.userId}/remove`}>
                      <button class="danger" type="submit">
                        {t.members.remove}
                      </button>
                    </form>
                  </td>
                </tr>
              ))}
            </DataTable>
        <section class="card">
          <h2>{t.members.inviteTitle}</h2>
          <form method="post" action="/admin/members">
            <label for="invite-name">{t.members.name}</label>
            <input id="invite-name" name="name" type="text" required maxlength={120} />
            <label for="invite-email">{t.members.email}</label>
            <input id="invite-email" name="email" type="email" required maxlength={254} />
            <label for="invite-role">{t.members.role}</label>
            <RoleSelect id="invite-role" value="agent" />
            <div class="actions">
              <button type="submit">{t.members.invite}</button>
            </div>
          </form>
        </section>
      </Layout>,
    );
  })
  .post('/admin/members', adminOnly, async (c) => {
    const body = await c.req.parseBody();
    const role = formString(body, 'role');
    const name = formString(body, 'name').trim();
    const email = formString(body, 'email');
    const back = (q: Record<string, string>) => c.redirect(`/admin/members?${new URLSearchParams(q)}`, 303);
    if (!isRole(role) || !name || name.length > 120) return back({ error: 'Nom et rôle requis.' });
    try {
      const { emailed } = await inviteMember({ ctx: ctxOf(c), input: { email, name, role } });
      return back({ ok: emailed ? 'invited' : 'invited_not_emailed', email });
    } catch (e) {
      if (e instanceof Invalid || e instanceof Conflict) return back({ error: e.message });
      throw e;
    }
  })
  .post('/admin/members/:userId/role', adminOnly, async (c) => {
    const role = formString(await c.req.parseBody(), 'role');
    if (!isRole(role)) return c.redirect('/admin/members?error=' + encodeURIComponent('Rôle inconnu.'), 303);
    try {
      await changeMemberRole({ ctx: ctxOf(c), input: { userId: c.req.param('userId'), role } });
      return c.redirect('/admin/members?ok=role', 303);
    } catch (e) {
      if (e instanceof Conflict) return c.redirect('/admin/members?error=' + encodeURIComponent(e.message), 303);
      throw e;
    }
  })
  .post('/admin/members/:userId/remove', adminOnly, async (c) => {
    try {
      await removeMember({ ctx: ctxOf(c), input: { userId: c.req.param('userId') } });
      return c.redirect('/admin/members?ok=removed', 303);
    } catch (e) {
      if (e instanceof Conflict) return c.redirect('/admin/members?error=' + encodeURIComponent(e.message), 303);
      throw e;
    }
  })
  .get('/admin/api-keys', adminOnly, async (c) => {
    const keys = await listApiKeys({ ctx: ctxOf(c) });
    return c.html(
      <Layout title={t.apiKeys.title} viewer={await viewerOf(c)} current="/admin/api-keys">
        <ApiKeysBody keys={keys} ok={c.req.query('ok')} />
      </Layout>,
    );
  })
  .post('/admin/api-keys', adminOnly, async (c) => {
    const ctx = ctxOf(c);
    const body = await c.req.parseBody({ all: true });
    const name = formString(body, 'name').trim();
    const raw = body['scopes'];
    const scopes = (Array.isArray(raw) ? raw : [raw]).filter((s): s is ApiKeyScope => typeof s === 'string' && (apiKeyScopes as readonly string[]).includes(s));
    const viewer = await viewerOf(c);
    if (!name || name.length > 100 || scopes.length === 0) {
      return c.html(
        <Layout title={t.apiKeys.title} viewer={viewer} current="/admin/api-keys">
          <ApiKeysBody keys={await listApiKeys({ ctx })} error="Donnez un nom (100 caractères max.) et au moins un droit." />
        </Layout>,
        400,
      );
    }
    const { secret } = await createApiKey({ ctx, input: { name, scopes } });
    // The secret is rendered in this response only (never in a URL, never stored).
    c.header('Cache-Control', 'no-store');
    return c.html(
      <Layout title={t.apiKeys.title} viewer={viewer} current="/admin/api-keys">
        <ApiKeysBody keys={await listApiKeys({ ctx })} secret={secret} />
      </Layout>,
      201,
    );
  })
  .post('/admin/api-keys/:id/revoke', adminOnly, async (c) => {
    await revokeApiKey({ ctx: ctxOf(c), input: { id: c.req.param('id') } });
    return c.redirect('/admin/api-keys?ok=revoked', 303);
  })
  .get('/admin/audit', adminOnly, async (c) => {
    const limit = 50;
    const entries = await listAuditLog({ ctx: ctxOf(c), input: { limit, before: parseAuditCursor(c.req.query('before')) } });
    const last = entries.at(-1);
    return c.html(
      <Layout title={t.audit.title} viewer={await viewerOf(c)} current="/admin/audit">
        <h1>{t.audit.title}</h1>
        {entries.length === 0 ? (
          <p class="muted">{t.audit.empty}</p>
        ) : (
          <ScrollTable label={t.audit.title} headers={[t.audit.at, t.audit.actor, t.audit.action, t.audit.target, t.audit.details]}>
                {entries.map((e) => (
                  <tr>
                    <td class="nowrap">{formatDateTime(e.at)}</td>
                    <td>
                      {e.actorType} <code>{e.actorId ?? ''}</code>
                    </td>
                    <td>
                      <code>{e.action}</code>
                    </td>
                    <td>
                      <code>{e.targetId ?? ''}</code>
                    </td>
                    <td class="audit-details">{e.details ? <code>{JSON.stringify(e.details)}</code> : ''}</td>
                  </tr>
                ))}
              </ScrollTable>
        )}
        {entries.length === limit && last && (
          <p>
            <a href={`/admin/audit?before=${encodeURIComponent(auditCursorOf(last))}`}>{t.audit.older}</a>
          </p>
        )}
      </Layout>,
    );
  });

function ApiKeysBody(props: { keys: Awaited<ReturnType<typeof listApiKeys>>; ok?: string | undefined; secret?: string; error?: string }) {
  return (
    <>
      <h1>{t.apiKeys.title}</h1>
      <p class="lead">{t.apiKeys.intro}</p>
      {props.ok === 'revoked' && <Notice kind="ok">{t.apiKeys.revokedOk}</Notice>}
      {props.error && <Notice kind="err">{props.error}</Notice>}
      {props.secret && (
        <Notice kind="ok">
          <p class="flush">{t.apiKeys.created}</p>
          <p class="secret">
            <code id="new-secret">{props.secret}</code>
          </p>
        </Notice>
      )}
      {props.keys.length === 0 ? (
        <p class="muted">{t.apiKeys.empty}</p>
      ) : (
        <DataTable headers={[t.apiKeys.name, t.apiKeys.prefix, t.apiKeys.scopes, t.apiKeys.lastUsed, '']}>
              {props.keys.map((k) => (
                <tr>
                  <td>{k.name}</td>
                  <td>
                    <code>{k.prefix}…</code>
                  </td>
                  <td>{k.scopes.join(', ')}</td>
                  <td>{k.lastUsedAt ? formatDateTime(k.lastUsedAt) : t.apiKeys.never}</td>
                  <td>
                    {k.revokedAt ? (
                      <span class="pill err">{t.apiKeys.revoked}</span>
                    ) : (
                      <form method="post" action={`/admin/api-keys/${k.id}/revoke`}>
                        <button class="danger" type="submit">
                          {t.apiKeys.revoke}
                        </button>
                      </form>
                    )}
                  </td>
                </tr>
              ))}
            </DataTable>
      )}
      <section class="card">
        <h2>{t.apiKeys.createTitle}</h2>
        <form method="post" action="/admin/api-keys">
          <label for="key-name">{t.apiKeys.name}</label>
          <input id="key-name" name="name" type="text" required maxlength={100} />
          <fieldset class="plain">
            <legend>{t.apiKeys.scopes}</legend>
            {apiKeyScopes.map((s) => (
              <label class="check light">
                <input type="checkbox" name="scopes" value={s} />
                <code>{s}</code>
              </label>
            ))}
          </fieldset>
          <div class="actions">
            <button type="submit">{t.apiKeys.create}</button>
          </div>
        </form>
      </section>
    </>
  );
}
