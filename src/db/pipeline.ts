/**
 * Several statements of an open transaction in one round trip. Over HTTP (Turso, and the Worker
 * that talks to it) every awaited statement is its own request: a one-click unsubscribe used to
 * make eleven, each one costing latency and Workers CPU time (test/bench/workerd.bench.ts).
 * libSQL's interactive transactions accept a batch of statements, sent as one Hrana pipeline and
 * run in order inside the transaction; this hands drizzle queries to it and maps the results as
 * drizzle's own `db.batch` does (same internals: `_prepare`, `getQuery`, `mapResult`; drizzle is
 * pinned, and test/integration/pipeline.test.ts checks this against both drivers).
 *
 * Outside a transaction, or on a driver without it, the queries run one after the other.
 * Statements run in order; the first error stops the rest and is thrown, and the caller's
 * transaction rolls back as usual.
 */
import type { BatchItem, BatchResponse } from 'drizzle-orm/batch';
import type { DbOrTx } from './client.js';

interface LibsqlTransaction {
  batch(statements: { sql: string; args: unknown[] }[]): Promise<unknown[]>;
}

interface PreparedQuery {
  getQuery(): { sql: string; params: unknown[] };
  mapResult(result: unknown, isFromBatch: boolean): unknown;
}

export async function pipelined<T extends readonly BatchItem<'sqlite'>[]>(tx: DbOrTx, queries: T): Promise<BatchResponse<T>> {
  const open = (tx as unknown as { session?: { tx?: LibsqlTransaction } }).session?.tx;
  if (!open || typeof open.batch !== 'function') {
    const results: unknown[] = [];
    for (const query of queries) results.push(await query);
    return results as BatchResponse<T>;
  }
  const prepared = queries.map((query) => (query as unknown as { _prepare(): PreparedQuery })._prepare());
  const results = await open.batch(prepared.map((p) => ({ sql: p.getQuery().sql, args: p.getQuery().params })));
  return prepared.map((p, i) => p.mapResult(results[i], true)) as BatchResponse<T>;
}
