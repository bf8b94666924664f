/**
 * Idempotency-Key handling (IETF draft-ietf-httpapi-idempotency-key-header): the first request
 * with a key is processed and its answer stored in the same transaction as its writes; a retry
 * with the same key and body gets that answer and writes nothing; the same key with a different
 * body is a 409 (the client reused a key by mistake).
 */
import { and, eq } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { idempotencyKeys } from '../db/schema.js';
import { sha256Hex } from '../lib/crypto.js';
import { canonicalJson } from './consent/chain.js';
import { Conflict, Invalid } from './errors.js';

export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{8,200}$/;

export interface StoredAnswer<T> {
  status: number;
  body: T;
}

export function checkKey(key: string): void {
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new Invalid('invalid_idempotency_key', 'Idempotency-Key must be 8-200 visible ASCII characters (a UUID is ideal).', [
      { field: 'Idempotency-Key', message: '8-200 visible ASCII characters' },
    ]);
  }
}

export async function requestHash(body: unknown): Promise<string> {
  return sha256Hex(canonicalJson(body));
}

/** Inside the write transaction: the stored answer of an earlier identical request, if any. */
export async function findAnswer<T>(tx: DbOrTx, scope: { workspaceId: string; route: string; key: string }, hash: string): Promise<StoredAnswer<T> | null> {
  const row = await tx.query.idempotencyKeys.findFirst({
    where: and(eq(idempotencyKeys.workspaceId, scope.workspaceId), eq(idempotencyKeys.route, scope.route), eq(idempotencyKeys.key, scope.key)),
  });
  if (!row) return null;
  if (row.requestHash !== hash) {
    throw new Conflict('idempotency_key_reused', 'This Idempotency-Key was already used with a different request body.');
  }
  return { status: row.status, body: row.response as T };
}

export async function storeAnswer(tx: DbOrTx, scope: { workspaceId: string; route: string; key: string }, hash: string, answer: StoredAnswer<unknown>, now: Date) {
  await tx.insert(idempotencyKeys).values({ ...scope, requestHash: hash, status: answer.status, response: answer.body, createdAt: now });
}

export async function updateAnswer(tx: DbOrTx, scope: { workspaceId: string; route: string; key: string }, body: unknown) {
  await tx
    .update(idempotencyKeys)
    .set({ response: body })
    .where(and(eq(idempotencyKeys.workspaceId, scope.workspaceId), eq(idempotencyKeys.route, scope.route), eq(idempotencyKeys.key, scope.key)));
}
