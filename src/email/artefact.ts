/**
 * A compiled email: static chunks and numbered slots, produced once per campaign version by
 * `compileEmail`, then filled per recipient by `renderEmail` with no parsing at all.
 */

/** A chunk of output: a static string, or the index of a slot to fill. */
export type Part = string | number;

/** Where a value comes from. */
export type SlotSource =
  | { src: 'field'; name: string; fallback: string | null }
  | { src: 'sys'; name: string }
  | { src: 'link'; index: number };

/**
 * How the value is written where it lands: `html` escaped text or attribute, `raw` trusted
 * platform HTML (the pixel), `text` plain text (text part, subject), `uri`/`tel` inside a URL
 * (then HTML-escaped when the URL sits in an attribute: `uri-html`, `tel-html`).
 */
export type Encoding = 'html' | 'raw' | 'text' | 'uri' | 'tel' | 'uri-html' | 'tel-html';

export type Slot = SlotSource & { enc: Encoding };

export interface CompiledEmail {
  v: 1;
  layout: 'newsletter' | 'transactional';
  subject: Part[];
  preheader: Part[];
  html: Part[];
  text: Part[];
  slots: Slot[];
  /** Links written by the author, in order of appearance: the URL template of each. */
  links: { url: Part[] }[];
  /** Merge fields the content uses (for display). */
  fields: string[];
}
