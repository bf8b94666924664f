import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateDatabase, openDatabase, type OpenDatabase } from '../../src/db/node.js';

/**
 * A fresh, migrated libSQL database in a temp file (not `:memory:`, which is unreliable across
 * interactive transactions). Call `dispose` in afterAll.
 */
export async function createTestDb(): Promise<OpenDatabase & { url: string; dir: string; dispose(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'cn-test-'));
  const url = `file:${join(dir, 'test.db')}`;
  const opened = await openDatabase(url);
  await migrateDatabase(opened.db);
  return {
    ...opened,
    url,
    dir,
    dispose() {
      opened.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
