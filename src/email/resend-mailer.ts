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

/**
 * Resend's 409 `concurrent_idempotent_requests`: a request with the same Idempotency-Key is still
 * being processed (typically the one we gave up on after a timeout). Resend's errors reference
 * says to retry it later; the retry then gets that request's answer. Give it a few seconds.
 */
const CONCURRENT_RETRY_SECONDS = 5;

function toError(error: { message: string; statusCode: number | null; name: string }, headers: Record<string, string> | null) {
  const status = error.statusCode;
  if (status === 409 && error.name === 'concurrent_idempotent_requests') {
    return new MailerError(`Resend 409 ${error.name}: ${error.message}`, status, true, retryAfter(headers) ?? CONCURRENT_RETRY_SECONDS);
  }
  // 429 and 5xx may succeed later; other 4xx (validation, bad sender, the same key reused for
  // another payload: `invalid_idempotent_request`) will fail the same way again.
  const retryable = status === null || status === 429 || status >= 500;
  return new MailerError(`Resend ${status ?? 'network'} ${error.name}: ${error.message}`, status, retryable, retryAfter(headers));
}

/** How long one request may take: a batch of 100 is normally answered within a couple of seconds. */
export const RESEND_TIMEOUT_MS = 30_000;

/**
 * Sends through Resend's API with the official SDK. `baseUrl` points it at a fake server in tests.
 *
 * Every request is cut off after `timeoutMs`: the SDK sets no timeout, so a provider that
 * accepts the connection and never answers would hold a batch (and the campaign's lease, and a
 * graceful shutdown) for as long as the platform's fetch waits. A timed-out request is a
 * retryable error, retried with the same Idempotency-Key: if Resend had accepted it, the retry
 * gets its first answer and nobody is mailed twice.
 */
export function resendMailer(apiKey: string, baseUrl?: string, options: { timeoutMs?: number } = {}): Mailer {
  const resend = new Resend(apiKey, baseUrl ? { baseUrl } : undefined);
  const timeoutMs = options.timeoutMs ?? RESEND_TIMEOUT_MS;
  const requestOptions = (idempotencyKey: string | undefined) => {
    const signal = AbortSignal.timeout(timeoutMs);
    return { signal, ...(idempotencyKey ? { idempotencyKey } : {}) };
  };
  // The SDK turns an aborted fetch into a network error without a status; say what happened.
  // An answer with a status that came in just before the timer fired is that answer, not a timeout.
  const timedOut = () => new MailerError(`Resend network timeout: no answer within ${timeoutMs} ms`, null, true);
  const timedOutBefore = (error: { statusCode: number | null }, signal: AbortSignal) => signal.aborted && error.statusCode === null;
  return {
    kind: 'resend',
    async send(email: OutgoingEmail, options: SendOptions = {}) {
      const request = requestOptions(options.idempotencyKey);
      const { data, error, headers } = await resend.emails.send(toResend(email), request);
      if (error) throw timedOutBefore(error, request.signal) ? timedOut() : toError(error, headers);
      return { id: data.id };
    },
    async sendBatch(emails: OutgoingEmail[], options: SendOptions = {}) {
      if (emails.length > MAX_BATCH) throw new MailerError(`a batch holds at most ${MAX_BATCH} emails`, null, false);
      const request = requestOptions(options.idempotencyKey);
      const { data, error, headers } = await resend.batch.send(emails.map(toResend), request);
      if (error) throw timedOutBefore(error, request.signal) ? timedOut() : toError(error, headers);
      return { ids: data.data.map((d) => d.id), rateLimit: rateLimitOf(headers) };
    },
  };
}
