/** The transactional outbox of platform emails: queued in the causing transaction, sent after, retried. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailQueue } from '../../src/email/dispatcher.js';
import type { OutgoingEmail } from '../../src/email/mailer.js';
import { resendMailer } from '../../src/email/resend-mailer.js';
import { fixedClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { createTestDb } from '../helpers/db.js';
import { startFakeResend, type FakeResend } from '../helpers/fake-resend.js';

let fake: FakeResend;
let database: Awaited<ReturnType<typeof createTestDb>>;
beforeAll(async () => {
  fake = await startFakeResend();
  database = await createTestDb();
});
afterAll(async () => {
  await fake.close();
  database.dispose();
});

const message = (to: string): OutgoingEmail => ({ from: '"B" <b@example.test>', to, subject: 'Confirmez', html: '<p>x</p>', text: 'x' });
const rows = async () => (await database.client.execute('SELECT idempotency_key, attempts, sent_at, failed_at, last_error FROM email_queue ORDER BY created_at, id')).rows;

describe('mail queue', () => {
  it('sends what a committed transaction queued, and nothing a rolled-back one did', async () => {
    const clock = fixedClock(new Date('2026-11-22T10:00:00Z'));
    const queue = createMailQueue({ db: database.db, mailer: resendMailer('re_test', fake.url), clock, logger: silentLogger });
    await database.db.transaction(async (tx) => queue.enqueue(tx, message('kept@example.test'), 'k1'));
    await database.db
      .transaction(async (tx) => {
        await queue.enqueue(tx, message('lost@example.test'), 'k2');
        throw new Error('the capture failed');
      })
      .catch(() => undefined);
    queue.kick();
    await queue.drain();
    expect(fake.delivered.map((d) => d.to)).toEqual(['kept@example.test']);
    expect((await rows()).map((r) => [r.idempotency_key, r.sent_at !== null])).toEqual([['k1', true]]);
    // Queuing the same key twice sends once.
    await database.db.transaction(async (tx) => queue.enqueue(tx, message('kept@example.test'), 'k1'));
    queue.kick();
    await queue.drain();
    expect(fake.delivered).toHaveLength(1);
  });

  it('retries 429/5xx with backoff, gives up on other 4xx with the reason', async () => {
    await database.client.execute('DELETE FROM email_queue');
    const clock = fixedClock(new Date('2026-11-22T11:00:00Z'));
    const queue = createMailQueue({ db: database.db, mailer: resendMailer('re_test', fake.url), clock, logger: silentLogger });
    await database.db.transaction(async (tx) => queue.enqueue(tx, message('later@example.test'), 'r1'));
    fake.failNext({ status: 503, name: 'internal_server_error', message: 'down' });
    expect(await queue.runOnce()).toBe(1);
    expect((await rows())[0]).toMatchObject({ attempts: 1, sent_at: null, failed_at: null });
    expect(await queue.runOnce()).toBe(0); // not due yet
    clock.advance(60_000);
    expect(await queue.runOnce()).toBe(1);
    expect((await rows())[0]!.sent_at).not.toBeNull();

    await database.db.transaction(async (tx) => queue.enqueue(tx, message('bad@example.test'), 'r2'));
    fake.failNext({ status: 422, name: 'validation_error', message: 'Invalid `to` field.' });
    await queue.runOnce();
    expect((await rows())[1]).toMatchObject({ attempts: 1, sent_at: null, last_error: expect.stringContaining('Invalid `to` field.') });
    expect((await rows())[1]!.failed_at).not.toBeNull();
  });

  it('picks up mail claimed by a process that died', async () => {
    await database.client.execute('DELETE FROM email_queue');
    const clock = fixedClock(new Date('2026-11-22T12:00:00Z'));
    const queue = createMailQueue({ db: database.db, mailer: resendMailer('re_test', fake.url), clock, logger: silentLogger });
    await database.db.transaction(async (tx) => queue.enqueue(tx, message('orphan@example.test'), 'o1'));
    // A claim that nobody finished (the process was killed mid-send).
    await database.client.execute({ sql: 'UPDATE email_queue SET claimed_until = ? WHERE idempotency_key = ?', args: [clock.now().getTime() + 60_000, 'o1'] });
    expect(await queue.runOnce()).toBe(0);
    clock.advance(61_000);
    expect(await queue.runOnce()).toBe(1);
    expect(fake.delivered.filter((d) => d.to === 'orphan@example.test')).toHaveLength(1);
  });
});
