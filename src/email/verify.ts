/**
 * Verifies a compiled email before it can be sent: each mandatory block is present once,
 * visible (not hidden by display:none, zero size, tiny or invisible text, a colour too close to
 * its background, opacity, off-screen tricks, or swallowed by a comment), and carries its
 * working links and placeholders. The HTML is parsed with parse5, which builds the same tree
 * a browser would, so what we check is what a reader's client would show.
 *
 * Also checks what makes a valid email: `<html lang>`, a title, images with `alt`, nothing
 * wider than 600 px, no script or event handler.
 */
import { parse } from 'parse5';
import type { DefaultTreeAdapterMap } from 'parse5';
import type { BrandField } from './merge-fields.js';

type Node = DefaultTreeAdapterMap['node'];
type Element = DefaultTreeAdapterMap['element'];

export type BlockName = 'unsubscribe' | 'reason' | 'identity' | 'privacy';

export const blockLabels: Record<BlockName, string> = {
  unsubscribe: 'désinscription',
  reason: 'raison de l’envoi',
  identity: 'identité de l’annonceur',
  privacy: 'politique de confidentialité',
};

/** Below this, legal text is not readable (px). */
const MIN_FONT_PX = 9;
/** WCAG 1.4.3 asks 4.5:1 for body text; under 3:1 text is hard to see at all. */
const MIN_CONTRAST = 3;
const MAX_WIDTH_PX = 600;

interface Options {
  required: BlockName[];
  brand: Record<BrandField, string>;
  /** Index of the sentinel of a system field (`cnslot<index>x`), or -1. */
  sentinelFor(name: string): number;
}

const isElement = (n: Node): n is Element => 'tagName' in n;

function attr(el: Element, name: string): string | undefined {
  return el.attrs.find((a) => a.name === name)?.value;
}

function styleOf(el: Element): Map<string, string> {
  const map = new Map<string, string>();
  for (const decl of (attr(el, 'style') ?? '').split(';')) {
    const i = decl.indexOf(':');
    if (i > 0) map.set(decl.slice(0, i).trim().toLowerCase(), decl.slice(i + 1).trim().toLowerCase().replace(/\s*!important$/, ''));
  }
  return map;
}

function px(value: string | undefined): number | null {
  if (value === undefined) return null;
  const m = /^(-?\d*\.?\d+)(px|pt|em|rem|%)?$/.exec(value.trim());
  if (!m) return null;
  const n = Number(m[1]);
  if (m[2] === 'pt') return n * (4 / 3);
  if (m[2] === 'em' || m[2] === 'rem') return n * 16;
  if (m[2] === '%') return n === 0 ? 0 : null;
  return n;
}

type Rgba = [number, number, number, number];
const named: Record<string, Rgba> = {
  white: [255, 255, 255, 1],
  black: [0, 0, 0, 1],
  transparent: [0, 0, 0, 0],
  red: [255, 0, 0, 1],
  blue: [0, 0, 255, 1],
  gray: [128, 128, 128, 1],
  grey: [128, 128, 128, 1],
  silver: [192, 192, 192, 1],
};

export function parseColor(value: string | undefined): Rgba | null {
  if (!value) return null;
  const v = value.trim().toLowerCase();
  if (named[v]) return named[v];
  let m = /^#([0-9a-f]{3,8})$/.exec(v);
  if (m) {
    const h = m[1]!;
    const full = h.length === 3 || h.length === 4 ? [...h].map((c) => c + c).join('') : h;
    if (full.length !== 6 && full.length !== 8) return null;
    const n = (i: number) => parseInt(full.slice(i, i + 2), 16);
    return [n(0), n(2), n(4), full.length === 8 ? n(6) / 255 : 1];
  }
  m = /^rgba?\(([^)]+)\)$/.exec(v);
  if (m) {
    const parts = m[1]!.split(/[\s,/]+/).filter(Boolean).map(Number);
    if (parts.length < 3 || parts.some((p) => Number.isNaN(p))) return null;
    return [parts[0]!, parts[1]!, parts[2]!, parts[3] ?? 1];
  }
  return null;
}

function luminance([r, g, b]: Rgba): number {
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

export function contrast(a: Rgba, b: Rgba): number {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x! + 0.05) / (y! + 0.05);
}

function backgroundOf(el: Element): Rgba | null {
  const style = styleOf(el);
  const bg = style.get('background-color') ?? style.get('background')?.split(/\s+/).find((t) => parseColor(t)) ?? attr(el, 'bgcolor');
  const color = parseColor(bg);
  return color && color[3] > 0 ? color : null;
}

/** Why a node is hidden, looking at it and every ancestor; null when it shows. */
function hiddenReason(chain: Element[]): string | null {
  let opacity = 1;
  for (const el of chain) {
    const tag = el.tagName;
    if (['head', 'title', 'style', 'script', 'template', 'noscript'].includes(tag)) return `dans <${tag}>`;
    if (attr(el, 'hidden') !== undefined) return 'attribut hidden';
    const style = styleOf(el);
    if (style.get('display') === 'none') return 'display:none';
    if (style.get('visibility') === 'hidden' || style.get('visibility') === 'collapse') return 'visibility:hidden';
    if (style.get('mso-hide') === 'all') return 'mso-hide:all';
    const o = Number(style.get('opacity') ?? '1');
    if (!Number.isNaN(o)) opacity *= o;
    for (const prop of ['max-height', 'height', 'max-width', 'width']) {
      const v = px(style.get(prop));
      if (v !== null && v <= 2) return `${prop}:${style.get(prop)}`;
    }
    const position = style.get('position');
    if (position === 'absolute' || position === 'fixed') return `position:${position}`;
    const indent = px(style.get('text-indent'));
    if (indent !== null && indent <= -50) return 'text-indent négatif';
    if (style.has('clip') || style.has('clip-path')) return 'clip';
    const transform = style.get('transform') ?? '';
    if (/scale\(\s*0(\.0*)?\s*[,)]/.test(transform) || /translate[xy]?\(\s*-\d{3,}/.test(transform)) return `transform:${transform}`;
    for (const prop of ['margin-left', 'margin-top', 'left', 'top']) {
      const v = px(style.get(prop));
      if (v !== null && v <= -500) return `${prop} négatif`;
    }
  }
  if (opacity < 0.5) return `opacity:${opacity}`;
  return null;
}

/** Effective font size and colours of a text node, from its nearest ancestors. */
function appearance(chain: Element[]): { fontPx: number | null; color: Rgba; background: Rgba } {
  let fontPx: number | null = null;
  let color: Rgba | null = null;
  let background: Rgba | null = null;
  for (let i = chain.length - 1; i >= 0; i--) {
    const el = chain[i]!;
    const style = styleOf(el);
    if (fontPx === null && style.has('font-size')) fontPx = px(style.get('font-size'));
    if (color === null) color = parseColor(style.get('color') ?? (el.tagName === 'font' ? attr(el, 'color') : undefined));
    if (background === null) background = backgroundOf(el);
  }
  return { fontPx, color: color ?? [0, 0, 0, 1], background: background ?? [255, 255, 255, 1] };
}

interface TextSpan {
  text: string;
  chain: Element[];
}

function collect(root: Node, chain: Element[], out: { texts: TextSpan[]; elements: { el: Element; chain: Element[] }[] }) {
  if (isElement(root)) {
    const next = [...chain, root];
    out.elements.push({ el: root, chain: next });
    for (const child of root.childNodes) collect(child, next, out);
    if (root.tagName === 'template') for (const child of (root as DefaultTreeAdapterMap['template']).content.childNodes) collect(child, next, out);
  } else if (root.nodeName === '#text') {
    out.texts.push({ text: (root as DefaultTreeAdapterMap['textNode']).value, chain });
  } else if ('childNodes' in root) {
    for (const child of (root as DefaultTreeAdapterMap['parentNode']).childNodes) collect(child, chain, out);
  }
}

const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

/** Returns what is wrong, one French sentence per problem; empty when the email may be sent. */
export function verifyEmail(html: string, options: Options): string[] {
  const problems: string[] = [];
  const doc = parse(html);
  const all = { texts: [] as TextSpan[], elements: [] as { el: Element; chain: Element[] }[] };
  collect(doc, [], all);

  const htmlEl = all.elements.find((e) => e.el.tagName === 'html')?.el;
  if (!htmlEl || !attr(htmlEl, 'lang')) problems.push('le document n’indique pas sa langue (<html lang>)');
  const title = all.elements.find((e) => e.el.tagName === 'title');
  if (!title || squash(all.texts.filter((t) => t.chain.includes(title.el)).map((t) => t.text).join('')) === '') problems.push('le document n’a pas de titre');

  for (const { el } of all.elements) {
    if (el.tagName === 'script') problems.push('le message contient un script');
    for (const a of el.attrs) {
      if (/^on/i.test(a.name)) problems.push(`attribut d’événement ${a.name} interdit`);
      if ((a.name === 'href' || a.name === 'src') && /^\s*(javascript|vbscript|data):/i.test(a.value)) problems.push(`adresse ${a.value.slice(0, 30)} interdite`);
    }
    if (el.tagName === 'img' && attr(el, 'alt') === undefined) problems.push(`image sans texte alternatif (alt) : ${attr(el, 'src') ?? ''}`);
    const width = Number(attr(el, 'width'));
    const styleWidth = px(styleOf(el).get('width'));
    if ((Number.isFinite(width) && width > MAX_WIDTH_PX) || (styleWidth !== null && styleWidth > MAX_WIDTH_PX)) {
      problems.push(`un élément <${el.tagName}> fait plus de ${MAX_WIDTH_PX} px de large`);
    }
  }

  for (const block of options.required) {
    const label = `bloc obligatoire « ${blockLabels[block]} »`;
    const found = all.elements.filter((e) => (attr(e.el, 'class') ?? '').split(/\s+/).includes(`cn-block-${block}`));
    if (found.length === 0) {
      problems.push(`${label} absent : le corps du message l’a supprimé ou avalé (balise non fermée ?)`);
      continue;
    }
    if (found.length > 1) {
      problems.push(`${label} présent ${found.length} fois`);
      continue;
    }
    const { el, chain } = found[0]!;
    const hidden = hiddenReason(chain);
    if (hidden) {
      problems.push(`${label} masqué (${hidden})`);
      continue;
    }
    const texts = all.texts.filter((t) => t.chain.includes(el) && t.text.trim() !== '');
    let visible = '';
    let reported = false;
    for (const t of texts) {
      const reason = hiddenReason(t.chain);
      const look = appearance(t.chain);
      const why =
        reason ??
        (look.fontPx !== null && look.fontPx < MIN_FONT_PX ? `texte de ${look.fontPx}px, trop petit` : null) ??
        (look.color[3] < 0.5 ? 'texte transparent' : null) ??
        (contrast(look.color, look.background) < MIN_CONTRAST ? 'couleur du texte trop proche du fond' : null);
      if (why) {
        if (!reported) problems.push(`${label} illisible (${why})`);
        reported = true;
      } else {
        visible += ` ${t.text}`;
      }
    }
    if (reported) continue;
    const shown = squash(visible);
    const hasSentinel = (name: string) => {
      const i = options.sentinelFor(name);
      return i >= 0 && new RegExp(`cnslot${i}x`, 'i').test(shown);
    };
    const linkTo = (name: string) => {
      const i = options.sentinelFor(name);
      return all.elements.some(
        (e) =>
          e.el.tagName === 'a' &&
          e.chain.includes(el) &&
          (attr(e.el, 'href') ?? '').trim().toLowerCase() === `cnslot${i}x` &&
          squash(all.texts.filter((t) => t.chain.includes(e.el)).map((t) => t.text).join('')).length > 0 &&
          !hiddenReason(e.chain),
      );
    };
    const need = (ok: boolean, what: string) => {
      if (!ok) problems.push(`${label} : ${what}`);
    };
    switch (block) {
      case 'unsubscribe':
        need(linkTo('unsubscribeUrl'), 'le lien de désinscription en un clic manque');
        need(linkTo('preferencesUrl'), 'le lien vers le centre de préférences manque');
        need(linkTo('stopTrackingUrl'), 'le lien pour ne plus mesurer l’ouverture manque');
        break;
      case 'reason':
        need(hasSentinel('consentDate'), 'la date du consentement manque');
        need(hasSentinel('consentAgent'), 'le nom du conseiller manque');
        need(shown.includes(squash(options.brand.name)), 'le nom de la marque manque');
        break;
      case 'identity':
        for (const field of ['legalName', 'address', 'phone', 'email'] as const) {
          need(shown.includes(squash(options.brand[field])), `${field === 'legalName' ? 'la raison sociale' : field === 'address' ? 'l’adresse' : field === 'phone' ? 'le téléphone' : 'l’e-mail de contact'} manque`);
        }
        break;
      case 'privacy':
        need(linkTo('privacyUrl'), 'le lien vers la politique de confidentialité manque');
        need(shown.includes(squash(options.brand.dpoContact)), 'le contact du délégué à la protection des données manque');
        break;
    }
  }
  return [...new Set(problems)];
}
