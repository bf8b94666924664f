/** @jsxImportSource hono/jsx */
import { Hono } from 'hono';
import { z } from 'zod';
import type { FieldIssue } from '../../domain/errors.js';
import { getWorkspace, updateWorkspace, type Workspace } from '../../domain/workspaces/workspaces.js';
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

function WorkspaceForm(props: { values: FormValues; issues: FieldIssue[] }) {
  const err = (f: string) => props.issues.find((i) => i.field === f || i.field === `settings.${f}`)?.message;
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
            <input id={f} name={f} type="number" value={String(props.values[f])} aria-describedby={err(f) ? `${f}-error` : undefined} />
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

export const workspacePage = new Hono<AppEnv>()
  .get('/admin/workspace', pageFor(['admin']), async (c) => {
    const ws = await getWorkspace({ ctx: ctxOf(c) });
    const ok = c.req.query('ok');
    return c.html(
      <Layout title={t.workspace.title} viewer={await viewerOf(c)} current="/admin/workspace">
        <h1>{t.workspace.title}</h1>
        <p class="lead">{t.workspace.intro}</p>
        {ok === 'saved' && <Notice kind="ok">{t.workspace.saved}</Notice>}
        {ok === 'unchanged' && <Notice kind="info">{t.workspace.unchanged}</Notice>}
        <WorkspaceForm values={valuesOf(ws)} issues={[]} />
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
        <Layout title={t.workspace.title} viewer={await viewerOf(c)} current="/admin/workspace">
          <h1>{t.workspace.title}</h1>
          <Notice kind="err">{issues.map((i) => `${i.field} : ${i.message}`).join(' · ')}</Notice>
          <WorkspaceForm values={values} issues={issues} />
        </Layout>,
        400,
      );
    }
    const before = await getWorkspace({ ctx });
    const after = await updateWorkspace({ ctx, input: parsed.data });
    return c.redirect(`/admin/workspace?ok=${after.updatedAt.getTime() === before.updatedAt.getTime() ? 'unchanged' : 'saved'}`, 303);
  });
