/** `POST /webhooks/resend`: verified on the raw body, processed once, answered at once. */
import { Hono } from 'hono';
import { processResendWebhook, verifyResendWebhook, WebhookRejected } from '../../tracking/webhooks.js';
import type { AppEnv } from '../env.js';
import { errorResponse } from '../errors.js';

/** Resend's payloads are a few KiB; anything far larger is not one. */
const MAX_BYTES = 256 * 1024;

export const resendWebhook = new Hono<AppEnv>();

resendWebhook.post('/webhooks/resend', async (c) => {
  const deps = c.get('deps');
  const raw = await c.req.text();
  if (raw.length > MAX_BYTES) return errorResponse(c, 413, 'payload_too_large', `Webhook body over ${MAX_BYTES} bytes.`);
  try {
    const payload = verifyResendWebhook(deps.resendWebhookSecret, raw, c.req.raw.headers);
    const outcome = await processResendWebhook(deps, c.req.header('svix-id')!, payload);
    return c.json({ status: outcome }, 200);
  } catch (error) {
    if (error instanceof WebhookRejected) {
      deps.logger.warn('webhook refused', { code: error.code, reason: error.message });
      return errorResponse(c, error.status, error.code, error.message);
    }
    throw error;
  }
});
