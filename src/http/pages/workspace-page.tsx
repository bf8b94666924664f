/** @jsxImportSource hono/jsx */
import { Hono } from 'hono';
import { z } from 'zod';
import { compileContent } from '../../domain/campaigns/campaigns.js';
import { previewUrls } from '../../domain/campaigns/preview.js';
import type { Ctx } from '../../domain/context.js';
import { DomainError, type FieldIssue } from '../../domain/errors.js';
import { getWorkspace, updateWorkspace, type Workspace } from '../../domain/workspaces/workspaces.js';
import { brandOf } from '../../email/brand.js';
import { escapeHtml } from '../../email/escape.js';
import { renderEmail } from '../../email/render.js';
import { t } from '../../i18n/fr.js';
import { identityShape, SettingsSchema } from '../api/workspace.js';
import { ctxOf } from '../context.js';
import type { AppEnv } from '../env.js';
import { zodIssues } from '../errors.js';
import { formString, pageFor, viewerOf } from './guard.js';
import { FieldError, Layout, Notice } from './layout.js';

/** The identity block as subscribers will see it at the foot of each email. */
export function IdentityCard(props: { ws: Workspace }) {
  const { ws } = props;
  return (
    <dl class="kv stack">
      <dt>{t.workspace.fields.legalName}</dt>
      <dd>{ws.legalName}</dd>
      <dt>{t.workspace.fields.addressLine}</dt>
      <dd>
        {ws.addressLine}, {ws.postalCode} {ws.city} ({ws.country})
      </dd>
      <dt>{t.workspace.fields.contactPhone}</dt>
      <dd>{ws.contactPhone}</dd>
      <dt>{t.workspace.fields.contactEmail}</dt>
      <dd>{ws.contactEmail}</dd>
      <dt>{t.workspace.fields.privacyUrl}</dt>
      <dd>
        <a href={ws.privacyUrl}>{ws.privacyUrl}</a>
      </dd>
      <dt>{t.workspace.fields.dpoContact}</dt>
      <dd>{ws.dpoContact}</dd>
    </dl>
  );
}

const FormSchema = z.object({ ...identityShape, settings: SettingsSchema });
type FormValues = Record<string, string | boolean>;
const textFields = ['name', 'legalName', 'addressLine', 'postalCode', 'city', 'country', 'contactEmail', 'contactPhone', 'privacyUrl', 'dpoContact', 'senderName', 'senderEmail', 'replyTo'] as const;
const inputType: Partial<Record<(typeof textFields)[number], string>> = { contactEmail: 'email', senderEmail: 'email', replyTo: 'email', privacyUrl: 'url' };

function valuesOf(ws: Workspace): FormValues {
  return {
    ...Object.fromEntries(textFields.map((f) => [f, ws[f] ?? ''])),
    requireDoubleOptIn: ws.settings.requireDoubleOptIn,
    retentionDays: String(ws.settings.retentionDays),
    attributionWindowDays: String(ws.settings.attributionWindowDays),
  };
}

/** zod's English messages, as the form shows them next to each field. */
function frMessage(message: string): string {
  const m = t.workspace.messages;
  if (/^Too small: expected string/.test(message)) return m.required;
  const tooBigString = /^Too big: expected string to have <=(\d+)/.exec(message);
  if (tooBigString) return m.tooLong(Number(tooBigString[1]));
  const tooBig = /^Too big: expected number to be <=(\d+)/.exec(message);
  if (tooBig) return m.atMost(Number(tooBig[1]));
  const tooSmall = /^Too small: expected number to be >=(\d+)/.exec(message);
  if (tooSmall) return m.atLeast(Number(tooSmall[1]));
  if (/expected (number|int)/.test(message)) return m.wholeNumber;
  if (message === 'is not an email address') return m.email;
  if (message === 'must be an absolute URL' || message === 'must be an http(s) URL') return m.url;
  if (message.startsWith('must be an ISO 3166-1')) return m.country;
  return message;
}

const fieldLabel = (field: string) => t.workspace.fields[field.replace(/^settings\./, '') as keyof typeof t.workspace.fields] ?? field;

function WorkspaceForm(props: { values: FormValues; issues: FieldIssue[] }) {
  const err = (f: string) => {
    const message = props.issues.find((i) => i.field === f || i.field === `settings.${f}`)?.message;
    return message ? frMessage(message) : undefined;
  };
  const field = (f: (typeof textFields)[number]) => (
    <div>
      <label for={f}>{t.workspace.fields[f]}</label>
      <input
        id={f}
        name={f}
        type={inputType[f] ?? 'text'}
        value={String(props.values[f] ?? '')}
        required={f !== 'replyTo'}
        aria-invalid={err(f) ? 'true' : undefined}
        aria-describedby={err(f) ? `${f}-error` : undefined}
      />
      <FieldError id={`${f}-error`} message={err(f)} />
    </div>
  );
  return (
    <form method="post" action="/admin/workspace">
      <div class="grid">
        <section class="card">{['name', 'legalName', 'addressLine', 'postalCode', 'city', 'country'].map((f) => field(f as (typeof textFields)[number]))}</section>
        <section class="card">{['contactEmail', 'contactPhone', 'privacyUrl', 'dpoContact', 'senderName', 'senderEmail', 'replyTo'].map((f) => field(f as (typeof textFields)[number]))}</section>
      </div>
      <section class="card">
        <label class="check">
          <input type="checkbox" name="requireDoubleOptIn" value="on" checked={props.values.requireDoubleOptIn === true} />
          {t.workspace.fields.requireDoubleOptIn}
        </label>
        {(['retentionDays', 'attributionWindowDays'] as const).map((f) => (
          <div>
            <label for={f}>{t.workspace.fields[f]}</label>
            <input id={f} name={f} type="number" value={String(props.values[f])} aria-invalid={err(f) ? 'true' : undefined} aria-describedby={err(f) ? `${f}-error` : undefined} />
            <FieldError id={`${f}-error`} message={err(f)} />
          </div>
        ))}
      </section>
      <div class="actions">
        <button type="submit">{t.workspace.save}</button>
      </div>
    </form>
  );
}

/** The identity fields a preview may show as typed (the live preview of unsaved values). */
const previewFields = ['name', 'legalName', 'addressLine', 'postalCode', 'city', 'contactEmail', 'contactPhone', 'privacyUrl', 'dpoContact'] as const;

/**
 * A one-section newsletter rendered by the code every send uses (the platform layout, its
 * mandatory partials, the per-recipient merge) for a sample recipient, with preview links that
 * change nothing. Query values override the saved identity when they are valid.
 */
async function footerPreviewHtml(ctx: Ctx, overrides: Record<string, string>, viewerName: string): Promise<string> {
  const saved = await getWorkspace({ ctx });
  const shown: Workspace = { ...saved };
  for (const f of previewFields) {
    const v = overrides[f];
    if (v === undefined) continue;
    const parsed = identityShape[f].safeParse(v);
    if (parsed.success) shown[f] = parsed.data as string;
  }
  const p = t.dpo.preview;
  const content = {
    subject: p.sampleSubject,
    preheader: p.sampleSubject,
    body: `<mj-section padding="24px"><mj-column><mj-text>${escapeHtml(p.sampleBody)}</mj-text></mj-column></mj-section>`,
  };
  const compiled = await compileContent(shown, content).catch(async (error: unknown) => {
    // An override the layout refuses: show the saved identity rather than nothing.
    if (error instanceof DomainError) return compileContent(saved, content);
    throw error;
  });
  const recipient = { email: 'marie.dupont@example.com', firstName: 'Marie', lastName: 'Dupont', consentAgentName: viewerName, consentDate: new Date(ctx.clock.now().getTime() - 7 * 86_400_000) };
  return renderEmail(compiled, recipient, previewUrls(ctx.publicBaseUrl), { brand: brandOf(shown) }).html;
}

function FooterPreview() {
  return (
    <section class="card" id="preview" aria-labelledby="preview-title">
      <h2 id="preview-title">{t.dpo.preview.title}</h2>
      <p class="muted">{t.dpo.preview.intro}</p>
      <p class="muted small">{t.dpo.preview.live}</p>
      <iframe id="footer-preview" class="mail footer-preview" title={t.dpo.preview.frame} src="/admin/workspace/preview" sandbox="allow-popups allow-popups-to-escape-sandbox"></iframe>
    </section>
  );
}

export const workspacePage = new Hono<AppEnv>()
  .get('/admin/workspace', pageFor(['admin']), async (c) => {
    const ws = await getWorkspace({ ctx: ctxOf(c) });
    const ok = c.req.query('ok');
    return c.html(
      <Layout title={t.workspace.title} viewer={await viewerOf(c)} current="/admin/workspace" scripts={['/static/dpo.js']}>
        <h1>{t.workspace.title}</h1>
        <p class="lead">{t.workspace.intro}</p>
        {ok === 'saved' && <Notice kind="ok">{t.workspace.saved}</Notice>}
        {ok === 'unchanged' && <Notice kind="info">{t.workspace.unchanged}</Notice>}
        <WorkspaceForm values={valuesOf(ws)} issues={[]} />
        <FooterPreview />
      </Layout>,
    );
  })
  .post('/admin/workspace', pageFor(['admin']), async (c) => {
    const ctx = ctxOf(c);
    const body = await c.req.parseBody();
    const values: FormValues = {
      ...Object.fromEntries(textFields.map((f) => [f, formString(body, f).trim()])),
      requireDoubleOptIn: formString(body, 'requireDoubleOptIn') === 'on',
      retentionDays: formString(body, 'retentionDays'),
      attributionWindowDays: formString(body, 'attributionWindowDays'),
    };
    const parsed = FormSchema.safeParse({
      ...Object.fromEntries(textFields.map((f) => [f, values[f]])),
      replyTo: values.replyTo === '' ? null : values.replyTo,
      settings: {
        requireDoubleOptIn: values.requireDoubleOptIn,
        retentionDays: Number(values.retentionDays),
        attributionWindowDays: Number(values.attributionWindowDays),
      },
    });
    if (!parsed.success) {
      const issues = zodIssues(parsed.error);
      return c.html(
        <Layout title={t.workspace.title} viewer={await viewerOf(c)} current="/admin/workspace" scripts={['/static/dpo.js']}>
          <h1>{t.workspace.title}</h1>
          <Notice kind="err">{issues.map((i) => `${fieldLabel(i.field)} : ${frMessage(i.message)}`).join(' · ')}</Notice>
          <WorkspaceForm values={values} issues={issues} />
          <FooterPreview />
        </Layout>,
        400,
      );
    }
    const before = await getWorkspace({ ctx });
    const after = await updateWorkspace({ ctx, input: parsed.data });
    return c.redirect(`/admin/workspace?ok=${after.updatedAt.getTime() === before.updatedAt.getTime() ? 'unchanged' : 'saved'}`, 303);
  })
  .get('/admin/workspace/preview', pageFor(['admin']), async (c) => {
    const html = await footerPreviewHtml(ctxOf(c), c.req.query(), (await viewerOf(c)).name);
    // The email's own HTML (inline styles, no script), shown only inside our page's frame.
    c.set('contentSecurityPolicy', "default-src 'none'; img-src * data:; style-src 'unsafe-inline'; font-src * data:; frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox");
    return c.html(html);
  });
