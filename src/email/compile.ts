/**
 * Compile once: marketer body + platform layout → MJML → HTML → a `CompiledEmail` of static
 * chunks and slots, verified to carry every mandatory block (verify.ts). Costly (MJML takes
 * ~10-20 ms), so it runs when a campaign is saved, never per recipient.
 *
 * Merge tags become sentinels (`cnslot12x`: letters and digits survive MJML, HTML parsing and
 * text conversion untouched); once MJML has produced the HTML, each sentinel is turned into a
 * slot whose escaping depends on where it landed (text, attribute, inside a URL).
 */
import { convert } from 'html-to-text';
import mjml2html from 'mjml';
import type { FieldIssue } from '../domain/errors.js';
import type { CompiledEmail, Encoding, Part, Slot, SlotSource } from './artefact.js';
import { decodeEntities, escapeHtml } from './escape.js';
import { scanHtml } from './html-scan.js';
import {
  ATTRIBUTE_NAME,
  brandFields,
  findTags,
  lineOf,
  recipientFields,
  suggest,
  systemFields,
  urlSystemFields,
  type BrandField,
} from './merge-fields.js';
import { layouts } from './templates.generated.js';
import { verifyEmail, type BlockName } from './verify.js';

export const SUBJECT_MAX = 150;
export const PREHEADER_MAX = 200;
export const BODY_MAX = 200_000;

export type LayoutName = keyof typeof layouts;

export const requiredBlocks: Record<LayoutName, BlockName[]> = {
  newsletter: ['unsubscribe', 'reason', 'identity', 'privacy'],
  transactional: ['identity', 'privacy'],
};

export interface CompileInput {
  layout: LayoutName;
  subject: string;
  preheader: string;
  /** MJML sections written by the marketer (or a platform message body). */
  body: string;
  brand: Record<BrandField, string>;
  /** Names a platform message may use besides recipient fields (`link`, `inviterName`). */
  extraFields?: readonly string[];
  /** Extra fields holding a whole URL the platform built (an invitation link): allowed as an href. */
  urlFields?: readonly string[];
}

/** A refused compilation: each issue names a field (`subject`, `body`…) and, for the body, a line. */
export class CompileError extends Error {
  constructor(readonly issues: (FieldIssue & { line?: number })[]) {
    super(issues.map((i) => `${i.field}${i.line ? ` (ligne ${i.line})` : ''} : ${i.message}`).join('\n'));
    this.name = 'CompileError';
  }
}

/** Matches one sentinel (no `g` flag: no shared lastIndex state between calls). */
const HAS_SENTINEL = /cnslot\d+x/i;
const sentinelsIn = (text: string) => text.matchAll(/cnslot(\d+)x/gi);

/**
 * Things a body may not contain, with why. The layout owns the document, the head and styles;
 * raw HTML, comments and scripts could hide or fake the mandatory blocks or run code.
 */
const forbidden: { pattern: RegExp; message: string }[] = [
  { pattern: /<\s*(mjml|mj-head|mj-body)\b/gi, message: 'le document, l’en-tête et le corps MJML appartiennent à la mise en page : écrivez seulement des sections (mj-section, mj-wrapper…)' },
  { pattern: /<\s*mj-(raw|include|style|attributes|font|html-attributes|breakpoint|title|preview)\b/gi, message: 'cette balise MJML est réservée à la mise en page de la plateforme' },
  { pattern: /<\s*(script|style|iframe|object|embed|form|input|button|meta|link|base|svg|math|template|noscript|frame|frameset)\b/gi, message: 'balise HTML interdite dans un e-mail (script, style, formulaire ou contenu embarqué)' },
  { pattern: /<!--|<!\[CDATA\[|<!\s*doctype/gi, message: 'les commentaires et sections CDATA sont interdits : ils peuvent masquer la suite du message' },
  { pattern: /\son[a-z]+\s*=/gi, message: 'les attributs d’événement (onclick, onload…) sont interdits : aucun script ne s’exécute dans un e-mail' },
  { pattern: /(javascript|vbscript|data)\s*:/gi, message: 'adresse interdite (javascript:, vbscript: ou data:)' },
  { pattern: /cn-block|cn-footer/gi, message: 'les classes cn-block et cn-footer désignent les blocs obligatoires de la plateforme' },
  { pattern: /cnslot\d+x/gi, message: 'texte réservé à la plateforme' },
  { pattern: /\b(mj-class|css-class)\s*=/gi, message: 'les classes CSS ne sont pas disponibles dans le corps : utilisez les attributs MJML (color, font-size…)' },
];

interface Sentinels {
  defs: SlotSource[];
  add(def: SlotSource): string;
}

function sentinels(): Sentinels {
  const defs: SlotSource[] = [];
  return {
    defs,
    add(def) {
      defs.push(def);
      return `cnslot${defs.length - 1}x`;
    },
  };
}

/** Escapes text for an MJML (XML) source while keeping sentinels intact. */
const xmlText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Replaces the merge tags of `source` (from `where`) by sentinels or brand constants,
 * reporting unknown names, missing defaults and misplaced platform fields.
 */
function substituteTags(
  source: string,
  where: 'subject' | 'preheader' | 'body' | 'layout',
  ctx: { s: Sentinels; brand: Record<BrandField, string>; extra: ReadonlySet<string>; issues: (FieldIssue & { line?: number })[]; used: Set<string>; escapeBrand: boolean },
): string {
  const { tags, malformed } = findTags(source);
  for (const at of malformed) {
    ctx.issues.push({ field: where, line: where === 'body' ? lineOf(source, at) : undefined, message: 'balise de fusion mal formée : écrivez {{champ}} ou {{champ|"valeur par défaut"}}' } as FieldIssue & { line?: number });
  }
  let out = '';
  let last = 0;
  const known = [...Object.keys(recipientFields), ...brandFields.map((b) => `brand.${b}`), ...ctx.extra];
  for (const tag of tags) {
    out += source.slice(last, tag.index);
    last = tag.index + tag.length;
    const line = where === 'body' ? lineOf(source, tag.index) : undefined;
    const fail = (message: string) => {
      ctx.issues.push({ field: where, ...(line ? { line } : {}), message });
      return '';
    };
    const [head, ...rest] = tag.name.split('.');
    const tail = rest.join('.');
    if (head === 'sys') {
      if (where !== 'layout' || !(systemFields as readonly string[]).includes(tail)) {
        out += fail(`{{${tag.name}}} est réservé à la mise en page de la plateforme`);
        continue;
      }
      out += ctx.s.add({ src: 'sys', name: tail });
      continue;
    }
    if (head === 'brand') {
      if (!(brandFields as readonly string[]).includes(tail)) {
        const hint = suggest(tag.name, known);
        out += fail(`champ inconnu {{${tag.name}}}${hint ? ` : vouliez-vous dire {{${hint}}} ?` : ''}`);
        continue;
      }
      const value = ctx.brand[tail as BrandField];
      out += ctx.escapeBrand ? xmlText(value) : value;
      continue;
    }
    if (head === 'attributes') {
      if (!ATTRIBUTE_NAME.test(tail)) {
        out += fail(`nom d’attribut invalide {{${tag.name}}}`);
        continue;
      }
      if (tag.fallback === null) {
        out += fail(`{{${tag.name}}} peut manquer chez certains contacts : donnez une valeur par défaut, {{${tag.name}|"…"}}`);
        continue;
      }
      ctx.used.add(tag.name);
      out += ctx.s.add({ src: 'field', name: tag.name, fallback: tag.fallback });
      continue;
    }
    const spec = recipientFields[tag.name as keyof typeof recipientFields];
    if (!spec && !ctx.extra.has(tag.name)) {
      const hint = suggest(tag.name, known);
      out += fail(`champ inconnu {{${tag.name}}}${hint ? ` : vouliez-vous dire {{${hint}}} ?` : ''}`);
      continue;
    }
    if (spec?.optional && tag.fallback === null) {
      out += fail(`{{${tag.name}}} (${spec.label}) peut manquer chez certains contacts : donnez une valeur par défaut, {{${tag.name}|"…"}}`);
      continue;
    }
    if ((where === 'subject' || where === 'preheader') && urlSystemFields.has(tag.name)) {
      out += fail(`{{${tag.name}}} est un lien : il n’a pas sa place dans l’${where === 'subject' ? 'objet' : 'aperçu'}`);
      continue;
    }
    ctx.used.add(tag.name);
    out += ctx.s.add(urlSystemFields.has(tag.name) ? { src: 'sys', name: tag.name } : { src: 'field', name: tag.name, fallback: tag.fallback });
  }
  return out + source.slice(last);
}

function checkPlainLine(value: string, field: 'subject' | 'preheader', max: number, issues: FieldIssue[]) {
  if (value.trim() === '') issues.push({ field, message: 'ne peut pas être vide' });
  if ([...value].length > max) issues.push({ field, message: `${[...value].length} caractères : ${max} au plus` });
  if (/[\r\n]/.test(value)) issues.push({ field, message: 'tient sur une seule ligne' });
  if (/<[a-z!/]/i.test(value)) issues.push({ field, message: 'ne contient pas de HTML' });
}

/** Splits a string holding sentinels into parts, each sentinel becoming a slot with `enc`. */
function partsOf(text: string, slotFor: (defIndex: number) => number): Part[] {
  const parts: Part[] = [];
  let last = 0;
  for (const m of sentinelsIn(text)) {
    if (m.index > last) parts.push(text.slice(last, m.index));
    parts.push(slotFor(Number(m[1])));
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

export async function compileEmail(input: CompileInput): Promise<CompiledEmail> {
  const issues: (FieldIssue & { line?: number })[] = [];
  checkPlainLine(input.subject, 'subject', SUBJECT_MAX, issues);
  if (input.preheader.trim() !== '' || input.layout === 'newsletter') checkPlainLine(input.preheader, 'preheader', PREHEADER_MAX, issues);
  if (input.body.length > BODY_MAX) issues.push({ field: 'body', message: `${input.body.length} caractères : ${BODY_MAX} au plus` });
  if (input.body.trim() === '') issues.push({ field: 'body', message: 'le corps du message est vide' });
  for (const rule of forbidden) {
    for (const m of input.body.matchAll(rule.pattern)) {
      issues.push({ field: 'body', line: lineOf(input.body, m.index), message: `« ${m[0].trim()} » : ${rule.message}` });
    }
  }
  // Accessibility and blocked-image readers: every image says what it shows.
  for (const m of input.body.matchAll(/<\s*(mj-image|img)\b[^>]*>/gi)) {
    if (!/\balt\s*=\s*("[^"]*\S[^"]*"|'[^']*\S[^']*')/i.test(m[0])) {
      issues.push({ field: 'body', line: lineOf(input.body, m.index), message: `image sans texte alternatif : ajoutez alt="…" à <${m[1]}>` });
    }
  }
  if (issues.length) throw new CompileError(issues);

  const s = sentinels();
  const used = new Set<string>();
  const urlFields = new Set(input.urlFields ?? []);
  const common = { s, brand: input.brand, extra: new Set([...(input.extraFields ?? []), ...urlFields]), issues, used };
  const isWholeUrl = (def: SlotSource) =>
    (def.src === 'sys' && (urlSystemFields.has(def.name) || def.name === 'pixel')) || (def.src === 'field' && urlFields.has(def.name));
  const subject = substituteTags(input.subject, 'subject', { ...common, escapeBrand: false });
  const preheader = substituteTags(input.preheader, 'preheader', { ...common, escapeBrand: false });
  const body = substituteTags(input.body, 'body', { ...common, escapeBrand: true });
  if (issues.length) throw new CompileError(issues);

  const layout = substituteTags(layouts[input.layout], 'layout', { ...common, escapeBrand: true })
    .replace(/cnslot(\d+)x/g, (whole, n: string) => {
      const def = s.defs[Number(n)]!;
      if (def.src === 'sys' && def.name === 'subject') return xmlText(subject);
      if (def.src === 'sys' && def.name === 'preheader') return xmlText(preheader);
      return whole;
    });
  if (issues.length) throw new Error(`layout ${input.layout} is invalid: ${issues.map((i) => i.message).join('; ')}`);

  const marker = '<!-- cn:body -->';
  const bodyAt = layout.indexOf(marker);
  const bodyFirstLine = lineOf(layout, bodyAt);
  const bodyLines = body.split('\n').length;
  const source = layout.slice(0, bodyAt) + body + layout.slice(bodyAt + marker.length);

  let html: string;
  try {
    const result = await mjml2html(source, { validationLevel: 'soft', keepComments: false });
    for (const e of result.errors) {
      const line = e.line - bodyFirstLine + 1;
      issues.push(
        line >= 1 && line <= bodyLines
          ? { field: 'body', line, message: `MJML : ${e.message}` }
          : { field: 'body', message: `MJML (mise en page) : ${e.message}` },
      );
    }
    // MJML indents its output generously. Indentation after a newline is insignificant in HTML
    // (a newline already separates the words) and can be a third of the bytes: Gmail clips
    // messages over 102 KB, and every byte is sent once per recipient.
    html = result.html.replace(/\n[ \t]+/g, '\n').replace(/\n{2,}/g, '\n');
  } catch (error) {
    throw new CompileError([{ field: 'body', message: `MJML illisible : ${error instanceof Error ? error.message : String(error)}` }]);
  }
  if (issues.length) throw new CompileError(issues);

  // Links: each href the author wrote becomes a link slot whose URL is a template of its own
  // (so click tracking can wrap it later); platform links (sys URLs) stay as they are.
  const links: { template: string }[] = [];
  const edits: { start: number; end: number; text: string }[] = [];
  for (const r of scanHtml(html)) {
    if (r.kind !== 'attr') continue;
    const value = html.slice(r.start, r.end);
    if (r.name.startsWith('on')) issues.push({ field: 'body', message: `attribut ${r.name} interdit` });
    // Escaping cannot contain a value in an unquoted attribute (a space ends it): refuse.
    if (!r.quoted && HAS_SENTINEL.test(value)) {
      issues.push({ field: 'body', message: `champ de fusion dans l’attribut ${r.name} sans guillemets : écrivez ${r.name}="…"` });
      continue;
    }
    const isUrl = (r.name === 'href' && (r.tag === 'a' || r.tag === 'area')) || (r.name === 'src' && r.tag === 'img');
    if (!isUrl) {
      if (r.name === 'style' && HAS_SENTINEL.test(value)) issues.push({ field: 'body', message: 'pas de champ de fusion dans un style' });
      continue;
    }
    const whole = /^cnslot(\d+)x$/i.exec(value.trim());
    if (whole) {
      if (isWholeUrl(s.defs[Number(whole[1])]!)) continue;
    }
    const url = decodeEntities(value.trim());
    if (/^cnslot\d+x/i.test(url)) {
      issues.push({ field: 'body', message: `une adresse ne peut pas commencer par un champ de fusion (${r.tag} ${r.name})` });
      continue;
    }
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
    const allowed = r.tag === 'img' ? ['https', 'http'] : ['https', 'http', 'mailto', 'tel'];
    if (!scheme || !allowed.includes(scheme)) {
      issues.push({ field: 'body', message: `adresse « ${url.slice(0, 80)} » refusée : ${r.tag === 'img' ? 'une image' : 'un lien'} doit commencer par ${allowed.join(':, ')}:` });
      continue;
    }
    if (r.tag === 'img') continue;
    links.push({ template: url });
    edits.push({ start: r.start, end: r.end, text: s.add({ src: 'link', index: links.length - 1 }) });
  }
  if (issues.length) throw new CompileError(issues);
  for (const e of edits.sort((a, b) => b.start - a.start)) html = html.slice(0, e.start) + e.text + html.slice(e.end);

  const verification = verifyEmail(html, {
    required: requiredBlocks[input.layout],
    brand: input.brand,
    sentinelFor: (name) => s.defs.findIndex((d) => d.src === 'sys' && d.name === name),
  });
  if (verification.length) throw new CompileError(verification.map((message) => ({ field: 'body', message })));

  // Slots: one per (source, encoding) pair, shared by every place that needs the same thing.
  const slots: Slot[] = [];
  const slotIndex = new Map<string, number>();
  const slotFor = (defIndex: number, enc: Encoding): number => {
    const def = s.defs[defIndex]!;
    const key = `${JSON.stringify(def)}|${enc}`;
    let i = slotIndex.get(key);
    if (i === undefined) {
      i = slots.push({ ...def, enc }) - 1;
      slotIndex.set(key, i);
    }
    return i;
  };

  const htmlParts: Part[] = [];
  let last = 0;
  for (const r of scanHtml(html)) {
    if (r.kind === 'opaque') continue;
    const chunk = html.slice(r.start, r.end);
    if (!HAS_SENTINEL.test(chunk)) continue;
    if (r.start > last) htmlParts.push(html.slice(last, r.start));
    const isUrlAttr = r.kind === 'attr' && (r.name === 'href' || r.name === 'src');
    const isTel = isUrlAttr && /^\s*tel:/i.test(chunk);
    for (const part of partsOf(chunk, (d) => {
      const def = s.defs[d]!;
      if (r.kind === 'text') return slotFor(d, def.src === 'sys' && def.name === 'pixel' ? 'raw' : 'html');
      if (!isUrlAttr || def.src === 'link' || isWholeUrl(def)) return slotFor(d, 'html');
      return slotFor(d, isTel ? 'tel-html' : 'uri-html');
    })) {
      htmlParts.push(part);
    }
    last = r.end;
  }
  if (last < html.length) htmlParts.push(html.slice(last));

  const text = convert(stripPreheader(html), {
    wordwrap: false,
    selectors: [
      { selector: 'img', format: 'skip' },
      ...(['h1', 'h2', 'h3', 'h4', 'h5', 'h6'] as const).map((h) => ({ selector: h, options: { uppercase: false } })),
      { selector: 'a', options: { hideLinkHrefIfSameAsText: true } },
    ],
  }).trim();
  const textParts = partsOf(text + '\n', (d) => {
    const def = s.defs[d]!;
    return slotFor(d, def.src === 'sys' && def.name === 'pixel' ? 'raw' : 'text');
  }).map((p) => (typeof p === 'number' && slots[p]!.src === 'sys' && slots[p]!.name === 'pixel' ? '' : p));

  return {
    v: 1,
    layout: input.layout,
    subject: partsOf(subject, (d) => slotFor(d, 'text')),
    preheader: partsOf(preheader, (d) => slotFor(d, 'text')),
    html: mergeStatic(htmlParts),
    text: mergeStatic(textParts),
    slots,
    links: links.map((l) => ({ url: partsOf(l.template, (d) => slotFor(d, /^tel:/i.test(l.template) ? 'tel' : 'uri')) })),
    fields: [...used].sort(),
  };
}

/** MJML renders the preheader as a hidden div first in <body>: it is not part of the text version. */
function stripPreheader(html: string): string {
  return html.replace(/(<body[^>]*>\s*)<div style="display:none;[^"]*">[\s\S]*?<\/div>/, '$1');
}

function mergeStatic(parts: Part[]): Part[] {
  const out: Part[] = [];
  for (const p of parts) {
    if (p === '') continue;
    const prev = out[out.length - 1];
    if (typeof p === 'string' && typeof prev === 'string') out[out.length - 1] = prev + p;
    else out.push(p);
  }
  return out;
}

export { escapeHtml };
