/**
 * Importing leads from a CSV file, with their consent. GDPR Art. 7(1): the controller must be able
 * to demonstrate each consent, so a row is imported only when it says yes, when (a real date, not
 * in the future, not beyond the retention period), how it was collected (a phone call with its
 * reference, or a web form with its URL), and which wording was presented (a script version of
 * the workspace chosen by the admin: the copy of the information presented, EDPB 05/2020 §108).
 * Every other row is refused with its number and the reason, never imported silently.
 *
 * `analyseImport` is the dry run (reads only); `commitImport` writes the accepted rows in batches,
 * one transaction per batch (contacts, ledger events, idempotency records, confirmation emails,
 * audit entry), so a failure leaves no half-written batch. The same file imported twice writes
 * nothing the second time: each row has an idempotency key built from the file's SHA-256, the
 * purpose and the row number.
 */
import { and, eq, inArray, isNull } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { consentState, contacts, idempotencyKeys, memberships, suppressions, users, type ConsentChannel } from '../../db/schema.js';
import type { OutgoingEmail } from '../../email/mailer.js';
import { sha256Hex } from '../../lib/crypto.js';
import { csvField } from '../../lib/csv.js';
import { newId } from '../../lib/ids.js';
import { recordAudit } from '../audit/record.js';
import { appendConsentEvents, canonicalJson, type NewConsentEvent } from '../consent/chain.js';
import { confirmationEmail } from '../consent/confirmation.js';
import { allScripts, type ConsentScript } from '../consent/scripts.js';
import { actorRef, type Ctx } from '../context.js';
import { Invalid, type FieldIssue } from '../errors.js';
import { emailHashWith, suppressionKey } from '../privacy/suppressions.js';
import { getWorkspace } from '../workspaces/workspaces.js';
import { normaliseEmail, normalisePhone } from './normalise.js';

export const MAX_IMPORT_BYTES = 5 * 1024 * 1024;
export const MAX_IMPORT_ROWS = 50_000;
/** Rows per write transaction: short enough not to hold SQLite's write lock for long. */
export const IMPORT_BATCH = 500;
/** Clock skew tolerated on a consent date. */
const FUTURE_TOLERANCE_MS = 5 * 60 * 1000;
/** `idempotency_keys.route` of imported rows: a permanent record (re-importing a file writes nothing), never purged. */
export const IMPORT_IDEMPOTENCY_ROUTE = 'contacts.import';
const ROUTE = IMPORT_IDEMPOTENCY_ROUTE;

// ---------------------------------------------------------------------------------------------
// The file

export interface CsvRow {
  /** The row's number as a spreadsheet shows it: the header is row 1. */
  n: number;
  cells: string[];
}

export interface ParsedCsv {
  separator: ',' | ';';
  header: string[];
  rows: CsvRow[];
  sha256: string;
  bytes: number;
}

/**
 * Reads an uploaded CSV: UTF-8 (a BOM is fine), a header row, `;` or `,` as separator (whichever
 * the header uses more), RFC 4180 quoting. Throws `Invalid` naming the problem for the whole file.
 */
export async function readCsvFile(bytes: Uint8Array): Promise<ParsedCsv> {
  if (bytes.byteLength > MAX_IMPORT_BYTES) {
    throw new Invalid('file_too_large', `The file is ${(bytes.byteLength / 1048576).toFixed(1)} MB; the limit is ${MAX_IMPORT_BYTES / 1048576} MB. Split it into several files.`, [
      { field: 'file', message: 'file_too_large' },
    ]);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new Invalid('not_utf8', 'The file is not UTF-8 text (save it as "CSV UTF-8").', [{ field: 'file', message: 'not_utf8' }]);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (!text.trim()) throw new Invalid('empty_file', 'The file is empty.', [{ field: 'file', message: 'empty_file' }]);
  const separator = detectSeparator(text);
  const records = parseCsv(text, separator);
  const header = (records.shift() ?? []).map((h) => h.trim());
  if (header.length === 0 || header.every((h) => !h)) throw new Invalid('no_header', 'The first row must name the columns.', [{ field: 'file', message: 'no_header' }]);
  const rows: CsvRow[] = [];
  records.forEach((cells, i) => {
    if (cells.some((c) => c.trim() !== '')) rows.push({ n: i + 2, cells });
  });
  if (rows.length === 0) throw new Invalid('no_rows', 'The file has a header but no rows.', [{ field: 'file', message: 'no_rows' }]);
  if (rows.length > MAX_IMPORT_ROWS) {
    throw new Invalid('too_many_rows', `The file has ${rows.length} rows; the limit is ${MAX_IMPORT_ROWS}. Split it into several files.`, [{ field: 'file', message: 'too_many_rows' }]);
  }
  return { separator, header, rows, sha256: await sha256HexBytes(bytes), bytes: bytes.byteLength };
}

async function sha256HexBytes(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as BufferSource));
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** The separator the header line uses more (outside quotes); a comma when it uses neither. */
export function detectSeparator(text: string): ',' | ';' {
  let commas = 0;
  let semicolons = 0;
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === '\n' || ch === '\r')) break;
    else if (!quoted && ch === ',') commas++;
    else if (!quoted && ch === ';') semicolons++;
  }
  return semicolons > commas ? ';' : ',';
}

/** RFC 4180 records (quoted fields may hold separators, quotes doubled, and line breaks). */
export function parseCsv(text: string, separator: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === separator) {
      record.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      records.push(record);
      record = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || record.length) {
    record.push(field);
    records.push(record);
  }
  return records;
}

// ---------------------------------------------------------------------------------------------
// The mapping

/** Which column (0-based index) holds what; null when the file has no such column. */
export interface ImportMapping {
  email: number | null;
  phone: number | null;
  firstName: number | null;
  lastName: number | null;
  /** Consent given: oui/non, yes/no, 1/0… */
  consent: number | null;
  /** When it was given: ISO 8601 or dd/mm/yyyy [hh:mm], Paris time unless an offset is given. */
  consentAt: number | null;
  /** How it was collected: "téléphone"/"phone" or "web"/"formulaire" per row… */
  channel: number | null;
  /** …or the same for every row (used when the column is absent or the cell empty). */
  channelDefault: 'phone' | 'web' | null;
  /** The call reference (phone) or the form's URL (web). */
  evidence: number | null;
  /** The agent (a member's login email) or the source that collected it. */
  source: number | null;
  /** The script version whose text was presented; its purpose is the purpose imported. */
  scriptId: string;
}

export const mappingColumns = ['email', 'phone', 'firstName', 'lastName', 'consent', 'consentAt', 'channel', 'evidence', 'source'] as const;
export type MappingColumn = (typeof mappingColumns)[number];

const strip = (s: string) =>
  s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();

const guesses: Record<MappingColumn, RegExp> = {
  email: /^(e ?mail|courriel|adresse e ?mail|mail|email address)$/,
  phone: /^(tel|telephone|phone|mobile|portable|numero|phone number|telephone mobile)$/,
  firstName: /^(prenom|first ?name|given name)$/,
  lastName: /^(nom|nom de famille|last ?name|family name|surname)$/,
  consent: /(consent|opt ?in|accord|newsletter)/,
  consentAt: /(date|horodatage|timestamp|quand|collected at|consent at)/,
  channel: /^(canal|channel|mode|mode de collecte|collecte|origine du consentement)$/,
  evidence: /(ref|reference|appel|call|url|formulaire|form|preuve)/,
  source: /(agent|teleacteur|conseiller|source|collecte par|owner)/,
};

/** A first guess of the mapping from the header's names (the admin checks and corrects it). */
export function guessMapping(header: string[]): Record<MappingColumn, number | null> {
  const taken = new Set<number>();
  const out = {} as Record<MappingColumn, number | null>;
  for (const key of mappingColumns) {
    const i = header.findIndex((h, idx) => !taken.has(idx) && guesses[key].test(strip(h)));
    out[key] = i >= 0 ? i : null;
    if (i >= 0) taken.add(i);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading one row

export const refusalCodes = [
  'no_consent_column',
  'consent_missing',
  'consent_no',
  'consent_unreadable',
  'no_date_column',
  'date_missing',
  'date_invalid',
  'date_future',
  'date_expired',
  'script_after_consent',
  'channel_missing',
  'channel_unknown',
  'call_ref_missing',
  'form_url_missing',
  'form_url_invalid',
  'email_missing',
  'email_invalid',
  'phone_invalid',
  'duplicate_in_file',
  'suppressed',
  'newer_in_ledger',
] as const;
export type RefusalCode = (typeof refusalCodes)[number];

export type RowOutcome = 'accepted' | 'refused' | 'already_imported' | 'imported';

export interface RowReport {
  row: number;
  /** As written in the file (normalised when valid). */
  email: string;
  outcome: RowOutcome;
  reason: RefusalCode | null;
  /** Detail for the reason (the date read, the other row…), for the message. */
  detail: string | null;
}

interface Prepared {
  row: number;
  email: string;
  emailHash: string;
  phone: string | null;
  firstName: string | null;
  lastName: string | null;
  occurredAt: Date;
  channel: 'phone' | 'web';
  evidenceRef: string;
  agent: { id: string; name: string } | null;
  source: string | null;
  idempotencyKey: string;
  /** Filled by the ledger check: the live contact with this address, if any. */
  existing: { id: string; confirmed: boolean } | null;
}

const YES = new Set(['oui', 'o', 'yes', 'y', 'true', 'vrai', '1', 'x', 'ok', 'accepte', 'acceptee', 'accord', 'd accord', 'granted', 'opt in', 'optin', 'consent', 'consenti']);
const NO = new Set(['non', 'n', 'no', 'false', 'faux', '0', 'refuse', 'refusee', 'refused', 'opt out', 'optout', 'desinscrit']);
const PHONE = new Set(['phone', 'telephone', 'tel', 'appel', 'call', 'telephonique', 'appel telephonique', 'phone call', 'teleprospection']);
const WEB = new Set(['web', 'formulaire', 'form', 'site', 'site web', 'internet', 'en ligne', 'online', 'formulaire web', 'web form']);

/** Offset of Europe/Paris from UTC at a moment, in minutes (CET +60, CEST +120). */
let parisFormat: Intl.DateTimeFormat | undefined;
function parisOffsetMinutes(at: Date): number {
  // One formatter for every row: building one costs far more than using it.
  parisFormat ??= new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
  const parts = parisFormat.formatToParts(at);
  const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  const local = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'));
  return Math.round((local - Math.floor(at.getTime() / 60000) * 60000) / 60000);
}

/** A consent date: ISO 8601 (with or without time and offset) or French dd/mm/yyyy [hh:mm[:ss]]; null when unreadable. */
export function parseConsentDate(input: string): Date | null {
  const s = input.trim();
  let y: number, mo: number, d: number, h = 0, mi = 0, se = 0;
  let offset: string | undefined;
  const iso = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?\s*(Z|[+-]\d{2}:?\d{2})?)?$/i.exec(s);
  const fr = /^(\d{1,2})[/.](\d{1,2})[/.](\d{4})(?:[ T,]+(\d{1,2})[:h](\d{2})(?::(\d{2}))?)?$/i.exec(s);
  if (iso) {
    [y, mo, d] = [Number(iso[1]), Number(iso[2]), Number(iso[3])];
    if (iso[4]) [h, mi, se] = [Number(iso[4]), Number(iso[5]), Number(iso[6] ?? 0)];
    offset = iso[7];
  } else if (fr) {
    [d, mo, y] = [Number(fr[1]), Number(fr[2]), Number(fr[3])];
    if (fr[4]) [h, mi, se] = [Number(fr[4]), Number(fr[5]), Number(fr[6] ?? 0)];
  } else return null;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59 || y < 1970) return null;
  const wall = Date.UTC(y, mo - 1, d, h, mi, se);
  const check = new Date(wall);
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return null; // 31/02
  if (offset) {
    if (offset.toUpperCase() === 'Z') return new Date(wall);
    const m = /^([+-])(\d{2}):?(\d{2})$/.exec(offset)!;
    const minutes = (Number(m[2]) * 60 + Number(m[3])) * (m[1] === '-' ? -1 : 1);
    return new Date(wall - minutes * 60000);
  }
  // A wall-clock time in Paris: take the offset at that moment (twice, across a DST change).
  let utc = wall - parisOffsetMinutes(new Date(wall)) * 60000;
  utc = wall - parisOffsetMinutes(new Date(utc)) * 60000;
  return new Date(utc);
}

function cell(row: CsvRow, column: number | null): string {
  const value = column === null ? '' : (row.cells[column] ?? '').trim();
  // Our own exports write '+336… so that spreadsheets do not run it as a formula: read it back.
  return /^'[=+\-@]/.test(value) ? value.slice(1) : value;
}

// ---------------------------------------------------------------------------------------------
// The dry run

export interface ImportInput {
  file: Uint8Array;
  fileName?: string | undefined;
  mapping: ImportMapping;
}

export interface ImportAnalysis {
  file: { sha256: string; name: string | null; bytes: number; separator: ',' | ';'; header: string[]; rows: number };
  script: ConsentScript;
  purpose: string;
  /** Every row, in file order. */
  report: RowReport[];
  counts: Record<'accepted' | 'refused' | 'already_imported' | 'imported', number>;
  /** Newsletter grants collected by phone get the double opt-in email, as a capture does. */
  confirmationEmails: number;
  requireDoubleOptIn: boolean;
}

function checkMapping(mapping: ImportMapping, header: string[], scripts: ConsentScript[]): ConsentScript {
  const issues: FieldIssue[] = [];
  for (const key of mappingColumns) {
    const v = mapping[key];
    if (v !== null && (!Number.isInteger(v) || v < 0 || v >= header.length)) issues.push({ field: key, message: 'not_a_column' });
  }
  if (mapping.email === null) issues.push({ field: 'email', message: 'required' });
  const script = scripts.find((s) => s.id === mapping.scriptId);
  if (!script) issues.push({ field: 'scriptId', message: 'required' });
  if (issues.length) throw new Invalid('invalid_mapping', `Invalid mapping: ${issues.map((i) => `${i.field} ${i.message}`).join('; ')}`, issues);
  return script!;
}

/**
 * Admin only. The dry run of an import: reads the file, applies the mapping and says, row by row,
 * what importing would do (accepted, refused with the reason, already imported). Writes nothing.
 * Throws `Invalid` for a problem with the whole file (size, encoding, row count) or the mapping.
 */
export async function analyseImport({ ctx, input }: { ctx: Pick<Ctx, 'db' | 'workspaceId' | 'clock'>; input: ImportInput }) {
  const csv = await readCsvFile(input.file);
  const scripts = await allScripts(ctx.db, ctx.workspaceId);
  const script = checkMapping(input.mapping, csv.header, scripts);
  const workspace = await getWorkspace({ ctx });
  const members = await ctx.db
    .select({ id: users.id, email: users.email, name: users.name })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.workspaceId, ctx.workspaceId));
  const memberByEmail = new Map(members.map((m) => [m.email, m]));
  const key = await suppressionKey(ctx.db, ctx.workspaceId);
  const now = ctx.clock.now();
  const oldest = now.getTime() - workspace.settings.retentionDays * 86400_000;
  const m = input.mapping;

  const report: RowReport[] = [];
  const prepared = new Map<number, Prepared>();
  const firstRowOf = new Map<string, number>();
  for (const row of csv.rows) {
    const rawEmail = cell(row, m.email);
    const refuse = (reason: RefusalCode, detail: string | null = null) => report.push({ row: row.n, email: rawEmail, outcome: 'refused', reason, detail });
    const email = rawEmail ? normaliseEmail(rawEmail) : null;
    if (!rawEmail) {
      refuse('email_missing');
      continue;
    }
    if (!email) {
      refuse('email_invalid');
      continue;
    }
    const rawPhone = cell(row, m.phone);
    const phone = rawPhone ? normalisePhone(rawPhone) : null;
    if (rawPhone && !phone) {
      refuse('phone_invalid', rawPhone);
      continue;
    }
    if (m.consent === null) {
      refuse('no_consent_column');
      continue;
    }
    const answer = strip(cell(row, m.consent));
    if (!answer) {
      refuse('consent_missing');
      continue;
    }
    if (NO.has(answer)) {
      refuse('consent_no');
      continue;
    }
    if (!YES.has(answer)) {
      refuse('consent_unreadable', cell(row, m.consent));
      continue;
    }
    if (m.consentAt === null) {
      refuse('no_date_column');
      continue;
    }
    const rawDate = cell(row, m.consentAt);
    if (!rawDate) {
      refuse('date_missing');
      continue;
    }
    const occurredAt = parseConsentDate(rawDate);
    if (!occurredAt) {
      refuse('date_invalid', rawDate);
      continue;
    }
    if (occurredAt.getTime() > now.getTime() + FUTURE_TOLERANCE_MS) {
      refuse('date_future', rawDate);
      continue;
    }
    // CNIL: prospects are kept 3 years (the workspace's retention) from collection; an older
    // consent would be deleted by the next retention run, and should not be mailed on.
    if (occurredAt.getTime() < oldest) {
      refuse('date_expired', rawDate);
      continue;
    }
    // The proof says which text the person heard or read (EDPB 05/2020 §108): a version written
    // after the consent date cannot be it.
    if (occurredAt.getTime() < script.createdAt.getTime()) {
      refuse('script_after_consent', rawDate);
      continue;
    }
    const rawChannel = strip(cell(row, m.channel));
    const channel = rawChannel ? (PHONE.has(rawChannel) ? 'phone' : WEB.has(rawChannel) ? 'web' : 'unknown') : m.channelDefault;
    if (!channel) {
      refuse('channel_missing');
      continue;
    }
    if (channel === 'unknown') {
      refuse('channel_unknown', cell(row, m.channel));
      continue;
    }
    const evidenceRef = cell(row, m.evidence).slice(0, 500);
    if (channel === 'phone' && !evidenceRef) {
      refuse('call_ref_missing');
      continue;
    }
    if (channel === 'web') {
      if (!evidenceRef) {
        refuse('form_url_missing');
        continue;
      }
      if (!/^https?:\/\/[^\s/]+\.[^\s]+$/i.test(evidenceRef)) {
        refuse('form_url_invalid', evidenceRef);
        continue;
      }
    }
    const first = firstRowOf.get(email);
    if (first !== undefined) {
      refuse('duplicate_in_file', String(first));
      continue;
    }
    firstRowOf.set(email, row.n);
    const rawSource = cell(row, m.source).slice(0, 200);
    const agentEmail = rawSource ? normaliseEmail(rawSource) : null;
    const agent = agentEmail ? (memberByEmail.get(agentEmail) ?? null) : null;
    report.push({ row: row.n, email, outcome: 'accepted', reason: null, detail: null });
    prepared.set(row.n, {
      row: row.n,
      email,
      emailHash: emailHashWith(key, email),
      phone,
      firstName: cell(row, m.firstName).slice(0, 200) || null,
      lastName: cell(row, m.lastName).slice(0, 200) || null,
      occurredAt,
      channel,
      evidenceRef,
      agent: agent ? { id: agent.id, name: agent.name } : null,
      source: agent ? null : rawSource || null,
      idempotencyKey: `import:${csv.sha256}:${script.purpose}:${row.n}`,
      existing: null,
    });
  }

  // What the database already says, in chunks: rows imported before, suppressed addresses,
  // and people whose ledger holds a newer answer for this purpose.
  const byRow = new Map(report.map((r) => [r.row, r]));
  const candidates = [...prepared.values()];
  for (let i = 0; i < candidates.length; i += IMPORT_BATCH) {
    const chunk = candidates.slice(i, i + IMPORT_BATCH);
    const outcome = await checkAgainstDb(ctx.db, ctx.workspaceId, script.purpose, chunk);
    for (const [row, verdict] of outcome) {
      const r = byRow.get(row)!;
      if (verdict.kind === 'already') r.outcome = 'already_imported';
      else {
        r.outcome = 'refused';
        r.reason = verdict.reason;
        r.detail = verdict.detail;
      }
      prepared.delete(row);
    }
  }

  const counts = { accepted: 0, refused: 0, already_imported: 0, imported: 0 };
  for (const r of report) counts[r.outcome]++;
  const analysis: ImportAnalysis = {
    file: { sha256: csv.sha256, name: input.fileName?.slice(0, 200) || null, bytes: csv.bytes, separator: csv.separator, header: csv.header, rows: csv.rows.length },
    script,
    purpose: script.purpose,
    report,
    counts,
    confirmationEmails: [...prepared.values()].filter((p) => needsConfirmation(script.purpose, p)).length,
    requireDoubleOptIn: workspace.settings.requireDoubleOptIn,
  };
  return { analysis, prepared, workspace };
}

/**
 * Capture sends the double opt-in email for every newsletter grant not already confirmed. Its
 * wording ("lors de votre entretien téléphonique du … avec …") is true only of a phone consent,
 * so web-form rows get none: they stay unconfirmed (not mailed while the workspace requires
 * double opt-in) rather than be told something false.
 */
function needsConfirmation(purpose: string, p: Prepared): boolean {
  return purpose === 'newsletter' && p.channel === 'phone' && !p.existing?.confirmed;
}

type Verdict = { kind: 'already' } | { kind: 'refused'; reason: RefusalCode; detail: string | null };

async function checkAgainstDb(db: DbOrTx, workspaceId: string, purpose: string, chunk: Prepared[]): Promise<Map<number, Verdict>> {
  const out = new Map<number, Verdict>();
  if (chunk.length === 0) return out;
  const done = await db
    .select({ key: idempotencyKeys.key })
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.workspaceId, workspaceId), eq(idempotencyKeys.route, ROUTE), inArray(idempotencyKeys.key, chunk.map((p) => p.idempotencyKey))));
  const doneKeys = new Set(done.map((d) => d.key));
  const suppressed = await db
    .select({ hash: suppressions.emailHash, reason: suppressions.reason })
    .from(suppressions)
    .where(and(eq(suppressions.workspaceId, workspaceId), isNull(suppressions.liftedAt), inArray(suppressions.emailHash, chunk.map((p) => p.emailHash))));
  const suppressedBy = new Map(suppressed.map((s) => [s.hash, s.reason]));
  const live = await db
    .select({ id: contacts.id, email: contacts.email, status: consentState.status, since: consentState.since, confirmedAt: consentState.confirmedAt })
    .from(contacts)
    .leftJoin(consentState, and(eq(consentState.contactId, contacts.id), eq(consentState.purpose, purpose)))
    .where(and(eq(contacts.workspaceId, workspaceId), isNull(contacts.erasedAt), inArray(contacts.email, chunk.map((p) => p.email))));
  const liveBy = new Map(live.map((l) => [l.email!, l]));
  for (const p of chunk) {
    if (doneKeys.has(p.idempotencyKey)) {
      out.set(p.row, { kind: 'already' });
      continue;
    }
    const reason = suppressedBy.get(p.emailHash);
    if (reason) {
      out.set(p.row, { kind: 'refused', reason: 'suppressed', detail: reason });
      continue;
    }
    const existing = liveBy.get(p.email);
    // The same grant, already in the ledger (from another file, or this one re-saved): nothing to add,
    // and no second confirmation email.
    if (existing?.status === 'granted' && existing.since?.getTime() === p.occurredAt.getTime()) {
      out.set(p.row, { kind: 'already' });
      continue;
    }
    // The ledger applies events in the order they are recorded: an older consent appended after
    // a newer answer (a withdrawal, a refusal) would overturn it. Never.
    if (existing?.since && existing.since.getTime() > p.occurredAt.getTime()) {
      out.set(p.row, { kind: 'refused', reason: 'newer_in_ledger', detail: `${existing.status}@${existing.since.toISOString()}` });
      continue;
    }
    p.existing = existing ? { id: existing.id, confirmed: existing.status === 'granted' && existing.confirmedAt !== null } : null;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The import

/**
 * Admin only. Imports the accepted rows of a file: creates the contacts it does not know (an
 * existing contact, found by address, only gains the phone and names it lacked), and appends one
 * `granted` event per row to the ledger with actor = the importing admin, channel = how it was
 * collected (phone or web), occurredAt = the row's consent date, the chosen script's id and
 * SHA-256, and evidence naming the import (file SHA-256 and name, row, call reference or form
 * URL, agent or source). One transaction per batch of rows holds the contacts, the events, the
 * rows' idempotency records, the confirmation emails (newsletter grants collected by phone, as a
 * capture) and an audit entry. Idempotent per file and row: importing the same file again
 * reports those rows as already imported and writes nothing for them.
 */
export async function commitImport({ ctx, input }: { ctx: Ctx; input: ImportInput }): Promise<ImportAnalysis> {
  const { analysis, prepared, workspace } = await analyseImport({ ctx, input });
  const { actorType, actorId } = actorRef(ctx.actor);
  const script = analysis.script;
  const mappingHash = await sha256Hex(canonicalJson(input.mapping));
  const byRow = new Map(analysis.report.map((r) => [r.row, r]));
  const rows = [...prepared.values()];
  let emails = 0;

  for (let i = 0; i < rows.length; i += IMPORT_BATCH) {
    const batch = rows.slice(i, i + IMPORT_BATCH);
    const now = ctx.clock.now();
    // Everything that only computes (ids, signed confirmation links, rendering) happens before
    // the write transaction, which SQLite serialises.
    const plan = new Map<number, { contactId: string; eventId: string; message: OutgoingEmail | null }>();
    const render = (p: Prepared, contactId: string, eventId: string) =>
      confirmationEmail(ctx, workspace, [{ purpose: script.purpose, label: script.label }], {
        contactId,
        grantEventId: eventId,
        to: p.email,
        firstName: p.firstName,
        agentName: p.agent?.name ?? null,
        callDate: p.occurredAt,
        answers: [{ purpose: script.purpose, action: 'granted' }],
      });
    const plannedExisting = new Map<number, string>();
    for (const p of batch) {
      if (p.existing) plannedExisting.set(p.row, p.existing.id);
      const contactId = p.existing?.id ?? newId('ct');
      const eventId = newId('evt');
      plan.set(p.row, { contactId, eventId, message: needsConfirmation(script.purpose, p) ? await render(p, contactId, eventId) : null });
    }

    const written = await ctx.db.transaction(async (tx) => {
      // Again under the write lock: another import or a capture may have landed meanwhile.
      const changed = await checkAgainstDb(tx, ctx.workspaceId, script.purpose, batch);
      const todo = batch.filter((p) => !changed.has(p.row));
      for (const [row, verdict] of changed) {
        const r = byRow.get(row)!;
        if (verdict.kind === 'already') r.outcome = 'already_imported';
        else Object.assign(r, { outcome: 'refused', reason: verdict.reason, detail: verdict.detail });
      }
      if (todo.length === 0) return [] as Prepared[];
      const newContacts = [];
      for (const p of todo) {
        const step = plan.get(p.row)!;
        if (p.existing && p.existing.id !== step.contactId) {
          step.contactId = p.existing.id;
          step.message = needsConfirmation(script.purpose, p) ? await render(p, step.contactId, step.eventId) : null;
        } else if (p.existing) {
          if (!needsConfirmation(script.purpose, p)) step.message = null;
        }
        if (!p.existing && step.contactId === plannedExisting.get(p.row)) {
          // Erased (by retention) since the plan: a new contact, never the erased one's id.
          step.contactId = newId('ct');
          step.message = needsConfirmation(script.purpose, p) ? await render(p, step.contactId, step.eventId) : null;
        }
        if (!p.existing) {
          newContacts.push({
            id: step.contactId,
            workspaceId: ctx.workspaceId,
            email: p.email,
            phone: p.phone,
            firstName: p.firstName,
            lastName: p.lastName,
            locale: 'fr',
            attributes: {},
            ownerAgentId: p.agent?.id ?? null,
            sourceCampaign: p.source,
            createdAt: now,
            updatedAt: now,
            lastProspectActionAt: p.occurredAt,
            erasedAt: null,
            emailHash: p.emailHash,
          });
        }
      }
      if (newContacts.length) await tx.insert(contacts).values(newContacts);
      for (const p of todo) {
        if (!p.existing) continue;
        const current = await tx.query.contacts.findFirst({ where: eq(contacts.id, p.existing.id) });
        if (!current) continue;
        // An import never overwrites what an agent captured: it only fills what is missing.
        await tx
          .update(contacts)
          .set({
            phone: current.phone ?? p.phone,
            firstName: current.firstName ?? p.firstName,
            lastName: current.lastName ?? p.lastName,
            emailHash: p.emailHash,
            updatedAt: now,
            lastProspectActionAt: p.occurredAt > current.lastProspectActionAt ? p.occurredAt : current.lastProspectActionAt,
          })
          .where(eq(contacts.id, current.id));
      }
      const events: NewConsentEvent[] = todo.map((p) => ({
        id: plan.get(p.row)!.eventId,
        contactId: plan.get(p.row)!.contactId,
        purpose: script.purpose,
        action: 'granted',
        channel: p.channel satisfies ConsentChannel,
        actorType,
        actorId,
        callRef: p.channel === 'phone' ? p.evidenceRef.slice(0, 200) : null,
        scriptId: script.id,
        scriptSha256: script.sha256,
        evidence: {
          via: 'csv_import',
          fileSha256: analysis.file.sha256,
          ...(analysis.file.name ? { fileName: analysis.file.name } : {}),
          row: String(p.row),
          collectedVia: p.channel,
          ...(p.channel === 'phone' ? { callRef: p.evidenceRef } : { formUrl: p.evidenceRef }),
          ...(p.agent ? { agentId: p.agent.id } : {}),
          ...(p.source ? { source: p.source } : {}),
        },
        occurredAt: p.occurredAt,
      }));
      await appendConsentEvents(tx, ctx.workspaceId, events, now);
      await tx.insert(idempotencyKeys).values(
        todo.map((p) => ({
          workspaceId: ctx.workspaceId,
          route: ROUTE,
          key: p.idempotencyKey,
          requestHash: mappingHash,
          status: 201,
          response: { contact: { id: plan.get(p.row)!.contactId }, eventId: plan.get(p.row)!.eventId },
          createdAt: now,
        })),
      );
      for (const p of todo) {
        const step = plan.get(p.row)!;
        // Queued in this transaction, so a crash after commit cannot lose it.
        if (step.message) await ctx.mailQueue.enqueue(tx, step.message, `confirm:${step.eventId}`);
      }
      await recordAudit(tx, ctx, {
        action: 'contacts.imported',
        targetType: 'contacts',
        details: {
          fileSha256: analysis.file.sha256,
          purpose: script.purpose,
          scriptId: script.id,
          scriptVersion: script.version,
          rows: todo.map((p) => p.row),
          created: newContacts.length,
          confirmationEmails: todo.filter((p) => plan.get(p.row)!.message).length,
        },
      });
      return todo;
    });
    for (const p of written) {
      byRow.get(p.row)!.outcome = 'imported';
      if (plan.get(p.row)!.message) emails++;
    }
    if (emails) ctx.mailQueue.kick();
  }

  const counts = { accepted: 0, refused: 0, already_imported: 0, imported: 0 };
  for (const r of analysis.report) counts[r.outcome]++;
  return { ...analysis, counts, confirmationEmails: emails };
}

/** The row-by-row report as CSV: row, email, outcome, reason code and the reason in words. */
export function reportToCsv(report: RowReport[], words: (r: RowReport) => string): string {
  const lines = [['row', 'email', 'outcome', 'reason', 'message'].join(',')];
  for (const r of report) lines.push([r.row, r.email, r.outcome, r.reason ?? '', words(r)].map(csvField).join(','));
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}
