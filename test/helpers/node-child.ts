/**
 * The real Node entry (`src/node.ts`) in a child process on a given database file, for tests that
 * kill it: started on a free port of 127.0.0.1 with fixed signing keys (sessions and emailed
 * links survive a restart), resolved once it prints its URL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { testKeys } from './app.js';

export interface NodeChild {
  url: string;
  child: ChildProcess;
  /** Resolves with the exit signal (SIGKILL) or code. */
  exited: Promise<NodeJS.Signals | number | null>;
  output(): string;
}

export async function startNodeChild(databaseUrl: string, env: Record<string, string> = {}): Promise<NodeChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/node.ts'], {
    env: {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl,
      SIGNING_KEYS: JSON.stringify(testKeys),
      LOG_LEVEL: 'error',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 30_000);
    child.stdout!.on('data', () => {
      const found = /running at (http:\/\/[\d.:]+)/.exec(out)?.[1];
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    void exited.then((how) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${String(how)}) before listening:\n${out}`));
    });
  });
  return { url, child, exited, output: () => out };
}
