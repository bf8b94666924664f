/**
 * The Node entry as a newcomer runs it (`tsx src/node.ts`), over real HTTP on 127.0.0.1:
 * migrations, demo seed, logins printed, /healthz, graceful shutdown with a request in flight.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function startServer(env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'cn-node-'));
  dirs.push(dir);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/node.ts'], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', DATABASE_URL: `file:${join(dir, 'local.db')}`, LOG_LEVEL: 'warn', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  }) as ChildProcessWithoutNullStreams;
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${stdout}\n${stderr}`)), 20_000);
    child.stdout.on('data', () => {
      const url = /running at (http:\/\/[\d.:]+)/.exec(stdout)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve(url);
      }
    });
    void exited.then((code) => reject(new Error(`exited with ${code}:\n${stdout}\n${stderr}`)));
  });
  return { child, ready, exited, output: () => ({ stdout, stderr }) };
}

describe('node entry', () => {
  it('starts on a free port with the demo workspace, answers /healthz, and shuts down cleanly', async () => {
    const server = startServer({});
    const url = await server.ready;
    const { stdout } = server.output();
    expect(stdout).toContain('admin@voyage-online.test');
    expect(stdout).toContain('marketer@voyage-online.test');
    expect(stdout).toContain('agent@voyage-online.test');
    expect(stdout).toContain('demo-password');

    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', database: 'ok', runtime: 'node' });

    const login = await fetch(`${url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'marketer@voyage-online.test', password: 'demo-password' }),
    });
    expect(login.status).toBe(200);
    const { workspace } = (await login.json()) as { workspace: { name: string } };
    expect(workspace.name).toBe('Voyage Online');

    // A request still arriving when SIGTERM comes is answered before the process exits.
    const body = JSON.stringify({ email: 'agent@voyage-online.test', password: 'demo-password' });
    const inFlight = new Promise<number>((resolve, reject) => {
      const req = request(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => {
        server.child.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(10)), 200);
      }, 200);
    });
    expect(await inFlight).toBe(200);
    expect(await server.exited).toBe(0);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  it('keeps data and the signing key across restarts, and seeds only an empty database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cn-node-'));
    dirs.push(dir);
    const env = { DATABASE_URL: `file:${join(dir, 'local.db')}` };
    const first = startServer(env);
    const url1 = await first.ready;
    expect(first.output().stdout).toContain('demo workspace "Voyage Online" created');
    const login = await fetch(`${url1}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'admin@voyage-online.test', password: 'demo-password' }),
    });
    const { token } = (await login.json()) as { token: string };
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);

    const second = startServer(env);
    const url2 = await second.ready;
    expect(second.output().stdout).not.toContain('created');
    const me = await fetch(`${url2}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('refuses to start on a malformed environment, naming the variable', async () => {
    const server = startServer({ PORT: 'eighty', SIGNING_KEYS: '[{"kid":"a","secret":"short"}]' });
    await expect(server.ready).rejects.toThrow();
    expect(await server.exited).toBe(2);
    const { stderr } = server.output();
    expect(stderr).toContain('Invalid environment');
    expect(stderr).toContain('PORT:');
    expect(stderr).toContain('SIGNING_KEYS.0.secret: secret must be at least 32 characters');
  });
});
