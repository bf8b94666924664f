/**
 * Serialises writes to an embedded (file) libSQL database within this process.
 *
 * The embedded driver is synchronous: when one connection holds SQLite's write lock (an open
 * transaction) and another connection asks for it, the second waits *inside* the native call,
 * blocking the event loop, so the first can never finish: a deadlock until the busy timeout.
 * Queueing writers asynchronously before they reach SQLite avoids it. Reads go straight through
 * (WAL lets them run beside a writer). Other processes are still handled by the busy timeout.
 */
import type { Client, InStatement, Transaction, TransactionMode } from '@libsql/client';

const READ = /^\s*(select|explain)\b/i;

function isRead(stmt: InStatement): boolean {
  return READ.test(typeof stmt === 'string' ? stmt : stmt.sql);
}

export function serialiseWrites(client: Client): Client {
  let tail: Promise<void> = Promise.resolve();
  const acquire = async (): Promise<() => void> => {
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
  const guarded = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const release = await acquire();
      try {
        return await fn(...args);
      } finally {
        release();
      }
    };

  return new Proxy(client, {
    get(target, prop, receiver) {
      switch (prop) {
        case 'execute':
          return (stmt: InStatement, ...rest: unknown[]) =>
            isRead(stmt)
              ? (target.execute as (...a: unknown[]) => Promise<unknown>)(stmt, ...rest)
              : guarded(() => (target.execute as (...a: unknown[]) => Promise<unknown>)(stmt, ...rest))();
        case 'batch':
          return guarded(target.batch.bind(target));
        case 'migrate':
          return guarded(target.migrate.bind(target));
        case 'executeMultiple':
          return guarded(target.executeMultiple.bind(target));
        case 'transaction':
          return async (mode?: TransactionMode): Promise<Transaction> => {
            if (mode === 'read') return target.transaction(mode);
            const release = await acquire();
            let tx: Transaction;
            try {
              tx = await target.transaction(mode);
            } catch (error) {
              release();
              throw error;
            }
            const end = <K extends 'commit' | 'rollback'>(name: K) => async () => {
              try {
                return await tx[name]();
              } finally {
                release();
              }
            };
            return new Proxy(tx, {
              get(t, p, r) {
                if (p === 'commit' || p === 'rollback') return end(p);
                if (p === 'close')
                  return () => {
                    try {
                      t.close();
                    } finally {
                      release();
                    }
                  };
                const value = Reflect.get(t, p, r) as unknown;
                return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(t) : value;
              },
            });
          };
        default: {
          const value = Reflect.get(target, prop, receiver) as unknown;
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        }
      }
    },
  });
}
