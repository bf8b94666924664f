/**
 * Merge fields: `{{firstName}}`, `{{firstName|"à vous"}}`, `{{attributes.destination|"Rome"}}`.
 * Which names exist, which may be missing for some recipients (and so need a default), and
 * which belong to the platform (`sys.*`, only in the layout).
 */

export const recipientFields = {
  firstName: { optional: true, label: 'prénom du contact' },
  lastName: { optional: true, label: 'nom du contact' },
  email: { optional: false, label: 'adresse e-mail du contact' },
  agentFirstName: { optional: true, label: 'prénom du conseiller qui a recueilli le consentement' },
  agentPhone: { optional: false, label: 'téléphone du conseiller (à défaut, celui de la marque)' },
  consentDate: { optional: false, label: 'date du consentement' },
  unsubscribeUrl: { optional: false, label: 'lien de désinscription' },
  preferencesUrl: { optional: false, label: 'lien vers le centre de préférences' },
} as const;
export type RecipientField = keyof typeof recipientFields;

/** Workspace identity, fixed when the campaign is compiled. */
export const brandFields = ['name', 'legalName', 'address', 'phone', 'email', 'dpoContact', 'privacyUrl'] as const;
export type BrandField = (typeof brandFields)[number];

/** Filled by the platform for each recipient; usable only in platform layouts. */
export const systemFields = [
  'subject',
  'preheader',
  'unsubscribeUrl',
  'preferencesUrl',
  'stopTrackingUrl',
  'privacyUrl',
  'consentDate',
  'consentAgent',
  'pixel',
] as const;
export type SystemField = (typeof systemFields)[number];

/** System fields whose value is a whole URL we build ourselves (safe at the start of an href). */
export const urlSystemFields: ReadonlySet<string> = new Set(['unsubscribeUrl', 'preferencesUrl', 'stopTrackingUrl', 'privacyUrl']);

export const ATTRIBUTE_NAME = /^[a-zA-Z][a-zA-Z0-9_-]{0,39}$/;

export interface MergeTag {
  /** `firstName`, `attributes.destination`, `brand.name`, `sys.pixel`, or an extra field name. */
  name: string;
  fallback: string | null;
  index: number;
  length: number;
}

export const TAG = /\{\{\s*([A-Za-z][\w.-]*)\s*(?:\|\s*"((?:[^"\\]|\\.)*)"\s*)?\}\}/g;

export function findTags(source: string): { tags: MergeTag[]; malformed: number[] } {
  const tags: MergeTag[] = [];
  for (const m of source.matchAll(TAG)) {
    tags.push({ name: m[1]!, fallback: m[2] === undefined ? null : m[2].replace(/\\(.)/g, '$1'), index: m.index, length: m[0].length });
  }
  // Any `{{` not starting a well-formed tag is a typo we report rather than send as is.
  const malformed: number[] = [];
  const starts = new Set(tags.map((t) => t.index));
  for (let i = source.indexOf('{{'); i !== -1; i = source.indexOf('{{', i + 2)) {
    if (!starts.has(i) && !tags.some((t) => i > t.index && i < t.index + t.length)) malformed.push(i);
  }
  return { tags, malformed };
}

/** Closest known name, for "did you mean" in errors. */
export function suggest(name: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = distance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

export function lineOf(source: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index && i < source.length; i++) if (source.charCodeAt(i) === 10) line++;
  return line;
}
