/**
 * Segment rules: a tree of conditions combined with "all" (and) or "any" (or), over contact
 * fields, free attributes, owner agent, source call campaign and consent state. Compiled to one
 * SQL condition on `contacts` (with correlated sub-queries for consent state), so counting or
 * streaming an audience never loads contacts into memory.
 *
 * Engagement: the last human click on any newsletter (machine clicks never count) and
 * conversions, read from `events` and `conversions` through their per-contact indexes.
 */
import { notSuppressedSql } from '../privacy/suppressions.js';
import { and, eq, isNotNull, isNull, not, or, sql, type SQL } from 'drizzle-orm';
import { consentState, contacts, conversions, events, sends } from '../../db/schema.js';
import { Invalid, type FieldIssue } from '../errors.js';

export type TextOperator = 'equals' | 'not_equals' | 'contains' | 'starts_with' | 'in' | 'is_empty' | 'is_not_empty';
export type DateOperator = 'before' | 'after' | 'within_days' | 'older_than_days';
export type BoolOperator = 'is';

export interface Condition {
  field: string;
  operator: TextOperator | DateOperator | BoolOperator;
  value?: string | number | boolean | string[] | undefined;
}

export interface SegmentRules {
  match: 'all' | 'any';
  conditions: (Condition | SegmentRules)[];
}

type FieldKind = 'text' | 'date' | 'bool';

/** Fields a rule can test, with the SQL they read. */
const fields: Record<string, { kind: FieldKind; label: string }> = {
  email: { kind: 'text', label: 'e-mail' },
  firstName: { kind: 'text', label: 'prénom' },
  lastName: { kind: 'text', label: 'nom' },
  phone: { kind: 'text', label: 'téléphone' },
  locale: { kind: 'text', label: 'langue' },
  sourceCampaign: { kind: 'text', label: 'campagne d’appel' },
  ownerAgentId: { kind: 'text', label: 'conseiller' },
  createdAt: { kind: 'date', label: 'date de création' },
  consentDate: { kind: 'date', label: 'date du consentement newsletter' },
  confirmed: { kind: 'bool', label: 'inscription confirmée' },
  openTracking: { kind: 'bool', label: 'mesure d’ouverture acceptée' },
  lastClickAt: { kind: 'date', label: 'dernier clic sur une newsletter' },
  converted: { kind: 'bool', label: 'a converti (réservation, devis…)' },
  lastConversionAt: { kind: 'date', label: 'dernière conversion' },
};

export const operatorsByKind: Record<FieldKind, readonly string[]> = {
  text: ['equals', 'not_equals', 'contains', 'starts_with', 'in', 'is_empty', 'is_not_empty'],
  date: ['before', 'after', 'within_days', 'older_than_days'],
  bool: ['is'],
};

const ATTRIBUTE = /^attributes\.([a-zA-Z][a-zA-Z0-9_-]{0,39})$/;
const MAX_DEPTH = 4;
const MAX_CONDITIONS = 50;

export function fieldCatalogue() {
  return Object.entries(fields).map(([name, f]) => ({ name, kind: f.kind, label: f.label, operators: operatorsByKind[f.kind] }));
}

function kindOf(field: string): FieldKind | null {
  if (ATTRIBUTE.test(field)) return 'text';
  return fields[field]?.kind ?? null;
}

const isGroup = (c: Condition | SegmentRules): c is SegmentRules => 'conditions' in c;

/** Checks a rule tree; every problem names its path (`conditions.1.conditions.0.value`). */
export function validateRules(rules: SegmentRules): FieldIssue[] {
  const issues: FieldIssue[] = [];
  let count = 0;
  const walk = (group: SegmentRules, path: string, depth: number) => {
    if (depth > MAX_DEPTH) issues.push({ field: path, message: `groups nest ${MAX_DEPTH} levels at most` });
    if (group.match !== 'all' && group.match !== 'any') issues.push({ field: `${path}match`, message: 'must be all or any' });
    group.conditions.forEach((c, i) => {
      const at = `${path}conditions.${i}`;
      if (isGroup(c)) return walk(c, `${at}.`, depth + 1);
      count++;
      const kind = kindOf(c.field);
      if (!kind) return issues.push({ field: `${at}.field`, message: `unknown field ${c.field}` });
      if (!operatorsByKind[kind].includes(c.operator)) {
        return issues.push({ field: `${at}.operator`, message: `${c.operator} does not apply to ${c.field}; use ${operatorsByKind[kind].join(', ')}` });
      }
      const v = c.value;
      const bad = (message: string) => issues.push({ field: `${at}.value`, message });
      if (c.operator === 'is_empty' || c.operator === 'is_not_empty') return;
      if (c.operator === 'in') {
        if (!Array.isArray(v) || v.length === 0 || v.length > 200 || v.some((x) => typeof x !== 'string' || x.length > 200)) bad('a list of 1 to 200 texts');
      } else if (kind === 'text') {
        if (typeof v !== 'string' || v.length === 0 || v.length > 200) bad('a text of 1 to 200 characters');
      } else if (kind === 'bool') {
        if (typeof v !== 'boolean') bad('true or false');
      } else if (c.operator === 'within_days' || c.operator === 'older_than_days') {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 3650) bad('a whole number of days (0-3650)');
      } else if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(Date.parse(v))) {
        bad('a date YYYY-MM-DD');
      }
    });
  };
  walk(rules, '', 0);
  if (count > MAX_CONDITIONS) issues.push({ field: 'conditions', message: `${MAX_CONDITIONS} conditions at most` });
  return issues;
}

export function assertRules(rules: SegmentRules): void {
  const issues = validateRules(rules);
  if (issues.length) throw new Invalid('invalid_rules', `Invalid segment rules: ${issues.map((i) => `${i.field} ${i.message}`).join('; ')}`, issues);
}

/** `%`, `_` and `\` are literal in what a marketer types. */
const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

function newsletterSince(): SQL {
  return sql`(SELECT ${consentState.since} FROM ${consentState} WHERE ${consentState.contactId} = ${contacts.id} AND ${consentState.purpose} = 'newsletter' AND ${consentState.status} = 'granted')`;
}

/** When the contact last clicked a newsletter link, as a person (null: never). */
function lastHumanClick(): SQL {
  return sql`(SELECT max(${events.occurredAt}) FROM ${sends} JOIN ${events} ON ${events.sendId} = ${sends.id} AND ${events.type} = 'click' AND ${events.machine} = 0 WHERE ${sends.contactId} = ${contacts.id})`;
}

function lastConversion(): SQL {
  return sql`(SELECT max(${conversions.occurredAt}) FROM ${conversions} WHERE ${conversions.contactId} = ${contacts.id})`;
}

function dateColumn(field: string): SQL {
  switch (field) {
    case 'createdAt':
      return sql`${contacts.createdAt}`;
    case 'lastClickAt':
      return lastHumanClick();
    case 'lastConversionAt':
      return lastConversion();
    default:
      return newsletterSince();
  }
}

function textColumn(field: string): SQL {
  const attr = ATTRIBUTE.exec(field);
  if (attr) return sql`json_extract(${contacts.attributes}, ${`$.${attr[1]}`})`;
  switch (field) {
    case 'email':
      return sql`${contacts.email}`;
    case 'firstName':
      return sql`${contacts.firstName}`;
    case 'lastName':
      return sql`${contacts.lastName}`;
    case 'phone':
      return sql`${contacts.phone}`;
    case 'locale':
      return sql`${contacts.locale}`;
    case 'sourceCampaign':
      return sql`${contacts.sourceCampaign}`;
    default:
      return sql`${contacts.ownerAgentId}`;
  }
}

function conditionSql(c: Condition, now: Date): SQL {
  const kind = kindOf(c.field)!;
  if (kind === 'bool') {
    const exists =
      c.field === 'confirmed'
        ? sql`EXISTS (SELECT 1 FROM ${consentState} WHERE ${consentState.contactId} = ${contacts.id} AND ${consentState.purpose} = 'newsletter' AND ${consentState.status} = 'granted' AND ${consentState.confirmedAt} IS NOT NULL)`
        : c.field === 'converted'
          ? sql`EXISTS (SELECT 1 FROM ${conversions} WHERE ${conversions.contactId} = ${contacts.id})`
          : sql`EXISTS (SELECT 1 FROM ${consentState} WHERE ${consentState.contactId} = ${contacts.id} AND ${consentState.purpose} = 'open_tracking' AND ${consentState.status} = 'granted')`;
    return c.value === true ? exists : not(exists);
  }
  if (kind === 'date') {
    const column = dateColumn(c.field);
    const day = 86_400_000;
    switch (c.operator) {
      case 'before':
        return sql`${column} < ${Date.parse(`${c.value as string}T00:00:00Z`)}`;
      case 'after':
        return sql`${column} >= ${Date.parse(`${c.value as string}T00:00:00Z`) + day}`;
      case 'within_days':
        return sql`${column} >= ${now.getTime() - (c.value as number) * day}`;
      default:
        return sql`${column} < ${now.getTime() - (c.value as number) * day}`;
    }
  }
  const column = textColumn(c.field);
  // Text comparisons ignore case, as a marketer expects ("Rome" finds "rome").
  const lower = sql`lower(${column})`;
  const value = typeof c.value === 'string' ? c.value.toLowerCase() : '';
  switch (c.operator) {
    case 'equals':
      return sql`${lower} = ${value}`;
    case 'not_equals':
      return sql`(${column} IS NULL OR ${lower} <> ${value})`;
    case 'contains':
      return sql`${lower} LIKE ${`%${likeEscape(value)}%`} ESCAPE '\\'`;
    case 'starts_with':
      return sql`${lower} LIKE ${`${likeEscape(value)}%`} ESCAPE '\\'`;
    case 'in':
      return sql`${lower} IN (${sql.join((c.value as string[]).map((v) => sql`${v.toLowerCase()}`), sql`, `)})`;
    case 'is_empty':
      return sql`(${column} IS NULL OR ${column} = '')`;
    default:
      return sql`(${column} IS NOT NULL AND ${column} <> '')`;
  }
}

/** The SQL condition of a (validated) rule tree. An empty group matches everyone. */
export function rulesSql(rules: SegmentRules, now: Date): SQL {
  const parts = rules.conditions.map((c) => (isGroup(c) ? rulesSql(c, now) : conditionSql(c, now)));
  if (parts.length === 0) return sql`1 = 1`;
  return (rules.match === 'all' ? and(...parts) : or(...parts))!;
}

/**
 * Who may receive a newsletter (DESIGN.md §5 "audience"): the segment, among live contacts of the
 * workspace whose newsletter consent is granted now, and confirmed when the workspace requires
 * double opt-in. (Suppressions are subtracted too once the suppression list exists.)
 */
export function audienceSql(workspaceId: string, rules: SegmentRules, opts: { requireConfirmation: boolean; now: Date }): SQL {
  return and(
    eq(contacts.workspaceId, workspaceId),
    isNull(contacts.erasedAt),
    isNotNull(contacts.email),
    sql`EXISTS (SELECT 1 FROM ${consentState} WHERE ${consentState.contactId} = ${contacts.id} AND ${consentState.purpose} = 'newsletter' AND ${consentState.status} = 'granted'${opts.requireConfirmation ? sql` AND ${consentState.confirmedAt} IS NOT NULL` : sql``})`,
    notSuppressedSql(),
    rulesSql(rules, opts.now),
  )!;
}

