/**
 * The campaign editor page, enhanced: the MJML body becomes a CodeMirror editor (highlighting,
 * MJML tag and attribute completion), kept in sync with the <textarea> so the form still posts;
 * the preview follows unsaved edits (debounced POST /api/v1/campaigns/preview, shown through
 * `srcdoc` in the sandboxed frame), at desktop or mobile width, as sample data or a contact; the
 * mandatory-block verification updates next to the editor. Without this script the page works
 * with plain forms (the frame then shows the saved version).
 */
import { basicSetup, EditorView } from 'codemirror';
import { xml, type AttrSpec, type ElementSpec } from '@codemirror/lang-xml';
import { EditorSelection } from '@codemirror/state';
import { HighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { tags } from '@lezer/highlight';

/**
 * Syntax colours that keep 4.5:1 contrast on white and on the active line (CodeMirror's default
 * palette has light greys and reds that do not, WCAG 1.4.3).
 */
const readableHighlight = HighlightStyle.define([
  { tag: [tags.tagName, tags.typeName], color: '#0b4f8a' },
  { tag: tags.attributeName, color: '#7a3e00' },
  { tag: [tags.attributeValue, tags.string], color: '#0d6630' },
  { tag: [tags.angleBracket, tags.punctuation, tags.definitionOperator], color: '#4a5663' },
  { tag: tags.comment, color: '#4a5663', fontStyle: 'italic' },
  { tag: [tags.processingInstruction, tags.meta, tags.documentMeta], color: '#5b3a8c' },
  { tag: tags.character, color: '#8a2d00' },
  { tag: tags.invalid, color: '#b42318' },
]);

// ---------------------------------------------------------------------------------------------
// MJML schema for completion. Only what a campaign body may contain: the platform's layout owns
// <mjml>, <mj-head>, <mj-body> and the head tags (mj-attributes, mj-style, mj-preview, mj-title,
// mj-font…), and mj-raw / mj-include could hide the mandatory blocks, so the compiler refuses
// them (src/email/compile.ts); offering them here would only lead to a refusal.

const padding = ['padding', 'padding-top', 'padding-bottom', 'padding-left', 'padding-right'];
const align = { name: 'align', values: ['left', 'center', 'right'] };
const textAttrs = ['color', 'font-family', 'font-size', 'font-style', 'font-weight', 'line-height', 'letter-spacing', 'text-decoration', 'text-transform', align, 'container-background-color', ...padding];
const link = ['href', { name: 'target', values: ['_blank', '_self'] }, 'rel', 'title'];
const border = ['border', 'border-radius', 'border-top', 'border-bottom', 'border-left', 'border-right'];
const background = ['background-color', 'background-url', { name: 'background-repeat', values: ['repeat', 'no-repeat'] }, { name: 'background-size', values: ['auto', 'cover', 'contain'] }, 'background-position'];
const sectionAttrs = [...background, ...border, { name: 'direction', values: ['ltr', 'rtl'] }, { name: 'full-width', values: ['full-width'] }, { name: 'text-align', values: ['left', 'center', 'right'] }, ...padding];
const columnAttrs = ['width', 'background-color', 'inner-background-color', ...border, { name: 'vertical-align', values: ['top', 'middle', 'bottom'] }, ...padding];
const contentTags = ['mj-text', 'mj-button', 'mj-image', 'mj-divider', 'mj-spacer', 'mj-social', 'mj-table', 'mj-navbar', 'mj-accordion', 'mj-carousel'];

const mjmlElements: ElementSpec[] = [
  { name: 'mj-section', top: true, children: ['mj-column', 'mj-group'], attributes: sectionAttrs },
  { name: 'mj-wrapper', top: true, children: ['mj-section'], attributes: sectionAttrs },
  { name: 'mj-hero', top: true, children: contentTags, attributes: ['mode', 'height', 'width', ...background, { name: 'vertical-align', values: ['top', 'middle', 'bottom'] }, ...padding] },
  { name: 'mj-group', children: ['mj-column'], attributes: ['width', 'background-color', { name: 'direction', values: ['ltr', 'rtl'] }, { name: 'vertical-align', values: ['top', 'middle', 'bottom'] }] },
  { name: 'mj-column', children: contentTags, attributes: columnAttrs },
  { name: 'mj-text', attributes: [...textAttrs, 'height'] },
  { name: 'mj-button', attributes: [...link, ...textAttrs, 'background-color', ...border, 'inner-padding', 'width', 'height', { name: 'vertical-align', values: ['top', 'middle', 'bottom'] }] },
  { name: 'mj-image', attributes: ['src', 'alt', ...link, 'width', 'height', align, 'border', 'border-radius', 'fluid-on-mobile', 'container-background-color', ...padding] },
  { name: 'mj-divider', attributes: ['border-color', { name: 'border-style', values: ['solid', 'dashed', 'dotted'] }, 'border-width', 'width', align, ...padding] },
  { name: 'mj-spacer', attributes: ['height', 'container-background-color', ...padding] },
  { name: 'mj-social', children: ['mj-social-element'], attributes: [align, { name: 'mode', values: ['horizontal', 'vertical'] }, 'icon-size', 'font-size', 'color', 'inner-padding', ...padding] },
  { name: 'mj-social-element', attributes: [{ name: 'name', values: ['facebook', 'x', 'twitter', 'instagram', 'linkedin', 'youtube', 'pinterest', 'web'] }, ...link, 'src', 'alt', 'background-color', 'color', 'icon-size'] },
  { name: 'mj-navbar', children: ['mj-navbar-link'], attributes: [align, 'hamburger', 'base-url'] },
  { name: 'mj-navbar-link', attributes: [...link, 'color', 'font-size', 'font-weight', ...padding] },
  { name: 'mj-table', attributes: ['width', 'cellpadding', 'cellspacing', 'border', 'color', 'font-size', 'line-height', align, ...padding] },
  { name: 'mj-accordion', children: ['mj-accordion-element'], attributes: ['border', 'font-family', 'icon-position'] },
  { name: 'mj-accordion-element', children: ['mj-accordion-title', 'mj-accordion-text'], attributes: ['background-color', 'border'] },
  { name: 'mj-accordion-title', attributes: ['color', 'background-color', 'font-size', ...padding] },
  { name: 'mj-accordion-text', attributes: ['color', 'background-color', 'font-size', 'line-height', ...padding] },
  { name: 'mj-carousel', children: ['mj-carousel-image'], attributes: [align, 'border-radius', 'thumbnails'] },
  { name: 'mj-carousel-image', attributes: ['src', 'alt', 'href', 'title'] },
  // Inline HTML inside mj-text / mj-table.
  ...['p', 'a', 'strong', 'em', 'br', 'ul', 'ol', 'li', 'h2', 'h3', 'span', 'tr', 'td', 'th'].map((name) => ({ name, attributes: name === 'a' ? link : ['style'] })),
];
const mjmlAttributes: AttrSpec[] = [{ name: 'css-class', global: false }];

// ---------------------------------------------------------------------------------------------

interface I18n {
  updating: string;
  live: string;
  failed: string;
  stale: string;
  line: string;
  goToLine: string;
  fields: Record<string, string>;
  /** "N destinataire(s)" for one and for several, with the number to replace. */
  audience: [string, string];
}

interface Issue {
  field: string;
  message: string;
  line?: number;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T | null;

function start() {
  const root = $('campaign-editor');
  const form = $<HTMLFormElement>('campaign-form');
  const textarea = $<HTMLTextAreaElement>('body');
  const frameOrNull = $<HTMLIFrameElement>('preview-frame');
  if (!root || !form || !textarea || !frameOrNull) return;
  const i18n = JSON.parse(root.dataset.i18n ?? '{}') as I18n;
  const subject = $<HTMLInputElement>('subject')!;
  const preheader = $<HTMLInputElement>('preheader')!;
  const asSelect = $<HTMLSelectElement>('as');
  const status = $('preview-status')!;
  const verifyOk = $('verify-ok')!;
  const verifyFail = $('verify-fail')!;
  const verifyIssues = $('verify-issues')!;

  // --- The code editor, replacing the textarea on screen (the textarea stays in the form).
  const wrap = document.createElement('div');
  wrap.className = 'cmp-cm';
  if (textarea.getAttribute('aria-invalid') === 'true') wrap.classList.add('invalid');
  textarea.insertAdjacentElement('afterend', wrap);
  const describedBy = [textarea.getAttribute('aria-describedby') ?? '', 'body-editor-hint'].join(' ').trim();
  const view = new EditorView({
    doc: textarea.value,
    parent: wrap,
    extensions: [
      basicSetup,
      syntaxHighlighting(readableHighlight),
      xml({ elements: mjmlElements, attributes: mjmlAttributes }),
      EditorView.lineWrapping,
      // tabindex: the content is focusable anyway (contenteditable); saying so lets checkers see
      // that the scrolling region around it is reachable by keyboard.
      EditorView.contentAttributes.of({ 'aria-labelledby': 'body-label', 'aria-describedby': describedBy, 'aria-multiline': 'true', spellcheck: 'false', tabindex: '0' }),
      EditorView.updateListener.of((u) => {
        if (!u.docChanged) return;
        textarea.value = u.state.doc.toString();
        schedule();
      }),
    ],
  });
  textarea.hidden = true;
  textarea.classList.add('cmp-synced');
  $('body-editor-hint')?.removeAttribute('hidden');
  // The label now names the editor: clicking it focuses the code, not the hidden textarea.
  $('body-label')?.addEventListener('click', (ev) => {
    ev.preventDefault();
    view.focus();
  });
  form.addEventListener('submit', () => {
    textarea.value = view.state.doc.toString();
  });

  function goToLine(n: number) {
    const line = view.state.doc.line(Math.min(Math.max(1, n), view.state.doc.lines));
    view.dispatch({ selection: EditorSelection.cursor(line.from), effects: EditorView.scrollIntoView(line.from, { y: 'center' }) });
    view.focus();
  }

  // --- Width toggle and "preview as": live, no reload.
  const submit = $('preview-submit');
  if (submit) submit.hidden = true;
  for (const radio of document.querySelectorAll<HTMLInputElement>('input[name=width]')) {
    radio.addEventListener('change', () => {
      if (!radio.checked) return;
      for (const f of [current, pending]) {
        f?.classList.toggle('mobile', radio.value === 'mobile');
        f?.classList.toggle('desktop', radio.value === 'desktop');
      }
    });
  }
  asSelect?.addEventListener('change', () => refresh());

  // --- Live preview.
  let timer: ReturnType<typeof setTimeout> | undefined;
  let seq = 0;
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 600);
  }
  subject.addEventListener('input', schedule);
  preheader.addEventListener('input', schedule);

  /**
   * A fresh frame per version, swapped in once loaded: navigating the same frame would add a
   * history entry per keystroke pause (Back would step through previews) and flash blank.
   */
  let current = frameOrNull;
  let pending: HTMLIFrameElement | null = null;
  function showHtml(html: string) {
    pending?.remove();
    const next = current.cloneNode(false) as HTMLIFrameElement;
    next.removeAttribute('id');
    next.removeAttribute('src');
    next.classList.add('cmp-next');
    next.srcdoc = html;
    pending = next;
    next.addEventListener('load', () => {
      if (pending !== next) return;
      pending = null;
      next.classList.remove('cmp-next');
      next.id = 'preview-frame';
      current.replaceWith(next);
      current = next;
    });
    current.insertAdjacentElement('afterend', next);
  }

  function showIssues(issues: Issue[]) {
    verifyIssues.replaceChildren(
      ...issues.map((issue) => {
        const li = document.createElement('li');
        const where = i18n.fields[issue.field] ?? issue.field;
        if (issue.line && issue.field === 'body') {
          const button = document.createElement('button');
          button.type = 'button';
          button.className = 'cmp-line';
          button.textContent = `${where}, ${i18n.line.replace('{n}', String(issue.line))}`;
          button.setAttribute('aria-label', i18n.goToLine.replace('{n}', String(issue.line)));
          button.addEventListener('click', () => goToLine(issue.line!));
          li.append(button);
        } else {
          const strong = document.createElement('strong');
          strong.textContent = where;
          li.append(strong);
        }
        li.append(` : ${issue.message}`);
        return li;
      }),
    );
    verifyOk.hidden = true;
    verifyFail.hidden = false;
    wrap.classList.toggle('invalid', issues.some((i) => i.field === 'body'));
    markLines(issues);
  }

  /** Underlines the body lines the compiler named, with its message on hover. */
  function markLines(issues: Issue[]) {
    const doc = view.state.doc;
    const diagnostics: Diagnostic[] = issues
      .filter((i) => i.field === 'body' && i.line && i.line <= doc.lines)
      .map((i) => {
        const line = doc.line(i.line!);
        return { from: line.from, to: line.to, severity: 'error', message: i.message };
      });
    view.dispatch(setDiagnostics(view.state, diagnostics));
  }

  async function refresh() {
    clearTimeout(timer);
    const mine = ++seq;
    status.textContent = i18n.updating;
    const payload: Record<string, string> = { subject: subject.value, preheader: preheader.value, body: view.state.doc.toString() };
    if (asSelect?.value) payload.contactId = asSelect.value;
    try {
      const res = await fetch('/api/v1/campaigns/preview', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(payload),
      });
      if (mine !== seq) return; // a newer edit already asked again
      const data = (await res.json()) as { html?: string; subject?: string; preheader?: string; error?: { message: string; details?: { issues?: Issue[] } } };
      if (res.ok && data.html !== undefined) {
        showHtml(data.html);
        $('pv-subject')!.textContent = data.subject ?? '';
        $('pv-preheader')!.textContent = data.preheader ?? '';
        verifyOk.hidden = false;
        verifyFail.hidden = true;
        wrap.classList.remove('invalid');
        markLines([]);
        status.textContent = i18n.live;
      } else if (res.status === 400 && data.error) {
        showIssues(data.error.details?.issues?.length ? data.error.details.issues : [{ field: 'body', message: data.error.message }]);
        status.textContent = i18n.stale;
      } else {
        status.textContent = i18n.failed;
      }
    } catch {
      if (mine === seq) status.textContent = i18n.failed;
    }
  }

  // Issues listed by the server (a refused save) can take the reader to their line too.
  const fromServer: Issue[] = [];
  for (const li of verifyIssues.querySelectorAll<HTMLElement>('li[data-line]')) {
    const strong = li.querySelector('strong');
    const n = Number(li.dataset.line);
    if (!strong || !n) continue;
    fromServer.push({ field: 'body', line: n, message: (li.textContent ?? '').replace(strong.textContent ?? '', '').replace(/^\s*:\s*/, '') });
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'cmp-line';
    button.textContent = strong.textContent;
    button.setAttribute('aria-label', i18n.goToLine.replace('{n}', String(n)));
    button.addEventListener('click', () => goToLine(n));
    strong.replaceWith(button);
  }
  if (fromServer.length) markLines(fromServer);

  // --- Live audience count of the chosen segment.
  const segment = $<HTMLSelectElement>('segmentId');
  const count = $('segment-count');
  const audience = i18n.audience;
  if (segment && count && audience) {
    segment.addEventListener('change', () => {
      const n = Number(segment.selectedOptions[0]?.dataset.count ?? 0);
      count.textContent = (n > 1 ? audience[1] : audience[0]).replace(/\d+/, String(n));
    });
  }
  // The datetime only matters when scheduling.
  const at = $<HTMLInputElement>('at');
  const radios = document.querySelectorAll<HTMLInputElement>('input[name=when]');
  const syncAt = () => {
    const later = [...radios].some((r) => r.value === 'later' && r.checked);
    if (at) at.disabled = !later;
  };
  for (const r of radios) r.addEventListener('change', syncAt);
  syncAt();
}

start();
