/**
 * Login throttling (OWASP ASVS 2.2.1): after too many failures in a window, refuse further
 * attempts for that account, or from that address, until the oldest failure leaves the window.
 * Kept in the database so the limit holds across processes and Worker isolates.
 */
import { and, asc, count, eq, gte, lt } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client.js';
import { loginFailures } from '../../db/schema.js';
import { RateLimited } from '../errors.js';

export const LOGIN_WINDOW_MS = 15 * 60 * 1000;
export const MAX_FAILURES_PER_ACCOUNT = 5;
export const MAX_FAILURES_PER_IP = 30;

export function throttleKeys(email: string, ip: string | undefined): { key: string; max: number }[] {
  const keys = [{ key: `email:${email}`, max: MAX_FAILURES_PER_ACCOUNT }];
  if (ip) keys.push({ key: `ip:${ip}`, max: MAX_FAILURES_PER_IP });
  return keys;
}

export async function assertNotThrottled(db: Db, keys: { key: string; max: number }[], now: Date): Promise<void> {
  const since = new Date(now.getTime() - LOGIN_WINDOW_MS);
  for (const { key, max } of keys) {
    const [row] = await db
      .select({ n: count() })
      .from(loginFailures)
      .where(and(eq(loginFailures.key, key), gte(loginFailures.at, since)));
    if ((row?.n ?? 0) < max) continue;
    // The lock lifts when enough failures have aged out of the window to fall under the limit.
    const [oldest] = await db
      .select({ at: loginFailures.at })
      .from(loginFailures)
      .where(and(eq(loginFailures.key, key), gte(loginFailures.at, since)))
      .orderBy(asc(loginFailures.at))
      .limit(1);
    const retryAfter = oldest ? Math.max(1, Math.ceil((oldest.at.getTime() + LOGIN_WINDOW_MS - now.getTime()) / 1000)) : 60;
    throw new RateLimited(
      'too_many_login_attempts',
      key.startsWith('email:')
        ? 'Too many failed attempts for this account. Try again later.'
        : 'Too many failed attempts from this address. Try again later.',
      retryAfter,
    );
  }
}

export async function recordFailure(db: Db, keys: { key: string }[], now: Date): Promise<void> {
  await db.batch([
    db.insert(loginFailures).values(keys.map(({ key }) => ({ key, at: now }))),
    // Housekeeping: failures older than the window are no longer needed.
    db.delete(loginFailures).where(lt(loginFailures.at, new Date(now.getTime() - LOGIN_WINDOW_MS))),
  ]);
}

export async function clearAccountFailures(db: DbOrTx, email: string): Promise<void> {
  await db.delete(loginFailures).where(eq(loginFailures.key, `email:${email}`));
}
