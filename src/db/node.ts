/**
 * Opens the embedded libSQL database for the Node entry and CLI scripts (uses `fs`, so never
 * imported by the Worker).
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient, type Client } from '@libsql/client';
import { drizzle } from 'drizzle-orm/libsql';
import { migrate } from 'drizzle-orm/libsql/migrator';
import type { Db } from './client.js';
import { guardTransactions, serialiseAccess } from './write-queue.js';
import * as schema from './schema.js';

export const migrationsFolder = resolve(dirname(fileURLToPath(import.meta.url)), '../../drizzle');

export interface OpenDatabase {
  db: Db;
  client: Client;
  close(): void;
}

export async function openDatabase(url: string, authToken?: string): Promise<OpenDatabase> {
  if (url.startsWith('file:')) {
    const path = url.slice('file:'.length).split('?')[0] ?? '';
    if (path && path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
  }
  const isFile = url.startsWith('file:');
  // Embedded: one connection taken in turn (see write-queue.ts); `timeout` (SQLite's busy
  // timeout) covers other processes on the same file, such as `npm run db:migrate`.
  const raw = createClient({ url, authToken, timeout: 5000, ...(isFile ? { concurrency: 1 } : {}) });
  const client = isFile ? serialiseAccess(raw) : raw;
  if (isFile) {
    // WAL lets a reader in another process run while this one commits (DESIGN.md §8); persistent.
    await client.execute('PRAGMA journal_mode = WAL');
    // In WAL mode, NORMAL syncs at checkpoints instead of every commit: a commit survives a crash
    // or kill of this process (the SQLite docs' recommended pairing), and only an OS crash or
    // power cut can lose the last moments. Production runs on Turso, which replicates.
    await client.execute('PRAGMA synchronous = NORMAL');
  }
  const db = isFile ? guardTransactions(drizzle(client, { schema })) : drizzle(client, { schema });
  return { db, client, close: () => client.close() };
}

/** Applies every migration under drizzle/ that this database has not seen. Safe to run twice. */
export async function migrateDatabase(db: Db): Promise<void> {
  await migrate(db, { migrationsFolder });
}
