/**
 * One connection, used in turn: how the Node entry talks to its embedded (file) database.
 *
 * The embedded driver is synchronous. With several connections, one waiting for SQLite's write
 * lock held by another would wait *inside* the native call, blocking the event loop, so the
 * holder could never finish: a deadlock until the busy timeout. With one connection and an
 * asynchronous queue in front of it, callers wait their turn without blocking anything; in one
 * process SQLite runs one statement at a time anyway. A single connection also means per-
 * connection settings (`PRAGMA synchronous`) hold for every statement.
 *
 * Using the client (rather than the transaction handle) inside a transaction would wait for
 * itself forever; `guardTransactions` makes that an immediate error instead.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Client, Transaction, TransactionMode } from '@libsql/client';

/** Marks code running inside a drizzle transaction callback (see `guardTransactions`). */
const holder = new AsyncLocalStorage<true>();

/**
 * Runs each drizzle transaction callback marked as "inside", so that a stray use of the client
 * there fails at once instead of waiting for its own transaction to end.
 */
export function guardTransactions<D extends { transaction: (...args: never[]) => unknown }>(db: D): D {
  const original = db.transaction.bind(db) as (fn: (tx: unknown) => unknown, config?: unknown) => unknown;
  (db as { transaction: unknown }).transaction = (fn: (tx: unknown) => unknown, config?: unknown) => original((tx) => holder.run(true, () => fn(tx)), config);
  return db;
}

export function serialiseAccess(client: Client): Client {
  let tail: Promise<void> = Promise.resolve();

  const acquire = async (): Promise<() => void> => {
    if (holder.getStore()) {
      throw new Error('The database client was used inside an open transaction: use the transaction handle (tx) instead.');
    }
    let release!: () => void;
    const previous = tail;
    tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    let released = false;
    return () => {
      if (!released) {
        released = true;
        release();
      }
    };
  };

  const inTurn =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const release = await acquire();
      try {
        return await fn(...args);
      } finally {
        release();
      }
    };

  const transaction = async (mode?: TransactionMode): Promise<Transaction> => {
    const release = await acquire();
    let tx: Transaction;
    try {
      tx = await client.transaction(mode);
    } catch (error) {
      release();
      throw error;
    }
    const end = (name: 'commit' | 'rollback') => async () => {
      try {
        // On some errors (SQLITE_FULL, IOERR, NOMEM) SQLite has already rolled the whole
        // transaction back: there is nothing left to roll back, and failing here would replace
        // the error that says what happened.
        if (name === 'rollback' && tx.closed) return tx.close();
        return await tx[name]();
      } finally {
        release();
      }
    };
    return new Proxy(tx, {
      get(target, prop, receiver) {
        if (prop === 'commit' || prop === 'rollback') return end(prop);
        if (prop === 'close')
          return () => {
            try {
              target.close();
            } finally {
              release();
            }
          };
        const value = Reflect.get(target, prop, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  };

  return new Proxy(client, {
    get(target, prop, receiver) {
      switch (prop) {
        case 'execute':
        case 'batch':
        case 'migrate':
        case 'executeMultiple': {
          const fn = (target[prop] as (...a: unknown[]) => Promise<unknown>).bind(target);
          return inTurn(fn);
        }
        case 'transaction':
          return transaction;
        default: {
          const value = Reflect.get(target, prop, receiver) as unknown;
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        }
      }
    },
  });
}
