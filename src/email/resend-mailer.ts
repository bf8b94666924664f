import { Resend } from 'resend';
import { MAX_BATCH, MailerError, type Mailer, type OutgoingEmail, type SendOptions } from './mailer.js';

function toResend(email: OutgoingEmail) {
  return {
    from: email.from,
    to: email.to,
    subject: email.subject,
    html: email.html,
    text: email.text,
    ...(email.replyTo ? { replyTo: email.replyTo } : {}),
    ...(email.headers ? { headers: email.headers } : {}),
    ...(email.tags ? { tags: Object.entries(email.tags).map(([name, value]) => ({ name, value })) } : {}),
  };
}

function retryAfter(headers: Record<string, string> | null): number | null {
  const raw = headers?.['retry-after'] ?? headers?.['ratelimit-reset'];
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

function num(raw: string | undefined): number | null {
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

/** Resend answers with `ratelimit-remaining` and `ratelimit-reset` (seconds): never hard-code the limit. */
function rateLimitOf(headers: Record<string, string> | null) {
  return { limit: num(headers?.['ratelimit-limit']), remaining: num(headers?.['ratelimit-remaining']), resetSeconds: num(headers?.['ratelimit-reset']) };
}

function toError(error: { message: string; statusCode: number | null; name: string }, headers: Record<string, string> | null) {
  const status = error.statusCode;
  // 429 and 5xx may succeed later; other 4xx (validation, bad sender) will fail the same way again.
  const retryable = status === null || status === 429 || status >= 500;
  return new MailerError(`Resend ${status ?? 'network'} ${error.name}: ${error.message}`, status, retryable, retryAfter(headers));
}

/** Sends through Resend's API with the official SDK. `baseUrl` points it at a fake server in tests. */
export function resendMailer(apiKey: string, baseUrl?: string): Mailer {
  const resend = new Resend(apiKey, baseUrl ? { baseUrl } : undefined);
  return {
    kind: 'resend',
    async send(email: OutgoingEmail, options: SendOptions = {}) {
      const { data, error, headers } = await resend.emails.send(
        toResend(email),
        options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : undefined,
      );
      if (error) throw toError(error, headers);
      return { id: data.id };
    },
    async sendBatch(emails: OutgoingEmail[], options: SendOptions = {}) {
      if (emails.length > MAX_BATCH) throw new MailerError(`a batch holds at most ${MAX_BATCH} emails`, null, false);
      const { data, error, headers } = await resend.batch.send(
        emails.map(toResend),
        options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : undefined,
      );
      if (error) throw toError(error, headers);
      return { ids: data.data.map((d) => d.id), rateLimit: rateLimitOf(headers) };
    },
  };
}
