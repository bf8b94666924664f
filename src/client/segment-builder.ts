/**
 * The segment rule builder, enhanced (served at /static/segment-builder.js). The page works
 * without it: its add/remove buttons submit the form and the server re-renders. With it:
 * - rows and groups are added and removed in place, and every control is renamed after the rule
 *   path it stands for (`conditions.1.conditions.0.value`), exactly as the server names them;
 * - the operator list follows the chosen field, and the value input follows the operator;
 * - the audience count and sample are refreshed 300 ms after the last change, by posting the
 *   form body to /segments/preview (the server parses it like a save, so both always agree).
 */

type Kind = 'text' | 'date' | 'bool' | null;
type Widget = 'none' | 'text' | 'list' | 'date' | 'days' | 'bool' | 'agent' | 'agents';

interface BuilderData {
  fields: Record<string, { kind: Kind; operators: string[] }>;
  operators: Record<string, string>;
  agents: { id: string; name: string }[];
  maxDepth: number;
  t: Record<'yes' | 'no' | 'choose' | 'value' | 'days' | 'noValue' | 'listHint' | 'conditionLegend' | 'groupLegend' | 'removeCondition' | 'incomplete' | 'loading' | 'failed' | 'owner' | 'consent', string>;
}

interface PreviewAnswer {
  ok: boolean;
  count?: number;
  countText: string;
  sampleTitle: string;
  rows: { name: string; email: string; owner: string; consent: string }[];
}

/** Same choice as widgetFor in src/http/pages/segment-pages.tsx. */
function widgetFor(data: BuilderData, field: string, operator: string): Widget {
  const kind = data.fields[field]?.kind ?? 'text';
  if (operator === 'is_empty' || operator === 'is_not_empty') return 'none';
  if (kind === 'bool') return 'bool';
  if (kind === 'date') return operator === 'before' || operator === 'after' ? 'date' : 'days';
  if (field === 'ownerAgentId' && (operator === 'equals' || operator === 'not_equals')) return 'agent';
  if (field === 'ownerAgentId' && operator === 'in') return 'agents';
  return operator === 'in' ? 'list' : 'text';
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function option(value: string, label: string, selected = false): HTMLOptionElement {
  const o = el('option', { value }, label);
  o.selected = selected;
  return o;
}

function setup(form: HTMLFormElement): void {
  const data = JSON.parse(form.dataset['builder'] ?? '{}') as BuilderData;
  const root = form.querySelector<HTMLFieldSetElement>('fieldset.group.root');
  const panel = document.getElementById('audience');
  const countEl = document.getElementById('audience-count');
  const sampleTitle = document.getElementById('sample-title');
  const list = document.getElementById('audience-sample');
  const echo = document.getElementById('audience-echo');
  if (!root || !panel || !countEl || !sampleTitle || !list) return;
  document.documentElement.classList.add('js');

  // ---- names and numbering ------------------------------------------------------------------

  const legendOf = (scope: Element) => scope.querySelector<HTMLElement>(':scope > legend');

  function renameRow(li: HTMLElement, path: string, n: number): void {
    const box = li.querySelector('fieldset.rule-box');
    if (box) {
      const legend = legendOf(box);
      if (legend) legend.textContent = data.t.conditionLegend.replace('{n}', String(n));
    }
    for (const control of li.querySelectorAll<HTMLElement>('[data-part]')) {
      const part = control.dataset['part']!;
      const id = `${path}.${part}`;
      control.id = id;
      control.setAttribute('name', id);
      const described: string[] = [];
      const hint = li.querySelector<HTMLElement>(`[data-hint-for="${part}"]`);
      if (hint) {
        hint.id = `${id}-hint`;
        described.push(hint.id);
      }
      const error = li.querySelector<HTMLElement>(`[data-error-for="${part}"]`);
      if (error) {
        error.id = `${id}-error`;
        described.push(error.id);
      }
      if (described.length) control.setAttribute('aria-describedby', described.join(' '));
      else control.removeAttribute('aria-describedby');
    }
    for (const label of li.querySelectorAll<HTMLLabelElement>('label[data-label-for]')) label.htmlFor = `${path}.${label.dataset['labelFor']}`;
    const remove = li.querySelector<HTMLButtonElement>('button[data-action="remove"]');
    if (remove) {
      remove.value = path;
      remove.setAttribute('aria-label', data.t.removeCondition.replace('{n}', String(n)));
    }
  }

  function reindex(): void {
    let conditions = 0;
    let groups = 0;
    const walk = (group: HTMLElement, prefix: string, depth: number) => {
      if (prefix !== '') {
        groups++;
        const legend = legendOf(group);
        if (legend) legend.textContent = data.t.groupLegend.replace('{n}', String(groups));
      }
      const match = group.querySelector<HTMLSelectElement>(':scope > .match-line select');
      const matchLabel = group.querySelector<HTMLLabelElement>(':scope > .match-line label');
      if (match) {
        match.id = `${prefix}match`;
        match.name = `${prefix}match`;
      }
      if (matchLabel) matchLabel.htmlFor = `${prefix}match`;
      for (const button of group.querySelectorAll<HTMLButtonElement>(':scope > .group-actions button')) {
        const action = button.dataset['action'];
        if (action === 'remove') button.value = prefix.slice(0, -1);
        else button.value = prefix;
        if (action === 'addGroup' && depth >= data.maxDepth - 1) button.remove();
      }
      const items = group.querySelectorAll<HTMLElement>(':scope > ol.rules > li');
      const note = group.querySelector<HTMLElement>(':scope > [data-empty-note]');
      if (note) note.hidden = items.length > 0;
      items.forEach((li, i) => {
        const path = `${prefix}conditions.${i}`;
        const nested = li.querySelector<HTMLElement>(':scope > fieldset.group');
        if (nested) walk(nested, `${path}.`, depth + 1);
        else renameRow(li, path, ++conditions);
      });
    };
    walk(root!, '', 0);
  }

  // ---- value inputs -------------------------------------------------------------------------

  function valueCell(widget: Widget, field: string, keep: string): HTMLElement {
    const cell = el('div', { class: 'rule-part rule-value', 'data-widget': widget });
    if (widget === 'none') {
      cell.append(el('span', { class: 'rule-label', 'aria-hidden': 'true' }, data.t.value), el('p', { class: 'novalue muted small' }, data.t.noValue));
      return cell;
    }
    cell.append(el('label', { 'data-label-for': 'value' }, widget === 'days' ? data.t.days : data.t.value));
    let control: HTMLInputElement | HTMLSelectElement;
    if (widget === 'bool') {
      control = el('select');
      control.append(option('true', data.t.yes), option('false', data.t.no));
    } else if (widget === 'agent' || widget === 'agents') {
      control = el('select');
      if (widget === 'agents') {
        control.multiple = true;
        control.size = 3;
      } else control.append(option('', data.t.choose));
      for (const a of data.agents) control.append(option(a.id, a.name));
    } else if (widget === 'date') {
      control = el('input', { type: 'date' });
    } else if (widget === 'days') {
      control = el('input', { type: 'number', min: '0', max: '3650', step: '1', inputmode: 'numeric' });
      if (/^\d+$/.test(keep)) control.value = keep;
    } else {
      control = el('input', { type: 'text', maxlength: widget === 'list' ? '2000' : '200', autocomplete: 'off' });
      if (field === 'sourceCampaign') control.setAttribute('list', 'dl-sourceCampaign');
      control.value = keep;
    }
    control.dataset['part'] = 'value';
    cell.append(control);
    if (widget === 'list') cell.append(el('p', { class: 'small muted hint', 'data-hint-for': 'value' }, data.t.listHint));
    return cell;
  }

  /** Makes the operator list and the value input match the row's field (and operator). */
  function syncRow(li: HTMLElement, changed: 'field' | 'operator'): void {
    const fieldSel = li.querySelector<HTMLSelectElement>('select[data-part="field"]');
    const opSel = li.querySelector<HTMLSelectElement>('select[data-part="operator"]');
    const cell = li.querySelector<HTMLElement>('.rule-value');
    if (!fieldSel || !opSel || !cell) return;
    const field = fieldSel.value;
    if (changed === 'field') {
      const ops = data.fields[field]?.operators ?? [];
      const current = ops.includes(opSel.value) ? opSel.value : ops[0] ?? '';
      opSel.replaceChildren(...ops.map((o) => option(o, data.operators[o] ?? o, o === current)));
    }
    const widget = widgetFor(data, field, opSel.value);
    const old = cell.dataset['widget'] as Widget | undefined;
    const oldInput = cell.querySelector<HTMLInputElement>('input[data-part="value"]');
    const textual = (w: Widget | undefined) => w === 'text' || w === 'list';
    if (old === widget && !(changed === 'field' && (widget === 'agent' || widget === 'agents'))) {
      // Same kind of input: keep what was typed, only the suggestions follow the field.
      if (oldInput && textual(widget)) {
        if (field === 'sourceCampaign') oldInput.setAttribute('list', 'dl-sourceCampaign');
        else oldInput.removeAttribute('list');
      }
      return;
    }
    const keep = oldInput && (textual(old) === textual(widget) || old === widget) ? oldInput.value : '';
    cell.replaceWith(valueCell(widget, field, keep));
    reindex();
  }

  function clearErrors(li: HTMLElement): void {
    li.querySelectorAll('.field-error').forEach((p) => p.remove());
    li.querySelectorAll('[aria-invalid]').forEach((c) => c.removeAttribute('aria-invalid'));
  }

  // ---- adding and removing ------------------------------------------------------------------

  function fromTemplate(id: string): HTMLElement | null {
    const tpl = document.getElementById(id) as HTMLTemplateElement | null;
    const li = tpl?.content.firstElementChild?.cloneNode(true);
    return li instanceof HTMLElement ? li : null;
  }

  const firstControl = (scope: Element | null | undefined) => scope?.querySelector<HTMLElement>('select, input, button') ?? null;

  form.addEventListener('click', (event) => {
    const button = (event.target as Element | null)?.closest<HTMLButtonElement>('button[data-action]');
    if (!button || !form.contains(button)) return;
    event.preventDefault();
    const action = button.dataset['action'];
    const group = button.closest<HTMLElement>('fieldset.group');
    const list = group?.querySelector<HTMLElement>(':scope > ol.rules');
    if ((action === 'add' || action === 'addGroup') && list) {
      const li = fromTemplate(action === 'add' ? 'tpl-condition' : 'tpl-group');
      if (!li) return;
      list.append(li);
      reindex();
      firstControl(li)?.focus();
    } else if (action === 'remove') {
      const li = button.closest<HTMLElement>('li.rule');
      if (!li) return;
      const parentGroup = li.parentElement?.closest<HTMLElement>('fieldset.group');
      // Focus goes where the removed row was, or to the group's "add" button when it was the last.
      const next = (li.nextElementSibling ?? li.previousElementSibling) as HTMLElement | null;
      li.remove();
      reindex();
      (firstControl(next) ?? parentGroup?.querySelector<HTMLElement>(':scope > .group-actions button[data-action="add"]'))?.focus();
    }
    schedule();
  });

  form.addEventListener('change', (event) => {
    const target = event.target as HTMLElement;
    const li = target.closest<HTMLElement>('li.rule');
    const part = target.dataset['part'];
    if (li && (part === 'field' || part === 'operator' || part === 'value')) {
      clearErrors(li);
      if (part !== 'value') syncRow(li, part);
    }
    schedule();
  });
  form.addEventListener('input', schedule);

  // ---- live audience ------------------------------------------------------------------------

  let timer: ReturnType<typeof setTimeout> | undefined;
  let sequence = 0;
  function schedule(): void {
    clearTimeout(timer);
    timer = setTimeout(() => void refresh(), 300);
  }

  async function refresh(): Promise<void> {
    const mine = ++sequence;
    panel!.setAttribute('aria-busy', 'true');
    try {
      const body = new URLSearchParams();
      for (const [k, v] of new FormData(form)) if (typeof v === 'string') body.append(k, v);
      const res = await fetch('/segments/preview', { method: 'POST', credentials: 'same-origin', headers: { accept: 'application/json' }, body });
      if (!res.ok) throw new Error(`preview ${res.status}`);
      const answer = (await res.json()) as PreviewAnswer;
      // A slower, older answer must not overwrite a newer one.
      if (mine !== sequence) return;
      countEl!.textContent = answer.countText;
      if (echo) echo.textContent = answer.countText;
      countEl!.dataset['count'] = answer.ok ? String(answer.count) : '';
      sampleTitle!.textContent = answer.sampleTitle;
      list!.replaceChildren(
        ...answer.rows.map((r) => {
          const li = el('li');
          li.append(el('span', { class: 'who' }, r.name), ' ', el('span', { class: 'mail' }, r.email), el('span', { class: 'meta small muted' }, `${data.t.owner} : ${r.owner} · ${data.t.consent} : ${r.consent}`));
          return li;
        }),
      );
    } catch {
      if (mine === sequence) {
        countEl!.textContent = data.t.failed;
        if (echo) echo.textContent = data.t.failed;
        countEl!.dataset['count'] = '';
      }
    } finally {
      if (mine === sequence) panel!.removeAttribute('aria-busy');
    }
  }
}

const form = document.getElementById('segment-form');
if (form instanceof HTMLFormElement) setup(form);
export {};
