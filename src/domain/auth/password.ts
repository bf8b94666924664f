/**
 * Password hashing with PBKDF2-SHA-256 through WebCrypto, so the same code runs on Node and Workers.
 *
 * 100,000 iterations: the most Cloudflare Workers' WebCrypto accepts for PBKDF2 (it refuses more).
 * The iteration count is stored in each hash, so it can be raised later and old hashes still verify.
 */
import { base64url, fromBase64url, timingSafeEqual } from '../../lib/crypto.js';

const ITERATIONS = 100_000;
const SALT_BYTES = 16;
const HASH_BITS = 256;

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<string> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(password), 'PBKDF2', false, [
    'deriveBits',
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt: salt as BufferSource, iterations },
    key,
    HASH_BITS,
  );
  return base64url(new Uint8Array(bits));
}

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  return `pbkdf2-sha256$${ITERATIONS}$${base64url(salt)}$${await derive(password, salt, ITERATIONS)}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, iter, salt, hash] = stored.split('$');
  const iterations = Number(iter);
  if (scheme !== 'pbkdf2-sha256' || !salt || !hash || !Number.isInteger(iterations) || iterations < 1) return false;
  return timingSafeEqual(await derive(password, fromBase64url(salt), iterations), hash);
}

/**
 * A hash of nothing in particular, verified when the account does not exist so that a wrong
 * address takes as long as a wrong password (no account enumeration by timing).
 */
export const decoyHash = 'pbkdf2-sha256$100000$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

/** NIST SP 800-63B: at least 8 characters, long passphrases allowed, no composition rules. */
export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 200;
