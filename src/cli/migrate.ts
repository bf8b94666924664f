/**
 * `npm run db:migrate`: applies drizzle/ migrations to any libSQL database, e.g. Turso in
 * production (DATABASE_URL=libsql://… DATABASE_AUTH_TOKEN=… npm run db:migrate).
 */
import { migrateDatabase, openDatabase } from '../db/node.js';
import { EnvError, parseEnv } from '../env.js';
import { backfillEmailHashes } from '../domain/privacy/suppressions.js';

try {
  const env = parseEnv(process.env, 'node');
  const { db, close } = await openDatabase(env.DATABASE_URL, env.DATABASE_AUTH_TOKEN);
  await migrateDatabase(db);
  await backfillEmailHashes(db);
  close();
  console.log(`Migrations applied to ${env.DATABASE_URL.replace(/\?.*$/, '')}`);
} catch (error) {
  console.error(error instanceof EnvError ? error.message : error);
  process.exit(1);
}
