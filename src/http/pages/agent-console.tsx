/** @jsxImportSource hono/jsx */
/**
 * The agent console (/agent): recording a consent right after the call, keyboard only, in under
 * 30 seconds. A dialer can open it pre-filled: /agent?phone=…&callRef=…&campaign=…&basis=…
 * The script of each purpose is shown where its question is answered; no answer is
 * pre-selected; the email is spelled back; after saving, a receipt and an empty form.
 */
import { Hono, type Context } from 'hono';
import { callBases, type CallBasis } from '../../db/schema.js';
import { captureConsent } from '../../domain/consent/capture.js';
import { callReceipt } from '../../domain/consent/receipt.js';
import { currentScripts, type ConsentScript } from '../../domain/consent/scripts.js';
import { Conflict, Invalid, type FieldIssue } from '../../domain/errors.js';
import { activeSuppression, emailHash, type Suppression } from '../../domain/privacy/suppressions.js';
import { normaliseEmail } from '../../domain/contacts/normalise.js';
import { formatConsentDate } from '../../email/render.js';
import type { Ctx } from '../../domain/context.js';
import { formatDateTime, t } from '../../i18n/fr.js';
import { ctxOf } from '../context.js';
import type { AppEnv } from '../env.js';
import { pageFor, viewerOf } from './guard.js';
import { FieldError, Layout, Notice } from './layout.js';

const s = t.agent;
const capturers = pageFor(['agent', 'admin']);

type Values = Record<string, string>;

function ConsoleForm(props: { scripts: ConsentScript[]; values: Values; issues: FieldIssue[]; idempotencyKey: string; suppressed?: { reason: string; date: string } | undefined }) {
  const { values } = props;
  const err = (...fields: string[]) => props.issues.find((i) => fields.includes(i.field))?.message;
  const text = (name: string, label: string, opts: { type?: string; required?: boolean; autofocus?: boolean; autocomplete?: string; field?: string } = {}) => {
    const message = err(opts.field ?? name, `contact.${name}`, `call.${name}`);
    return (
      <div>
        <label for={name}>{label}</label>
        <input
          id={name}
          name={name}
          type={opts.type ?? 'text'}
          value={values[name] ?? ''}
          required={opts.required}
          autofocus={opts.autofocus}
          autocomplete={opts.autocomplete ?? 'off'}
          aria-invalid={message ? 'true' : undefined}
          aria-describedby={message ? `${name}-error` : undefined}
        />
        <FieldError id={`${name}-error`} message={message} />
      </div>
    );
  };
  const focusEmail = Boolean(values.phone) && !props.suppressed;
  return (
    <form method="post" action="/agent" class="console" novalidate>
      <input type="hidden" name="idempotencyKey" value={props.idempotencyKey} />
      <section class="card">
        <h2>{s.leadTitle}</h2>
        <div class="grid two">
          {text('phone', s.phone, { type: 'tel', autofocus: !focusEmail && !props.suppressed, field: 'contact.phone' })}
          <div>
            {text('email', s.email, { type: 'email', required: true, autofocus: focusEmail, field: 'contact.email' })}
            <p class="spelled" id="email-spelled" aria-live="polite"></p>
          </div>
          {text('firstName', s.firstName, { autocomplete: 'off' })}
          {text('lastName', s.lastName, { autocomplete: 'off' })}
        </div>
        <p class="muted" id="lead-found" aria-live="polite">
          {values.knownLead ?? ''}
        </p>
      </section>
      <section class="card">
        <h2>{s.callTitle}</h2>
        <div class="grid two">
          {text('callRef', s.callRef, { required: true, field: 'call.ref' })}
          {text('campaign', s.campaign)}
          <div>
            <label for="basis">{s.basis}</label>
            <select id="basis" name="basis" required aria-describedby={err('call.basis') ? 'basis-error' : undefined}>
              <option value="">{s.chooseBasis}</option>
              {callBases.map((b) => (
                <option value={b} selected={values.basis === b}>
                  {s.bases[b]}
                </option>
              ))}
            </select>
            <FieldError id="basis-error" message={err('call.basis')} />
          </div>
          {text('basisRef', s.basisRef, { field: 'call.basisRef' })}
        </div>
      </section>
      {props.scripts.length === 0 && <Notice kind="err">{s.noScripts}</Notice>}
      {props.scripts.map((script) => {
        const message = err(`answers.${script.purpose}`) ?? props.issues.find((i) => i.field.startsWith('answers.') && i.message.includes(script.purpose))?.message;
        return (
          <fieldset class="card purpose" aria-describedby={`script-${script.purpose}`}>
            <legend>{script.label}</legend>
            <p class="read-aloud-label">{s.readAloud(script.version)}</p>
            <blockquote class="script" id={`script-${script.purpose}`}>
              {script.text}
            </blockquote>
            <input type="hidden" name={`script:${script.purpose}`} value={script.id} />
            <div class="choices" role="radiogroup" aria-label={script.label}>
              <label class="choice">
                <input type="radio" name={`answer:${script.purpose}`} value="granted" required checked={values[`answer:${script.purpose}`] === 'granted'} />
                {s.yes}
              </label>
              <label class="choice">
                <input type="radio" name={`answer:${script.purpose}`} value="refused" checked={values[`answer:${script.purpose}`] === 'refused'} />
                {s.no}
              </label>
            </div>
            <FieldError id={`answer-${script.purpose}-error`} message={message} />
          </fieldset>
        );
      })}
      {props.suppressed ? (
        <section class="card override" role="alert">
          <h2>{s.suppressedTitle}</h2>
          <p>
            <strong>{s.suppressed(props.suppressed.reason, props.suppressed.date)}</strong>
          </p>
          <p>{s.suppressedHelp}</p>
          <label for="overrideReason">{s.overrideReason}</label>
          <textarea id="overrideReason" name="overrideReason" rows={2} maxlength={500} required autofocus>
            {values.overrideReason ?? ''}
          </textarea>
          <FieldError id="overrideReason-error" message={err('suppressionOverride.reason')} />
          <div class="actions">
            <button type="submit">{s.overrideSubmit}</button>
          </div>
        </section>
      ) : (
        <div class="actions">
          <button type="submit">{s.submit}</button>
        </div>
      )}
    </form>
  );
}

function Receipt(props: { receipt: Awaited<ReturnType<typeof callReceipt>>; labels: Map<string, string>; emailStatus: string | undefined }) {
  const { call, contact, events } = props.receipt;
  return (
    <div class="notice ok receipt" role="status" tabindex={-1} id="receipt">
      <strong>{s.saved}</strong>{' '}
      {[contact?.firstName, contact?.lastName].filter(Boolean).join(' ')} · {contact?.email} · {s.callRefShort} {call.callRef} · {formatDateTime(call.occurredAt)}
      <ul>
        {events.map((e) => (
          <li>
            {props.labels.get(e.purpose) ?? e.purpose} : <strong>{e.action === 'granted' ? s.yes : s.no}</strong>
          </li>
        ))}
      </ul>
      {props.emailStatus === 'queued' && <p class="flush">{s.confirmationQueued}</p>}
    </div>
  );
}

function valuesFromQuery(c: Context<AppEnv>): Values {
  const q = (name: string) => (c.req.query(name) ?? '').slice(0, 200);
  const basis = q('basis');
  return {
    phone: q('phone'),
    email: q('email'),
    callRef: q('callRef'),
    campaign: q('campaign'),
    ...(callBases.includes(basis as CallBasis) ? { basis } : {}),
  };
}

async function render(c: Context<AppEnv>, values: Values, issues: FieldIssue[], status: 200 | 400 | 409, extra?: unknown, suppressed?: { reason: string; date: string }) {
  const ctx = ctxOf(c);
  const scripts = await currentScripts(ctx.db, ctx.workspaceId);
  return c.html(
    <Layout title={s.title} viewer={await viewerOf(c)} current="/agent" scripts={['/assets/agent.js']}>
      <h1>{s.title}</h1>
      <p class="small">
        <a href="/agent/conversion">{t.conversion.link}</a>
      </p>
      {extra as never}
      {issues.length > 0 && <Notice kind="err">{s.fixErrors(issues.length)}</Notice>}
      {suppressed && issues.length === 0 && <Notice kind="err">{s.suppressed(suppressed.reason, suppressed.date)}</Notice>}
      <ConsoleForm scripts={scripts} values={values} issues={issues} idempotencyKey={crypto.randomUUID()} suppressed={suppressed} />
    </Layout>,
    status,
  );
}

/** When an override form comes back invalid (no reason), show the suppression again. */
async function lookupSuppression(ctx: Ctx, email: string): Promise<Suppression | null> {
  const normalised = normaliseEmail(email);
  return normalised ? activeSuppression(ctx.db, ctx.workspaceId, await emailHash(ctx.db, ctx.workspaceId, normalised)) : null;
}
const suppressionOf = (row: Suppression | null) => (row ? { reason: row.reason, date: formatConsentDate(row.suppressedAt) } : undefined);

export const agentConsole = new Hono<AppEnv>()
  .get('/agent', capturers, async (c) => {
    const callId = c.req.query('receipt');
    let extra: unknown = null;
    if (callId) {
      const ctx = ctxOf(c);
      const receipt = await callReceipt({ ctx, input: { callId } }).catch(() => null);
      if (receipt) {
        const labels = new Map((await currentScripts(ctx.db, ctx.workspaceId)).map((sc) => [sc.purpose, sc.label]));
        extra = <Receipt receipt={receipt} labels={labels} emailStatus={c.req.query('mail')} />;
      }
    }
    return render(c, valuesFromQuery(c), [], 200, extra);
  })
  .post('/agent', capturers, async (c) => {
    const ctx = ctxOf(c);
    const body = await c.req.parseBody();
    const values: Values = {};
    for (const [k, v] of Object.entries(body)) if (typeof v === 'string') values[k] = v.slice(0, 4000);
    const scripts = await currentScripts(ctx.db, ctx.workspaceId);
    const issues: FieldIssue[] = [];
    const basis = values.basis ?? '';
    if (!callBases.includes(basis as CallBasis)) issues.push({ field: 'call.basis', message: s.basisRequired });
    if (!values.callRef?.trim()) issues.push({ field: 'call.ref', message: s.callRefRequired });
    const answers = scripts.map((script) => ({ purpose: script.purpose, answer: values[`answer:${script.purpose}`] ?? '', scriptId: values[`script:${script.purpose}`] || script.id }));
    for (const a of answers) if (a.answer !== 'granted' && a.answer !== 'refused') issues.push({ field: `answers.${a.purpose}`, message: s.answerRequired });
    for (const [name, max] of [['firstName', 100], ['lastName', 100], ['campaign', 120], ['callRef', 100], ['basisRef', 200]] as const) {
      if ((values[name] ?? '').length > max) issues.push({ field: name, message: s.tooLong(max) });
    }
    if (issues.length) return render(c, values, issues, 400);
    try {
      const result = await captureConsent({
        ctx,
        input: {
          contact: { email: values.email ?? '', phone: values.phone || null, firstName: values.firstName || null, lastName: values.lastName || null },
          call: { ref: values.callRef!.trim(), basis: basis as CallBasis, basisRef: values.basisRef || null, campaign: values.campaign || null },
          answers: answers as { purpose: string; answer: 'granted' | 'refused'; scriptId: string }[],
          // Present only once the console showed the suppression and the agent gave a reason.
          suppressionOverride: values.overrideReason !== undefined ? { reason: values.overrideReason } : null,
        },
        idempotencyKey: values.idempotencyKey || undefined,
        evidence: { via: 'console', ip: c.get('deps').clientIp(c) ?? '', userAgent: (c.req.header('user-agent') ?? '').slice(0, 300) },
      });
      // Post/Redirect/Get: a reload never records the call twice (and the idempotency key backs that up).
      // The next call is usually on the same campaign and basis: keep those, clear the rest.
      const next = new URLSearchParams({ receipt: result.body.call.id, mail: result.body.confirmationEmail, campaign: values.campaign ?? '', basis });
      return c.redirect(`/agent?${next}`, 303);
    } catch (error) {
      if (error instanceof Invalid) {
        const suppressed = values.overrideReason !== undefined ? suppressionOf(await lookupSuppression(ctx, values.email ?? '')) : undefined;
        return render(c, values, error.issues, 400, undefined, suppressed);
      }
      if (error instanceof Conflict && error.code === 'suppressed') {
        const details = error.details as { suppressedAt: string; reason: string };
        return render(c, values, [], 409, undefined, { reason: details.reason, date: formatConsentDate(new Date(details.suppressedAt)) });
      }
      throw error;
    }
  });
