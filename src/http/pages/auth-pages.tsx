/** @jsxImportSource hono/jsx */
import { Hono } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import { login } from '../../domain/auth/login.js';
import { PASSWORD_MAX, PASSWORD_MIN } from '../../domain/auth/password.js';
import { SESSION_TTL_SECONDS } from '../../domain/auth/session.js';
import { Invalid, RateLimited, Unauthorized } from '../../domain/errors.js';
import { changePassword } from '../../domain/auth/change-password.js';
import { ALL_ROLES } from '../middleware/allow.js';
import { ctxOf } from '../context.js';
import { acceptInvitation, readInvitation } from '../../domain/users/members.js';
import { endSessions, issueSession } from '../../domain/auth/session.js';
import { t } from '../../i18n/fr.js';
import { anonymousCtxOf } from '../context.js';
import type { AppEnv } from '../env.js';
import { SESSION_COOKIE } from '../middleware/authenticate.js';
import { sameOriginForm } from '../middleware/same-origin.js';
import { formString, pageFor, safeNext, viewerOf } from './guard.js';
import { FieldError, Layout, Notice, type Viewer } from './layout.js';
import type { Context } from 'hono';

function setSessionCookie(c: Context<AppEnv>, token: string) {
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    // Lax: sent on top-level navigation from an emailed link, never on cross-site POSTs.
    sameSite: 'Lax',
    // Behind a TLS-terminating proxy the request URL says http: trust the public URL too.
    secure: new URL(c.req.url).protocol === 'https:' || c.get('deps').publicBaseUrl.startsWith('https:'),
    path: '/',
    maxAge: SESSION_TTL_SECONDS,
  });
}

function LoginPage(props: { email?: string; next: string; error?: string; demo: boolean }) {
  return (
    <Layout title={t.login.title}>
      <div class="card auth-box">
        <h1>{t.login.title}</h1>
        {props.error && <Notice kind="err">{props.error}</Notice>}
        <form method="post" action={`/login?next=${encodeURIComponent(props.next)}`}>
          <label for="email">{t.login.email}</label>
          <input id="email" name="email" type="email" autocomplete="username" required autofocus value={props.email ?? ''} />
          <label for="password">{t.login.password}</label>
          <input id="password" name="password" type="password" autocomplete="current-password" required maxlength={PASSWORD_MAX} />
          <div class="actions">
            <button type="submit">{t.login.submit}</button>
          </div>
        </form>
        {props.demo && <p class="muted">{t.login.demoHint}</p>}
      </div>
    </Layout>
  );
}

interface AccountProps {
  viewer: Viewer;
  email: string;
  notice?: { kind: 'ok' | 'err'; text: string };
  errors?: Partial<Record<'current' | 'next' | 'confirm', string>>;
}

function AccountPage(props: AccountProps) {
  const { viewer, errors = {} } = props;
  const field = (name: 'current' | 'next' | 'confirm', autocomplete: string, minlength?: number) => (
    <>
      <label for={name}>{t.account[name]}</label>
      <input
        id={name}
        name={name}
        type="password"
        autocomplete={autocomplete}
        required
        minlength={minlength}
        maxlength={PASSWORD_MAX}
        aria-invalid={errors[name] ? 'true' : undefined}
        aria-describedby={errors[name] ? `${name}-error` : undefined}
      />
      <FieldError id={`${name}-error`} message={errors[name]} />
    </>
  );
  return (
    <Layout title={t.account.title} viewer={viewer}>
      <h1>{t.account.title}</h1>
      <p>
        {t.account.who(viewer.name, props.email)}
        <br />
        {t.account.role(t.roles[viewer.role], viewer.workspaceName)}
      </p>
      {props.notice && <Notice kind={props.notice.kind}>{props.notice.text}</Notice>}
      <section class="card account-box">
        <h2>{t.account.changeTitle}</h2>
        <p class="muted">{t.account.changeIntro}</p>
        <form method="post" action="/account/password">
          <input type="hidden" name="username" value={props.email} autocomplete="username" />
          {field('current', 'current-password')}
          {field('next', 'new-password', PASSWORD_MIN)}
          {field('confirm', 'new-password', PASSWORD_MIN)}
          <div class="actions">
            <button type="submit">{t.account.submit}</button>
          </div>
        </form>
      </section>
    </Layout>
  );
}

export function authPages(options: { demo: boolean }) {
  const app = new Hono<AppEnv>();

  app.get('/login', (c) => {
    if (c.get('identity')) return c.redirect(safeNext(c.req.query('next')), 303);
    return c.html(<LoginPage next={safeNext(c.req.query('next'))} demo={options.demo} />);
  });

  app.post('/login', sameOriginForm, async (c) => {
    const body = await c.req.parseBody();
    const email = formString(body, 'email');
    const password = formString(body, 'password');
    const next = safeNext(c.req.query('next'));
    try {
      const result = await login({ ctx: anonymousCtxOf(c), input: { email, password, ip: c.get('deps').clientIp(c) } });
      setSessionCookie(c, result.token);
      return c.redirect(next, 303);
    } catch (error) {
      if (error instanceof RateLimited) {
        c.header('Retry-After', String(error.retryAfterSeconds));
        return c.html(<LoginPage email={email} next={next} demo={options.demo} error={t.login.throttled(Math.ceil(error.retryAfterSeconds / 60))} />, 429);
      }
      if (error instanceof Unauthorized) {
        return c.html(<LoginPage email={email} next={next} demo={options.demo} error={t.login.invalid} />, 401);
      }
      throw error;
    }
  });

  app.get('/account', pageFor(ALL_ROLES), async (c) => {
    const { actor } = ctxOf(c);
    const email = actor.type === 'user' ? actor.email : '';
    return c.html(<AccountPage viewer={await viewerOf(c)} email={email} notice={c.req.query('changed') === '1' ? { kind: 'ok', text: t.account.changed } : undefined} />);
  });

  app.post('/account/password', pageFor(ALL_ROLES), async (c) => {
    const ctx = ctxOf(c);
    const email = ctx.actor.type === 'user' ? ctx.actor.email : '';
    const body = await c.req.parseBody();
    const [current, next, confirm] = [formString(body, 'current'), formString(body, 'next'), formString(body, 'confirm')];
    const again = async (status: 400 | 429, props: Pick<AccountProps, 'notice' | 'errors'>) => c.html(<AccountPage viewer={await viewerOf(c)} email={email} {...props} />, status);
    if (next.length < PASSWORD_MIN || next.length > PASSWORD_MAX) return again(400, { errors: { next: t.invite.tooShort } });
    if (next !== confirm) return again(400, { errors: { confirm: t.invite.mismatch } });
    try {
      const result = await changePassword({ ctx, input: { currentPassword: current, newPassword: next, ip: c.get('deps').clientIp(c) } });
      setSessionCookie(c, result.token);
      return c.redirect('/account?changed=1', 303);
    } catch (error) {
      if (error instanceof RateLimited) {
        c.header('Retry-After', String(error.retryAfterSeconds));
        return again(429, { notice: { kind: 'err', text: t.account.throttled(Math.ceil(error.retryAfterSeconds / 60)) } });
      }
      if (error instanceof Invalid && error.code === 'wrong_password') return again(400, { errors: { current: t.account.wrong } });
      if (error instanceof Invalid) return again(400, { errors: { next: t.account.same } });
      throw error;
    }
  });

  app.post('/logout', async (c) => {
    // Ends the session on the server too, not only in this browser (see endSessions).
    const identity = c.get('identity');
    if (identity?.actor.type === 'user') await endSessions(c.get('deps').db, identity.actor.userId);
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.redirect('/login', 303);
  });

  function InvitePage(props: { token: string; name: string; email: string; workspace: string; error?: string }) {
    return (
      <Layout title={t.invite.title(props.workspace)}>
        <div class="card auth-box">
          <h1>{t.invite.title(props.workspace)}</h1>
          <p>{t.invite.intro(props.name, props.email)}</p>
          {props.error && <Notice kind="err">{props.error}</Notice>}
          <form method="post" action={`/invite/${props.token}`}>
            <input type="hidden" name="username" value={props.email} autocomplete="username" />
            <label for="password">{t.invite.password}</label>
            <input id="password" name="password" type="password" autocomplete="new-password" required minlength={PASSWORD_MIN} maxlength={PASSWORD_MAX} />
            <label for="confirm">{t.invite.confirm}</label>
            <input id="confirm" name="confirm" type="password" autocomplete="new-password" required minlength={PASSWORD_MIN} maxlength={PASSWORD_MAX} />
            <div class="actions">
              <button type="submit">{t.invite.submit}</button>
            </div>
          </form>
        </div>
      </Layout>
    );
  }

  function InvalidInvitation() {
    return (
      <Layout title={t.errors.title(400)}>
        <div class="card auth-box">
          <Notice kind="err">{t.invite.invalid}</Notice>
          <p>
            <a href="/login">{t.login.title}</a>
          </p>
        </div>
      </Layout>
    );
  }

  app.get('/invite/:token', async (c) => {
    const token = c.req.param('token');
    // The URL holds the invitation (it sets the account's password): never sent on in a Referer.
    c.header('Referrer-Policy', 'no-referrer');
    const invitation = await readInvitation({ ctx: anonymousCtxOf(c), input: { token } });
    if (!invitation) return c.html(<InvalidInvitation />, 400);
    return c.html(<InvitePage token={token} name={invitation.user.name} email={invitation.user.email} workspace={invitation.workspace.name} />);
  });

  app.post('/invite/:token', sameOriginForm, async (c) => {
    const token = c.req.param('token');
    c.header('Referrer-Policy', 'no-referrer');
    const ctx = anonymousCtxOf(c);
    const invitation = await readInvitation({ ctx, input: { token } });
    if (!invitation) return c.html(<InvalidInvitation />, 400);
    const body = await c.req.parseBody();
    const password = formString(body, 'password');
    const error =
      password.length < PASSWORD_MIN || password.length > PASSWORD_MAX ? t.invite.tooShort : password !== formString(body, 'confirm') ? t.invite.mismatch : undefined;
    if (error) {
      return c.html(<InvitePage token={token} name={invitation.user.name} email={invitation.user.email} workspace={invitation.workspace.name} error={error} />, 400);
    }
    const { userId, workspaceId } = await acceptInvitation({ ctx, input: { token, password } });
    setSessionCookie(c, await issueSession(ctx, { userId, workspaceId }));
    return c.redirect('/', 303);
  });

  return app;
}

