/**
 * The one interface the rest of the platform uses to send mail. Two adapters: Resend
 * (production) and the dev outbox (stored in the database, viewable at /dev/outbox).
 */
export interface OutgoingEmail {
  /** `"Brand" <sender@domain>` */
  from: string;
  to: string;
  replyTo?: string;
  subject: string;
  html: string;
  text: string;
  headers?: Record<string, string>;
  /** Resend tags: ASCII letters, digits, `_` and `-` only. */
  tags?: Record<string, string>;
  /** Lets the outbox show each workspace only its own messages. */
  workspaceId?: string;
}

export interface SendOptions {
  /** Same key, same request → the provider sends once (Resend keeps keys 24 h). */
  idempotencyKey?: string;
}

export interface Mailer {
  readonly kind: 'resend' | 'outbox';
  send(email: OutgoingEmail, options?: SendOptions): Promise<{ id: string }>;
  /** At most 100 messages (Resend's batch limit). Ids come back in the order given. */
  sendBatch(emails: OutgoingEmail[], options?: SendOptions): Promise<{ ids: string[]; rateLimit?: RateLimitInfo }>;
}

export const MAX_BATCH = 100;

/** What the provider said about its rate limit (IETF RateLimit headers), when it said it. */
export interface RateLimitInfo {
  /** Requests allowed per window (Resend's window is one second). */
  limit?: number | null;
  remaining: number | null;
  resetSeconds: number | null;
}

/** A send that failed. `retryable` says whether the same request may succeed later. */
export class MailerError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly retryable: boolean,
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
    this.name = 'MailerError';
  }
}

export function formatAddress(name: string, email: string): string {
  // RFC 5322 quoted display name: escape backslashes and quotes.
  return `"${name.replace(/[\\"]/g, (m) => `\\${m}`)}" <${email}>`;
}
