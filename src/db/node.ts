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
import { serialiseWrites } from './write-queue.js';
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
  // `timeout` is SQLite's busy timeout, for other processes; within this one, writes are queued.
  const raw = createClient({ url, authToken, timeout: 5000 });
  const client = isFile ? serialiseWrites(raw) : raw;
  if (isFile) {
    // WAL lets readers run while one writer commits (DESIGN.md §8); it persists in the file.
    await client.execute('PRAGMA journal_mode = WAL');
  }
  const db = drizzle(client, { schema });
  return { db, client, close: () => client.close() };
}

/** Applies every migration under drizzle/ that this database has not seen. Safe to run twice. */
export async function migrateDatabase(db: Db): Promise<void> {
  await migrate(db, { migrationsFolder });
}
