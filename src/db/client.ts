import type { LibSQLDatabase } from 'drizzle-orm/libsql';
import type * as schema from './schema.js';

/** The drizzle handle the whole app uses, whatever the runtime (embedded file or Turso over HTTP). */
export type Db = LibSQLDatabase<typeof schema>;
/** A transaction handle: same query API as `Db`. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** Functions that can run inside or outside a transaction take this. */
export type DbOrTx = Db | Tx;
