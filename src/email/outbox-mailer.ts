import { inArray } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { outboxMessages } from '../db/schema.js';
import type { Clock } from '../lib/clock.js';
import { newId } from '../lib/ids.js';
import { MAX_BATCH, MailerError, type Mailer, type OutgoingEmail, type SendOptions } from './mailer.js';

/**
 * The dev outbox: when no RESEND_API_KEY is set, messages are stored in the database instead of
 * sent, and shown at /dev/outbox. It honours idempotency keys like Resend does, so the sending
 * pipeline behaves the same against either adapter.
 */
export function outboxMailer(db: Db, clock: Clock): Mailer {
  async function store(emails: OutgoingEmail[], baseKey: string | undefined): Promise<string[]> {
    const keys = emails.map((_, i) => (baseKey ? (emails.length === 1 ? baseKey : `${baseKey}#${i}`) : null));
    const now = clock.now();
    const rows = emails.map((email, i) => ({
      id: newId('msg'),
      workspaceId: email.workspaceId ?? null,
      from: email.from,
      to: email.to,
      replyTo: email.replyTo ?? null,
      subject: email.subject,
      html: email.html,
      text: email.text,
      headers: email.headers ?? {},
      tags: email.tags ?? {},
      idempotencyKey: keys[i] ?? null,
      createdAt: now,
    }));
    // A key seen before is a replay: keep the first message, answer with its id.
    const inserted = await db.insert(outboxMessages).values(rows).onConflictDoNothing().returning({ id: outboxMessages.id, key: outboxMessages.idempotencyKey });
    if (inserted.length === rows.length) return rows.map((r) => r.id);
    const byKey = new Map(
      (await db
        .select({ id: outboxMessages.id, key: outboxMessages.idempotencyKey })
        .from(outboxMessages)
        .where(inArray(outboxMessages.idempotencyKey, keys.filter((k): k is string => k !== null)))).map((r) => [r.key, r.id]),
    );
    return keys.map((k, i) => (k ? (byKey.get(k) ?? rows[i]!.id) : rows[i]!.id));
  }
  return {
    kind: 'outbox',
    async send(email, options: SendOptions = {}) {
      const [id] = await store([email], options.idempotencyKey);
      return { id: id ?? '' };
    },
    async sendBatch(emails, options: SendOptions = {}) {
      if (emails.length > MAX_BATCH) throw new MailerError(`a batch holds at most ${MAX_BATCH} emails`, null, false);
      if (emails.length === 0) return { ids: [] };
      return { ids: await store(emails, options.idempotencyKey) };
    },
  };
}

