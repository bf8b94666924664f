/**
 * Data minimisation (GDPR Art. 5(1)(c)): marketers check a segment or pick a preview contact by
 * recognising people, not by reading their addresses in full. Only admins (and agents, who
 * capture consent on the phone) see whole addresses; pages and API mask them the same way.
 */
import type { Actor } from '../context.js';

/** Partly hides an address: enough to recognise someone, not to copy it out. */
export function maskAddress(email: string): string {
  const at = email.indexOf('@');
  if (at < 1) return '•••';
  const local = email.slice(0, at);
  return `${local.slice(0, local.length > 3 ? 2 : 1)}•••${email.slice(at)}`;
}

/** Whether this caller sees whole addresses in audience samples and preview pickers. */
export function seesWholeAddresses(actor: Actor): boolean {
  return actor.type === 'user' && actor.role === 'admin';
}
