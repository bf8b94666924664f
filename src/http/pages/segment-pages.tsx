/** @jsxImportSource hono/jsx */
/**
 * Segment pages (marketers and admins): the list of saved segments with their audience today,
 * and the rule builder. The builder is one plain form whose field names are the rule paths the
 * domain reports problems with (`conditions.1.conditions.0.value`), so an invalid rule comes back
 * next to the faulty field. Without script, "add", "remove" and "update choices" are submit
 * buttons that re-render the form; /static/segment-builder.js does the same in place and asks
 * POST /segments/preview (same form body) for the live count and sample.
 */
import { Hono, type Context } from 'hono';
import type { Role } from '../../db/schema.js';
import { maskAddress } from '../../domain/contacts/mask.js';
import { Conflict, Invalid, type FieldIssue } from '../../domain/errors.js';
import { fieldCatalogue, operatorsByKind, validateRules, type Condition, type SegmentRules } from '../../domain/segments/rules.js';
import { audienceCounts, audienceSample, builderChoices, campaignsNeedingSegment, type AudienceMember } from '../../domain/segments/sample.js';
import { createSegment, deleteSegment, getSegment, listSegments, updateSegment, type Segment } from '../../domain/segments/segments.js';
import { formatDateTime, t } from '../../i18n/fr.js';
import { ctxOf } from '../context.js';
import type { AppEnv } from '../env.js';
import { pageFor, viewerOf } from './guard.js';
import { DataTable, Layout, Notice } from './layout.js';

const s = t.segments;
const marketers = pageFor(['marketer', 'admin']);
const SCRIPT = '/static/segment-builder.js';
const SAMPLE_SIZE = 10;
/** The builder lets people nest groups this deep (the rules allow 4; deeper is hard to read). */
const UI_MAX_DEPTH = 3;

// ---------------------------------------------------------------------------------------------
// The form's own model: what was typed, as text, so it can be shown again exactly.

interface DraftCondition {
  field: string;
  operator: string;
  value: string[];
}
interface DraftGroup {
  match: string;
  conditions: (DraftCondition | DraftGroup)[];
}
const isDraftGroup = (c: DraftCondition | DraftGroup): c is DraftGroup => 'conditions' in c;
const isRuleGroup = (c: Condition | SegmentRules): c is SegmentRules => 'conditions' in c;

type Kind = 'text' | 'date' | 'bool';
const catalogue = fieldCatalogue();
const ATTRIBUTE = /^attributes\.([a-zA-Z][a-zA-Z0-9_-]{0,39})$/;

function kindOf(field: string): Kind | null {
  if (ATTRIBUTE.test(field)) return 'text';
  return (catalogue.find((f) => f.name === field)?.kind as Kind | undefined) ?? null;
}
function operatorsOf(field: string): readonly string[] {
  const kind = kindOf(field);
  return kind ? operatorsByKind[kind] : [];
}
const capitalise = (x: string) => x.charAt(0).toUpperCase() + x.slice(1);
function fieldLabel(field: string): string {
  const attr = ATTRIBUTE.exec(field);
  if (attr) return capitalise(s.fields.attribute(attr[1]!));
  const f = catalogue.find((x) => x.name === field);
  return f ? capitalise(f.label) : field;
}

/** How the value of a condition is typed; mirrored by widgetFor in src/client/segment-builder.ts. */
type Widget = 'none' | 'text' | 'list' | 'date' | 'days' | 'bool' | 'agent' | 'agents';
function widgetFor(field: string, operator: string): Widget {
  const kind = kindOf(field);
  if (operator === 'is_empty' || operator === 'is_not_empty') return 'none';
  if (kind === 'bool') return 'bool';
  if (kind === 'date') return operator === 'before' || operator === 'after' ? 'date' : 'days';
  if (field === 'ownerAgentId' && (operator === 'equals' || operator === 'not_equals')) return 'agent';
  if (field === 'ownerAgentId' && operator === 'in') return 'agents';
  return operator === 'in' ? 'list' : 'text';
}

const defaultCondition = (): DraftCondition => ({ field: 'sourceCampaign', operator: 'equals', value: [''] });
const emptyDraft = (): DraftGroup => ({ match: 'all', conditions: [defaultCondition()] });

function draftOf(rules: SegmentRules): DraftGroup {
  return {
    match: rules.match,
    conditions: rules.conditions.map((c) => {
      if (isRuleGroup(c)) return draftOf(c);
      const v = c.value;
      const widget = widgetFor(c.field, c.operator);
      const value = v === undefined ? [''] : Array.isArray(v) ? (widget === 'agents' ? v : [v.join(', ')]) : [String(v)];
      return { field: c.field, operator: c.operator, value };
    }),
  };
}

/** The rules a draft means; values the domain will refuse are passed through so it names them. */
function rulesOf(draft: DraftGroup): SegmentRules {
  return {
    match: draft.match as SegmentRules['match'],
    conditions: draft.conditions.map((c): Condition | SegmentRules => {
      if (isDraftGroup(c)) return rulesOf(c);
      const raw = (c.value[0] ?? '').trim();
      const base = { field: c.field, operator: c.operator as Condition['operator'] };
      switch (widgetFor(c.field, c.operator)) {
        case 'none':
          return base;
        case 'list':
          return { ...base, value: raw.split(/[,;\n]/).map((x) => x.trim()).filter(Boolean) };
        case 'agents':
          return { ...base, value: c.value.filter(Boolean) };
        case 'days':
          return { ...base, value: /^\d{1,6}$/.test(raw) ? Number(raw) : raw };
        case 'bool':
          return { ...base, value: raw === 'true' ? true : raw === 'false' ? false : raw };
        default:
          return { ...base, value: raw };
      }
    }),
  };
}

type Body = Record<string, string | File | (string | File)[]>;
const all = (body: Body, name: string): string[] => {
  const v = body[name];
  return (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((x): x is string => typeof x === 'string');
};
const one = (body: Body, name: string) => all(body, name)[0] ?? '';

/** Reads the group at `prefix` ('' for the whole segment, `conditions.2.` for a nested one). */
function draftFromBody(body: Body, prefix = '', depth = 0): DraftGroup {
  const indexes = new Set<number>();
  const re = new RegExp(`^${prefix.replace(/\./g, '\\.')}conditions\\.(\\d{1,2})\\.`);
  for (const key of Object.keys(body)) {
    const m = re.exec(key);
    if (m) indexes.add(Number(m[1]));
  }
  const conditions = [...indexes]
    .sort((a, b) => a - b)
    .map((i): DraftCondition | DraftGroup => {
      const at = `${prefix}conditions.${i}.`;
      if (`${at}match` in body && depth < 6) return draftFromBody(body, at, depth + 1);
      return { field: one(body, `${at}field`), operator: one(body, `${at}operator`), value: all(body, `${at}value`) };
    });
  return { match: one(body, `${prefix}match`) || 'all', conditions };
}

const PREFIX = /^(?:conditions\.\d{1,2}\.){0,5}$/;
const PATH = /^(?:conditions\.\d{1,2}\.){0,5}conditions\.\d{1,2}$/;

/** The group a prefix names, or null. */
function groupAt(root: DraftGroup, prefix: string): DraftGroup | null {
  let g: DraftGroup = root;
  for (const m of prefix.matchAll(/conditions\.(\d+)\./g)) {
    const next = g.conditions[Number(m[1])];
    if (!next || !isDraftGroup(next)) return null;
    g = next;
  }
  return g;
}
const depthOf = (prefix: string) => (prefix.match(/conditions\./g) ?? []).length;

/** The no-script buttons: add a row or a group, remove one. Returns false when nothing applied. */
function applyAction(draft: DraftGroup, body: Body): boolean {
  const add = one(body, 'add');
  const addGroup = one(body, 'addGroup');
  const remove = one(body, 'remove');
  if ('add' in body && PREFIX.test(add)) {
    groupAt(draft, add)?.conditions.push(defaultCondition());
  } else if ('addGroup' in body && PREFIX.test(addGroup) && depthOf(addGroup) < UI_MAX_DEPTH - 1) {
    groupAt(draft, addGroup)?.conditions.push({ match: 'any', conditions: [defaultCondition()] });
  } else if ('remove' in body && PATH.test(remove)) {
    const cut = remove.lastIndexOf('conditions.');
    groupAt(draft, remove.slice(0, cut))?.conditions.splice(Number(remove.slice(cut + 'conditions.'.length)), 1);
  } else if (!('refresh' in body)) {
    return false;
  }
  return true;
}

/** After a field changed without script, its operator and value follow (no error for that). */
function normalise(draft: DraftGroup): void {
  if (draft.match !== 'all' && draft.match !== 'any') draft.match = 'all';
  for (const c of draft.conditions) {
    if (isDraftGroup(c)) normalise(c);
    else if (kindOf(c.field) && !operatorsOf(c.field).includes(c.operator)) {
      c.operator = operatorsOf(c.field)[0]!;
      c.value = [''];
    }
  }
}

/** French messages, keyed by the path of the field they belong to. */
function issuesInFrench(draft: DraftGroup, issues: FieldIssue[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const issue of issues) {
    const m = /^(.*?)(field|operator|value|match)$/.exec(issue.field);
    if (issue.field === 'conditions') out.set('', s.issues.tooMany);
    else if (!m) out.set(`${issue.field}group`, s.issues.depth);
    else if (m[2] === 'match') out.set(issue.field, s.issues.match);
    else if (m[2] === 'field') out.set(issue.field, s.issues.field);
    else if (m[2] === 'operator') out.set(issue.field, s.issues.operator);
    else {
      const path = m[1]!.slice(0, -1);
      const cut = path.lastIndexOf('conditions.');
      const c = groupAt(draft, path.slice(0, cut))?.conditions[Number(path.slice(cut + 'conditions.'.length))];
      const widget = c && !isDraftGroup(c) ? widgetFor(c.field, c.operator) : 'text';
      const byWidget: Record<Widget, string> = {
        none: s.issues.text,
        text: s.issues.text,
        list: s.issues.list,
        agents: s.issues.agent,
        agent: s.issues.agent,
        date: s.issues.date,
        days: s.issues.days,
        bool: s.issues.bool,
      };
      out.set(issue.field, byWidget[widget]);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading rules back in French (the list, and the campaign page may reuse it).

type Choices = Awaited<ReturnType<typeof builderChoices>>;

const frenchDate = (iso: unknown) => (typeof iso === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(iso) ? iso.split('-').reverse().join('/') : String(iso));

export function summariseRules(rules: SegmentRules, agents: { id: string; name: string }[] = [], nested = false): string {
  if (rules.conditions.length === 0) return nested ? '' : s.summary.everyone;
  const agentName = (id: unknown) => agents.find((a) => a.id === id)?.name ?? s.summary.agent;
  const parts = rules.conditions.map((c) => {
    if (isRuleGroup(c)) return c.conditions.length > 1 ? `(${summariseRules(c, agents, true)})` : summariseRules(c, agents, true);
    const label = fieldLabel(c.field);
    const v = c.value;
    switch (c.operator) {
      case 'is_empty':
      case 'is_not_empty':
        return `${label} ${s.operators[c.operator]}`;
      case 'is':
        return `${label} : ${v === true ? s.yes : s.no}`;
      case 'within_days':
        return `${label} ${s.summary.within(v)}`;
      case 'older_than_days':
        return `${label} ${s.summary.older(v)}`;
      case 'before':
      case 'after':
        return `${label} ${s.operators[c.operator]} ${frenchDate(v)}`;
      case 'in': {
        const list = Array.isArray(v) ? v : [];
        return `${label} ${s.operators.in} ${list.map((x) => `« ${c.field === 'ownerAgentId' ? agentName(x) : x} »`).join(', ')}`;
      }
      default:
        return `${label} ${s.operators[c.operator] ?? c.operator} « ${c.field === 'ownerAgentId' ? agentName(v) : String(v)} »`;
    }
  });
  return parts.filter(Boolean).join(rules.match === 'all' ? s.summary.and : s.summary.or);
}

// ---------------------------------------------------------------------------------------------
// Rendering.

/** Partly hides an address: enough to recognise someone, not to copy it out (data minimisation). */
export function maskEmail(email: string | null): string {
  return email ? maskAddress(email) : t.common.none;
}

/** One sample row as shown, also the JSON the script renders (so both agree). */
function sampleRow(m: AudienceMember, role: Role) {
  const name = [m.firstName, m.lastName].filter(Boolean).join(' ') || t.common.none;
  const consent = m.consentSince ? `${formatDateTime(m.consentSince)} · ${m.confirmedAt ? s.preview.confirmed : s.preview.unconfirmed}` : t.common.none;
  return { name, email: role === 'admin' ? (m.email ?? t.common.none) : maskEmail(m.email), owner: m.ownerAgentName ?? t.common.none, consent };
}

type Preview = { ok: true; count: number; rows: ReturnType<typeof sampleRow>[] } | { ok: false };

async function previewOf(c: Context<AppEnv>, rules: SegmentRules, role: Role): Promise<Preview> {
  if (validateRules(rules).length) return { ok: false };
  const { count, sample } = await audienceSample({ ctx: ctxOf(c), input: { rules, limit: SAMPLE_SIZE } });
  return { ok: true, count, rows: sample.map((m) => sampleRow(m, role)) };
}

function SampleItem(props: { row: ReturnType<typeof sampleRow> }) {
  const r = props.row;
  return (
    <li>
      <span class="who">{r.name}</span> <span class="mail">{r.email}</span>
      <span class="meta small muted">
        {s.preview.owner} : {r.owner} · {s.preview.consent} : {r.consent}
      </span>
    </li>
  );
}

function PreviewPanel(props: { preview: Preview; role: Role }) {
  const { preview } = props;
  const rows = preview.ok ? preview.rows : [];
  return (
    <aside class="card segment-preview" id="audience" aria-labelledby="audience-title">
      <h2 id="audience-title">{s.preview.title}</h2>
      <p class="small muted">{s.preview.hint}</p>
      {/* Only the sentence is announced: reading ten rows at every keystroke would drown the form. */}
      <p id="audience-count" class="audience-count" aria-live="polite" aria-atomic="true" data-count={preview.ok ? String(preview.count) : ''}>
        {preview.ok ? s.preview.count(preview.count) : s.preview.incomplete}
      </p>
      <h3 id="sample-title" class="sample-title">
        {preview.ok ? s.preview.sampleTitle(rows.length) : s.preview.sampleCaption}
      </h3>
      {props.role !== 'admin' && <p class="small muted masked-note">{s.preview.masked}</p>}
      {/* A two-line list rather than a table: it fits the side panel and a phone without scrolling. */}
      <ol id="audience-sample" class="sample-list" aria-labelledby="sample-title">
        {rows.map((r) => (
          <SampleItem row={r} />
        ))}
      </ol>
    </aside>
  );
}

interface BuilderState {
  fields: { name: string; label: string }[];
  choices: Choices;
  errors: Map<string, string>;
  counter: { condition: number; group: number };
}

function ErrorFor(props: { id: string; part: string; message: string | undefined }) {
  return props.message ? (
    <p class="field-error" id={props.id} data-error-for={props.part}>
      {props.message}
    </p>
  ) : null;
}

function ValueCell(props: { path: string; c: DraftCondition; state: BuilderState }) {
  const { path, c, state } = props;
  const id = `${path}.value`;
  const widget = kindOf(c.field) && operatorsOf(c.field).includes(c.operator) ? widgetFor(c.field, c.operator) : 'text';
  const err = state.errors.get(id);
  const errId = `${id}-error`;
  const hintId = `${id}-hint`;
  const described = [widget === 'list' ? hintId : '', err ? errId : ''].filter(Boolean).join(' ') || undefined;
  const common = { id, name: id, 'data-part': 'value', 'aria-invalid': err ? 'true' : undefined, 'aria-describedby': described };
  const v = c.value[0] ?? '';
  if (widget === 'none') {
    return (
      <div class="rule-part rule-value" data-widget="none">
        <span class="rule-label" aria-hidden="true">
          {s.form.value}
        </span>
        <p class="novalue muted small">{s.form.noValue}</p>
      </div>
    );
  }
  let control;
  if (widget === 'bool') {
    control = (
      <select {...common}>
        <option value="true" selected={v !== 'false'}>
          {s.yes}
        </option>
        <option value="false" selected={v === 'false'}>
          {s.no}
        </option>
      </select>
    );
  } else if (widget === 'agent' || widget === 'agents') {
    control = (
      <select {...common} multiple={widget === 'agents'} size={widget === 'agents' ? 3 : undefined}>
        {widget === 'agent' && <option value="">{s.form.choose}</option>}
        {c.value.filter((id) => id && !state.choices.agents.some((a) => a.id === id)).map((id) => (
          <option value={id} selected>
            {s.summary.agent}
          </option>
        ))}
        {state.choices.agents.map((a) => (
          <option value={a.id} selected={c.value.includes(a.id)}>
            {a.name}
          </option>
        ))}
      </select>
    );
  } else if (widget === 'date') {
    control = <input {...common} type="date" value={v} />;
  } else if (widget === 'days') {
    control = <input {...common} type="number" min={0} max={3650} step={1} inputmode="numeric" value={v} />;
  } else {
    control = <input {...common} type="text" maxlength={widget === 'list' ? 2000 : 200} value={v} list={c.field === 'sourceCampaign' ? 'dl-sourceCampaign' : undefined} autocomplete="off" />;
  }
  return (
    <div class="rule-part rule-value" data-widget={widget}>
      <label for={id} data-label-for="value">
        {widget === 'days' ? s.form.days : s.form.value}
      </label>
      {control}
      {widget === 'list' && (
        <p class="small muted hint" id={hintId} data-hint-for="value">
          {s.form.listHint}
        </p>
      )}
    </div>
  );
}

function ConditionRow(props: { path: string; c: DraftCondition; state: BuilderState }) {
  const { path, c, state } = props;
  const n = ++state.counter.condition;
  const fieldId = `${path}.field`;
  const opId = `${path}.operator`;
  const fieldErr = state.errors.get(fieldId);
  const opErr = state.errors.get(opId);
  const known = state.fields.some((f) => f.name === c.field);
  const ops = operatorsOf(c.field);
  return (
    <li class="rule" data-kind="condition">
      <fieldset class="rule-box">
        <legend class="sr-only" data-legend="condition">
          {s.form.conditionLegend(n)}
        </legend>
        <div class="rule-grid">
          <div class="rule-part">
            <label for={fieldId} data-label-for="field">
              {s.form.field}
            </label>
            <select id={fieldId} name={fieldId} data-part="field" aria-invalid={fieldErr ? 'true' : undefined} aria-describedby={fieldErr ? `${fieldId}-error` : undefined}>
              {!known && <option value={c.field}>{s.form.choose}</option>}
              {state.fields.map((f) => (
                <option value={f.name} selected={f.name === c.field}>
                  {f.label}
                </option>
              ))}
            </select>
          </div>
          <div class="rule-part">
            <label for={opId} data-label-for="operator">
              {s.form.operator}
            </label>
            <select id={opId} name={opId} data-part="operator" aria-invalid={opErr ? 'true' : undefined} aria-describedby={opErr ? `${opId}-error` : undefined}>
              {!ops.includes(c.operator) && <option value={c.operator}>{s.form.choose}</option>}
              {ops.map((o) => (
                <option value={o} selected={o === c.operator}>
                  {s.operators[o]}
                </option>
              ))}
            </select>
          </div>
          <ValueCell path={path} c={c} state={state} />
          <div class="rule-part rule-remove">
            <button type="submit" class="secondary" name="remove" value={path} formnovalidate data-action="remove" aria-label={s.form.removeCondition(n)}>
              {s.form.remove}
            </button>
          </div>
        </div>
        <ErrorFor id={`${fieldId}-error`} part="field" message={fieldErr} />
        <ErrorFor id={`${opId}-error`} part="operator" message={opErr} />
        <ErrorFor id={`${path}.value-error`} part="value" message={state.errors.get(`${path}.value`)} />
      </fieldset>
    </li>
  );
}

function GroupBox(props: { prefix: string; group: DraftGroup; state: BuilderState }) {
  const { prefix, group, state } = props;
  const root = prefix === '';
  const n = root ? 0 : ++state.counter.group;
  const matchId = `${prefix}match`;
  const depth = depthOf(prefix);
  const depthErr = state.errors.get(`${prefix}group`);
  return (
    <fieldset class={root ? 'group root' : 'group nested'} data-kind="group" data-depth={depth}>
      <legend data-legend="group">{root ? s.form.rootLegend : s.form.groupLegend(n)}</legend>
      <div class="match-line">
        <label for={matchId} data-label-for="match">
          {s.form.matchLabel}
        </label>
        <select id={matchId} name={matchId} data-part="match">
          <option value="all" selected={group.match !== 'any'}>
            {s.form.matchAll}
          </option>
          <option value="any" selected={group.match === 'any'}>
            {s.form.matchAny}
          </option>
        </select>
      </div>
      {depthErr && <p class="field-error">{depthErr}</p>}
      <p class="small muted empty-group" data-empty-note hidden={group.conditions.length > 0}>
        {s.form.emptyGroup}
      </p>
      <ol class="rules">
        {group.conditions.map((c, i) =>
          isDraftGroup(c) ? (
            <li class="rule" data-kind="group-item">
              <GroupBox prefix={`${prefix}conditions.${i}.`} group={c} state={state} />
            </li>
          ) : (
            <ConditionRow path={`${prefix}conditions.${i}`} c={c} state={state} />
          ),
        )}
      </ol>
      <div class="actions group-actions">
        <button type="submit" class="secondary" name="add" value={prefix} formnovalidate data-action="add">
          <span aria-hidden="true">+</span> {s.form.add}
        </button>
        {depth < UI_MAX_DEPTH - 1 && (
          <button type="submit" class="secondary" name="addGroup" value={prefix} formnovalidate data-action="addGroup">
            <span aria-hidden="true">+</span> {s.form.addGroup}
          </button>
        )}
        {!root && (
          <button type="submit" class="danger" name="remove" value={prefix.slice(0, -1)} formnovalidate data-action="remove">
            {s.form.removeGroup}
          </button>
        )}
      </div>
    </fieldset>
  );
}

/** Every field a rule can use, plus attributes in use (and any the rules already name). */
function fieldOptions(choices: Choices, draft: DraftGroup) {
  const used = new Set<string>(choices.attributeKeys.map((k) => `attributes.${k}`));
  const walk = (g: DraftGroup) => g.conditions.forEach((c) => (isDraftGroup(c) ? walk(c) : ATTRIBUTE.test(c.field) && used.add(c.field)));
  walk(draft);
  return [...catalogue.map((f) => ({ name: f.name, label: capitalise(f.label) })), ...[...used].sort().map((name) => ({ name, label: fieldLabel(name) }))];
}

/** What the script needs to rebuild operator lists and value inputs like the server does. */
function scriptData(fields: { name: string; label: string }[], choices: Choices) {
  return JSON.stringify({
    fields: Object.fromEntries(fields.map((f) => [f.name, { kind: kindOf(f.name), operators: operatorsOf(f.name) }])),
    operators: s.operators,
    agents: choices.agents,
    maxDepth: UI_MAX_DEPTH,
    t: {
      yes: s.yes,
      no: s.no,
      choose: s.form.choose,
      value: s.form.value,
      days: s.form.days,
      noValue: s.form.noValue,
      listHint: s.form.listHint,
      conditionLegend: s.form.conditionLegend(0).replace('0', '{n}'),
      groupLegend: s.form.groupLegend(0).replace('0', '{n}'),
      removeCondition: s.form.removeCondition(0).replace('0', '{n}'),
      incomplete: s.preview.incomplete,
      loading: s.preview.loading,
      failed: s.preview.failed,
      owner: s.preview.owner,
      consent: s.preview.consent,
    },
  });
}

interface BuilderProps {
  segment: Segment | null;
  name: string;
  draft: DraftGroup;
  choices: Choices;
  errors: Map<string, string>;
  nameError?: string | undefined;
  notice?: { kind: 'ok' | 'err'; text: string } | undefined;
  preview: Preview;
  role: Role;
  inUse: { name: string }[];
}

function BuilderPage(props: BuilderProps & { viewer: Awaited<ReturnType<typeof viewerOf>> }) {
  const { segment, draft, choices } = props;
  const fields = fieldOptions(choices, draft);
  const state: BuilderState = { fields, choices, errors: props.errors, counter: { condition: 0, group: 0 } };
  const action = segment ? `/segments/${segment.id}` : '/segments';
  const title = segment ? s.editTitle(segment.name) : s.newTitle;
  const tplState = (): BuilderState => ({ fields, choices, errors: new Map(), counter: { condition: 0, group: 0 } });
  return (
    <Layout title={title} viewer={props.viewer} current="/segments" scripts={[SCRIPT]}>
      <p>
        <a href="/segments">← {s.back}</a>
      </p>
      <h1>{title}</h1>
      {props.notice && <Notice kind={props.notice.kind}>{props.notice.text}</Notice>}
      {props.errors.get('') && <Notice kind="err">{props.errors.get('')}</Notice>}
      <div class="segment-layout">
        <form method="post" action={action} class="card segment-form" id="segment-form" data-builder={scriptData(fields, choices)}>
          {/* First submit button of the form: Enter in a text field saves rather than removing row 1. */}
          <button type="submit" class="sr-only" tabindex={-1} aria-hidden="true">
            {s.form.save}
          </button>
          <label for="name">{s.form.name}</label>
          <input
            id="name"
            name="name"
            type="text"
            required
            maxlength={120}
            value={props.name}
            aria-invalid={props.nameError ? 'true' : undefined}
            aria-describedby={props.nameError ? 'name-hint name-error' : 'name-hint'}
          />
          <p class="small muted hint" id="name-hint">
            {s.form.nameHint}
          </p>
          {props.nameError && (
            <p class="field-error" id="name-error">
              {props.nameError}
            </p>
          )}
          <h2 class="rules-title">{s.form.rulesTitle}</h2>
          <GroupBox prefix="" group={draft} state={state} />
          <div class="nojs-only">
            <p class="small muted" id="refresh-hint">
              {s.form.refreshHint}
            </p>
            <button type="submit" class="secondary" name="refresh" value="1" formnovalidate aria-describedby="refresh-hint">
              {s.form.refresh}
            </button>
          </div>
          {/* On narrow screens the audience panel is below the form: the figure is repeated here (not announced twice). */}
          <p class="count-echo" id="audience-echo" aria-hidden="true">
            {props.preview.ok ? s.preview.count(props.preview.count) : s.preview.incomplete}
          </p>
          <div class="actions">
            <button type="submit" name="save" value="1">
              {segment ? s.form.save : s.form.create}
            </button>
            <a class="button secondary-link" href="/segments">
              {s.form.cancel}
            </a>
          </div>
        </form>
        <PreviewPanel preview={props.preview} role={props.role} />
      </div>
      {segment && (
        <section class="card segment-delete" aria-labelledby="delete-title">
          <details open={props.notice?.kind === 'err' && props.inUse.length > 0 ? true : undefined}>
            <summary id="delete-title">{s.delete.summary}</summary>
            {props.inUse.length > 0 ? (
              <>
                <p>{s.delete.usedBy}</p>
                <ul>
                  {props.inUse.map((cp) => (
                    <li>{cp.name}</li>
                  ))}
                </ul>
              </>
            ) : (
              <form method="post" action={`/segments/${segment.id}/delete`}>
                <p>{s.delete.text}</p>
                <label class="check light" for="confirm-delete">
                  <input type="checkbox" id="confirm-delete" name="confirm" value="yes" required />
                  {s.delete.confirm}
                </label>
                <button type="submit" class="danger">
                  {s.delete.button}
                </button>
              </form>
            )}
          </details>
        </section>
      )}
      <datalist id="dl-sourceCampaign">
        {choices.sourceCampaigns.map((name) => (
          <option value={name}></option>
        ))}
      </datalist>
      {/* Blank rows for the script to copy; `__P__` is replaced by the row's path. */}
      <template id="tpl-condition">
        <ConditionRow path="__P__" c={defaultCondition()} state={tplState()} />
      </template>
      <template id="tpl-group">
        <li class="rule" data-kind="group-item">
          <GroupBox prefix="__P__." group={{ match: 'any', conditions: [defaultCondition()] }} state={tplState()} />
        </li>
      </template>
    </Layout>
  );
}

async function renderBuilder(c: Context<AppEnv>, props: Omit<BuilderProps, 'choices' | 'preview' | 'role' | 'inUse'>, status: 200 | 400 | 409 = 200) {
  const ctx = ctxOf(c);
  const viewer = await viewerOf(c);
  const choices = await builderChoices({ ctx });
  const preview = await previewOf(c, rulesOf(props.draft), viewer.role);
  const inUse = props.segment ? await campaignsNeedingSegment({ ctx, input: { id: props.segment.id } }) : [];
  return c.html(<BuilderPage {...props} choices={choices} preview={preview} role={viewer.role} inUse={inUse} viewer={viewer} />, status);
}

/** The whole POST of the builder form: re-render for add/remove, 400 on problems, or save. */
async function handleBuilderPost(c: Context<AppEnv>, segment: Segment | null) {
  const body = (await c.req.parseBody({ all: true })) as Body;
  const name = one(body, 'name').trim();
  const draft = draftFromBody(body);
  if (applyAction(draft, body)) {
    normalise(draft);
    return renderBuilder(c, { segment, name, draft, errors: new Map() });
  }
  const rules = rulesOf(draft);
  const issues = validateRules(rules);
  const nameError = name.length === 0 || name.length > 120 ? s.form.nameRequired : undefined;
  if (issues.length || nameError) {
    const errors = issuesInFrench(draft, issues);
    return renderBuilder(c, { segment, name, draft, errors, nameError, notice: { kind: 'err', text: s.form.fixErrors } }, 400);
  }
  const ctx = ctxOf(c);
  try {
    if (segment) {
      await updateSegment({ ctx, input: { id: segment.id, name, rules } });
      return c.redirect(`/segments?saved=${encodeURIComponent(segment.id)}`, 303);
    }
    const created = await createSegment({ ctx, input: { name, rules } });
    return c.redirect(`/segments?created=${encodeURIComponent(created.id)}`, 303);
  } catch (e) {
    // The domain checks the rules again; should it disagree, the form still says where.
    if (e instanceof Invalid) {
      return renderBuilder(c, { segment, name, draft, errors: issuesInFrench(draft, e.issues), notice: { kind: 'err', text: s.form.fixErrors } }, 400);
    }
    throw e;
  }
}

export const segmentPages = new Hono<AppEnv>()
  .get('/segments', marketers, async (c) => {
    const ctx = ctxOf(c);
    const segments = await listSegments({ ctx });
    const counts = await audienceCounts({ ctx, input: { rules: segments.map((sg) => sg.rules) } });
    const { agents } = await builderChoices({ ctx });
    const flashId = c.req.query('created') ?? c.req.query('saved');
    const flash = segments.find((sg) => sg.id === flashId);
    return c.html(
      <Layout title={s.title} viewer={await viewerOf(c)} current="/segments">
        <div class="segments-head">
          <h1>{s.title}</h1>
          {segments.length > 0 && (
            <a class="button" href="/segments/new">
              <span aria-hidden="true">+</span> {s.newSegment}
            </a>
          )}
        </div>
        <p class="lead">{s.lead}</p>
        {flash && <Notice kind="ok">{c.req.query('created') ? s.created(flash.name) : s.saved(flash.name)}</Notice>}
        {c.req.query('deleted') && <Notice kind="ok">{s.deleted}</Notice>}
        {segments.length === 0 ? (
          <section class="card segments-empty">
            <h2>{s.empty.title}</h2>
            <p>{s.empty.text}</p>
            <a class="button" href="/segments/new">
              {s.empty.cta}
            </a>
          </section>
        ) : (
          <DataTable headers={[s.columns.name, s.columns.audience, s.columns.rules, s.columns.updated]}>
            {segments.map((sg, i) => (
              <tr id={`segment-${sg.id}`} class={sg.id === flashId ? 'flash' : undefined}>
                <td>
                  <a href={`/segments/${sg.id}`}>{sg.name}</a>
                </td>
                <td class="num audience-cell">{s.audienceCell(counts[i] ?? null)}</td>
                <td class="rules-summary">{summariseRules(sg.rules, agents)}</td>
                <td class="nowrap">{formatDateTime(sg.updatedAt)}</td>
              </tr>
            ))}
          </DataTable>
        )}
      </Layout>,
    );
  })
  .get('/segments/new', marketers, (c) => renderBuilder(c, { segment: null, name: '', draft: emptyDraft(), errors: new Map() }))
  .post('/segments', marketers, (c) => handleBuilderPost(c, null))
  // The live count and sample, from the form body as is (the script posts the form).
  .post('/segments/preview', marketers, async (c) => {
    const body = (await c.req.parseBody({ all: true })) as Body;
    const viewer = await viewerOf(c);
    const preview = await previewOf(c, rulesOf(draftFromBody(body)), viewer.role);
    if (!preview.ok) return c.json({ ok: false, countText: s.preview.incomplete, sampleTitle: s.preview.sampleCaption, rows: [] });
    return c.json({ ok: true, count: preview.count, countText: s.preview.count(preview.count), sampleTitle: s.preview.sampleTitle(preview.rows.length), rows: preview.rows });
  })
  .get('/segments/:id', marketers, async (c) => {
    const segment = await getSegment({ ctx: ctxOf(c), input: { id: c.req.param('id') } });
    const error = c.req.query('error');
    const notice = error === 'confirm' ? { kind: 'err' as const, text: s.delete.needConfirm } : undefined;
    return renderBuilder(c, { segment, name: segment.name, draft: draftOf(segment.rules), errors: new Map(), notice });
  })
  .post('/segments/:id', marketers, async (c) => handleBuilderPost(c, await getSegment({ ctx: ctxOf(c), input: { id: c.req.param('id') } })))
  .post('/segments/:id/delete', marketers, async (c) => {
    const ctx = ctxOf(c);
    const segment = await getSegment({ ctx, input: { id: c.req.param('id') } });
    const body = await c.req.parseBody();
    if (body['confirm'] !== 'yes') return c.redirect(`/segments/${segment.id}?error=confirm`, 303);
    try {
      await deleteSegment({ ctx, input: { id: segment.id } });
    } catch (e) {
      if (!(e instanceof Conflict) || e.code !== 'segment_in_use') throw e;
      const names = ((e.details as { campaigns?: string[] } | undefined)?.campaigns ?? []);
      // Refused, nothing changed: the page says why.
      return renderBuilder(c, { segment, name: segment.name, draft: draftOf(segment.rules), errors: new Map(), notice: { kind: 'err', text: s.delete.inUse(names) } }, 409);
    }
    return c.redirect('/segments?deleted=1', 303);
  });

/** Styles of these pages, appended to /assets/app.css. */
export const segmentsCss = `
.segments-head{margin-bottom:8px;display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center;justify-content:space-between}
.segments-head h1{margin:0}
.segments-empty{text-align:center;padding:32px 20px}
.segments-empty p{max-width:560px;margin:8px auto 16px;color:var(--muted)}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td.nowrap{white-space:nowrap}
td.rules-summary{min-width:200px}
tr.flash td{background:#f0f7ff}
.segment-layout{display:grid;grid-template-columns:minmax(0,2fr) minmax(300px,1fr);gap:16px;align-items:start}
.segment-layout>.card{margin:0}
.segment-form .hint{margin:4px 0 0}
.segment-form input#name{max-width:480px}
.rules-title{margin-top:20px}
fieldset.group{border:1px solid var(--line);border-radius:8px;padding:12px;margin:0;min-width:0}
fieldset.group.nested{background:#f8fafc;border-style:dashed}
fieldset.group>legend{font-weight:700;padding:0 6px}
.match-line{display:flex;flex-wrap:wrap;gap:4px 10px;align-items:center}
.match-line label{margin:0}
.match-line select{width:auto;max-width:100%}
ol.rules{list-style:none;margin:8px 0 0;padding:0}
ol.rules>li{margin:0 0 8px}
fieldset.rule-box{border:none;border-top:1px solid var(--line);margin:0;padding:8px 0 0;min-width:0}
.rule-grid{display:grid;grid-template-columns:minmax(0,1.5fr) minmax(0,1fr) minmax(0,1.3fr) auto;gap:8px;align-items:end}
.rule-part{min-width:0}
.rule-part label,.rule-label{display:block;font-size:13px;font-weight:600;margin:0 0 2px;color:var(--muted)}
.rule-part select,.rule-part input{max-width:none}
.rule-part select[multiple]{padding:4px}
.rule-value .hint{margin:2px 0 0}
.novalue{margin:0;padding:9px 0}
.rule-remove button{padding:9px 12px}
.group-actions{margin-top:4px}
.group-actions button{padding:6px 12px;font-size:14px}
.empty-group{margin:8px 0 0}
.nojs-only{margin-top:12px}
.count-echo{display:none;margin:16px 0 0;font-weight:600;min-height:3em}
.js .nojs-only{display:none}
a.button.secondary-link{background:#fff;color:var(--brand)}
.segment-preview{position:sticky;top:12px}
.audience-count{font-size:1.15rem;font-weight:700;min-height:3.2em;margin:8px 0}
.segment-preview[aria-busy=true] .audience-count,.segment-preview[aria-busy=true] .sample-list{color:var(--muted)}
.sample-title{font-size:1rem;margin:8px 0}
.masked-note{margin:0 0 8px}
.sample-list{list-style:none;margin:0;padding:0;min-height:calc(10 * 3.3rem);font-size:14px}
.sample-list li{padding:6px 0;border-top:1px solid var(--line);min-height:3.3rem;overflow-wrap:anywhere}
.sample-list .who{font-weight:600}
.sample-list .mail{color:var(--muted)}
.sample-list .meta{display:block}
.segment-delete details{border-top:none;padding:0}
.segment-delete summary{font-weight:600;color:var(--err)}
.segment-delete form{margin-top:8px}
@media (max-width:900px){.segment-layout{grid-template-columns:minmax(0,1fr)}.segment-preview{position:static}.count-echo{display:block}}
@media (max-width:600px){.rule-grid{grid-template-columns:minmax(0,1fr)}.rule-remove{justify-self:end}.rule-remove button{padding:6px 12px;font-size:14px}fieldset.group{padding:10px 8px}}
`;
