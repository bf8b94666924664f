/** @jsxImportSource hono/jsx */
/**
 * The subscriber's pages, opened from links in our emails, without any login: the token in the
 * URL is the credential (src/domain/privacy/subscriber.ts).
 *
 *  - `GET /u/:token` shows one button and never acts (link scanners such as Safe Links fetch
 *    every URL); `POST /u/:token` is RFC 8058 one-click: mail providers post
 *    `List-Unsubscribe=One-Click` (multipart/form-data or urlencoded) with no cookie, and get
 *    200, never a redirect. The page's own button posts the same body.
 *  - `GET /p/:token` is the preference centre: each purpose on or off, what we hold, correct it,
 *    download it, erase it (GDPR Art. 7(3), 15, 16, 17, 20).
 *  - `GET /p/export/:token` serves a download minted by the preference centre: 15 minutes, and
 *    only in the browser that asked (a cookie nonce), so a forwarded or leaked link is useless.
 */
import { Hono, type Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { signToken, verifyToken } from '../../domain/auth/tokens.js';
import { recordFulfilledRequest, rectifyContact } from '../../domain/privacy/requests.js';
import { eraseContact } from '../../domain/privacy/erasure.js';
import { exportContactData, exportToCsv } from '../../domain/privacy/export.js';
import { grant, linkFor, readSubscriberLink, subscriberPurposes, withdraw, type PurposeView, type SubscriberLink } from '../../domain/privacy/subscriber.js';
import { activeSuppression } from '../../domain/privacy/suppressions.js';
import { DomainError } from '../../domain/errors.js';
import { formatPhone } from '../../domain/contacts/normalise.js';
import { formatConsentDate } from '../../email/render.js';
import { t } from '../../i18n/fr.js';
import { sha256Hex, randomToken } from '../../lib/crypto.js';
import { anonymousCtxOf } from '../context.js';
import type { AppEnv } from '../env.js';
import { sameOriginForm } from '../middleware/same-origin.js';
import { formString } from './guard.js';
import { Layout, Notice } from './layout.js';

const s = t.subscriber;
const EXPORT_TTL_SECONDS = 15 * 60;
const EXPORT_COOKIE = 'cn_export';

function Footer(props: { link: SubscriberLink }) {
  const ws = props.link.workspace;
  return (
    <p class="muted small">
      {ws.legalName}, {ws.addressLine}, {ws.postalCode} {ws.city} · <a href={ws.privacyUrl}>{t.email.privacyPolicy}</a>
      <br />
      {s.contactUs(ws.dpoContact)}
    </p>
  );
}

function Plain(props: { title: string; message: string }) {
  return (
    <Layout title={props.title}>
      <div class="card auth-box">
        <h1>{props.title}</h1>
        <p>{props.message}</p>
      </div>
    </Layout>
  );
}

function plain(c: Context<AppEnv>, status: ContentfulStatusCode, title: string, message: string) {
  return c.html(<Plain title={title} message={message} />, status);
}
const invalidLink = (c: Context<AppEnv>) => plain(c, 400, s.invalidTitle, s.invalid);

function Erased(props: { link: SubscriberLink }) {
  return (
    <Layout title={s.erasedTitle}>
      <div class="card auth-box">
        <h1>{s.erasedTitle}</h1>
        <p>{s.erased(props.link.workspace.name)}</p>
        <Footer link={props.link} />
      </div>
    </Layout>
  );
}

function ScriptText(props: { purpose: PurposeView | undefined }) {
  if (!props.purpose?.script) return null;
  return (
    <details>
      <summary>{s.whatYouAccept}</summary>
      <blockquote class="script">{props.purpose.script.text}</blockquote>
    </details>
  );
}

function UnsubscribePage(props: { token: string; link: SubscriberLink; subscribed: boolean; done?: 'unsubscribed' | 'resubscribed'; newsletter: PurposeView | undefined; preferencesUrl: string }) {
  const brand = props.link.workspace.name;
  return (
    <Layout title={s.unsubscribeTitle(brand)}>
      <div class="card auth-box">
        <h1>{s.unsubscribeTitle(brand)}</h1>
        {props.done === 'unsubscribed' && <Notice kind="ok">{s.unsubscribed(brand)}</Notice>}
        {props.done === 'resubscribed' && <Notice kind="ok">{s.resubscribed(brand)}</Notice>}
        {!props.done && !props.subscribed && <Notice kind="info">{s.alreadyUnsubscribed(brand)}</Notice>}
        {props.subscribed ? (
          !props.done && (
            <form method="post" action={`/u/${props.token}`}>
              <p>{s.unsubscribeIntro(props.link.contact!.email!)}</p>
              <input type="hidden" name="List-Unsubscribe" value="One-Click" />
              <div class="actions">
                <button type="submit">{s.unsubscribeButton}</button>
              </div>
            </form>
          )
        ) : (
          <form method="post" action={`/u/${props.token}/undo`}>
            <p>{s.undoIntro}</p>
            <ScriptText purpose={props.newsletter} />
            <div class="actions">
              <button class="secondary" type="submit">
                {s.undoButton}
              </button>
            </div>
          </form>
        )}
        <p>
          <a href={props.preferencesUrl}>{s.managePreferences}</a>
        </p>
        <Footer link={props.link} />
      </div>
    </Layout>
  );
}

function evidenceOf(c: Context<AppEnv>): Record<string, string> {
  return { ip: c.get('deps').clientIp(c) ?? '', userAgent: (c.req.header('user-agent') ?? '').slice(0, 300) };
}

/** The preference link for the same recipient and campaign, for the unsubscribe page. */
async function preferencesUrlOf(c: Context<AppEnv>, link: SubscriberLink): Promise<string> {
  const deps = c.get('deps');
  const token = await signToken(deps.signingKeys, deps.clock, 'preferences', { sub: link.contactId, wid: link.workspace.id, ...(link.campaignId ? { cid: link.campaignId } : {}) }, null);
  return `/p/${token}`;
}

async function unsubscribePage(c: Context<AppEnv>, token: string, link: SubscriberLink, done?: 'unsubscribed' | 'resubscribed') {
  if (!link.contact) return c.html(<Erased link={link} />);
  const ctx = anonymousCtxOf(c);
  const purposes = await subscriberPurposes(ctx.db, link);
  const newsletter = purposes.find((p) => p.purpose === 'newsletter');
  const suppressed = link.contact.emailHash ? await activeSuppression(ctx.db, link.workspace.id, link.contact.emailHash) : null;
  const subscribed = newsletter?.status === 'granted' && !suppressed;
  return c.html(<UnsubscribePage token={token} link={link} subscribed={subscribed} done={done} newsletter={newsletter} preferencesUrl={await preferencesUrlOf(c, link)} />);
}

function PreferencesPage(props: { token: string; link: SubscriberLink; purposes: PurposeView[]; notice?: { kind: 'ok' | 'info' | 'err'; text: string } | undefined; focus?: string | undefined }) {
  const { link } = props;
  const contact = link.contact!;
  const f = s.fields;
  return (
    <Layout title={s.preferencesTitle(link.workspace.name)}>
      <div class="card prefs">
        <h1>{s.preferencesTitle(link.workspace.name)}</h1>
        {props.notice && <Notice kind={props.notice.kind}>{props.notice.text}</Notice>}
        {props.focus === 'opens' && <Notice kind="info">{s.stopOpensHint}</Notice>}
        <h2>{s.sectionConsents}</h2>
        <ul class="purposes">
          {props.purposes.map((p) => (
            <li id={`purpose-${p.purpose}`} class={props.focus === 'opens' && p.purpose === 'open_tracking' ? 'focus' : ''}>
              <form method="post" action={`/p/${props.token}`}>
                <input type="hidden" name="purpose" value={p.purpose} />
                <strong>{p.label}</strong>{' '}
                <span class={`pill ${p.status === 'granted' ? 'ok' : ''}`}>{s.status[p.status]}</span>
                {p.since && <span class="muted"> {s.since(formatConsentDate(p.since))}</span>}
                {p.status === 'granted' ? (
                  <button class="secondary" type="submit" name="action" value="withdraw">
                    {s.turnOff}
                  </button>
                ) : (
                  <>
                    <ScriptText purpose={p} />
                    <button type="submit" name="action" value="grant">
                      {s.turnOn}
                    </button>
                  </>
                )}
              </form>
            </li>
          ))}
        </ul>

        <h2>{s.sectionData}</h2>
        <dl class="kv">
          <dt>{f.email}</dt>
          <dd>{contact.email}</dd>
          <dt>{f.firstName}</dt>
          <dd>{contact.firstName ?? t.common.none}</dd>
          <dt>{f.lastName}</dt>
          <dd>{contact.lastName ?? t.common.none}</dd>
          <dt>{f.phone}</dt>
          <dd>{contact.phone ? formatPhone(contact.phone) : t.common.none}</dd>
          <dt>{f.sourceCampaign}</dt>
          <dd>{contact.sourceCampaign ?? t.common.none}</dd>
          <dt>{f.since}</dt>
          <dd>{formatConsentDate(contact.createdAt)}</dd>
        </dl>
        <details>
          <summary>{s.correctTitle}</summary>
          <form method="post" action={`/p/${props.token}/details`} class="stack">
            <label>
              {f.firstName}
              <input name="firstName" value={contact.firstName ?? ''} maxlength={100} autocomplete="given-name" />
            </label>
            <label>
              {f.lastName}
              <input name="lastName" value={contact.lastName ?? ''} maxlength={100} autocomplete="family-name" />
            </label>
            <label>
              {f.phone}
              <input name="phone" value={contact.phone ?? ''} maxlength={40} autocomplete="tel" />
            </label>
            <p class="muted small">{s.emailChangeHint}</p>
            <div class="actions">
              <button type="submit">{s.correctButton}</button>
            </div>
          </form>
        </details>

        <h2>{s.sectionRights}</h2>
        <form method="post" action={`/p/${props.token}/export`}>
          <p>{s.exportIntro}</p>
          <div class="actions">
            <button class="secondary" type="submit">
              {s.exportButton}
            </button>
          </div>
        </form>
        <form method="post" action={`/p/${props.token}/erase`}>
          <p>{s.eraseIntro}</p>
          <label class="check">
            <input type="checkbox" name="confirm" value="yes" required /> {s.eraseConfirm}
          </label>
          <div class="actions">
            <button class="danger" type="submit">
              {s.eraseButton}
            </button>
          </div>
        </form>
        <Footer link={link} />
      </div>
    </Layout>
  );
}

async function preferencesPage(c: Context<AppEnv>, token: string, link: SubscriberLink, notice?: { kind: 'ok' | 'info' | 'err'; text: string }, status: ContentfulStatusCode = 200) {
  if (!link.contact) return c.html(<Erased link={link} />);
  const purposes = await subscriberPurposes(anonymousCtxOf(c).db, link);
  return c.html(<PreferencesPage token={token} link={link} purposes={purposes} notice={notice} focus={c.req.query('stop')} />, status);
}

/** Reads the link or answers the "invalid link" page; every route below starts with it. */
async function linkOr(c: Context<AppEnv>, purpose: 'unsubscribe' | 'preferences') {
  c.header('Referrer-Policy', 'no-referrer');
  c.header('X-Robots-Tag', 'noindex');
  return readSubscriberLink(anonymousCtxOf(c), purpose, c.req.param('token') ?? '');
}

export const subscriberPages = new Hono<AppEnv>()
  // GET (and HEAD, which Hono answers from it) only shows the page: a scanner's fetch changes nothing.
  .get('/u/:token', async (c) => {
    const link = await linkOr(c, 'unsubscribe');
    return link ? unsubscribePage(c, c.req.param('token'), link) : invalidLink(c);
  })
  // RFC 8058 §3.1: no cookie, no auth, no redirect; the body must be List-Unsubscribe=One-Click.
  .post('/u/:token', async (c) => {
    const link = await linkOr(c, 'unsubscribe');
    if (!link) return invalidLink(c);
    const type = c.req.header('content-type') ?? '';
    const form = /^(multipart\/form-data|application\/x-www-form-urlencoded)/i.test(type) ? await c.req.parseBody().catch(() => ({})) : {};
    if (formString(form, 'List-Unsubscribe') !== 'One-Click') return plain(c, 400, s.badRequestTitle, s.badRequest);
    // A browser's button press carries Sec-Fetch-Site; a mail provider's one-click POST does not.
    const fromBrowser = Boolean(c.req.header('sec-fetch-site'));
    await withdraw(anonymousCtxOf(c), link, 'newsletter', fromBrowser ? 'unsubscribe_page' : 'list_unsubscribe_post', evidenceOf(c));
    // Nobody reads the answer to a provider's POST (RFC 8058 §3.2 only asks for a 2xx): a short
    // page, without re-reading the person's consents. Three database round trips fewer on the
    // path Gmail and Yahoo take, which is most unsubscribes (and the Workers CPU budget).
    if (!fromBrowser) return plain(c, 200, s.unsubscribeTitle(link.workspace.name), s.unsubscribed(link.workspace.name));
    return unsubscribePage(c, c.req.param('token'), link, 'unsubscribed');
  })
  .post('/u/:token/undo', sameOriginForm, async (c) => {
    const link = await linkOr(c, 'unsubscribe');
    if (!link) return invalidLink(c);
    await grant(anonymousCtxOf(c), link, 'newsletter', 'unsubscribe_page', evidenceOf(c));
    return unsubscribePage(c, c.req.param('token'), link, 'resubscribed');
  })
  .get('/p/export/:token', async (c) => {
    c.header('Referrer-Policy', 'no-referrer');
    const deps = c.get('deps');
    const payload = await verifyToken(deps.signingKeys, deps.clock, 'export', c.req.param('token'));
    const nonce = getCookie(c, EXPORT_COOKIE);
    if (!payload || typeof payload.wid !== 'string' || !nonce || (await sha256Hex(nonce)) !== payload.nh) return plain(c, 410, s.exportExpiredTitle, s.exportExpired);
    const ctx = anonymousCtxOf(c);
    const link = await linkFor(ctx, { wid: payload.wid, sub: payload.sub, cid: null });
    if (!link?.contact) return plain(c, 410, s.exportExpiredTitle, s.exportExpired);
    const data = await exportContactData(ctx.db, link.workspace, link.contactId, ctx.clock.now());
    const day = ctx.clock.now().toISOString().slice(0, 10);
    if (c.req.query('format') === 'csv') {
      return c.body(`\uFEFF${exportToCsv(data)}`, 200, { 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': `attachment; filename="mes-donnees-${day}.csv"` });
    }
    return c.body(JSON.stringify(data, null, 2), 200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Disposition': `attachment; filename="mes-donnees-${day}.json"` });
  })
  .get('/p/:token', async (c) => {
    const link = await linkOr(c, 'preferences');
    return link ? preferencesPage(c, c.req.param('token'), link) : invalidLink(c);
  })
  .post('/p/:token', sameOriginForm, async (c) => {
    const link = await linkOr(c, 'preferences');
    if (!link) return invalidLink(c);
    if (!link.contact) return c.html(<Erased link={link} />);
    const body = await c.req.parseBody();
    const purpose = formString(body, 'purpose');
    const action = formString(body, 'action');
    const known = (await subscriberPurposes(anonymousCtxOf(c).db, link)).some((p) => p.purpose === purpose);
    if (!known || (action !== 'grant' && action !== 'withdraw')) return plain(c, 400, s.badRequestTitle, s.badRequest);
    const change = action === 'grant' ? grant : withdraw;
    const changed = await change(anonymousCtxOf(c), link, purpose, 'preference_centre', evidenceOf(c));
    // The page reads the consents afresh; the contact's shown details did not change.
    return preferencesPage(c, c.req.param('token'), link, { kind: changed ? 'ok' : 'info', text: changed ? s.changed : s.unchanged });
  })
  .post('/p/:token/details', sameOriginForm, async (c) => {
    const link = await linkOr(c, 'preferences');
    if (!link) return invalidLink(c);
    if (!link.contact) return c.html(<Erased link={link} />);
    const body = await c.req.parseBody();
    const ctx = anonymousCtxOf(c);
    const now = ctx.clock.now();
    try {
      await ctx.db.transaction(async (tx) => {
        const changed = await rectifyContact(tx, {
          workspaceId: link.workspace.id,
          contactId: link.contactId,
          changes: { firstName: formString(body, 'firstName').slice(0, 100), lastName: formString(body, 'lastName').slice(0, 100), phone: formString(body, 'phone').slice(0, 40) || null },
          now,
        });
        if (changed.length) await recordFulfilledRequest(tx, { workspaceId: link.workspace.id, contactId: link.contactId, type: 'rectification', outcome: `Corrected by the person: ${changed.join(', ')}`, now });
      });
    } catch (error) {
      if (error instanceof DomainError) return preferencesPage(c, c.req.param('token'), link, { kind: 'err', text: error.message }, 400);
      throw error;
    }
    const fresh = (await readSubscriberLink(ctx, 'preferences', c.req.param('token')))!;
    return preferencesPage(c, c.req.param('token'), fresh, { kind: 'ok', text: s.corrected });
  })
  .post('/p/:token/export', sameOriginForm, async (c) => {
    const link = await linkOr(c, 'preferences');
    if (!link) return invalidLink(c);
    if (!link.contact) return c.html(<Erased link={link} />);
    const deps = c.get('deps');
    const ctx = anonymousCtxOf(c);
    await ctx.db.transaction((tx) =>
      recordFulfilledRequest(tx, { workspaceId: link.workspace.id, contactId: link.contactId, type: 'access', outcome: 'Export downloaded from the preference centre', now: ctx.clock.now() }),
    );
    const nonce = randomToken(24);
    const token = await signToken(deps.signingKeys, deps.clock, 'export', { sub: link.contactId, wid: link.workspace.id, nh: await sha256Hex(nonce) }, EXPORT_TTL_SECONDS);
    setCookie(c, EXPORT_COOKIE, nonce, { path: '/p/export', httpOnly: true, sameSite: 'Strict', secure: new URL(deps.publicBaseUrl).protocol === 'https:', maxAge: EXPORT_TTL_SECONDS });
    return c.html(
      <Layout title={s.exportReadyTitle}>
        <div class="card auth-box">
          <h1>{s.exportReadyTitle}</h1>
          <p>{s.exportReady}</p>
          <ul>
            <li>
              <a href={`/p/export/${token}?format=json`}>{s.exportJson}</a>
            </li>
            <li>
              <a href={`/p/export/${token}?format=csv`}>{s.exportCsv}</a>
            </li>
          </ul>
          <p>
            <a href={`/p/${c.req.param('token')}`}>{s.back}</a>
          </p>
        </div>
      </Layout>,
    );
  })
  .post('/p/:token/erase', sameOriginForm, async (c) => {
    const link = await linkOr(c, 'preferences');
    if (!link) return invalidLink(c);
    if (!link.contact) return c.html(<Erased link={link} />);
    const body = await c.req.parseBody();
    if (formString(body, 'confirm') !== 'yes') return preferencesPage(c, c.req.param('token'), link, { kind: 'err', text: s.eraseNeedsConfirm }, 400);
    const ctx = anonymousCtxOf(c);
    const now = ctx.clock.now();
    await ctx.db.transaction(async (tx) => {
      const request = await recordFulfilledRequest(tx, { workspaceId: link.workspace.id, contactId: link.contactId, type: 'erasure', outcome: 'Erased at the person’s request from the preference centre', now });
      await eraseContact(tx, { workspaceId: link.workspace.id, contactId: link.contactId, why: 'request', actorType: 'subscriber', actorId: link.contactId, channel: 'email_link', dsrRequestId: request.id, requestId: ctx.requestId, now });
    });
    deleteCookie(c, EXPORT_COOKIE, { path: '/p/export' });
    return c.html(<Erased link={link} />);
  });
