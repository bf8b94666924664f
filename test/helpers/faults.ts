/**
 * Fault injection into the real embedded database, for the fault-injection suites
 * (test/integration/faults-*.test.ts). No mock: SQLite itself refuses the write.
 *
 * `failFromWrite(client, n)` installs, on every table of the app, BEFORE INSERT / UPDATE /
 * DELETE triggers that count the rows written in a counter table and `RAISE(ABORT)` from the
 * n-th row on. The counter is written by the same statements, so a rolled-back transaction rolls
 * its counting back too: from step n on, every write fails (a database that has started
 * failing keeps failing until `disarm()`), and steps 1 … n-1 go through. Walking n = 1, 2, 3 …
 * puts the failure at every write step of a request in turn.
 */
import type { Client } from '@libsql/client';
import type { Logger } from '../../src/lib/logger.js';

export const INJECTED = 'injected fault';
const COUNTER = 'zz_fault_counter';

async function appTables(client: Client): Promise<string[]> {
  const rows = await client.execute(
    `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__drizzle%' AND name <> '${COUNTER}' ORDER BY name`,
  );
  return rows.rows.map((r) => String(r.name));
}

/**
 * How many statements the driver refused with the injected fault, however the app then reported
 * (or swallowed) the error: the libSQL client's own methods are wrapped to count them.
 */
let injectedErrors = 0;
async function watchDriver(client: Client) {
  const tx = await client.transaction('read');
  const txProto = Object.getPrototypeOf(tx) as Record<string, unknown>;
  await tx.rollback();
  for (const proto of [Object.getPrototypeOf(client) as Record<string, unknown>, txProto]) {
    for (const method of ['execute', 'batch']) {
      const original = proto[method] as ((...args: unknown[]) => Promise<unknown>) & { watched?: true };
      if (original.watched) continue;
      const watched = async function (this: unknown, ...args: unknown[]) {
        try {
          return await original.apply(this, args);
        } catch (error) {
          if (String((error as Error | undefined)?.message).includes(INJECTED)) injectedErrors++;
          throw error;
        }
      };
      proto[method] = Object.assign(watched, { watched: true as const });
    }
  }
}

export interface WriteFault {
  /** Whether a statement failed with the injected fault since arming. */
  fired(): boolean;
  disarm(): Promise<void>;
}

export async function failFromWrite(client: Client, n: number, options: { tables?: string[] } = {}): Promise<WriteFault> {
  const tables = options.tables ?? (await appTables(client));
  const names: string[] = [];
  const ddl = [`CREATE TABLE ${COUNTER} (seen INTEGER NOT NULL, target INTEGER NOT NULL)`, `INSERT INTO ${COUNTER} VALUES (0, ${Number(n)})`];
  for (const table of tables) {
    for (const op of ['INSERT', 'UPDATE', 'DELETE']) {
      const name = `zz_fault_${op.toLowerCase()}_${table}`;
      names.push(name);
      ddl.push(
        `CREATE TRIGGER "${name}" BEFORE ${op} ON "${table}" BEGIN
           UPDATE ${COUNTER} SET seen = seen + 1;
           SELECT RAISE(ABORT, '${INJECTED}') WHERE (SELECT seen >= target FROM ${COUNTER});
         END`,
      );
    }
  }
  await watchDriver(client);
  await client.batch(ddl, 'write');
  const mark = injectedErrors;
  return {
    fired: () => injectedErrors > mark,
    async disarm() {
      await client.batch([...names.map((name) => `DROP TRIGGER IF EXISTS "${name}"`), `DROP TABLE IF EXISTS ${COUNTER}`], 'write');
    },
  };
}

/** A logger that keeps what it is told, to see where an injected fault surfaced. */
export function recordingLogger() {
  const entries: { level: 'info' | 'warn' | 'error'; msg: string; fields: Record<string, unknown> }[] = [];
  const keep = (level: 'info' | 'warn' | 'error') => (msg: string, fields: Record<string, unknown> = {}) => void entries.push({ level, msg, fields });
  const logger: Logger = { info: keep('info'), warn: keep('warn'), error: keep('error') };
  return {
    logger,
    entries,
    /** Entries since `mark` whose text mentions `needle`. */
    since(mark: number, needle: string) {
      return entries.slice(mark).filter((e) => JSON.stringify(e).includes(needle));
    },
  };
}
