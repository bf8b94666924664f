/** @jsxImportSource hono/jsx */
/**
 * Admin pages for the contacts of a workspace (personal data: admins only):
 *
 * - `/contacts`: search (name, email, phone in any writing), filters (newsletter and open-tracking
 *   state, owner agent, source campaign), 50 per page; `/contacts/export.csv` streams the current
 *   filter as CSV, audited.
 * - `/contacts/:id`: the profile: identity, current consents, the ledger timeline (script version
 *   and hash, evidence, event hash), newsletters sent and what was measured, opens and clicks with
 *   their machine verdicts, conversions; links to the printable proof and the rights card.
 * - `/contacts/import`: upload a CSV → map its columns (identity, and the consent: yes/no, date,
 *   how collected with its reference, who, which script text was presented) → dry run, row by row
 *   → import. Nothing is stored between the steps: the file travels with the form (gzip + base64,
 *   so its bytes and SHA-256 stay exactly those uploaded), and the refused rows' data is never kept.
 *   /static/contact-import.js only checks the size before upload and prevents a double submit.
 */
import { Hono, type Context } from 'hono';
import type { Child } from 'hono/jsx';
import { stream } from 'hono/streaming';
import {
  contactProfile,
  directoryChoices,
  exportContacts,
  listContacts,
  newsletterFilters,
  openTrackingFilters,
  PROFILE_LIMIT,
  type ContactFilter,
  type ContactListRow,
  type ContactProfile,
  type NewsletterFilter,
  type OpenTrackingFilter,
} from '../../domain/contacts/directory.js';
import {
  analyseImport,
  commitImport,
  guessMapping,
  mappingColumns,
  MAX_IMPORT_BYTES,
  MAX_IMPORT_ROWS,
  readCsvFile,
  reportToCsv,
  type ImportAnalysis,
  type ImportMapping,
  type MappingColumn,
  type ParsedCsv,
  type RowReport,
} from '../../domain/contacts/import.js';
import { formatPhone } from '../../domain/contacts/normalise.js';
import { allScripts, type ConsentScript } from '../../domain/consent/scripts.js';
import { Invalid } from '../../domain/errors.js';
import { formatDateTime, formatEuros, t } from '../../i18n/fr.js';
import { ctxOf } from '../context.js';
import type { AppEnv } from '../env.js';
import { formString, pageFor, viewerOf } from './guard.js';
import { DataTable, FieldError, Layout, Notice } from './layout.js';
import { RightsCard } from './privacy-pages.js';

const s = t.contacts;
const si = s.import;
const sp = s.profile;
const admin = pageFor(['admin']);
const IMPORT_SCRIPT = '/static/contact-import.js';
const MB = MAX_IMPORT_BYTES / 1048576;
/** Rows shown in the page's report; the CSV report has them all. */
const REPORT_ROWS_SHOWN = 1000;

const when = (d: Date | null | undefined) => (d ? formatDateTime(d) : '—');
const fullName = (c: { firstName: string | null; lastName: string | null }) => [c.firstName, c.lastName].filter(Boolean).join(' ');


// ---------------------------------------------------------------------------------------------
// List

function filterOf(c: Context<AppEnv>): ContactFilter & { page: number } {
  const q = (c.req.query('q') ?? '').trim().slice(0, 254);
  const newsletter = c.req.query('newsletter');
  const openTracking = c.req.query('openTracking');
  return {
    q: q || undefined,
    newsletter: (newsletterFilters as readonly string[]).includes(newsletter ?? '') ? (newsletter as NewsletterFilter) : undefined,
    openTracking: (openTrackingFilters as readonly string[]).includes(openTracking ?? '') ? (openTracking as OpenTrackingFilter) : undefined,
    ownerAgentId: c.req.query('owner')?.slice(0, 100) || undefined,
    sourceCampaign: c.req.query('campaign')?.slice(0, 200) || undefined,
    page: Number.parseInt(c.req.query('page') ?? '1', 10) || 1,
  };
}

function queryOf(f: ContactFilter, page?: number): string {
  const p = new URLSearchParams();
  if (f.q) p.set('q', f.q);
  if (f.newsletter) p.set('newsletter', f.newsletter);
  if (f.openTracking) p.set('openTracking', f.openTracking);
  if (f.ownerAgentId) p.set('owner', f.ownerAgentId);
  if (f.sourceCampaign) p.set('campaign', f.sourceCampaign);
  if (page && page > 1) p.set('page', String(page));
  const q = p.toString();
  return q ? `?${q}` : '';
}

function StatePill(props: { status: string | null; confirmedAt?: Date | null; newsletter?: boolean }) {
  const key = props.status === null ? 'none' : props.newsletter && props.status === 'granted' ? (props.confirmedAt ? 'confirmed' : 'pending') : props.status;
  const kind = key === 'confirmed' || (key === 'granted' && !props.newsletter) ? 'ok' : key === 'pending' ? 'warn' : key === 'withdrawn' || key === 'refused' ? 'err' : '';
  return <span class={`pill ${kind}`}>{s.states[key] ?? key}</span>;
}

function ContactRow({ r }: { r: ContactListRow }) {
  const name = fullName(r);
  const c = s.columns;
  return (
    <tr>
      <td data-label={c.name} class="ct-title">
        <a href={`/contacts/${r.id}`}>{name || s.unnamed}</a>
      </td>
      <td data-label={c.email} class="ct-email">
        {r.email}
      </td>
      <td data-label={c.phone} class="ct-nowrap">
        {r.phone ? formatPhone(r.phone) : '—'}
      </td>
      <td data-label={c.newsletter}>
        <StatePill status={r.newsletter} confirmedAt={r.newsletterConfirmedAt} newsletter />
      </td>
      <td data-label={c.openTracking}>
        <StatePill status={r.openTracking} />
      </td>
      <td data-label={c.owner}>{r.ownerAgentName ?? '—'}</td>
      <td data-label={c.lastAction} class="ct-nowrap">
        {when(r.lastProspectActionAt)}
      </td>
    </tr>
  );
}

// ---------------------------------------------------------------------------------------------
// Import: form state carried between the steps

function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function base64ToBytes(b64: string): Uint8Array | null {
  try {
    const binary = atob(b64.replace(/\s+/g, ''));
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

/**
 * The uploaded file as the next step's form carries it: gzip (a CSV shrinks 5 to 10 times, so
 * the round trips stay small), then base64 (so no byte changes on the way: a browser would
 * rewrite the line ends of a plain text field, and the file's SHA-256 with them).
 */
async function packFile(bytes: Uint8Array): Promise<string> {
  const gz = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream('gzip'));
  return bytesToBase64(new Uint8Array(await new Response(gz).arrayBuffer()));
}

/** The file back from the form; null when it is not what packFile wrote. Stops past the size limit (gzip bombs). */
async function unpackFile(packed: string): Promise<Uint8Array | null> {
  const gz = base64ToBytes(packed);
  if (!gz) return null;
  try {
    const reader = new Blob([gz as BlobPart]).stream().pipeThrough(new DecompressionStream('gzip')).getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      chunks.push(value);
      if (size > MAX_IMPORT_BYTES) {
        await reader.cancel();
        break; // readCsvFile refuses it with the size message
      }
    }
    const out = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    return out;
  } catch {
    return null;
  }
}

type MappingForm = Record<MappingColumn, string> & { channelDefault: string; scriptId: string };

function mappingFormOf(body: Record<string, unknown>): MappingForm {
  const out = {} as MappingForm;
  for (const k of mappingColumns) out[k] = formString(body, k);
  out.channelDefault = formString(body, 'channelDefault');
  out.scriptId = formString(body, 'scriptId');
  return out;
}

function mappingOf(form: MappingForm): ImportMapping {
  const col = (v: string) => (/^\d{1,4}$/.test(v) ? Number(v) : null);
  return {
    email: col(form.email),
    phone: col(form.phone),
    firstName: col(form.firstName),
    lastName: col(form.lastName),
    consent: col(form.consent),
    consentAt: col(form.consentAt),
    channel: col(form.channel),
    channelDefault: form.channelDefault === 'phone' || form.channelDefault === 'web' ? form.channelDefault : null,
    evidence: col(form.evidence),
    source: col(form.source),
    scriptId: form.scriptId,
  };
}

/** Row numbers as ranges ("2-500,502"): which rows this run imported, carried to the CSV report. */
function rangesOf(rows: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < rows.length; i++) {
    let j = i;
    while (j + 1 < rows.length && rows[j + 1] === rows[j]! + 1) j++;
    out.push(i === j ? String(rows[i]) : `${rows[i]}-${rows[j]}`);
    i = j;
  }
  return out.join(',');
}

/** Row numbers from "2-40,45"; never more than an import may hold, whatever the field says. */
function rowsOf(ranges: string): Set<number> {
  const out = new Set<number>();
  for (const part of ranges.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const [a, b] = [Number(m[1]), Number(m[2] ?? m[1])];
    for (let n = a; n <= b; n++) {
      if (out.size >= MAX_IMPORT_ROWS) return out;
      out.add(n);
    }
  }
  return out;
}

const columnLetter = (i: number) => (i < 26 ? String.fromCharCode(65 + i) : `${String.fromCharCode(64 + Math.floor(i / 26))}${String.fromCharCode(65 + (i % 26))}`);

function reasonText(r: RowReport): string {
  if (r.outcome === 'already_imported') return si.alreadyDetail;
  if (!r.reason) return '';
  let detail = r.detail ?? '';
  if (r.reason === 'newer_in_ledger') {
    const [status, at] = detail.split('@');
    detail = `${s.states[status ?? ''] ?? status} le ${at ? formatDateTime(new Date(at)) : '?'}`;
  }
  return si.reasons[r.reason]?.(detail) ?? r.reason;
}

function fileErrorText(e: Invalid): string {
  const m = si.fileErrors;
  switch (e.code) {
    case 'file_too_large':
      return m.file_too_large(MB);
    case 'too_many_rows':
      return m.too_many_rows(MAX_IMPORT_ROWS.toLocaleString('fr-FR'));
    case 'not_utf8':
    case 'empty_file':
    case 'no_header':
    case 'no_rows':
      return m[e.code];
    default:
      return e.message;
  }
}

function Steps({ current }: { current: number }) {
  return (
    <ol class="ct-steps" aria-label={si.steps}>
      {si.stepNames.map((name, i) => (
        <li aria-current={i === current ? 'step' : undefined} class={i < current ? 'done' : undefined}>
          <span class="ct-step-n">{i + 1}</span> {name}
          {i === current && <span class="sr-only"> ({si.currentStep})</span>}
        </li>
      ))}
    </ol>
  );
}

function HiddenFile(props: { b64: string; fileName: string }) {
  return (
    <>
      <input type="hidden" name="file" value={props.b64} />
      <input type="hidden" name="fileName" value={props.fileName} />
    </>
  );
}

function HiddenMapping({ form }: { form: MappingForm }) {
  return (
    <>
      {mappingColumns.map((k) => (
        <input type="hidden" name={k} value={form[k]} />
      ))}
      <input type="hidden" name="channelDefault" value={form.channelDefault} />
      <input type="hidden" name="scriptId" value={form.scriptId} />
    </>
  );
}

async function uploadPage(c: Context<AppEnv>, error?: string) {
  return c.html(
    <Layout title={si.title} viewer={await viewerOf(c)} current="/contacts" scripts={[IMPORT_SCRIPT]}>
      <p class="ct-back">
        <a href="/contacts">{sp.back}</a>
      </p>
      <h1>{si.title}</h1>
      <p class="lead">{si.intro}</p>
      <Steps current={0} />
      <form method="post" action="/contacts/import" enctype="multipart/form-data" class="card" id="ct-upload" data-max-bytes={String(MAX_IMPORT_BYTES)} data-too-large={si.tooLargeClient(MB)}>
        <input type="hidden" name="step" value="upload" />
        <label for="file">{si.file}</label>
        <input id="file" name="file" type="file" accept=".csv,text/csv" required aria-describedby="file-hint file-error" />
        <p class="muted small" id="file-hint">
          {si.fileHint(MB, MAX_IMPORT_ROWS.toLocaleString('fr-FR'))}
        </p>
        <div id="file-error" aria-live="polite">
          <FieldError id="file-error-text" message={error} />
        </div>
        <div class="actions">
          <button type="submit">{si.upload}</button>
        </div>
      </form>
    </Layout>,
    error ? 400 : 200,
  );
}

async function mappingPage(
  c: Context<AppEnv>,
  props: { csv: ParsedCsv; b64: string; fileName: string; form: MappingForm; scripts: ConsentScript[]; errors?: Record<string, string> },
) {
  const { csv, form, scripts, errors = {} } = props;
  const columnSelect = (key: MappingColumn, hint?: string) => (
    <div>
      <label for={`map-${key}`}>{si.fields[key]}</label>
      <select id={`map-${key}`} name={key} aria-describedby={[hint ? `map-${key}-hint` : '', errors[key] ? `${key}-error` : ''].filter(Boolean).join(' ') || undefined} aria-invalid={errors[key] ? 'true' : undefined}>
        <option value="">{si.columnNone}</option>
        {csv.header.map((h, i) => (
          <option value={String(i)} selected={form[key] === String(i)}>
            {columnLetter(i)} · {h || '—'}
          </option>
        ))}
      </select>
      {hint && (
        <p class="muted small" id={`map-${key}-hint`}>
          {hint}
        </p>
      )}
      <FieldError id={`${key}-error`} message={errors[key]} />
    </div>
  );
  const preview = csv.rows.slice(0, 5);
  return c.html(
    <Layout title={si.mappingTitle} viewer={await viewerOf(c)} current="/contacts" scripts={[IMPORT_SCRIPT]}>
      <p class="ct-back">
        <a href="/contacts/import">{si.another}</a>
      </p>
      <h1>{si.title}</h1>
      <Steps current={1} />
      <p class="muted ct-file">{si.fileSummary(props.fileName || 'fichier', csv.rows.length, csv.separator, csv.sha256)}</p>
      {Object.keys(errors).length > 0 && <Notice kind="err">{si.fixMapping}</Notice>}
      <form method="post" action="/contacts/import" enctype="multipart/form-data" data-working={si.working}>
        <HiddenFile b64={props.b64} fileName={props.fileName} />
        <section class="card">
          <h2>{si.mappingTitle}</h2>
          <p class="muted">{si.mappingIntro}</p>
          <fieldset class="plain">
            <legend>{si.identityLegend}</legend>
            <div class="grid two">
              {columnSelect('email')}
              {columnSelect('phone')}
              {columnSelect('firstName')}
              {columnSelect('lastName')}
            </div>
          </fieldset>
          <fieldset class="plain ct-consent">
            <legend>{si.consentLegend}</legend>
            <div class="grid two">
              {columnSelect('consent')}
              {columnSelect('consentAt', si.hints.consentAt)}
              {columnSelect('channel')}
              <div>
                <label for="map-channelDefault">{si.fields.channelDefault}</label>
                <select id="map-channelDefault" name="channelDefault">
                  {Object.entries(si.channelDefaults).map(([v, label]) => (
                    <option value={v} selected={form.channelDefault === v}>
                      {label}
                    </option>
                  ))}
                </select>
              </div>
              {columnSelect('evidence')}
              {columnSelect('source', si.hints.source)}
            </div>
            <label for="map-scriptId">{si.fields.scriptId}</label>
            {scripts.length === 0 ? (
              <Notice kind="err">{si.noScripts}</Notice>
            ) : (
              <select id="map-scriptId" name="scriptId" required aria-describedby={`map-scriptId-hint${errors.scriptId ? ' scriptId-error' : ''}`} aria-invalid={errors.scriptId ? 'true' : undefined}>
                {scripts.map((x) => (
                  <option value={x.id} selected={form.scriptId === x.id}>
                    {si.scriptOption(x.label, x.purpose, x.version, x.sha256.slice(0, 12))}
                  </option>
                ))}
              </select>
            )}
            <p class="muted small" id="map-scriptId-hint">
              {si.hints.scriptId}
            </p>
            <FieldError id="scriptId-error" message={errors.scriptId} />
          </fieldset>
        </section>
        <h2>{si.preview}</h2>
        <DataTable label={si.preview} headers={csv.header.map((h, i) => `${columnLetter(i)} · ${h}`)}>
          {preview.map((r) => (
            <tr>
              {csv.header.map((_, i) => (
                <td>{r.cells[i] ?? ''}</td>
              ))}
            </tr>
          ))}
        </DataTable>
        <div class="actions">
          <button type="submit" name="step" value="dryrun">
            {si.dryRun}
          </button>
        </div>
      </form>
    </Layout>,
    Object.keys(errors).length ? 400 : 200,
  );
}

async function reportPage(c: Context<AppEnv>, props: { analysis: ImportAnalysis; b64: string; fileName: string; form: MappingForm; done: boolean; importedRows: string }) {
  const { analysis: a, done } = props;
  // A long report shows the refused rows first (they need action), then the others, in file order.
  const shown =
    a.report.length <= REPORT_ROWS_SHOWN
      ? a.report
      : [...a.report.filter((r) => r.outcome === 'refused'), ...a.report.filter((r) => r.outcome !== 'refused')].slice(0, REPORT_ROWS_SHOWN).sort((x, y) => x.row - y.row);
  const pill = (o: string) => (o === 'refused' ? 'err' : o === 'already_imported' ? '' : o === 'imported' ? 'ok' : 'warn');
  return c.html(
    <Layout title={si.reportTitle} viewer={await viewerOf(c)} current="/contacts" scripts={[IMPORT_SCRIPT]}>
      <p class="ct-back">
        <a href="/contacts">{sp.back}</a>
      </p>
      <h1>{si.title}</h1>
      <Steps current={done ? 3 : 2} />
      {done ? <Notice kind="ok">{si.doneNotice(a.counts.imported)}</Notice> : <Notice kind="info">{si.dryRunNotice}</Notice>}
      <section class="card" id="import-summary">
        <h2>{si.reportTitle}</h2>
        <p class="muted ct-file">{si.fileSummary(props.fileName || 'fichier', a.file.rows, a.file.separator, a.file.sha256)}</p>
        <p>{si.purposeLine(a.script.label, a.purpose, a.script.version, a.script.sha256.slice(0, 12))}</p>
        <ul class="ct-counts">
          {(done ? (['imported', 'already_imported', 'refused'] as const) : (['accepted', 'already_imported', 'refused'] as const))
            .filter((k) => k !== 'already_imported' || a.counts[k] > 0)
            .map((k) => (
            <li class={`ct-count ${k}`}>
              <strong>{si.counts[k]!(a.counts[k])}</strong>
            </li>
          ))}
        </ul>
        <p class="muted">{done ? si.emailsSent(a.confirmationEmails) : a.purpose === 'newsletter' ? si.doubleOptIn(a.confirmationEmails, a.requireDoubleOptIn) : ''}</p>
        <form method="post" enctype="multipart/form-data" action="/contacts/import" data-working={si.working}>
          <HiddenFile b64={props.b64} fileName={props.fileName} />
          <HiddenMapping form={props.form} />
          <input type="hidden" name="imported" value={props.importedRows} />
          <div class="actions">
            {!done && a.counts.accepted > 0 && (
              <button type="submit" name="step" value="commit" data-commit>
                {si.commit(a.counts.accepted)}
              </button>
            )}
            <button type="submit" class="secondary" formaction="/contacts/import/report.csv" data-download>
              {si.downloadReport}
            </button>
            {!done && (
              <button type="submit" class="secondary" name="step" value="mapping">
                {si.changeMapping}
              </button>
            )}
            {done && (
              <a class="button secondary ct-secondary" href="/contacts/import">
                {si.another}
              </a>
            )}
          </div>
          {!done && a.counts.accepted === 0 && <p class="muted">{si.nothingToImport}</p>}
        </form>
      </section>
      {shown.length < a.report.length && <p class="muted">{si.shownRows(shown.length, a.report.length)}</p>}
      <DataTable class="ct-stack" label={si.reportTitle} headers={[si.row, si.email, si.outcome, si.reason]}>
        {shown.map((r) => (
          <tr class={`ct-${r.outcome}`}>
            <td data-label={si.row}>{r.row}</td>
            <td data-label={si.email} class="ct-email">{r.email || '—'}</td>
            <td data-label={si.outcome}><span class={`pill ${pill(r.outcome)}`}>{si.outcomes[r.outcome]}</span></td>
            <td data-label={si.reason}>{reasonText(r)}</td>
          </tr>
        ))}
      </DataTable>
    </Layout>,
  );
}

/** The file and mapping a step's form carries, or the reason it cannot be read. */
async function importFormOf(body: Record<string, unknown>): Promise<{ bytes: Uint8Array; b64: string; fileName: string; form: MappingForm } | null> {
  const b64 = formString(body, 'file');
  const bytes = b64 ? await unpackFile(b64) : null;
  if (!bytes) return null;
  return { bytes, b64, fileName: formString(body, 'fileName').slice(0, 200), form: mappingFormOf(body) };
}

function mappingErrors(e: Invalid): Record<string, string> {
  const out: Record<string, string> = {};
  for (const issue of e.issues) out[issue.field] = si.mappingErrors[issue.message] ?? issue.message;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Profile

function Profile({ p }: { p: ContactProfile }) {
  const c = p.contact;
  const attributes = Object.entries(c.attributes ?? {});
  return (
    <>
      <div class="grid ct-profile">
        <section class="card">
          <h2>{sp.identity}</h2>
          <dl class="kv">
            <dt>{sp.email}</dt>
            <dd>{c.email ?? '—'}</dd>
            <dt>{sp.phone}</dt>
            <dd>{c.phone ? formatPhone(c.phone) : '—'}</dd>
            <dt>{sp.owner}</dt>
            <dd>{c.ownerAgentName ?? '—'}</dd>
            <dt>{sp.sourceCampaign}</dt>
            <dd>{c.sourceCampaign ?? '—'}</dd>
            <dt>{sp.created}</dt>
            <dd>{when(c.createdAt)}</dd>
            <dt>{sp.lastAction}</dt>
            <dd>{when(c.lastProspectActionAt)}</dd>
            {attributes.length > 0 && (
              <>
                <dt>{sp.attributes}</dt>
                <dd>{attributes.map(([k, v]) => `${k} : ${String(v)}`).join(' · ')}</dd>
              </>
            )}
          </dl>
        </section>
        <section class="card">
          <h2>{sp.consents}</h2>
          {p.consents.length === 0 ? (
            <p class="muted">{sp.noConsent}</p>
          ) : (
            <dl class="kv">
              {p.consents.map((x) => (
                <>
                  <dt>{x.purpose === 'newsletter' ? s.newsletter : x.purpose === 'open_tracking' ? s.openTracking : x.purpose}</dt>
                  <dd>
                    <StatePill status={x.status} confirmedAt={x.confirmedAt} newsletter={x.purpose === 'newsletter'} /> <span class="muted small">{`${sp.since} ${when(x.since)}`}</span>
                    {x.confirmedAt && <span class="muted small"> · {`${sp.confirmedAt} ${when(x.confirmedAt)}`}</span>}
                  </dd>
                </>
              ))}
            </dl>
          )}
        </section>
      </div>

      <h2 class="spaced" id="ledger">
        {sp.ledger}
      </h2>
      <p class="muted">{sp.ledgerIntro}</p>
      {p.ledger.length === 0 ? (
        <p class="muted">{sp.noLedger}</p>
      ) : (
        <DataTable class="ct-stack" label={sp.ledger} headers={[sp.seq, sp.when, sp.purpose, sp.action, sp.channel, sp.actor, sp.script, sp.evidence, sp.hash]}>
          {p.ledger.map((e) => (
            <tr>
              <td data-label={sp.seq}>{e.seq}</td>
              <td data-label={sp.when} class="ct-nowrap">
                {when(e.occurredAt)}
              </td>
              <td data-label={sp.purpose}>{e.purpose}</td>
              <td data-label={sp.action}>
                <strong>{sp.actions[e.action] ?? e.action}</strong>
              </td>
              <td data-label={sp.channel}>
                {sp.channels[e.channel] ?? e.channel}
                {e.callRef && <div class="muted small">réf. {e.callRef}</div>}
              </td>
              <td data-label={sp.actor}>{e.actorName ?? sp.actorTypes[e.actorType] ?? e.actorType}</td>
              <td data-label={sp.script} class="ct-script">
                {e.script ? sp.scriptVersion(e.script.label ?? '', e.script.version ?? 0, (e.script.sha256 ?? '').slice(0, 12)) : '—'}
              </td>
              <td data-label={sp.evidence} class="ct-evidence small">
                {e.evidence ? Object.entries(e.evidence).map(([k, v]) => <div>{`${k} : ${v}`}</div>) : '—'}
              </td>
              <td data-label={sp.hash}>
                <code class="ct-hash" title={e.hash}>
                  {e.hash.slice(0, 16)}…
                </code>
              </td>
            </tr>
          ))}
        </DataTable>
      )}

      <h2 class="spaced">{sp.sends}</h2>
      {p.sends.length === 0 ? (
        <p class="muted">{sp.noSends}</p>
      ) : (
        <>
          <DataTable class="ct-stack" label={sp.sends} headers={[sp.campaign, sp.sendStatus, sp.delivery, sp.opens, sp.clicks, sp.conversionsShort]}>
            {p.sends.map((x) => (
              <tr>
                <td data-label={sp.campaign}>
                  {x.campaign}
                  <div class="muted small">{when(x.sentAt ?? x.createdAt)}</div>
                </td>
                <td data-label={sp.sendStatus}>{sp.sendStatuses[x.status] ?? x.status}</td>
                <td data-label={sp.delivery}>
                  {x.bouncedAt ? (
                    <span class="pill err">{sp.bounced}</span>
                  ) : x.deliveredAt ? (
                    <span class="pill ok">{sp.delivered}</span>
                  ) : x.status === 'sent' ? (
                    <span class="pill">{sp.pendingDelivery}</span>
                  ) : (
                    '—'
                  )}
                  {x.complainedAt && <span class="pill err">{sp.complained}</span>}
                  {x.unsubscribedAt && <span class="pill warn">{sp.unsubscribed}</span>}
                </td>
                <td data-label={sp.opens}>{x.tracksOpens ? `${x.humanOpens} / ${x.machineOpens}` : <span class="muted">{sp.notTracked}</span>}</td>
                <td data-label={sp.clicks}>{`${x.humanClicks} / ${x.machineClicks}`}</td>
                <td data-label={sp.conversionsShort}>{x.conversions ? `${x.conversions} (${formatEuros(x.conversionValue)})` : '0'}</td>
              </tr>
            ))}
          </DataTable>
          {p.sends.length >= PROFILE_LIMIT && <p class="muted small">{sp.limited(PROFILE_LIMIT)}</p>}
        </>
      )}

      <h2 class="spaced">{sp.activity}</h2>
      <p class="muted">{sp.activityIntro}</p>
      {p.activity.length === 0 ? (
        <p class="muted">{sp.noActivity}</p>
      ) : (
        <DataTable label={sp.activity} headers={[sp.when, sp.campaign, sp.type, sp.verdict, sp.hits]}>
          {p.activity.map((e) => (
            <tr>
              <td class="ct-nowrap">{when(e.occurredAt)}</td>
              <td>{e.campaign}</td>
              <td>
                {sp.types[e.type] ?? e.type}
                {e.type === 'click' && e.linkIndex !== null && <span class="muted small"> · {sp.link(e.linkIndex)}</span>}
              </td>
              <td>
                {e.machine ? <span class="pill warn">{sp.machine}</span> : <span class="pill ok">{sp.human}</span>}
                {e.machineReason && <span class="muted small"> {e.machineReason}</span>}
              </td>
              <td>{e.hits}</td>
            </tr>
          ))}
        </DataTable>
      )}

      <h2 class="spaced">{sp.conversions}</h2>
      {p.conversions.length === 0 ? (
        <p class="muted">{sp.noConversions}</p>
      ) : (
        <DataTable label={sp.conversions} headers={[sp.when, sp.conversionType, sp.value, sp.campaign, sp.attribution]}>
          {p.conversions.map((x) => (
            <tr>
              <td class="ct-nowrap">{when(x.occurredAt)}</td>
              <td>{t.conversion.types[x.type] ?? x.type}</td>
              <td>{x.currency === 'EUR' ? formatEuros(x.value) : `${(x.value / 100).toFixed(2)} ${x.currency}`}</td>
              <td>{x.campaign ?? '—'}</td>
              <td>{t.conversion.rules[x.attribution] ?? x.attribution}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </>
  );
}

// ---------------------------------------------------------------------------------------------
// Routes

export const contactPages = new Hono<AppEnv>()
  .get('/contacts', admin, async (c) => {
    const ctx = ctxOf(c);
    const f = filterOf(c);
    const [list, choices] = await Promise.all([listContacts({ ctx, input: f }), directoryChoices({ ctx })]);
    const filtered = Boolean(f.q || f.newsletter || f.openTracking || f.ownerAgentId || f.sourceCampaign);
    return c.html(
      <Layout title={s.title} viewer={await viewerOf(c)} current="/contacts">
        <div class="ct-head">
          <h1>{s.title}</h1>
          <a class="button secondary ct-secondary" href="/contacts/import">
            {s.importLink}
          </a>
        </div>
        <p class="lead">{s.intro}</p>
        <form method="get" action="/contacts" class="card ct-filters" role="search" aria-label={s.filters}>
          <div class="ct-q">
            <label for="q">{s.q}</label>
            <input id="q" name="q" type="search" value={f.q ?? ''} aria-describedby="q-hint" autocomplete="off" />
            <p class="muted small" id="q-hint">
              {s.qHint}
            </p>
          </div>
          <div class="ct-selects">
            <div>
              <label for="newsletter">{s.newsletter}</label>
              <select id="newsletter" name="newsletter">
                <option value="">{s.any}</option>
                {newsletterFilters.map((v) => (
                  <option value={v} selected={f.newsletter === v}>
                    {s.states[v]}
                  </option>
                ))}
              </select>
            </div>
            <div>
              <label for="openTracking">{s.openTracking}</label>
              <select id="openTracking" name="openTracking">
                <option value="">{s.any}</option>
                {openTrackingFilters.map((v) => (
                  <option value={v} selected={f.openTracking === v}>
                    {s.states[v]}
                  </option>
                ))}
              </select>
            </div>
            <div>
              <label for="owner">{s.owner}</label>
              <select id="owner" name="owner">
                <option value="">{s.any}</option>
                {choices.agents.map((a) => (
                  <option value={a.id} selected={f.ownerAgentId === a.id}>
                    {a.name}
                  </option>
                ))}
              </select>
            </div>
            <div>
              <label for="campaign">{s.sourceCampaign}</label>
              <select id="campaign" name="campaign">
                <option value="">{s.any}</option>
                {choices.sourceCampaigns.map((name) => (
                  <option value={name} selected={f.sourceCampaign === name}>
                    {name}
                  </option>
                ))}
              </select>
            </div>
          </div>
          <div class="actions">
            <button type="submit">{s.apply}</button>
            {filtered && (
              <a class="button secondary ct-secondary" href="/contacts">
                {s.reset}
              </a>
            )}
          </div>
        </form>
        <div class="ct-bar">
          <p class="ct-total" aria-live="polite">
            <strong>{s.count(list.total)}</strong>
            {list.pageCount > 1 && <span class="muted"> · {s.pageOf(list.page, list.pageCount)}</span>}
          </p>
          {list.total > 0 && (
            <a class="button secondary ct-secondary" href={`/contacts/export.csv${queryOf(f)}`} download>
              {s.exportCsv}
            </a>
          )}
        </div>
        {list.total === 0 ? (
          <section class="card ct-empty">
            <h2>{s.emptyTitle}</h2>
            <p class="muted">{filtered ? s.emptyFiltered : s.emptyWorkspace}</p>
            {!filtered && (
              <a class="button secondary ct-secondary" href="/contacts/import">
                {s.importLink}
              </a>
            )}
          </section>
        ) : (
          <>
            <DataTable class="ct-stack" label={s.title} headers={[s.columns.name, s.columns.email, s.columns.phone, s.columns.newsletter, s.columns.openTracking, s.columns.owner, s.columns.lastAction]}>
              {list.rows.map((r) => (
                <ContactRow r={r} />
              ))}
            </DataTable>
            <p class="muted small">{s.exportHint}</p>
            {list.pageCount > 1 && (
              <nav class="ct-pages" aria-label={s.pagination}>
                {list.page > 1 ? <a href={`/contacts${queryOf(f, list.page - 1)}`} rel="prev">{`← ${s.previous}`}</a> : <span />}
                <span class="muted">{s.pageOf(list.page, list.pageCount)}</span>
                {list.page < list.pageCount ? <a href={`/contacts${queryOf(f, list.page + 1)}`} rel="next">{`${s.next} →`}</a> : <span />}
              </nav>
            )}
          </>
        )}
      </Layout>,
    );
  })
  .get('/contacts/export.csv', admin, async (c) => {
    const { page: _page, ...f } = filterOf(c);
    const { stream: body } = await exportContacts({ ctx: ctxOf(c), input: f });
    const day = ctxOf(c).clock.now().toISOString().slice(0, 10);
    c.header('Content-Type', 'text/csv; charset=utf-8');
    c.header('Content-Disposition', `attachment; filename="contacts-${day}.csv"`);
    return stream(c, async (out) => {
      await out.pipe(body);
    });
  })
  .get('/contacts/import', admin, (c) => uploadPage(c))
  .post('/contacts/import', admin, async (c) => {
    const ctx = ctxOf(c);
    const body = await c.req.parseBody();
    const step = formString(body, 'step');
    if (step === 'upload' || body.file instanceof File) {
      const file = body.file;
      if (!(file instanceof File) || file.size === 0) return uploadPage(c, si.fileRequired);
      const bytes = new Uint8Array(await file.arrayBuffer());
      let csv: ParsedCsv;
      try {
        csv = await readCsvFile(bytes);
      } catch (e) {
        if (e instanceof Invalid) return uploadPage(c, fileErrorText(e));
        throw e;
      }
      const scripts = await allScripts(ctx.db, ctx.workspaceId);
      const guess = guessMapping(csv.header);
      const form = {} as MappingForm;
      for (const k of mappingColumns) form[k] = guess[k] === null ? '' : String(guess[k]);
      form.channelDefault = '';
      form.scriptId = scripts.find((x) => x.purpose === 'newsletter')?.id ?? scripts[0]?.id ?? '';
      return mappingPage(c, { csv, b64: await packFile(bytes), fileName: file.name.slice(0, 200), form, scripts });
    }
    const state = await importFormOf(body);
    if (!state) return uploadPage(c, si.fileRequired);
    const scripts = await allScripts(ctx.db, ctx.workspaceId);
    let csv: ParsedCsv;
    try {
      csv = await readCsvFile(state.bytes);
    } catch (e) {
      if (e instanceof Invalid) return uploadPage(c, fileErrorText(e));
      throw e;
    }
    if (step === 'mapping') return mappingPage(c, { csv, ...state, scripts });
    const input = { file: state.bytes, fileName: state.fileName, mapping: mappingOf(state.form) };
    try {
      if (step === 'commit') {
        const analysis = await commitImport({ ctx, input });
        const imported = rangesOf(analysis.report.filter((r) => r.outcome === 'imported').map((r) => r.row));
        return reportPage(c, { analysis, ...state, done: true, importedRows: imported });
      }
      const { analysis } = await analyseImport({ ctx, input });
      return reportPage(c, { analysis, ...state, done: false, importedRows: '' });
    } catch (e) {
      if (e instanceof Invalid && e.code === 'invalid_mapping') return mappingPage(c, { csv, ...state, scripts, errors: mappingErrors(e) });
      if (e instanceof Invalid) return uploadPage(c, fileErrorText(e));
      throw e;
    }
  })
  .post('/contacts/import/report.csv', admin, async (c) => {
    const body = await c.req.parseBody();
    const state = await importFormOf(body);
    if (!state) return c.redirect('/contacts/import', 303);
    const { analysis } = await analyseImport({ ctx: ctxOf(c), input: { file: state.bytes, fileName: state.fileName, mapping: mappingOf(state.form) } });
    // After an import, the rows this run wrote read "imported" (the dry run now sees them as done).
    const importedNow = rowsOf(formString(body, 'imported'));
    const report = analysis.report.map((r) => (importedNow.has(r.row) && r.outcome === 'already_imported' ? { ...r, outcome: 'imported' as const } : r));
    const words = (r: RowReport) => (r.outcome === 'imported' ? '' : reasonText(r));
    c.header('Content-Type', 'text/csv; charset=utf-8');
    c.header('Content-Disposition', `attachment; filename="import-${analysis.file.sha256.slice(0, 12)}-rapport.csv"`);
    return c.body(reportToCsv(report, words));
  })
  .get('/contacts/:id', admin, async (c) => {
    const p = await contactProfile({ ctx: ctxOf(c), input: { id: c.req.param('id') } });
    const name = fullName(p.contact) || p.contact.email || s.unnamed;
    return c.html(
      <Layout title={p.erased ? sp.erasedTitle : name} viewer={await viewerOf(c)} current="/contacts">
        <p class="ct-back">
          <a href="/contacts">{sp.back}</a>
        </p>
        <div class="ct-head">
          <h1>{p.erased ? sp.erasedTitle : name}</h1>
          {!p.erased && (
            <a class="button secondary ct-secondary" href={`/admin/contacts/${p.contact.id}/proof`}>
              {sp.proof}
            </a>
          )}
        </div>
        {p.erased && <Notice kind="info">{sp.erased(when(p.contact.erasedAt))}</Notice>}
        {!p.erased && p.suppression && <Notice kind="info">{sp.suppressed(p.suppression.reason, when(p.suppression.since))}</Notice>}
        <Profile p={p} />
        {!p.erased && <RightsCard contactId={p.contact.id} />}
      </Layout>,
    );
  });

/** Styles of these pages, appended to /assets/app.css. */
export const contactsCss = `
.ct-head{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center;justify-content:space-between}
.ct-head h1{margin:0}
.ct-back{margin:0 0 8px;font-size:14px}
.ct-filters{display:grid;gap:0 24px;grid-template-columns:minmax(240px,1fr) 2fr}
.ct-filters .actions{grid-column:1/-1}
.ct-selects{display:grid;gap:0 16px;grid-template-columns:repeat(auto-fit,minmax(150px,1fr))}
.ct-q input{max-width:none}
.ct-bar{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center;justify-content:space-between;margin:8px 0 12px;min-height:42px}
.ct-bar p{margin:0}
.ct-email{overflow-wrap:anywhere;min-width:12ch}
.ct-nowrap{white-space:nowrap}
.ct-pages{display:flex;justify-content:space-between;align-items:center;gap:12px;margin:16px 0}
.ct-empty{text-align:center;padding:32px 20px}
.ct-steps{list-style:none;display:flex;flex-wrap:wrap;gap:6px 20px;padding:0;margin:12px 0 8px;color:var(--muted);font-size:14px}
.ct-steps li{display:flex;align-items:center;gap:6px}
.ct-steps li[aria-current=step]{color:var(--ink);font-weight:700}
.ct-step-n{display:inline-flex;align-items:center;justify-content:center;width:24px;height:24px;border-radius:50%;border:2px solid var(--line);font-size:13px}
.ct-steps li[aria-current=step] .ct-step-n{border-color:var(--brand);background:var(--brand);color:#fff}
.ct-steps li.done .ct-step-n{border-color:var(--ok);color:var(--ok)}
.ct-file{font-size:13px;overflow-wrap:anywhere}
.ct-consent{margin-top:20px;padding-top:8px;border-top:1px solid var(--line)}
.ct-counts{list-style:none;padding:0;margin:12px 0;display:flex;flex-wrap:wrap;gap:8px}
.ct-count{padding:8px 12px;border-radius:8px;background:#f0f4f8}
.ct-count.accepted,.ct-count.imported{background:#e3f9e5;color:#05400a}
.ct-count.refused{background:#ffe3e3;color:#610404}
.ct-script{min-width:16ch}
.ct-evidence{min-width:22ch;overflow-wrap:anywhere}
.ct-hash{font-size:12px}
main .table-wrap .pill{white-space:nowrap}
a.button.ct-secondary{background:#fff;color:var(--brand)}
@media (max-width:700px){
.ct-filters{grid-template-columns:1fr}
.ct-profile dl.kv{grid-template-columns:1fr;gap:0}.ct-profile dl.kv dt{font-size:13px;margin-top:8px}
.ct-stack table,.ct-stack tbody,.ct-stack tr,.ct-stack td{display:block}
.ct-stack thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.ct-stack tr{padding:10px 12px;border-bottom:1px solid var(--line)}
.ct-stack td{border:none;padding:3px 0 3px 38%;position:relative;min-height:1.5em;white-space:normal;overflow-wrap:anywhere}
.ct-stack td::before{content:attr(data-label);position:absolute;left:0;width:35%;color:var(--muted);font-size:13px;overflow-wrap:normal}
.ct-stack td.ct-title{font-weight:600;font-size:1.05rem;padding-left:0}.ct-stack td.ct-title::before{content:none}
}
`;
