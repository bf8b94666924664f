/** @jsxImportSource hono/jsx */
/**
 * The DPO's pages: the compliance hub, consent script versions, the consent ledger with its
 * chain verification, retention and the purge log, the suppression list. Admin only (the DPO's
 * role). Every page works without script; /static/dpo.js adds the live script check.
 */
import { Hono, type Context } from 'hono';
import { consentActions, consentChannels, PURPOSE_PATTERN, type ConsentAction, type ConsentChannel } from '../../db/schema.js';
import { allScripts, currentScripts, createScriptVersion, scriptProblems, MAX_PURPOSES, SCRIPT_MAX, type ConsentScript } from '../../domain/consent/scripts.js';
import { checkLedger, ledgerPurposes, ledgerStatus, listLedger, scriptUsage, type LedgerCheck, type LedgerRow } from '../../domain/consent/ledger-view.js';
import {
  addSuppression,
  complianceSummary,
  lookupSuppression,
  manualSuppressionReasons,
  recentSuppressions,
  retentionDue,
  retentionErasedTotal,
  retentionIssues,
  retentionLog,
  RETENTION_MAX_DAYS,
  RETENTION_MIN_DAYS,
  runRetentionNow,
  setRetention,
  suppressionCounts,
  type SuppressionLookup,
} from '../../domain/privacy/compliance.js';
import { Conflict, Invalid } from '../../domain/errors.js';
import { getWorkspace, type Workspace } from '../../domain/workspaces/workspaces.js';
import { users } from '../../db/schema.js';
import { inArray } from 'drizzle-orm';
import { formatDateTime, t } from '../../i18n/fr.js';
import { ctxOf } from '../context.js';
import type { AppEnv } from '../env.js';
import { formString, pageFor, viewerOf } from './guard.js';
import { DataTable, FieldError, Layout, Notice } from './layout.js';

const s = t.dpo;
const admin = pageFor(['admin']);
const SCRIPTS = ['/static/dpo.js'];
const formatDate = (d: Date) => new Intl.DateTimeFormat('fr-FR', { dateStyle: 'long', timeZone: 'Europe/Paris' }).format(d);
const purposeLabel = (p: string) => s.purposes[p] ?? p;
const short = (hash: string) => hash.slice(0, 10);

/**
 * DataTable, but the scrolling wrapper is a named, focusable region: a table with no link inside
 * must still be scrollable from the keyboard at 390 px (axe: scrollable-region-focusable).
 */
/** A labelled table: the shared DataTable with this page's own styling hook. */
export function ScrollTable(props: { label: string; headers: string[]; children: unknown }) {
  return (
    <DataTable class="dpo-table" label={props.label} headers={props.headers}>
      {props.children as never}
    </DataTable>
  );
}

type Sub = 'hub' | 'ledger' | 'scripts' | 'retention' | 'suppressions';

/** The compliance pages' own navigation, under the main one (also on the requests register). */
export function SubNav(props: { current: Sub | 'requests' }) {
  const links: [Sub | 'requests' | 'audit', string][] = [
    ['hub', '/admin/compliance'],
    ['ledger', '/admin/ledger'],
    ['scripts', '/admin/scripts'],
    ['retention', '/admin/retention'],
    ['suppressions', '/admin/suppressions'],
    ['requests', '/admin/requests'],
    ['audit', '/admin/audit'],
  ];
  return (
    <nav class="dpo-subnav" aria-label={s.subnav.label}>
      {links.map(([key, href]) => (
        <a href={href} aria-current={props.current === key ? 'page' : undefined}>
          {s.subnav[key]}
        </a>
      ))}
    </nav>
  );
}

async function page(c: Context<AppEnv>, title: string, current: Sub, body: unknown, status: 200 | 201 | 400 | 409 = 200) {
  return c.html(
    <Layout title={title} viewer={await viewerOf(c)} current="/admin/compliance" scripts={SCRIPTS}>
      <SubNav current={current} />
      {body as never}
    </Layout>,
    status,
  );
}

// ---------------------------------------------------------------------------------------------
// Chain status (hub and ledger)

function chainReason(reason: string): string {
  if (reason.startsWith('expected seq')) return s.chain.reasons.seq;
  if (reason.startsWith('prev_hash')) return s.chain.reasons.prev;
  return s.chain.reasons.hash;
}

export function ChainStatus(props: { check: LedgerCheck | null; size: number; button?: boolean }) {
  const { check } = props;
  const state = !check ? 'unknown' : check.ok ? 'intact' : 'broken';
  return (
    <section class={`card chain chain-${state}`} aria-labelledby="chain-title">
      <h2 id="chain-title">
        {s.chain.title} <span class={`pill ${state === 'intact' ? 'ok' : state === 'broken' ? 'err' : 'warn'}`}>{s.chain[state]}</span>
      </h2>
      {check?.ok && <p>{s.chain.okLine(check.count)}</p>}
      {check && !check.ok && check.firstBroken && (
        <>
          <p>
            <strong>{s.chain.brokenLine(check.firstBroken.seq)}</strong> {chainReason(check.firstBroken.reason)}.{' '}
            <a href={`/admin/ledger?before=${check.firstBroken.seq + 1}#evt-${check.firstBroken.seq}`}>{s.chain.seeEvent}</a>
          </p>
          <p class="muted small">
            <code>{check.firstBroken.id}</code> · {s.chain.brokenAfter(check.count)}
          </p>
        </>
      )}
      {!check && <p>{props.size > 0 ? s.chain.large(props.size) : s.chain.never}</p>}
      {check && <p class="muted small">{check.source === 'live' ? s.chain.liveAt(formatDateTime(check.at)) : s.chain.recordedAt(formatDateTime(check.at), check.by ?? null)}</p>}
      {props.button && (
        <form method="post" action="/admin/ledger/verify" class="actions">
          <button class="secondary" type="submit">
            {s.chain.verify}
          </button>
        </form>
      )}
    </section>
  );
}

// ---------------------------------------------------------------------------------------------
// Scripts

type ScriptForm = { purpose: string; label: string; text: string };
type Issues = Partial<Record<keyof ScriptForm, string>>;

/** The Art. 13 problems of a wording, in French. */
function scriptProblemsFr(text: string, ws: Workspace): string[] {
  return scriptProblems(text, [ws.name, ws.legalName]).map((p) =>
    p.startsWith('names the controller') ? s.scripts.problems.controller(`${ws.name} ou ${ws.legalName}`) : p.startsWith('says consent') ? s.scripts.problems.withdraw : s.scripts.problems.privacy,
  );
}

function validateScript(form: ScriptForm, ws: Workspace): Issues {
  const issues: Issues = {};
  if (!PURPOSE_PATTERN.test(form.purpose)) issues.purpose = s.scripts.errors.purpose;
  if (!form.label || form.label.length > 120) issues.label = s.scripts.errors.label;
  const text = form.text.replace(/\r\n/g, '\n').trim();
  if (text.length < 20 || text.length > SCRIPT_MAX) issues.text = s.scripts.errors.textLength(20, SCRIPT_MAX);
  else {
    const problems = scriptProblemsFr(text, ws);
    if (problems.length) issues.text = s.scripts.errors.textMissing(problems.join(' ; '));
  }
  return issues;
}

function ScriptCheck(props: { problems: string[] | null }) {
  return (
    <div id="script-check" class="script-check" aria-live="polite" data-ok={s.scripts.checkOk} data-missing={s.scripts.checkMissing} data-empty={s.scripts.checkEmpty}>
      {props.problems === null && <p class="muted flush">{s.scripts.checkEmpty}</p>}
      {props.problems &&
        (props.problems.length === 0 ? (
          <p class="ok-line">{s.scripts.checkOk}</p>
        ) : (
          <>
            <p class="flush">{s.scripts.checkMissing}</p>
            <ul>
              {props.problems.map((p) => (
                <li>{p}</li>
              ))}
            </ul>
          </>
        ))}
    </div>
  );
}

function ScriptVersion(props: { script: ConsentScript; current: boolean; used: number; author: string }) {
  const sc = props.script;
  return (
    <article class={`script-version${props.current ? ' current' : ''}`} aria-label={`${purposeLabel(sc.purpose)} — ${s.scripts.version(sc.version)}`}>
      <p class="version-head">
        <strong>{s.scripts.version(sc.version)}</strong> {props.current && <span class="pill ok">{s.scripts.current}</span>} <span class="muted">« {sc.label} »</span>
      </p>
      <blockquote class="script">{sc.text}</blockquote>
      <dl class="kv">
        <dt>{s.scripts.sha}</dt>
        <dd>
          <code class="hash-full">{sc.sha256}</code>
        </dd>
        <dt>{s.scripts.createdBy}</dt>
        <dd>
          {props.author}, {s.scripts.createdAt} {formatDateTime(sc.createdAt)}
        </dd>
      </dl>
      <p class="muted small">{s.scripts.used(props.used)}</p>
    </article>
  );
}

async function scriptsBody(c: Context<AppEnv>, opts: { form?: ScriptForm; issues?: Issues; ok?: string | undefined }) {
  const ctx = ctxOf(c);
  const ws = await getWorkspace({ ctx });
  const all = await allScripts(ctx.db, ctx.workspaceId);
  const current = await currentScripts(ctx.db, ctx.workspaceId, all);
  const usage = await scriptUsage({ ctx, input: { scriptIds: all.map((r) => r.id) } });
  const authorIds = [...new Set(all.map((r) => r.createdBy))];
  const authors = new Map(
    authorIds.length ? (await ctx.db.select({ id: users.id, name: users.name }).from(users).where(inArray(users.id, authorIds))).map((u) => [u.id, u.name]) : [],
  );
  const wanted = c.req.query('purpose');
  const base = current.find((r) => r.purpose === wanted);
  const form: ScriptForm = opts.form ?? { purpose: base?.purpose ?? wanted ?? '', label: base?.label ?? '', text: base?.text ?? '' };
  const issues = opts.issues ?? {};
  const problems = form.text.trim().length >= 20 ? scriptProblemsFr(form.text, ws) : null;
  const invalid = (f: keyof ScriptForm) => (issues[f] ? { 'aria-invalid': 'true' as const, 'aria-describedby': `${f}-error` } : {});
  return (
    <>
      <h1>{s.scripts.title}</h1>
      <p class="lead">{s.scripts.intro}</p>
      <Notice kind="info">{s.scripts.immutable}</Notice>
      {opts.ok && <Notice kind="ok">{opts.ok}</Notice>}
      {Object.keys(issues).length > 0 && (
        <Notice kind="err">
          <ul class="flush-list">
            {Object.values(issues).map((m) => (
              <li>{m}</li>
            ))}
          </ul>
        </Notice>
      )}
      {current.length === 0 && <p class="muted">{s.scripts.empty}</p>}
      {current.map((cur) => {
        const versions = all.filter((r) => r.purpose === cur.purpose);
        const older = versions.filter((r) => r.id !== cur.id);
        const author = (id: string) => (id === 'system' ? s.scripts.system : (authors.get(id) ?? id));
        return (
          <section class="card" aria-labelledby={`purpose-${cur.purpose}`}>
            <div class="card-head">
              <h2 id={`purpose-${cur.purpose}`}>
                {purposeLabel(cur.purpose)} <code class="muted small">{cur.purpose}</code>
              </h2>
              <a class="button secondary" href={`/admin/scripts?purpose=${encodeURIComponent(cur.purpose)}#new`}>
                {s.scripts.newVersion}
              </a>
            </div>
            <ScriptVersion script={cur} current used={usage.get(cur.id) ?? 0} author={author(cur.createdBy)} />
            {older.length > 0 && (
              <details>
                <summary>{s.scripts.older(older.length)}</summary>
                {older.map((r) => (
                  <ScriptVersion script={r} current={false} used={usage.get(r.id) ?? 0} author={author(r.createdBy)} />
                ))}
              </details>
            )}
          </section>
        );
      })}
      <section class="card" id="new" aria-labelledby="new-title">
        <h2 id="new-title">{s.scripts.createTitle}</h2>
        <p class="muted">{s.scripts.createIntro}</p>
        <form method="post" action="/admin/scripts" id="script-form">
          <div class="grid two">
            <div>
              <label for="purpose">{s.scripts.purpose}</label>
              <input id="purpose" name="purpose" type="text" required maxlength={40} value={form.purpose} list="purposes" placeholder={s.scripts.purposeHint} {...invalid('purpose')} />
              <datalist id="purposes">
                {current.map((r) => (
                  <option value={r.purpose}>{purposeLabel(r.purpose)}</option>
                ))}
              </datalist>
              <FieldError id="purpose-error" message={issues.purpose} />
            </div>
            <div>
              <label for="label">{s.scripts.label}</label>
              <input id="label" name="label" type="text" required maxlength={120} value={form.label} {...invalid('label')} />
              <FieldError id="label-error" message={issues.label} />
            </div>
          </div>
          <label for="script-text">{s.scripts.text}</label>
          <p class="muted small" id="text-hint">
            {s.scripts.textHint(SCRIPT_MAX)}
          </p>
          <textarea
            id="script-text"
            name="text"
            rows={7}
            required
            maxlength={SCRIPT_MAX}
            aria-describedby={issues.text ? 'text-error text-hint' : 'text-hint'}
            aria-invalid={issues.text ? 'true' : undefined}
          >
            {form.text}
          </textarea>
          <FieldError id="text-error" message={issues.text} />
          <h3 class="check-title">{s.scripts.checkTitle}</h3>
          <ScriptCheck problems={problems} />
          <div class="actions">
            <button type="submit">{s.scripts.create}</button>
          </div>
        </form>
      </section>
    </>
  );
}

// ---------------------------------------------------------------------------------------------
// Ledger

const isAction = (v: string | undefined): v is ConsentAction => !!v && (consentActions as readonly string[]).includes(v);
const isChannel = (v: string | undefined): v is ConsentChannel => !!v && (consentChannels as readonly string[]).includes(v);

function HashCell(props: { hash: string; label: string }) {
  return (
    <details class="hash">
      <summary>
        <code>{short(props.hash)}…</code>
        <span class="sr-only">
          {' '}
          {props.label} {s.ledger.showFull}
        </span>
      </summary>
      <code class="hash-full">{props.hash}</code>
    </details>
  );
}

function LedgerTable(props: { rows: LedgerRow[]; brokenSeq: number | null }) {
  return (
    <ScrollTable label={s.ledger.title} headers={[s.ledger.seq, s.ledger.at, s.ledger.contact, s.ledger.purpose, s.ledger.action, s.ledger.channel, s.ledger.actor, s.ledger.script, s.ledger.hash, s.ledger.prevHash]}>
      {props.rows.map((r) => {
        const broken = props.brokenSeq === r.seq;
        return (
          <tr id={`evt-${r.seq}`} class={broken ? 'broken' : undefined}>
            <td>
              {r.seq}
              {broken && <span class="pill err">{s.ledger.brokenRow}</span>}
            </td>
            <td class="nowrap">{formatDateTime(r.occurredAt)}</td>
            <td class="contact-cell">
              {r.contactEmail ?? <span class="muted">{s.ledger.erased}</span>}{' '}
              <a class="small" href={`/admin/contacts/${r.contactId}/proof`}>
                {s.ledger.proof}
              </a>
            </td>
            <td>{purposeLabel(r.purpose)}</td>
            <td>
              <span class={`pill ${r.action === 'granted' || r.action === 'confirmed' ? 'ok' : r.action === 'withdrawn' ? 'warn' : ''}`}>{s.actions[r.action]}</span>
            </td>
            <td>{s.channels[r.channel] ?? r.channel}</td>
            <td>{r.actorName ?? s.actorTypes[r.actorType] ?? r.actorType}</td>
            <td>{r.scriptVersion ? s.ledger.scriptV(r.scriptVersion) : t.common.none}</td>
            <td>
              <HashCell hash={r.hash} label={s.ledger.hash} />
            </td>
            <td>
              <HashCell hash={r.prevHash} label={s.ledger.prevHash} />
            </td>
          </tr>
        );
      })}
    </ScrollTable>
  );
}

// ---------------------------------------------------------------------------------------------
// Retention

function RetentionForm(props: { value: string; error?: string | undefined }) {
  const days = Number(props.value);
  return (
    <form method="post" action="/admin/retention">
      <label for="retentionDays">{s.retention.days}</label>
      <p class="muted small" id="retention-hint">
        {s.retention.daysHint(RETENTION_MAX_DAYS, RETENTION_MIN_DAYS)}
      </p>
      <div class="inline-form">
        <input
          id="retentionDays"
          name="retentionDays"
          type="number"
          inputmode="numeric"
          min={RETENTION_MIN_DAYS}
          max={RETENTION_MAX_DAYS}
          step={1}
          required
          value={props.value}
          aria-invalid={props.error ? 'true' : undefined}
          aria-describedby={props.error ? 'retentionDays-error retention-hint' : 'retention-hint'}
        />
        <span class="muted small" id="retention-years" data-template={s.retention.equals('{n}')}>
          {Number.isFinite(days) && days > 0 ? s.retention.equals((days / 365).toLocaleString('fr-FR', { maximumFractionDigits: 1 })) : ''}
        </span>
      </div>
      <FieldError id="retentionDays-error" message={props.error} />
      <div class="actions">
        <button type="submit">{s.retention.save}</button>
      </div>
    </form>
  );
}

function retentionMessage(raw: string): string | undefined {
  const days = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(days)) return s.retention.errors.notNumber;
  const issue = retentionIssues(days)[0];
  if (!issue) return undefined;
  return days > RETENTION_MAX_DAYS ? s.retention.errors.tooLong(RETENTION_MAX_DAYS) : s.retention.errors.tooShort(RETENTION_MIN_DAYS);
}

async function retentionBody(c: Context<AppEnv>, opts: { value?: string; error?: string; ok?: string | undefined; runError?: string | undefined }) {
  const ctx = ctxOf(c);
  const ws = await getWorkspace({ ctx });
  const days = ws.settings.retentionDays;
  const [due, log, total] = await Promise.all([retentionDue({ ctx, input: { days } }), retentionLog({ ctx, input: { limit: 50 } }), retentionErasedTotal({ ctx })]);
  return (
    <>
      <h1>{s.retention.title}</h1>
      <p class="lead">{s.retention.intro}</p>
      {opts.ok && <Notice kind="ok">{opts.ok}</Notice>}
      {opts.error && <Notice kind="err">{opts.error}</Notice>}
      {opts.runError && <Notice kind="err">{opts.runError}</Notice>}
      <div class="grid">
        <section class="card" aria-labelledby="retention-settings">
          <h2 id="retention-settings">{s.retention.settingsTitle}</h2>
          <RetentionForm value={opts.value ?? String(days)} error={opts.error} />
        </section>
        <section class="card" aria-labelledby="retention-due">
          <h2 id="retention-due">{s.retention.dueTitle}</h2>
          <p>
            <strong>{s.retention.dueNow(due)}</strong>
          </p>
          <p class="muted small">{s.retention.schedule}</p>
          <form method="post" action="/admin/retention/run">
            <label class="check light">
              <input type="checkbox" name="confirm" value="yes" required /> {s.retention.runConfirm}
            </label>
            <button class="danger" type="submit">
              {s.retention.run}
            </button>
          </form>
        </section>
      </div>
      <section class="card" aria-labelledby="purge-log">
        <h2 id="purge-log">{s.retention.logTitle}</h2>
        <p class="muted small">{s.retention.logIntro(total)}</p>
        {log.length === 0 ? (
          <p class="muted">{s.retention.logEmpty}</p>
        ) : (
          <ScrollTable label={s.retention.logTitle} headers={[s.retention.at, s.retention.trigger, s.retention.erased, s.retention.duration, s.retention.cutoff]}>
            {log.map((r) => (
              <tr>
                <td class="nowrap">{formatDateTime(r.at)}</td>
                <td>{r.trigger === 'system' ? s.retention.auto : (r.by ?? s.actorTypes.user)}</td>
                <td>{r.erased}</td>
                <td>{r.retentionDays ? s.retention.daysValue(r.retentionDays) : t.common.none}</td>
                <td>{r.cutoff ? formatDate(new Date(r.cutoff)) : t.common.none}</td>
              </tr>
            ))}
          </ScrollTable>
        )}
      </section>
    </>
  );
}

// ---------------------------------------------------------------------------------------------
// Suppressions

function SuppressionResult(props: { result: SuppressionLookup }) {
  const { suppression, lifted, contactId } = props.result;
  return (
    <div class="lookup" aria-live="polite" id="lookup-result">
      {suppression ? (
        <Notice kind="err">{s.suppressions.found(s.reasons[suppression.reason] ?? suppression.reason, formatDateTime(suppression.suppressedAt))}</Notice>
      ) : (
        <Notice kind="ok">
          {s.suppressions.notFound}
          {lifted?.liftedAt && ` ${s.suppressions.lifted(formatDateTime(lifted.liftedAt))}`}
        </Notice>
      )}
      {contactId && (
        <p>
          {s.suppressions.contact} <a href={`/admin/contacts/${contactId}/proof`}>{s.suppressions.viewProof}</a>
        </p>
      )}
    </div>
  );
}

async function suppressionsBody(
  c: Context<AppEnv>,
  opts: { searchEmail?: string; searchError?: string; result?: SuppressionLookup; addEmail?: string; addReason?: string; addErrors?: { email?: string; reason?: string }; ok?: string | undefined; info?: string | undefined },
) {
  const ctx = ctxOf(c);
  const [counts, recent] = await Promise.all([suppressionCounts({ ctx }), recentSuppressions({ ctx, input: { limit: 10 } })]);
  const addErrors = opts.addErrors ?? {};
  return (
    <>
      <h1>{s.suppressions.title}</h1>
      <p class="lead">{s.suppressions.intro}</p>
      {opts.ok && <Notice kind="ok">{opts.ok}</Notice>}
      {opts.info && <Notice kind="info">{opts.info}</Notice>}
      <div class="grid">
        <section class="card" aria-labelledby="search-title">
          <h2 id="search-title">{s.suppressions.searchTitle}</h2>
          <p class="muted small">{s.suppressions.searchIntro}</p>
          {/* POST, not GET: the address must not end up in a URL, a history or an access log. */}
          <form method="post" action="/admin/suppressions/search" autocomplete="off">
            <label for="search-email">{s.suppressions.email}</label>
            <div class="inline-form wrap">
              <input
                id="search-email"
                name="email"
                type="email"
                required
                maxlength={254}
                value={opts.searchEmail ?? ''}
                aria-invalid={opts.searchError ? 'true' : undefined}
                aria-describedby={opts.searchError ? 'search-email-error' : undefined}
              />
              <button type="submit">{s.suppressions.search}</button>
            </div>
            <FieldError id="search-email-error" message={opts.searchError} />
          </form>
          {opts.result && <SuppressionResult result={opts.result} />}
        </section>
        <section class="card" aria-labelledby="counts-title">
          <h2 id="counts-title">{s.suppressions.countsTitle}</h2>
          <ScrollTable label={s.suppressions.countsTitle} headers={[s.suppressions.reason, s.suppressions.count]}>
            {Object.entries(counts.byReason).map(([reason, n]) => (
              <tr>
                <td>{s.reasons[reason] ?? reason}</td>
                <td class="num">{n.toLocaleString('fr-FR')}</td>
              </tr>
            ))}
            <tr class="total">
              <th scope="row">{s.suppressions.total}</th>
              <td class="num">{counts.active.toLocaleString('fr-FR')}</td>
            </tr>
          </ScrollTable>
        </section>
      </div>
      <section class="card" aria-labelledby="add-title">
        <h2 id="add-title">{s.suppressions.addTitle}</h2>
        <p class="muted small">{s.suppressions.addIntro}</p>
        <form method="post" action="/admin/suppressions" autocomplete="off">
          <div class="grid two">
            <div>
              <label for="add-email">{s.suppressions.email}</label>
              <input
                id="add-email"
                name="email"
                type="email"
                required
                maxlength={254}
                value={opts.addEmail ?? ''}
                aria-invalid={addErrors.email ? 'true' : undefined}
                aria-describedby={addErrors.email ? 'add-email-error' : undefined}
              />
              <FieldError id="add-email-error" message={addErrors.email} />
            </div>
            <div>
              <label for="add-reason">{s.suppressions.addReason}</label>
              <select id="add-reason" name="reason" aria-describedby={addErrors.reason ? 'add-reason-error' : undefined}>
                {manualSuppressionReasons.map((r) => (
                  <option value={r} selected={opts.addReason === r}>
                    {s.reasons[r]}
                  </option>
                ))}
              </select>
              <FieldError id="add-reason-error" message={addErrors.reason} />
            </div>
          </div>
          <div class="actions">
            <button type="submit">{s.suppressions.add}</button>
          </div>
        </form>
      </section>
      <section class="card" aria-labelledby="recent-title">
        <h2 id="recent-title">{s.suppressions.recentTitle}</h2>
        {recent.length === 0 ? (
          <p class="muted">{s.suppressions.recentEmpty}</p>
        ) : (
          <ScrollTable label={s.suppressions.recentTitle} headers={[s.suppressions.hash, s.suppressions.reason, s.suppressions.since]}>
            {recent.map((r) => (
              <tr>
                <td>
                  <code>{short(r.emailHash)}…</code>
                </td>
                <td>{s.reasons[r.reason] ?? r.reason}</td>
                <td class="nowrap">{formatDateTime(r.suppressedAt)}</td>
              </tr>
            ))}
          </ScrollTable>
        )}
      </section>
    </>
  );
}

// ---------------------------------------------------------------------------------------------
// Routes

export const dpoPages = new Hono<AppEnv>()
  .get('/admin/compliance', admin, async (c) => {
    const ctx = ctxOf(c);
    const [summary, status] = await Promise.all([complianceSummary({ ctx }), ledgerStatus({ ctx })]);
    const { requests: rq, retention } = summary;
    return page(
      c,
      s.hub.title,
      'hub',
      <>
        <h1>{s.hub.title}</h1>
        <p class="lead">{s.hub.intro}</p>
        <ChainStatus check={status.check} size={status.size} button={status.check?.source !== 'live'} />
        <div class="grid dpo-figures">
          <section class="card" aria-labelledby="fig-contacts">
            <h2 id="fig-contacts">{s.hub.contacts}</h2>
            <p class="figure">{summary.contacts.live.toLocaleString('fr-FR')}</p>
            <p class="muted small">{s.hub.contactsLine(summary.contacts.live, summary.contacts.erased)}</p>
          </section>
          <section class="card" aria-labelledby="fig-suppressions">
            <h2 id="fig-suppressions">{s.hub.suppressions}</h2>
            <p class="figure">{summary.suppressions.active.toLocaleString('fr-FR')}</p>
            <p class="muted small">
              {s.hub.suppressionsLine(summary.suppressions.active)} · <a href="/admin/suppressions">{s.hub.open}</a>
            </p>
          </section>
          <section class="card" aria-labelledby="fig-requests">
            <h2 id="fig-requests">{s.hub.requests}</h2>
            <p class="figure">{rq.open.toLocaleString('fr-FR')}</p>
            {rq.open === 0 ? (
              <p class="muted small">{s.hub.requestsNone}</p>
            ) : (
              <p class="small">
                {s.hub.requestsLine(rq.open)}
                {rq.overdue > 0 && (
                  <>
                    {' '}
                    <span class="pill err">{s.hub.overdue(rq.overdue)}</span>
                  </>
                )}
                {rq.nextDueAt && (
                  <>
                    <br />
                    {s.hub.nextDue(formatDate(rq.nextDueAt))}
                  </>
                )}
              </p>
            )}
            <p class="small">
              <a href="/admin/requests">{s.hub.open}</a>
            </p>
          </section>
          <section class="card" aria-labelledby="fig-retention">
            <h2 id="fig-retention">{s.hub.retention}</h2>
            <p class="small">{s.hub.retentionLine(retention.days)}</p>
            <p class="small">{retention.lastRun ? s.hub.lastRun(formatDateTime(retention.lastRun.at), retention.lastRun.erased) : s.hub.noRun}</p>
            <p class={`small${retention.dueNow > 0 ? ' warn-line' : ' muted'}`}>{s.hub.dueNow(retention.dueNow)}</p>
            <p class="small">
              <a href="/admin/retention">{s.hub.open}</a>
            </p>
          </section>
        </div>
        <section class="card" aria-labelledby="fig-consents">
          <h2 id="fig-consents">{s.hub.consents}</h2>
          {summary.consents.length === 0 ? (
            <p class="muted">{s.hub.consentsEmpty}</p>
          ) : (
            <ScrollTable label={s.hub.consents} headers={[s.hub.purpose, s.hub.granted, s.hub.confirmed]}>
              {summary.consents.map((r) => (
                <tr>
                  <td>
                    {purposeLabel(r.purpose)} <code class="muted small">{r.purpose}</code>
                  </td>
                  <td class="num">{r.granted.toLocaleString('fr-FR')}</td>
                  <td class="num">{r.confirmed.toLocaleString('fr-FR')}</td>
                </tr>
              ))}
            </ScrollTable>
          )}
        </section>
        <section class="card" aria-labelledby="links-title">
          <h2 id="links-title">{s.hub.links}</h2>
          <ul class="dpo-links">
            <li>
              <a href="/admin/ledger">{s.subnav.ledger}</a> — {s.hub.linkLedger}
            </li>
            <li>
              <a href="/admin/scripts">{s.subnav.scripts}</a> — {s.hub.linkScripts}
            </li>
            <li>
              <a href="/admin/retention">{s.subnav.retention}</a> — {s.hub.linkRetention}
            </li>
            <li>
              <a href="/admin/suppressions">{s.subnav.suppressions}</a> — {s.hub.linkSuppressions}
            </li>
            <li>
              <a href="/admin/requests">{s.subnav.requests}</a> — {s.hub.linkRequests}
            </li>
            <li>
              <a href="/admin/workspace#preview">{t.nav.workspace}</a> — {s.hub.linkWorkspace}
            </li>
            <li>
              <a href="/admin/audit">{s.subnav.audit}</a> — {s.hub.linkAudit}
            </li>
          </ul>
        </section>
      </>,
    );
  })

  .get('/admin/scripts', admin, async (c) => {
    const ok = c.req.query('ok') === 'created' ? s.scripts.created(c.req.query('p') ?? '', Number(c.req.query('v') ?? 0)) : undefined;
    return page(c, s.scripts.title, 'scripts', await scriptsBody(c, { ok }));
  })
  .post('/admin/scripts', admin, async (c) => {
    const ctx = ctxOf(c);
    const body = await c.req.parseBody();
    const form: ScriptForm = { purpose: formString(body, 'purpose').trim(), label: formString(body, 'label').trim(), text: formString(body, 'text') };
    const issues = validateScript(form, await getWorkspace({ ctx }));
    if (Object.keys(issues).length > 0) return page(c, s.scripts.title, 'scripts', await scriptsBody(c, { form, issues }), 400);
    try {
      const created = await createScriptVersion({ ctx, input: form });
      return c.redirect(`/admin/scripts?ok=created&p=${encodeURIComponent(created.purpose)}&v=${created.version}#purpose-${created.purpose}`, 303);
    } catch (error) {
      // The domain checks the same rules; should they ever differ, its verdict is shown on the text.
      if (error instanceof Invalid) return page(c, s.scripts.title, 'scripts', await scriptsBody(c, { form, issues: { text: `${s.scripts.text} : ${error.message}` } }), 400);
      if (error instanceof Conflict && error.code === 'too_many_purposes') {
        return page(c, s.scripts.title, 'scripts', await scriptsBody(c, { form, issues: { purpose: s.scripts.errors.tooManyPurposes(MAX_PURPOSES) } }), 409);
      }
      throw error;
    }
  })
  /** The live check of the script form (dpo.js): the same French problems as on submit. */
  .post('/admin/scripts/check', admin, async (c) => {
    const body = ((await c.req.json().catch(() => ({}))) ?? {}) as { text?: unknown };
    const text = typeof body.text === 'string' ? body.text.slice(0, SCRIPT_MAX + 1) : '';
    const ws = await getWorkspace({ ctx: ctxOf(c) });
    return c.json({ problems: text.trim().length >= 20 ? scriptProblemsFr(text, ws) : null });
  })

  .get('/admin/ledger', admin, async (c) => {
    const ctx = ctxOf(c);
    const q = c.req.query();
    const purpose = q.purpose && PURPOSE_PATTERN.test(q.purpose) ? q.purpose : undefined;
    const action = isAction(q.action) ? q.action : undefined;
    const channel = isChannel(q.channel) ? q.channel : undefined;
    const email = (q.email ?? '').trim().slice(0, 254);
    const before = q.before && /^\d{1,12}$/.test(q.before) ? Number(q.before) : undefined;
    let emailError: string | undefined;
    let result: Awaited<ReturnType<typeof listLedger>> = { rows: [], next: null };
    try {
      result = await listLedger({ ctx, input: { purpose, action, channel, email, before, limit: 50 } });
    } catch (error) {
      if (!(error instanceof Invalid)) throw error;
      emailError = s.ledger.badEmail;
    }
    const [status, purposes] = await Promise.all([ledgerStatus({ ctx }), ledgerPurposes({ ctx })]);
    const filters = { ...(purpose ? { purpose } : {}), ...(action ? { action } : {}), ...(channel ? { channel } : {}), ...(email && !emailError ? { email } : {}) };
    const filtered = Object.keys(filters).length > 0;
    const nextUrl = result.next ? `/admin/ledger?${new URLSearchParams({ ...filters, before: String(result.next) })}` : null;
    const brokenSeq = status.check && !status.check.ok ? (status.check.firstBroken?.seq ?? null) : null;
    return page(
      c,
      s.ledger.title,
      'ledger',
      <>
        <h1>{s.ledger.title}</h1>
        <p class="lead">{s.ledger.intro}</p>
        {c.req.query('ok') === 'verified' && <Notice kind="ok">{s.chain.verified}</Notice>}
        <ChainStatus check={status.check} size={status.size} button />
        <form method="get" action="/admin/ledger" class="card ledger-filters" aria-labelledby="filters-title">
          <h2 id="filters-title" class="sr-only">
            {s.ledger.filters}
          </h2>
          <div class="filter-grid">
            <div>
              <label for="f-purpose">{s.ledger.purpose}</label>
              <select id="f-purpose" name="purpose">
                <option value="">{s.ledger.all}</option>
                {purposes.map((p) => (
                  <option value={p} selected={p === purpose}>
                    {purposeLabel(p)}
                  </option>
                ))}
              </select>
            </div>
            <div>
              <label for="f-action">{s.ledger.action}</label>
              <select id="f-action" name="action">
                <option value="">{s.ledger.all}</option>
                {consentActions.map((a) => (
                  <option value={a} selected={a === action}>
                    {s.actions[a]}
                  </option>
                ))}
              </select>
            </div>
            <div>
              <label for="f-channel">{s.ledger.channel}</label>
              <select id="f-channel" name="channel">
                <option value="">{s.ledger.allChannels}</option>
                {consentChannels.map((ch) => (
                  <option value={ch} selected={ch === channel}>
                    {s.channels[ch]}
                  </option>
                ))}
              </select>
            </div>
            <div>
              <label for="f-email">{s.ledger.email}</label>
              <input
                id="f-email"
                name="email"
                type="search"
                inputmode="email"
                value={email}
                maxlength={254}
                aria-invalid={emailError ? 'true' : undefined}
                aria-describedby={emailError ? 'f-email-error' : undefined}
              />
              <FieldError id="f-email-error" message={emailError} />
            </div>
          </div>
          <div class="actions">
            <button type="submit">{s.ledger.apply}</button>
            {filtered && (
              <a class="button secondary" href="/admin/ledger">
                {s.ledger.reset}
              </a>
            )}
          </div>
        </form>
        <p class="muted small">{s.ledger.count(status.size)}</p>
        {result.rows.length === 0 ? (
          <p class="muted empty">{status.size === 0 ? s.ledger.emptyAll : s.ledger.empty}</p>
        ) : (
          <LedgerTable rows={result.rows} brokenSeq={brokenSeq} />
        )}
        <p class="actions">
          {before && (
            <a class="button secondary" href={`/admin/ledger?${new URLSearchParams(filters)}`}>
              {s.ledger.newest}
            </a>
          )}
          {nextUrl && (
            <a class="button secondary" href={nextUrl}>
              {s.ledger.older}
            </a>
          )}
        </p>
      </>,
    );
  })
  .post('/admin/ledger/verify', admin, async (c) => {
    await checkLedger({ ctx: ctxOf(c) });
    return c.redirect('/admin/ledger?ok=verified', 303);
  })

  .get('/admin/retention', admin, async (c) => {
    const ok = c.req.query('ok');
    const ran = c.req.query('erased');
    const message = ok === 'saved' ? s.retention.saved : ok === 'unchanged' ? s.retention.unchanged : ok === 'ran' ? s.retention.ran(Number(ran ?? 0)) : undefined;
    return page(c, s.retention.title, 'retention', await retentionBody(c, { ok: message, runError: c.req.query('error') === 'confirm' ? s.retention.confirmNeeded : undefined }));
  })
  .post('/admin/retention', admin, async (c) => {
    const ctx = ctxOf(c);
    const raw = formString(await c.req.parseBody(), 'retentionDays').trim();
    const error = retentionMessage(raw);
    if (error) return page(c, s.retention.title, 'retention', await retentionBody(c, { value: raw, error }), 400);
    const before = await getWorkspace({ ctx });
    const after = await setRetention({ ctx, input: { days: Number(raw) } });
    return c.redirect(`/admin/retention?ok=${after.updatedAt.getTime() === before.updatedAt.getTime() ? 'unchanged' : 'saved'}`, 303);
  })
  .post('/admin/retention/run', admin, async (c) => {
    if (formString(await c.req.parseBody(), 'confirm') !== 'yes') return c.redirect('/admin/retention?error=confirm', 303);
    const { erased } = await runRetentionNow({ ctx: ctxOf(c) });
    return c.redirect(`/admin/retention?ok=ran&erased=${erased}`, 303);
  })

  .get('/admin/suppressions', admin, async (c) => {
    const ok = c.req.query('ok') === 'added' ? s.suppressions.added : undefined;
    return page(c, s.suppressions.title, 'suppressions', await suppressionsBody(c, { ok }));
  })
  .post('/admin/suppressions/search', admin, async (c) => {
    const email = formString(await c.req.parseBody(), 'email').slice(0, 254);
    // The answer repeats the address typed: keep it out of every cache.
    c.header('Cache-Control', 'no-store');
    try {
      const result = await lookupSuppression({ ctx: ctxOf(c), input: { email } });
      return page(c, s.suppressions.title, 'suppressions', await suppressionsBody(c, { searchEmail: email, result }));
    } catch (error) {
      if (!(error instanceof Invalid)) throw error;
      return page(c, s.suppressions.title, 'suppressions', await suppressionsBody(c, { searchEmail: email, searchError: s.suppressions.badEmail }), 400);
    }
  })
  .post('/admin/suppressions', admin, async (c) => {
    const body = await c.req.parseBody();
    const email = formString(body, 'email').slice(0, 254);
    const reason = formString(body, 'reason');
    c.header('Cache-Control', 'no-store');
    try {
      const { added, suppression } = await addSuppression({ ctx: ctxOf(c), input: { email, reason } });
      if (added) return c.redirect('/admin/suppressions?ok=added', 303);
      return page(c, s.suppressions.title, 'suppressions', await suppressionsBody(c, { info: s.suppressions.already(s.reasons[suppression.reason] ?? suppression.reason, formatDateTime(suppression.suppressedAt)) }));
    } catch (error) {
      if (!(error instanceof Invalid)) throw error;
      const addErrors: { email?: string; reason?: string } = {};
      for (const i of error.issues) {
        if (i.field === 'email') addErrors.email = s.suppressions.badEmail;
        if (i.field === 'reason') addErrors.reason = s.suppressions.badReason;
      }
      return page(c, s.suppressions.title, 'suppressions', await suppressionsBody(c, { addEmail: email, addReason: reason, addErrors }), 400);
    }
  });

/** Styles of these pages, appended to /assets/app.css. */
export const dpoCss = `
.dpo-subnav{display:flex;flex-wrap:wrap;gap:4px 6px;margin:0 0 16px;padding:0 0 10px;border-bottom:1px solid var(--line)}
.dpo-subnav a{padding:4px 10px;border-radius:999px;text-decoration:none;font-size:14px;color:var(--brand)}
.dpo-subnav a[aria-current=page]{background:var(--brand);color:#fff}
.chain h2{display:flex;gap:8px;align-items:center;flex-wrap:wrap}
.chain-intact{border-left:6px solid var(--ok)}.chain-broken{border-left:6px solid var(--err);background:#fff8f7}.chain-unknown{border-left:6px solid var(--warn)}
.chain .actions{margin-top:8px}
.dpo-figures{grid-template-columns:repeat(auto-fit,minmax(220px,1fr))}
.dpo-figures .card{margin:0}
.figure{font-size:2rem;font-weight:700;margin:0 0 4px;line-height:1.1}
.warn-line{color:var(--warn);font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.nowrap{white-space:nowrap}
ul.dpo-links{margin:0;padding-left:20px}ul.dpo-links li{margin:6px 0}
.card-head{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:flex-start;justify-content:space-between}
.card-head h2{margin:0}
.script-version{border:1px solid var(--line);border-radius:8px;padding:12px 14px;margin:12px 0}
.script-version.current{border:2px solid var(--ok);background:#f6fdf7}
.script-version .version-head{margin:0 0 8px;display:flex;flex-wrap:wrap;gap:4px 8px;align-items:center}
.script-version blockquote.script{white-space:pre-line;font-size:1rem}
.hash-full{overflow-wrap:anywhere;word-break:break-all}
.script-check{min-height:4.5em;padding:8px 12px;border-radius:6px;background:#f0f4f8}
.script-check ul{margin:4px 0 0;padding-left:20px;color:var(--err)}
.script-check .ok-line{margin:0;color:var(--ok);font-weight:600}
h3.check-title{font-size:1rem;margin:14px 0 6px}
ul.flush-list{margin:0;padding-left:20px}
.ledger-filters .filter-grid{display:grid;gap:0 16px;grid-template-columns:repeat(auto-fit,minmax(200px,1fr))}
.ledger-filters .actions{margin-top:12px}
details.hash{border:none;padding:0}
details.hash summary{white-space:nowrap}
details.hash .hash-full{display:block;max-width:22ch;font-size:12px}
tr.broken td{background:#ffe3e3}
tr:target td{outline:2px solid var(--focus)}
.contact-cell{overflow-wrap:anywhere;min-width:16ch}
td:has(> details.hash){min-width:13ch}
.card-head a.button.secondary,.ledger-filters a.button.secondary,p.actions a.button.secondary{background:#fff;color:var(--brand)}
#retentionDays{max-width:180px}
.inline-form.wrap{flex-wrap:wrap}
.inline-form input[type=email]{flex:1 1 220px}
.lookup{margin-top:12px}
iframe.mail.footer-preview{height:460px}
td.audit-details{min-width:28ch}td.audit-details code{overflow-wrap:anywhere;word-break:break-word}
tr.due-overdue td{background:#fff1f0}
tr.due-soon td{background:#fffbea}
@media (max-width:600px){.figure{font-size:1.6rem}iframe.mail.footer-preview{height:620px}.card{padding:14px}}
`;
