/**
 * Prefixed random identifiers (`usr_3f9c…`): 128 random bits, so ids are never guessable
 * or enumerable, and the prefix tells a reader what an id points at.
 */
export type IdPrefix = 'ws' | 'usr' | 'key' | 'aud' | 'msg' | 'req' | 'cmp' | 'ct' | 'evt' | 'scr' | 'call' | 'seg' | 'dsr' | 'cv';

export function newId(prefix: IdPrefix): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `${prefix}_${toHex(bytes)}`;
}

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}
