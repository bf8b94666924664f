/** @jsxImportSource hono/jsx */
/**
 * Marketer pages for campaigns: the list with key figures, the draft editor (subject, preheader,
 * MJML body with a live preview and the mandatory-block verification), the send step (segment,
 * now or at a time, confirmation with the audience count), and the status page of a campaign
 * that left the draft state (progress bar, pause/resume/cancel, results).
 *
 * Everything works without JavaScript: forms post and re-render (400 with the message next to the
 * field), the preview frame shows the saved version. src/client/campaign-editor.ts upgrades the
 * body to a code editor and makes the preview follow unsaved edits; /assets/campaign.js moves the
 * progress bar.
 */
import { sql } from 'drizzle-orm';
import type { Context } from 'hono';
import { maskEmail } from './segment-pages.js';
import { Hono } from 'hono';
import { createCampaign, getCampaign, listCampaigns, updateCampaign, type Campaign } from '../../domain/campaigns/campaigns.js';
import { campaignProgress, cancelCampaign, pauseCampaign, resumeCampaign, scheduleCampaign, sendCampaign } from '../../domain/campaigns/lifecycle.js';
import { previewCampaign, testSendCampaign } from '../../domain/campaigns/preview.js';
import type { Ctx } from '../../domain/context.js';
import { Conflict, Invalid, NotFound, type FieldIssue } from '../../domain/errors.js';
import { audiencePreview, listSegments, type Segment } from '../../domain/segments/segments.js';
import { requiredBlocks } from '../../email/compile.js';
import { starterTemplates } from '../../email/templates.generated.js';
import { formatDateTime, formatEuros, t } from '../../i18n/fr.js';
import { ctxOf } from '../context.js';
import type { AppEnv } from '../env.js';
import { CampaignResults, RESULT_GROUPS } from './campaign-results.js';
import { formString, pageFor, viewerOf } from './guard.js';
import { DataTable, FieldError, Layout, Notice } from './layout.js';

const s = t.campaigns;
const e = t.editor;
const marketers = pageFor(['marketer', 'admin']);

/**
 * The editor page shows the live preview in a `sandbox=""` iframe filled through `srcdoc`, and a
 * srcdoc document inherits the CSP of the page that embeds it: the email's inline styles and
 * remote images need `style-src 'unsafe-inline'` and `img-src https:` here. Scripts stay 'self'
 * only (and the sandbox runs none in the frame anyway).
 */
const EDITOR_CSP =
  "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; font-src 'self' data: https:; script-src 'self'; frame-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'";
/** The saved version's HTML, shown in a frame of our own pages only, as a mail client would (no script). */
const PREVIEW_CSP = "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; font-src https: data:; frame-ancestors 'self'; sandbox";

type Issue = FieldIssue & { line?: number | undefined };
type Content = { name: string; subject: string; preheader: string; body: string };
type SendForm = { segmentId: string; when: 'now' | 'later'; at: string };

// ---------------------------------------------------------------------------------------------
// Dates: the form speaks Paris wall-clock time (datetime-local has no zone).

const PARIS = 'Europe/Paris';

function parisOffsetMs(at: Date): number {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone: PARIS, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(at);
  const n = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second')) - Math.floor(at.getTime() / 1000) * 1000;
}

/** "2026-12-01T09:30" read as Paris time; null when it is not such a value. */
export function parseParisLocal(value: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(value.trim());
  if (!m) return null;
  const [y, mo, d, h, mi] = m.slice(1).map(Number) as [number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59) return null;
  const wall = Date.UTC(y, mo - 1, d, h, mi);
  // The offset at the guessed instant, then again at the corrected one (DST changes in between).
  let at = wall - parisOffsetMs(new Date(wall));
  at = wall - parisOffsetMs(new Date(at));
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** A Date as the value of a datetime-local input, in Paris time. */
function toParisLocal(at: Date): string {
  return new Date(at.getTime() + parisOffsetMs(at)).toISOString().slice(0, 16);
}

// ---------------------------------------------------------------------------------------------
// Small pieces

const statusKind: Record<Campaign['status'], string> = { draft: '', scheduled: 'info', sending: 'warn', paused: 'warn', sent: 'ok', cancelled: '', failed: 'err' };

function StatusPill(props: { status: Campaign['status'] }) {
  return <span class={`pill ${statusKind[props.status]}`}>{s.statuses[props.status]}</span>;
}

const pct = (n: number, base: number) => `${((n / base) * 100).toLocaleString('fr-FR', { maximumFractionDigits: 1 })} %`;

function Rate(props: { n: number; base: number; title: string }) {
  if (props.base === 0) return <span class="muted">{s.none}</span>;
  return <span title={props.title}>{s.rate(pct(props.n, props.base), props.n, props.base)}</span>;
}

const fieldLabel = (field: string) => e.fields[field] ?? field;

function issuesFor(issues: Issue[], field: string): string | undefined {
  const mine = issues.filter((i) => i.field === field);
  if (mine.length === 0) return undefined;
  return mine.map((i) => (i.line ? `${e.line(i.line)} : ${i.message}` : i.message)).join(' · ');
}

/** Issues of a refused compile or action, in French (the domain's issue messages are French). */
function issuesOf(error: Invalid): Issue[] {
  return error.issues.length ? error.issues : [{ field: 'body', message: error.message }];
}

// ---------------------------------------------------------------------------------------------
// Key figures for the list: one grouped pass over the sends' rollup columns (src/tracking/stats.ts
// defines the rates the same way: opens among the tracked base, clicks among messages reached).

interface Figures {
  sent: number;
  trackedBase: number;
  uniqueHumanOpens: number;
  reached: number;
  uniqueHumanClicks: number;
  conversions: number;
  value: number;
}

async function figuresOf(ctx: Pick<Ctx, 'db' | 'workspaceId'>, ids: string[]): Promise<Map<string, Figures>> {
  const out = new Map<string, Figures>();
  if (ids.length === 0) return out;
  const rows = await ctx.db.all<Record<string, string | number | null>>(sql`
    SELECT s.campaign_id AS id,
      sum(s.status = 'sent') AS sent,
      sum(s.status = 'sent' AND s.tracks_opens AND s.bounced_at IS NULL) AS trackedBase,
      sum(s.tracks_opens AND s.human_opens > 0) AS uniqueHumanOpens,
      sum(s.status = 'sent') - sum(s.bounced_at IS NOT NULL) AS reached,
      sum(s.human_clicks > 0) AS uniqueHumanClicks,
      sum(s.conversions) AS conversions,
      sum(s.conversion_value) AS value
    FROM sends s
    WHERE s.workspace_id = ${ctx.workspaceId} AND s.campaign_id IN (${sql.join(
      ids.map((id) => sql`${id}`),
      sql`, `,
    )})
    GROUP BY s.campaign_id`);
  for (const r of rows) {
    const n = (k: string) => Number(r[k] ?? 0);
    out.set(String(r.id), { sent: n('sent'), trackedBase: n('trackedBase'), uniqueHumanOpens: n('uniqueHumanOpens'), reached: n('reached'), uniqueHumanClicks: n('uniqueHumanClicks'), conversions: n('conversions'), value: n('value') });
  }
  return out;
}

function dateLine(cp: Campaign): string {
  if (cp.status === 'sent' && cp.finishedAt) return s.sentOn(formatDateTime(cp.finishedAt));
  if (cp.status === 'scheduled' && cp.scheduledAt) return s.scheduledOn(formatDateTime(cp.scheduledAt));
  if (cp.startedAt) return s.startedOn(formatDateTime(cp.startedAt));
  return s.updatedOn(formatDateTime(cp.updatedAt));
}

// ---------------------------------------------------------------------------------------------
// The draft editor

interface Audience {
  segments: Segment[];
  counts: number[];
  /** A few contacts of the segments, to preview the email as one of them. */
  contacts: { id: string; label: string }[];
}

async function audienceOf(ctx: Ctx): Promise<Audience> {
  const segments = await listSegments({ ctx });
  const previews = await Promise.all(segments.map((sg) => audiencePreview({ ctx, input: { rules: sg.rules } })));
  const seen = new Set<string>();
  const contacts: Audience['contacts'] = [];
  for (const p of previews) {
    for (const c of p.sample) {
      if (seen.has(c.id) || contacts.length >= 12) continue;
      seen.add(c.id);
      // Marketers do not need addresses to preview a message (data minimisation, as in the segment sample).
      const email = ctx.actor.type === 'user' && ctx.actor.role === 'admin' ? (c.email ?? '') : maskEmail(c.email);
      contacts.push({ id: c.id, label: e.contactOption([c.firstName, c.lastName].filter(Boolean).join(' '), email) });
    }
  }
  return { segments, counts: previews.map((p) => p.count), contacts };
}

interface DraftState {
  values?: Content;
  issues?: Issue[];
  send?: SendForm;
  sendIssues?: Issue[];
}

async function renderDraft(c: Context<AppEnv>, campaign: Campaign, state: DraftState = {}, status: 200 | 400 = 200) {
  const ctx = ctxOf(c);
  const id = campaign.id;
  const values: Content = state.values ?? { name: campaign.name, subject: campaign.subject, preheader: campaign.preheader, body: campaign.body };
  const issues = state.issues ?? [];
  const sendIssues = state.sendIssues ?? [];
  const audience = await audienceOf(ctx);
  const asParam = c.req.query('as') ?? '';
  const as = audience.contacts.some((x) => x.id === asParam) ? asParam : '';
  const width = c.req.query('width') === 'mobile' ? 'mobile' : 'desktop';
  const rendered = await previewCampaign({ ctx, input: { id, ...(as ? { contactId: as } : {}) } }).catch((error: unknown) => {
    if (error instanceof NotFound) return previewCampaign({ ctx, input: { id } });
    throw error;
  });
  const send: SendForm = state.send ?? { segmentId: campaign.segmentId ?? audience.segments[0]?.id ?? '', when: 'now', at: '' };
  const selectedIndex = Math.max(
    0,
    audience.segments.findIndex((sg) => sg.id === send.segmentId),
  );
  const notice = c.req.query('notice');
  const error = c.req.query('error');
  const viewer = await viewerOf(c);
  const refused = issues.length > 0;
  const bodyIssues = issues.filter((i) => i.field !== 'name');
  const err = (field: string) => issuesFor(issues, field);
  const sendErr = (field: string) => issuesFor(sendIssues, field);
  const i18n = {
    updating: e.previewUpdating,
    live: e.previewLive,
    failed: e.previewFailed,
    stale: e.previewStale,
    line: e.line(0).replace('0', '{n}'),
    goToLine: e.goToLine(0).replace('0', '{n}'),
    fields: e.fields,
    audience: [e.audience(1), e.audience(2)],
  };
  c.set('contentSecurityPolicy', EDITOR_CSP);
  return c.html(
    <Layout title={campaign.name} viewer={viewer} current="/campaigns" scripts={['/static/campaign-editor.js']}>
      <p>
        <a href="/campaigns">← {s.backToList}</a>
      </p>
      <div class="cmp-head">
        <h1>{campaign.name}</h1>
        <StatusPill status={campaign.status} />
      </div>
      {refused && <Notice kind="err">{e.refusedTitle}</Notice>}
      {notice === 'saved' && <Notice kind="ok">{e.saved}</Notice>}
      {notice === 'tested' && ctx.actor.type === 'user' && (
        <Notice kind="ok">
          {e.testSent(ctx.actor.email)}{' '}
          {viewer.outbox && (
            <>
              {e.testSentOutbox} <a href="/dev/outbox">{e.openOutbox}</a>
            </>
          )}
        </Notice>
      )}
      {error && <Notice kind="err">{error}</Notice>}
      <div class="cmp-editor" id="campaign-editor" data-campaign={id} data-i18n={JSON.stringify(i18n)}>
        <section class="card cmp-form" aria-labelledby="content-title">
          <h2 id="content-title">{e.draftTitle}</h2>
          <form method="post" action={`/campaigns/${id}`} id="campaign-form" novalidate>
            <label for="name">{e.fields.name}</label>
            <input id="name" name="name" type="text" required maxlength={120} value={values.name} aria-invalid={err('name') ? 'true' : undefined} aria-describedby={err('name') ? 'name-error' : undefined} />
            <FieldError id="name-error" message={err('name')} />
            <label for="subject">{e.fields.subject}</label>
            <input id="subject" name="subject" type="text" required value={values.subject} aria-invalid={err('subject') ? 'true' : undefined} aria-describedby={err('subject') ? 'subject-error' : undefined} />
            <FieldError id="subject-error" message={err('subject')} />
            <label for="preheader">{e.fields.preheader}</label>
            <input id="preheader" name="preheader" type="text" value={values.preheader} aria-invalid={err('preheader') ? 'true' : undefined} aria-describedby={err('preheader') ? 'preheader-error' : undefined} />
            <FieldError id="preheader-error" message={err('preheader')} />
            <label for="body" id="body-label">
              {e.fields.body}
            </label>
            <p class="small muted" id="body-help">
              {e.bodyHelp}
            </p>
            <p class="small muted cmp-enhanced-only" id="body-editor-hint" hidden>
              {e.editorHint}
            </p>
            <FieldError id="body-error" message={err('body')} />
            <textarea id="body" name="body" rows={24} spellcheck={false} class="cmp-code" aria-invalid={err('body') ? 'true' : undefined} aria-describedby={`body-help${err('body') ? ' body-error' : ''}`}>
              {values.body}
            </textarea>
            <div class="actions">
              <button type="submit" name="intent" value="save">
                {e.save}
              </button>
              <button type="submit" name="intent" value="test" class="secondary">
                {e.saveAndTest}
              </button>
            </div>
          </form>
        </section>
        <section class="card cmp-preview" aria-labelledby="preview-title">
          <h2 id="preview-title">{e.previewTitle}</h2>
          <div id="verification" class="cmp-verify" aria-live="polite">
            <div id="verify-ok" class="notice ok" hidden={refused}>
              <p class="cmp-verify-title">✓ {e.verifyOk}</p>
              <p class="small">{e.verifyOkDetail}</p>
              <ul class="small">
                {requiredBlocks.newsletter.map((b) => (
                  <li>{e.blocks[b]}</li>
                ))}
              </ul>
            </div>
            <div id="verify-fail" class="notice err" hidden={!refused}>
              <p class="cmp-verify-title">{e.verifyFailed}</p>
              <ul id="verify-issues" class="small">
                {bodyIssues.map((i) => (
                  <li data-line={i.field === 'body' && i.line ? String(i.line) : undefined}>
                    <strong>{e.issueIn(fieldLabel(i.field), i.line)}</strong> : {i.message}
                  </li>
                ))}
              </ul>
            </div>
          </div>
          <form method="get" action={`/campaigns/${id}`} class="cmp-preview-controls" id="preview-controls">
            <div>
              <label for="as">{e.previewAs}</label>
              <select id="as" name="as">
                <option value="" selected={as === ''}>
                  {e.sampleData}
                </option>
                {audience.contacts.map((x) => (
                  <option value={x.id} selected={as === x.id}>
                    {x.label}
                  </option>
                ))}
              </select>
            </div>
            <fieldset class="plain cmp-width">
              <legend>{e.width}</legend>
              <label class="check light">
                <input type="radio" name="width" value="desktop" checked={width === 'desktop'} /> {e.desktop}
              </label>
              <label class="check light">
                <input type="radio" name="width" value="mobile" checked={width === 'mobile'} /> {e.mobile}
              </label>
            </fieldset>
            <button type="submit" class="secondary" id="preview-submit">
              {e.showPreview}
            </button>
          </form>
          <dl class="kv cmp-inbox">
            <dt>{e.inboxSubject}</dt>
            <dd id="pv-subject">{rendered.subject}</dd>
            <dt>{e.inboxPreheader}</dt>
            <dd id="pv-preheader">{rendered.preheader}</dd>
          </dl>
          <p id="preview-status" class="small muted" aria-live="polite">
            {e.previewSaved}
          </p>
          <div class="cmp-frame-wrap">
            <iframe
              id="preview-frame"
              class={`cmp-frame ${width}`}
              sandbox=""
              title={e.previewFrame(campaign.name)}
              src={`/campaigns/${id}/preview${as ? `?as=${encodeURIComponent(as)}` : ''}`}
            ></iframe>
          </div>
        </section>
      </div>
      <section class="card" id="send" aria-labelledby="send-title">
        <h2 id="send-title">{e.sendTitle}</h2>
        {audience.segments.length === 0 ? (
          <p class="muted">
            {s.noSegment} <a href="/segments">{s.createSegment}</a>
          </p>
        ) : (
          <form method="post" action={`/campaigns/${id}/confirm`} id="send-form" novalidate>
            <p class="muted">{e.sendIntro}</p>
            <label for="segmentId">{e.fields.segmentId}</label>
            <select id="segmentId" name="segmentId" required aria-describedby={`segment-count${sendErr('segmentId') ? ' segmentId-error' : ''}`} aria-invalid={sendErr('segmentId') ? 'true' : undefined}>
              {audience.segments.map((sg, i) => (
                <option value={sg.id} selected={i === selectedIndex} data-count={String(audience.counts[i] ?? 0)}>
                  {s.segmentOption(sg.name, audience.counts[i] ?? 0)}
                </option>
              ))}
            </select>
            <p id="segment-count" class="small" aria-live="polite">
              {e.audience(audience.counts[selectedIndex] ?? 0)}
            </p>
            <FieldError id="segmentId-error" message={sendErr('segmentId')} />
            <fieldset class="plain">
              <legend>{e.fields.when}</legend>
              <label class="check light">
                <input type="radio" name="when" value="now" checked={send.when === 'now'} /> {e.whenNow}
              </label>
              <label class="check light">
                <input type="radio" name="when" value="later" checked={send.when === 'later'} /> {e.whenLater}
              </label>
            </fieldset>
            <label for="at">{e.fields.at}</label>
            <input
              id="at"
              name="at"
              type="datetime-local"
              class="cmp-at"
              value={send.at}
              min={toParisLocal(ctx.clock.now())}
              aria-invalid={sendErr('at') ? 'true' : undefined}
              aria-describedby={`at-help${sendErr('at') ? ' at-error' : ''}`}
            />
            <p class="small muted" id="at-help">
              {e.atHelp}
            </p>
            <FieldError id="at-error" message={sendErr('at')} />
            <div class="actions">
              <button type="submit">{e.continue}</button>
            </div>
          </form>
        )}
      </section>
    </Layout>,
    status,
  );
}

function contentFrom(body: Record<string, unknown>): Content {
  return {
    name: formString(body, 'name').trim().slice(0, 120),
    subject: formString(body, 'subject'),
    preheader: formString(body, 'preheader'),
    // Browsers post textareas with CRLF line ends; the stored body keeps the editor's LF.
    body: formString(body, 'body').replace(/\r\n/g, '\n'),
  };
}

function sendFrom(body: Record<string, unknown>): SendForm {
  return { segmentId: formString(body, 'segmentId'), when: formString(body, 'when') === 'later' ? 'later' : 'now', at: formString(body, 'at').trim() };
}

/** What the send form asks for, checked before anything is written; issues name the field. */
async function checkSend(ctx: Ctx, form: SendForm): Promise<{ issues: Issue[]; segment?: Segment; count: number; at: Date | null }> {
  const issues: Issue[] = [];
  const segments = await listSegments({ ctx });
  const segment = segments.find((sg) => sg.id === form.segmentId);
  if (!form.segmentId) issues.push({ field: 'segmentId', message: e.errors.segmentRequired });
  else if (!segment) issues.push({ field: 'segmentId', message: e.errors.segmentUnknown });
  let at: Date | null = null;
  if (form.when === 'later') {
    if (!form.at) issues.push({ field: 'at', message: e.errors.atRequired });
    else {
      at = parseParisLocal(form.at);
      if (!at) issues.push({ field: 'at', message: e.errors.atInvalid });
      else if (at.getTime() <= ctx.clock.now().getTime()) issues.push({ field: 'at', message: e.errors.atPast });
    }
  }
  const count = segment ? (await audiencePreview({ ctx, input: { rules: segment.rules } })).count : 0;
  if (segment && count === 0) issues.push({ field: 'segmentId', message: e.errors.emptyAudience });
  return { issues, ...(segment ? { segment } : {}), count, at };
}

const backWith = (id: string, error: string) => `/campaigns/${id}?error=${encodeURIComponent(error)}`;

// ---------------------------------------------------------------------------------------------
// The page of a campaign that left the draft state

async function renderStatus(c: Context<AppEnv>, campaign: Campaign) {
  const ctx = ctxOf(c);
  const progress = await campaignProgress({ ctx, input: { id: campaign.id } });
  const done = progress.sent + progress.failed + progress.suppressed;
  const error = c.req.query('error');
  const groupBy = RESULT_GROUPS.find((g) => g === c.req.query('groupBy')) ?? 'segment';
  const segment = campaign.segmentId ? (await listSegments({ ctx })).find((sg) => sg.id === campaign.segmentId) : undefined;
  return c.html(
    <Layout title={campaign.name} viewer={await viewerOf(c)} current="/campaigns" scripts={['/assets/campaign.js']}>
      <p>
        <a href="/campaigns">← {s.backToList}</a>
      </p>
      <div class="cmp-head">
        <h1>{campaign.name}</h1>
        <StatusPill status={campaign.status} />
      </div>
      <p class="lead">{campaign.subject}</p>
      {error && <Notice kind="err">{error}</Notice>}
      <section class="card" id="progress-card" data-campaign={campaign.id} data-status={campaign.status}>
        <h2>
          {s.status} : <span id="status">{s.statuses[campaign.status]}</span>
        </h2>
        <dl class="kv cmp-meta">
          {segment && (
            <>
              <dt>{s.segmentCol}</dt>
              <dd>{segment.name}</dd>
            </>
          )}
          <dt>{s.dateCol}</dt>
          <dd>{dateLine(campaign)}</dd>
        </dl>
        {campaign.status === 'scheduled' && campaign.scheduledAt && <p>{e.scheduledFor(formatDateTime(campaign.scheduledAt))}</p>}
        {campaign.statusReason && <p id="reason">{campaign.statusReason}</p>}
        <progress id="progress" max={Math.max(1, progress.total)} value={done} aria-label={s.progress}></progress>
        <p id="counts" aria-live="polite">
          {s.counts(progress.sent, progress.total, progress.failed, progress.suppressed)}
        </p>
        <div class="actions">
          {(campaign.status === 'sending' || campaign.status === 'scheduled') && (
            <form method="post" action={`/campaigns/${campaign.id}/pause`}>
              <button class="secondary" type="submit">
                {s.pause}
              </button>
            </form>
          )}
          {campaign.status === 'paused' && (
            <form method="post" action={`/campaigns/${campaign.id}/resume`}>
              <button type="submit">{s.resume}</button>
            </form>
          )}
          {['scheduled', 'sending', 'paused'].includes(campaign.status) && (
            <form method="post" action={`/campaigns/${campaign.id}/cancel`}>
              <button class="danger" type="submit">
                {s.cancel}
              </button>
            </form>
          )}
        </div>
      </section>
      <CampaignResults ctx={ctx} campaignId={campaign.id} groupBy={groupBy} />
    </Layout>,
  );
}

// ---------------------------------------------------------------------------------------------

export const campaignPages = new Hono<AppEnv>()
  .get('/campaigns', marketers, async (c) => {
    const ctx = ctxOf(c);
    const campaigns = await listCampaigns({ ctx });
    const figures = await figuresOf(
      ctx,
      campaigns.filter((cp) => cp.status !== 'draft').map((cp) => cp.id),
    );
    const segmentNames = new Map((await listSegments({ ctx })).map((sg) => [sg.id, sg.name]));
    const several = starterTemplates.length > 1;
    return c.html(
      <Layout title={s.title} viewer={await viewerOf(c)} current="/campaigns">
        <h1>{s.title}</h1>
        <p class="lead">{s.intro}</p>
        <section class="card" aria-labelledby="new-title">
          <h2 id="new-title">{s.newTitle}</h2>
          <form method="post" action="/campaigns" class="cmp-new">
            <div>
              <label for="name">{s.name}</label>
              <input id="name" name="name" type="text" required maxlength={120} placeholder={s.newPlaceholder} />
            </div>
            {several ? (
              <div>
                <label for="templateId">{s.template}</label>
                <select id="templateId" name="templateId">
                  {starterTemplates.map((tp) => (
                    <option value={tp.id}>{tp.name}</option>
                  ))}
                </select>
              </div>
            ) : (
              <input type="hidden" name="templateId" value={starterTemplates[0].id} />
            )}
            <button type="submit">{s.createFromStarter}</button>
          </form>
          {!several && <p class="small muted">{s.fromTemplate(starterTemplates[0].name)}</p>}
        </section>
        {campaigns.length === 0 ? (
          <section class="card cmp-empty">
            <h2>{s.emptyTitle}</h2>
            <p>{s.emptyHint}</p>
          </section>
        ) : (
          <>
            <DataTable headers={[s.name, s.status, s.segmentCol, s.dateCol, s.recipients, s.opens, s.clicks, s.conversions]}>
              {campaigns.map((cp) => {
                const f = figures.get(cp.id);
                return (
                  <tr>
                    <td>
                      <a href={`/campaigns/${cp.id}`}>{cp.name}</a>
                      <div class="small muted cmp-subject">{cp.subject}</div>
                    </td>
                    <td>
                      <StatusPill status={cp.status} />
                    </td>
                    <td>{cp.segmentId ? (segmentNames.get(cp.segmentId) ?? s.none) : s.none}</td>
                    <td class="cmp-nowrap">{dateLine(cp)}</td>
                    <td>{f ? f.sent : s.none}</td>
                    <td>{f ? <Rate n={f.uniqueHumanOpens} base={f.trackedBase} title={s.openBase} /> : s.none}</td>
                    <td>{f ? <Rate n={f.uniqueHumanClicks} base={f.reached} title={s.clickBase} /> : s.none}</td>
                    <td>{f ? s.conversionsValue(f.conversions, formatEuros(f.value)) : s.none}</td>
                  </tr>
                );
              })}
            </DataTable>
            <p class="small muted">{s.ratesNote}</p>
          </>
        )}
      </Layout>,
    );
  })
  .post('/campaigns', marketers, async (c) => {
    const body = await c.req.parseBody();
    const name = formString(body, 'name').trim().slice(0, 120) || s.newPlaceholder;
    const templateId = starterTemplates.find((tp) => tp.id === formString(body, 'templateId'))?.id ?? starterTemplates[0].id;
    const campaign = await createCampaign({ ctx: ctxOf(c), input: { name, templateId } });
    return c.redirect(`/campaigns/${campaign.id}`, 303);
  })
  .get('/campaigns/:id', marketers, async (c) => {
    const campaign = await getCampaign({ ctx: ctxOf(c), input: { id: c.req.param('id') } });
    return campaign.status === 'draft' ? renderDraft(c, campaign) : renderStatus(c, campaign);
  })
  .get('/campaigns/:id/preview', marketers, async (c) => {
    const ctx = ctxOf(c);
    const id = c.req.param('id');
    const as = c.req.query('as');
    const rendered = await previewCampaign({ ctx, input: { id, ...(as ? { contactId: as } : {}) } }).catch((error: unknown) => {
      // A contact that is not (or no longer) in this workspace: show the sample instead.
      if (error instanceof NotFound && as) return previewCampaign({ ctx, input: { id } });
      throw error;
    });
    c.set('contentSecurityPolicy', PREVIEW_CSP);
    return c.html(rendered.html);
  })
  .post('/campaigns/:id', marketers, async (c) => {
    const ctx = ctxOf(c);
    const campaign = await getCampaign({ ctx, input: { id: c.req.param('id') } });
    if (campaign.status !== 'draft') return c.redirect(backWith(campaign.id, e.notDraft), 303);
    const body = await c.req.parseBody();
    const values = contentFrom(body);
    const intent = formString(body, 'intent');
    if (!values.name) return renderDraft(c, campaign, { values, issues: [{ field: 'name', message: e.errors.nameRequired }] }, 400);
    try {
      await updateCampaign({ ctx, input: { id: campaign.id, ...values } });
    } catch (error) {
      if (error instanceof Invalid) return renderDraft(c, campaign, { values, issues: issuesOf(error) }, 400);
      if (error instanceof Conflict) return c.redirect(backWith(campaign.id, e.notDraft), 303);
      throw error;
    }
    if (intent === 'test') {
      await testSendCampaign({ ctx, input: { id: campaign.id } });
      return c.redirect(`/campaigns/${campaign.id}?notice=tested`, 303);
    }
    return c.redirect(`/campaigns/${campaign.id}?notice=saved`, 303);
  })
  .post('/campaigns/:id/confirm', marketers, async (c) => {
    const ctx = ctxOf(c);
    const campaign = await getCampaign({ ctx, input: { id: c.req.param('id') } });
    if (campaign.status !== 'draft') return c.redirect(`/campaigns/${campaign.id}`, 303);
    const form = sendFrom(await c.req.parseBody());
    const check = await checkSend(ctx, form);
    if (check.issues.length || !check.segment) return renderDraft(c, campaign, { send: form, sendIssues: check.issues }, 400);
    const later = form.when === 'later' && check.at;
    return c.html(
      <Layout title={e.confirmTitle} viewer={await viewerOf(c)} current="/campaigns">
        <p>
          <a href={`/campaigns/${campaign.id}`}>← {e.backToEditor}</a>
        </p>
        <h1>{e.confirmTitle}</h1>
        <section class="card" aria-labelledby="confirm-what">
          <h2 id="confirm-what">{campaign.name}</h2>
          <p class="lead">{campaign.subject}</p>
          <p id="confirm-audience" class="cmp-confirm">
            {later ? e.confirmLater(campaign.name, check.count, check.segment.name, formatDateTime(check.at!)) : e.confirmNow(campaign.name, check.count, check.segment.name)}
          </p>
          <p class="small muted">{e.confirmNote}</p>
          <form method="post" action={`/campaigns/${campaign.id}/send`}>
            <input type="hidden" name="segmentId" value={form.segmentId} />
            <input type="hidden" name="when" value={form.when} />
            <input type="hidden" name="at" value={form.at} />
            <div class="actions">
              <button type="submit">{later ? e.confirmSchedule : e.confirmSend}</button>
              <a class="button secondary cmp-link-button" href={`/campaigns/${campaign.id}#send`}>
                {e.backToEditor}
              </a>
            </div>
          </form>
        </section>
      </Layout>,
    );
  })
  .post('/campaigns/:id/send', marketers, async (c) => {
    const ctx = ctxOf(c);
    const campaign = await getCampaign({ ctx, input: { id: c.req.param('id') } });
    const form = sendFrom(await c.req.parseBody());
    const check = await checkSend(ctx, form);
    if (check.issues.length) {
      if (campaign.status === 'draft') return renderDraft(c, campaign, { send: form, sendIssues: check.issues }, 400);
      return c.redirect(backWith(campaign.id, check.issues.map((i) => `${fieldLabel(i.field)} : ${i.message}`).join(' · ')), 303);
    }
    try {
      if (form.when === 'later' && check.at) await scheduleCampaign({ ctx, input: { id: campaign.id, segmentId: form.segmentId, at: check.at } });
      else await sendCampaign({ ctx, input: { id: campaign.id, segmentId: form.segmentId } });
    } catch (error) {
      if (error instanceof Invalid && campaign.status === 'draft') return renderDraft(c, campaign, { send: form, sendIssues: issuesOf(error) }, 400);
      if (error instanceof Conflict || error instanceof Invalid) return c.redirect(backWith(campaign.id, error.message), 303);
      throw error;
    }
    return c.redirect(`/campaigns/${campaign.id}`, 303);
  })
  .post('/campaigns/:id/:action{pause|resume|cancel}', marketers, async (c) => {
    const ctx = ctxOf(c);
    const id = c.req.param('id');
    const action = c.req.param('action');
    try {
      if (action === 'pause') await pauseCampaign({ ctx, input: { id } });
      else if (action === 'resume') await resumeCampaign({ ctx, input: { id } });
      else await cancelCampaign({ ctx, input: { id } });
    } catch (error) {
      if (error instanceof Conflict || error instanceof Invalid) return c.redirect(backWith(id, error.message), 303);
      throw error;
    }
    return c.redirect(`/campaigns/${id}`, 303);
  });

/** Served at /assets/campaign.js: keeps the progress bar moving while a campaign sends. */
export const campaignJs = `
(function () {
  var card = document.getElementById('progress-card');
  if (!card) return;
  var id = card.getAttribute('data-campaign');
  var labels = ${JSON.stringify(s.statuses)};
  var counts = ${JSON.stringify(s.counts(111111, 222222, 333333, 444444))};
  function tick() {
    fetch('/api/v1/campaigns/' + id + '/progress', { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) {
        if (!p) return;
        var bar = document.getElementById('progress');
        bar.max = Math.max(1, p.total);
        bar.value = p.sent + p.failed + p.suppressed;
        document.getElementById('status').textContent = labels[p.status] || p.status;
        document.getElementById('counts').textContent = counts.replace('111111', p.sent).replace('222222', p.total).replace('333333', p.failed).replace('444444', p.suppressed);
        if (p.status === 'sending' || p.status === 'scheduled') setTimeout(tick, 1000);
        // Finished (or paused elsewhere): reload once so the actions match the new state.
        else if (p.status !== card.getAttribute('data-status')) location.reload();
      })
      .catch(function () { setTimeout(tick, 3000); });
  }
  tick();
})();
`;

/** Styles of the campaign pages, appended to /assets/app.css. */
export const campaignsCss = `
.pill.info{background:#e6f0ff;color:#0b2e6b}
.cmp-head{display:flex;flex-wrap:wrap;align-items:center;gap:8px 12px;margin-bottom:8px}.cmp-head h1{margin:0}
.cmp-new{display:flex;flex-wrap:wrap;gap:0 12px;align-items:flex-end}.cmp-new>div{flex:0 1 480px}.cmp-new button{margin-top:12px}
.cmp-subject{max-width:360px}
td:has(> .cmp-subject){min-width:190px}
#campaign-editor [hidden],#send [hidden]{display:none!important}
.cmp-nowrap{white-space:nowrap}
.cmp-empty{text-align:center;padding:32px 20px}
main:has(#campaign-editor){max-width:1360px}
.cmp-editor{display:grid;gap:0 20px;grid-template-columns:minmax(0,1fr)}
@media (min-width:1100px){.cmp-editor{grid-template-columns:minmax(0,1fr) 660px}}
.cmp-editor>.card{min-width:0}
.cmp-form input[type=text]{max-width:none}
textarea.cmp-code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:13px;line-height:1.5;min-height:480px;white-space:pre;overflow:auto}
.cmp-cm{border:1px solid #9aa5b1;border-radius:6px;overflow:hidden;background:#fff}
.cmp-cm[aria-invalid=true],.cmp-cm.invalid{border-color:var(--err)}
.cmp-cm .cm-editor{height:560px;font-size:13px}
.cmp-cm .cm-editor.cm-focused{outline:3px solid var(--focus);outline-offset:2px}
.cmp-cm .cm-scroller{font-family:ui-monospace,SFMono-Regular,Menlo,monospace}
.cmp-cm .cm-gutters{color:#4a5663;background:#f0f4f8;border-right:1px solid var(--line)}
.cmp-cm .cm-activeLineGutter{background:#dde7f0;color:#1f2933}
.cmp-preview-controls{display:flex;flex-wrap:wrap;gap:0 16px;align-items:flex-end}
.cmp-preview-controls>div{flex:1 1 260px}.cmp-preview-controls select{max-width:none}
.cmp-width{display:flex;flex-wrap:wrap;gap:0 14px;align-items:center}.cmp-width legend{margin-bottom:4px}.cmp-width .check{margin:4px 0}
.cmp-preview-controls button{margin-top:12px}
.cmp-inbox{margin:12px 0 4px;padding:10px 12px;background:#f0f4f8;border-radius:8px;font-size:14px}
#preview-status{min-height:1.5em;margin:4px 0 8px}
.cmp-frame-wrap{position:relative;background:#e4e7eb;border-radius:8px;padding:8px;overflow:hidden}
iframe.cmp-frame.cmp-next{position:absolute;left:0;top:0;visibility:hidden}
iframe.cmp-frame{display:block;margin:0 auto;width:100%;max-width:100%;height:820px;border:0;background:#fff;border-radius:4px}
iframe.cmp-frame.desktop{width:640px}
iframe.cmp-frame.mobile{width:375px}
.cmp-verify{min-height:4.5em}
.cmp-verify .notice{margin-top:0}
.cmp-verify-title{font-weight:700;margin:0 0 4px}
.cmp-verify ul{margin:4px 0 0;padding-left:20px}
.cmp-verify p.small{margin:0}
.cmp-verify button.cmp-line{background:none;border:none;padding:0;color:inherit;font:inherit;font-weight:700;text-decoration:underline;cursor:pointer}
input.cmp-at{width:auto;max-width:100%;padding:8px 10px;border:1px solid #9aa5b1;border-radius:6px;font:inherit}
.cmp-confirm{font-size:1.1rem}
a.cmp-link-button{background:#fff;color:var(--brand)}
.cmp-meta{margin-bottom:12px}
@media (max-width:600px){iframe.cmp-frame{height:640px}.cmp-frame-wrap{padding:0;background:none}.cmp-cm .cm-editor{height:420px}}
`;
