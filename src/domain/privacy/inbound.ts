/**
 * The `mailto:` half of List-Unsubscribe (RFC 2369). Every newsletter says
 * `<mailto:unsubscribe@{sender domain}?subject=unsubscribe%20{token}>`: a mail client's
 * unsubscribe button sends an email to that address whose subject carries the same signed token
 * as the https link (a JWS is far longer than the 64 characters a local part may hold, RFC 5321
 * §4.5.3.1.1, so it cannot travel in the address).
 *
 * In production, Cloudflare Email Routing delivers `unsubscribe@` of the sending domain to the
 * Worker's `email` handler (src/worker.ts), which calls this. The token is the credential, as for
 * the one-click POST; whether the message came from the subscribed address is recorded as
 * evidence (forwarded mail legitimately comes from elsewhere).
 */
import type { AnonymousCtx } from '../context.js';
import { normaliseEmail } from '../contacts/normalise.js';
import { readSubscriberLink, withdraw } from './subscriber.js';

const TOKEN = /\b(eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)\b/;

export type InboundOutcome = 'unsubscribed' | 'already_unsubscribed' | 'no_token' | 'invalid_token';

export async function handleInboundUnsubscribe(ctx: AnonymousCtx, message: { from: string; subject: string }): Promise<InboundOutcome> {
  const token = TOKEN.exec(message.subject)?.[1];
  if (!token) return 'no_token';
  const link = await readSubscriberLink(ctx, 'unsubscribe', token);
  if (!link) return 'invalid_token';
  const from = normaliseEmail(message.from.replace(/^.*<([^>]+)>.*$/, '$1'));
  const changed = await withdraw(ctx, link, 'newsletter', 'mailto', { fromSubscribedAddress: from !== null && from === link.contact?.email ? 'yes' : 'no' });
  return changed ? 'unsubscribed' : 'already_unsubscribed';
}
