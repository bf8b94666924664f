/**
 * Merge per recipient: fill the slots of a `CompiledEmail`. No parsing, no MJML: one pass over
 * the parts, each value computed and escaped once. This is what makes a campaign fast
 * (see test/bench/render.bench.ts).
 */
import type { CompiledEmail, Encoding, Part, Slot } from './artefact.js';
import { cleanHeaderText, encodeTel, encodeUriComponentStrict, escapeHtml } from './escape.js';
import type { BrandField } from './merge-fields.js';

export interface Recipient {
  email: string;
  firstName?: string | null;
  lastName?: string | null;
  attributes?: Record<string, unknown> | null;
  /** First name of the agent who recorded the consent (the "advisor" of the CTA). */
  agentFirstName?: string | null;
  /** The advisor's line; the brand's phone when absent. */
  agentPhone?: string | null;
  /** When and with whom consent was given (reason block). */
  consentDate: Date;
  consentAgentName?: string | null;
}

export interface RecipientUrls {
  unsubscribeUrl: string;
  preferencesUrl: string;
  stopTrackingUrl: string;
  /** The open pixel's URL, only when this recipient consented to open tracking; else no pixel. */
  pixelUrl?: string | null;
  /**
   * A link no human can see or follow (hidden, out of the accessibility tree, absent from the
   * text part): whoever requests it is a scanner (src/tracking/machine.ts).
   */
  honeypotUrl?: string | null;
  /** Wraps an author's link (click tracking); identity when absent. */
  link?: (index: number, url: string) => string;
}

export interface RenderContext {
  brand: Record<BrandField, string>;
  /** Values of a platform message's extra fields (`link`, `inviterName`…). */
  vars?: Record<string, string>;
}

export interface RenderedEmail {
  subject: string;
  preheader: string;
  html: string;
  text: string;
}

const dateFormat = new Intl.DateTimeFormat('fr-FR', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'Europe/Paris' });
const dateCache = new Map<number, string>();

/** "12 mars 2026": the reason block's date, in the reader's (French) terms. */
export function formatConsentDate(d: Date): string {
  const day = Math.floor(d.getTime() / 86_400_000);
  let s = dateCache.get(day);
  if (s === undefined) {
    s = dateFormat.format(d);
    if (dateCache.size > 5000) dateCache.clear();
    dateCache.set(day, s);
  }
  return s;
}

function encode(value: string, enc: Encoding): string {
  switch (enc) {
    case 'html':
      return escapeHtml(value);
    case 'raw':
      return value;
    case 'text':
      return value;
    case 'uri':
      return encodeUriComponentStrict(value);
    case 'tel':
      return encodeTel(value);
    case 'uri-html':
      return escapeHtml(encodeUriComponentStrict(value));
    case 'tel-html':
      return escapeHtml(encodeTel(value));
  }
}

function fieldValue(name: string, fallback: string | null, r: Recipient, ctx: RenderContext): string {
  let v: unknown;
  switch (name) {
    case 'firstName':
      v = r.firstName;
      break;
    case 'lastName':
      v = r.lastName;
      break;
    case 'email':
      v = r.email;
      break;
    case 'agentFirstName':
      v = r.agentFirstName;
      break;
    case 'agentPhone':
      v = r.agentPhone || ctx.brand.phone;
      break;
    case 'consentDate':
      v = formatConsentDate(r.consentDate);
      break;
    default:
      // Own properties only: `attributes.constructor` must not reach Object.prototype.
      v = name.startsWith('attributes.') ? own(r.attributes, name.slice('attributes.'.length)) : own(ctx.vars, name);
  }
  const s = v === null || v === undefined ? '' : typeof v === 'string' ? v.trim() : String(v);
  return s === '' ? (fallback ?? '') : s;
}

function own(record: Record<string, unknown> | null | undefined, key: string): unknown {
  return record && Object.hasOwn(record, key) ? record[key] : undefined;
}

/** The layout's tracking slot (HTML part only): the scanner trap, then the pixel when consented. */
function trackingHtml(urls: RecipientUrls): string {
  let out = '';
  if (urls.honeypotUrl) {
    out += `<a href="${escapeHtml(urls.honeypotUrl)}" aria-hidden="true" tabindex="-1" style="display:none;font-size:0;line-height:0;max-height:0;overflow:hidden;mso-hide:all">&#8203;</a>`;
  }
  if (urls.pixelUrl) {
    out += `<img src="${escapeHtml(urls.pixelUrl)}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0" />`;
  }
  return out;
}

function join(parts: Part[], values: string[]): string {
  let out = '';
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    out += typeof p === 'string' ? p : values[p]!;
  }
  return out;
}

export function renderEmail(artefact: CompiledEmail, recipient: Recipient, urls: RecipientUrls, ctx: RenderContext): RenderedEmail {
  const { slots } = artefact;
  const values = new Array<string>(slots.length);
  // URL templates use slots of their own (uri/tel encoded); fill the plain ones first.
  const raw = (slot: Slot): string => {
    switch (slot.src) {
      case 'field':
        return fieldValue(slot.name, slot.fallback, recipient, ctx);
      case 'sys':
        switch (slot.name) {
          case 'unsubscribeUrl':
            return urls.unsubscribeUrl;
          case 'preferencesUrl':
            return urls.preferencesUrl;
          case 'stopTrackingUrl':
            return urls.stopTrackingUrl;
          case 'privacyUrl':
            return ctx.brand.privacyUrl;
          case 'consentDate':
            return formatConsentDate(recipient.consentDate);
          case 'consentAgent':
            return recipient.consentAgentName?.trim() || 'l’un de nos conseillers';
          case 'pixel':
            return trackingHtml(urls);
          default:
            return '';
        }
      case 'link':
        return '';
    }
  };
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i]!;
    if (slot.src !== 'link') values[i] = encode(raw(slot), slot.enc);
  }
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i]!;
    if (slot.src !== 'link') continue;
    const url = join(artefact.links[slot.index]!.url, values);
    values[i] = encode(urls.link ? urls.link(slot.index, url) : url, slot.enc);
  }
  return {
    subject: cleanHeaderText(join(artefact.subject, values)).trim(),
    preheader: cleanHeaderText(join(artefact.preheader, values)).trim(),
    html: join(artefact.html, values),
    text: join(artefact.text, values),
  };
}
