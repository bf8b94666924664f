/** @jsxImportSource hono/jsx */
/**
 * The DPO's pages: the register of data-subject requests, soonest deadline first (GDPR Art.
 * 12(3): one month), and the forms that log a request received by phone or letter, close it, or
 * answer it by erasing the person. Exports are the API's (GET /api/v1/contacts/{id}/export).
 */
import { Hono } from 'hono';
import { dsrChannels, dsrTypes, type DsrChannel, type DsrType } from '../../db/schema.js';
import { DomainError } from '../../domain/errors.js';
import { closeRequest, eraseOnRequest, listRequests, logRequest } from '../../domain/privacy/requests.js';
import { formatDateTime, t } from '../../i18n/fr.js';
import { ctxOf } from '../context.js';
import type { AppEnv } from '../env.js';
import { formString, pageFor, viewerOf } from './guard.js';
import { ScrollTable, SubNav } from './dpo-pages.js';
import { Layout, Notice } from './layout.js';

const s = t.requests;
const admin = pageFor(['admin']);
/** Requests due within this many days are highlighted (the one-month deadline is close). */
const SOON_DAYS = 7;

/** The rights card on a contact's proof page. `requestId`: the request being answered, if any. */
export function RightsCard(props: { contactId: string; requestId?: string | undefined; requestType?: string | undefined }) {
  const q = props.requestId ? `&requestId=${encodeURIComponent(props.requestId)}` : '';
  return (
    <section class="card">
      <h2>{s.rightsTitle}</h2>
      {props.requestType && <Notice kind="info">{s.answering(s.types[props.requestType] ?? props.requestType)}</Notice>}
      <p>
        <a class="button secondary" href={`/api/v1/contacts/${props.contactId}/export?format=json${q}`}>
          {s.exportJson}
        </a>{' '}
        <a class="button secondary" href={`/api/v1/contacts/${props.contactId}/export?format=csv${q}`}>
          {s.exportCsv}
        </a>
      </p>
      <form method="post" action={`/admin/contacts/${props.contactId}/erase`}>
        {props.requestId && <input type="hidden" name="requestId" value={props.requestId} />}
        <label class="check">
          <input type="checkbox" name="confirm" value="yes" required /> {s.eraseConfirm}
        </label>
        <button class="danger" type="submit">
          {s.erase}
        </button>
      </form>
      <details>
        <summary>{s.logTitle}</summary>
        <form method="post" action={`/admin/contacts/${props.contactId}/requests`}>
          <div class="grid two">
            <div>
              <label for="dsr-type">{s.type}</label>
              <select id="dsr-type" name="type" required>
                {dsrTypes.map((ty) => (
                  <option value={ty}>{s.types[ty]}</option>
                ))}
              </select>
            </div>
            <div>
              <label for="dsr-channel">{s.channel}</label>
              <select id="dsr-channel" name="channel" required>
                {dsrChannels
                  .filter((ch) => ch !== 'preference_centre')
                  .map((ch) => (
                    <option value={ch}>{s.channels[ch]}</option>
                  ))}
              </select>
            </div>
          </div>
          <label for="dsr-notes">{s.notes}</label>
          <textarea id="dsr-notes" name="notes" rows={2} maxlength={2000}></textarea>
          <div class="actions">
            <button type="submit">{s.log}</button>
          </div>
        </form>
      </details>
    </section>
  );
}

export const privacyPages = new Hono<AppEnv>()
  .get('/admin/requests', admin, async (c) => {
    const ctx = ctxOf(c);
    // Open requests first, soonest deadline first (the domain's order); then the closed ones.
    const requests = await listRequests({ ctx, input: {} });
    const now = ctx.clock.now().getTime();
    const daysLeft = (due: Date) => Math.ceil((due.getTime() - now) / 86_400_000);
    const urgency = (r: (typeof requests)[number]) => (r.status !== 'open' ? null : r.overdue ? 'overdue' : daysLeft(r.dueAt) <= SOON_DAYS ? 'soon' : null);
    const ok = s.ok[c.req.query('ok') ?? ''];
    const error = c.req.query('error');
    return c.html(
      <Layout title={s.title} viewer={await viewerOf(c)} current="/admin/requests">
        <SubNav current="requests" />
        <h1>{s.title}</h1>
        <p class="lead">{s.intro}</p>
        {ok && <Notice kind="ok">{ok}</Notice>}
        {error && <Notice kind="err">{error.slice(0, 300)}</Notice>}
        {requests.length === 0 ? (
          <p class="muted">{s.empty}</p>
        ) : (
          <ScrollTable label={s.title} headers={[s.due, s.contact, s.type, s.channel, s.received, s.status, '']}>
            {requests.map((r) => (
              <tr class={urgency(r) ? `due-${urgency(r)}` : undefined}>
                <td>
                  {formatDateTime(r.dueAt)} {urgency(r) === 'overdue' && <span class="pill err">{s.overdue}</span>}
                  {urgency(r) === 'soon' && <span class="pill warn">{s.soon(daysLeft(r.dueAt))}</span>}
                </td>
                <td>{r.contactLabel ? <a href={`/admin/contacts/${r.contactId}/proof?request=${r.id}`}>{r.contactLabel}</a> : <span class="muted">{s.erasedContact}</span>}</td>
                <td>{s.types[r.type]}</td>
                <td>{s.channels[r.channel]}</td>
                <td>{formatDateTime(r.receivedAt)}</td>
                <td>
                  <span class={`pill ${r.status === 'completed' ? 'ok' : r.status === 'refused' ? 'warn' : ''}`}>{s.statuses[r.status]}</span>
                  {r.outcome && <p class="muted small">{r.outcome}</p>}
                </td>
                <td>
                  {r.status === 'open' && (
                    <form method="post" action={`/admin/requests/${r.id}/close`} class="inline-form">
                      <label class="sr-only" for={`outcome-${r.id}`}>
                        {s.outcome}
                      </label>
                      <input id={`outcome-${r.id}`} type="text" name="outcome" required maxlength={2000} placeholder={s.outcomePlaceholder} />
                      <select name="status" aria-label={s.closeAs}>
                        <option value="completed">{s.statuses.completed}</option>
                        <option value="refused">{s.statuses.refused}</option>
                      </select>
                      <button class="secondary" type="submit">
                        {s.close}
                      </button>
                    </form>
                  )}
                </td>
              </tr>
            ))}
          </ScrollTable>
        )}
      </Layout>,
    );
  })
  .post('/admin/contacts/:id/requests', admin, async (c) => {
    const body = await c.req.parseBody();
    const type = formString(body, 'type') as DsrType;
    const channel = formString(body, 'channel') as DsrChannel;
    try {
      if (!dsrTypes.includes(type) || !dsrChannels.includes(channel) || channel === 'preference_centre') throw new Error('bad form');
      await logRequest({ ctx: ctxOf(c), input: { contactId: c.req.param('id'), type, channel, notes: formString(body, 'notes').slice(0, 2000) } });
    } catch (error) {
      if (error instanceof DomainError || (error instanceof Error && error.message === 'bad form')) return c.redirect(`/admin/requests?error=${encodeURIComponent(error.message)}`, 303);
      throw error;
    }
    return c.redirect('/admin/requests?ok=logged', 303);
  })
  .post('/admin/requests/:id/close', admin, async (c) => {
    const body = await c.req.parseBody();
    const status = formString(body, 'status') === 'refused' ? 'refused' : 'completed';
    try {
      await closeRequest({ ctx: ctxOf(c), input: { id: c.req.param('id'), status, outcome: formString(body, 'outcome').slice(0, 2000) } });
    } catch (error) {
      if (error instanceof DomainError) return c.redirect(`/admin/requests?error=${encodeURIComponent(error.message)}`, 303);
      throw error;
    }
    return c.redirect('/admin/requests?ok=closed', 303);
  })
  .post('/admin/contacts/:id/erase', admin, async (c) => {
    const body = await c.req.parseBody();
    if (formString(body, 'confirm') !== 'yes') return c.redirect(`/admin/contacts/${c.req.param('id')}/proof`, 303);
    const requestId = formString(body, 'requestId') || undefined;
    try {
      await eraseOnRequest({ ctx: ctxOf(c), input: { contactId: c.req.param('id'), requestId } });
    } catch (error) {
      if (error instanceof DomainError) return c.redirect(`/admin/requests?error=${encodeURIComponent(error.message)}`, 303);
      throw error;
    }
    return c.redirect('/admin/requests?ok=erased', 303);
  });
