/**
 * The real Node entry (`src/node.ts`) in a child process on a given database file, for tests that
 * kill it: started on a free port of 127.0.0.1 with fixed signing keys (sessions and emailed
 * links survive a restart), resolved once it prints its URL.
 *
 * Every child started here is tracked until it exits: `killNodeChildren()` (in the test file's
 * afterAll) SIGKILLs those still running, so a failed assertion or a timed-out test leaves no
 * server behind on a shared machine. A child that does not start in time is killed before the
 * start rejects.
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

const running = new Map<ChildProcess, Promise<unknown>>();

/**
 * Tracks a child process until it exits (any child a test spawns, not only servers), so that
 * `killNodeChildren()` can end it. Returns a promise of its exit (signal, else code).
 */
export function trackChild(child: ChildProcess): Promise<NodeJS.Signals | number | null> {
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => {
    // Already gone (spawn failed, or exited before we looked): nothing to track.
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.signalCode ?? child.exitCode);
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve(signal ?? code);
    });
    child.on('error', () => {
      running.delete(child);
      resolve(null);
    });
  });
  if (child.exitCode === null && child.signalCode === null) running.set(child, exited);
  return exited;
}

/** SIGKILLs every tracked child still running and waits for them to be gone. */
export async function killNodeChildren(): Promise<void> {
  const left = [...running];
  for (const [child] of left) child.kill('SIGKILL');
  await Promise.all(left.map(([, exited]) => exited));
}

export async function startNodeChild(databaseUrl: string, env: Record<string, string> = {}, startTimeoutMs = 30_000): Promise<NodeChild> {
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
  const exited = trackChild(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Not left running: nobody would ever kill a server whose start "failed".
      child.kill('SIGKILL');
      reject(new Error(`server did not start within ${startTimeoutMs} ms:\n${out}`));
    }, startTimeoutMs);
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
