/**
 * Signed tokens (JWS, HS256) for sessions and emailed links. Each token names its purpose in
 * `aud`, so a token minted for one job (an invitation) can never be replayed for another (a
 * session). The header carries the key id so keys can rotate: the first key in SIGNING_KEYS
 * signs, every listed key verifies (DESIGN.md §6).
 */
import { errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type { SigningKey } from '../../env.js';
import type { Clock } from '../../lib/clock.js';

export type TokenPurpose = 'session' | 'invite' | 'confirm' | 'unsubscribe' | 'preferences' | 'export';

const ISSUER = 'consent-newsletter';
const encoder = new TextEncoder();

/**
 * Imported HMAC keys, by secret. Importing costs more than signing, and a campaign signs two
 * tokens per recipient: import each key once per process.
 */
const imported = new Map<string, Promise<CryptoKey>>();
function hmacKey(secret: string): Promise<CryptoKey> {
  let key = imported.get(secret);
  if (!key) {
    key = crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    imported.set(secret, key);
  }
  return key;
}

export async function signToken(
  keys: SigningKey[],
  clock: Clock,
  purpose: TokenPurpose,
  claims: JWTPayload & { sub: string },
  ttlSeconds: number | null,
  /** Fixed issue time, for tokens that must come out identical each time (a resent batch). */
  issuedAt?: Date,
): Promise<string> {
  const key = keys[0];
  if (!key) throw new Error('no signing key configured');
  const now = Math.floor((issuedAt ?? clock.now()).getTime() / 1000);
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', kid: key.kid })
    .setIssuer(ISSUER)
    .setAudience(purpose)
    .setIssuedAt(now);
  if (ttlSeconds !== null) jwt.setExpirationTime(now + ttlSeconds);
  return jwt.sign(await hmacKey(key.secret));
}

/** Returns the payload, or null for anything not valid for this purpose (tampered, expired, unknown key). */
export async function verifyToken(
  keys: SigningKey[],
  clock: Clock,
  purpose: TokenPurpose,
  token: string,
): Promise<(JWTPayload & { sub: string }) | null> {
  try {
    const { payload } = await jwtVerify(
      token,
      async (header) => {
        const key = keys.find((k) => k.kid === header.kid);
        if (!key) throw new errors.JWKSNoMatchingKey();
        return hmacKey(key.secret);
      },
      {
        algorithms: ['HS256'],
        issuer: ISSUER,
        audience: purpose,
        currentDate: clock.now(),
      },
    );
    if (typeof payload.sub !== 'string') return null;
    return payload as JWTPayload & { sub: string };
  } catch {
    return null;
  }
}
