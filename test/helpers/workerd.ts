/**
 * Runs the production Worker as `wrangler dev` does on a developer's machine: the real bundle of
 * src/worker.ts with wrangler.toml's `[env.production]` (queues, DLQ, crons, static assets,
 * aliases, nodejs_compat), inside workerd, on 127.0.0.1. Used by test/workerd and the workerd
 * bench. Facts this relies on (wrangler 4.86, checked here):
 *  - `--test-scheduled` exposes `GET /__scheduled?cron=…`, answered once `scheduled()` returns
 *    (`/cdn-cgi/handler/scheduled` fails for Workers with `[assets]`);
 *  - `POST /cdn-cgi/handler/email?from=…&to=…` with a raw RFC 5322 message runs `email()`;
 *    a rejection answers 400 with the reason;
 *  - `--var NAME:VALUE` splits at the first colon (JSON and URLs survive); an empty `--env-file`
 *    keeps a developer's `.dev.vars` out of the tests;
 *  - `--inspector-port 0`, or a second instance dies on port 9229;
 *  - wrangler starts two workerd processes (a proxy, and the user Worker with `--inspector-addr`);
 *    SIGTERM to the process group stops all of them.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createClient, type Client } from '@libsql/client';
import { startLibsqlHttpServer, type LibsqlHttpServer } from '../fixtures/libsql-http-server.js';

const run = promisify(execFile);

export const DATABASE_TOKEN = 'turso-token-for-tests';
export const WORKERD_ADMIN = { email: 'claire@voyage-online.test', password: 'a-long-admin-password' };

export interface TursoLike {
  database: LibsqlHttpServer;
  /** A client on the same database, for assertions. */
  db: Client;
  workspaceId: string;
  close(): Promise<void>;
}

/**
 * A "Turso" database (the Hrana-over-HTTP fixture, with a token) prepared with the deploy
 * guide's own commands: `npm run db:migrate`, then `npm run workspace:create` for the first admin.
 */
export async function prepareDatabase(dir: string): Promise<TursoLike> {
  const database = await startLibsqlHttpServer({ path: join(dir, 'turso.db'), authToken: DATABASE_TOKEN });
  const env = { ...process.env, DATABASE_URL: database.url, DATABASE_AUTH_TOKEN: DATABASE_TOKEN, ADMIN_PASSWORD: WORKERD_ADMIN.password, LOG_LEVEL: 'warn' };
  const migrated = await run('node_modules/.bin/tsx', ['src/cli/migrate.ts'], { env });
  if (!migrated.stdout.includes('Migrations applied')) throw new Error(`db:migrate said: ${migrated.stdout}${migrated.stderr}`);
  await run(
    'node_modules/.bin/tsx',
    [
      'src/cli/create-workspace.ts',
      ...['--slug', 'voyage-online', '--name', 'Voyage Online', '--legal-name', 'Voyage Online SAS', '--address', '12 avenue Kléber'],
      ...['--postal-code', '75016', '--city', 'Paris', '--country', 'FR', '--contact-email', 'contact@voyage-online.test'],
      ...['--contact-phone', '0885905600', '--privacy-url', 'https://voyage-online.test/confidentialite', '--dpo-contact', 'dpo@voyage-online.test'],
      ...['--sender-name', 'Voyage Online', '--sender-email', 'news@voyage-online.test', '--admin-email', WORKERD_ADMIN.email, '--admin-name', 'Claire Dubois'],
    ],
    { env },
  );
  const db = createClient({ url: database.url, authToken: DATABASE_TOKEN });
  const workspaceId = String((await db.execute("SELECT id FROM workspaces WHERE slug = 'voyage-online'")).rows[0]!.id);
  return {
    database,
    db,
    workspaceId,
    async close() {
      db.close();
      await database.close();
    },
  };
}

/** Logs the demo admin in through the Worker's API; returns the session token. */
export async function loginAdmin(url: string): Promise<string> {
  const login = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(WORKERD_ADMIN) });
  if (login.status !== 200) throw new Error(`login answered ${login.status}: ${await login.text()}`);
  return ((await login.json()) as { token: string }).token;
}

export interface RunningWorker {
  /** `http://127.0.0.1:<port>`, also the Worker's PUBLIC_BASE_URL. */
  url: string;
  /** Runs the Cron handler for this schedule (as in wrangler.toml) and waits for it. */
  scheduled(cron: string): Promise<void>;
  /** Delivers a message to the `email` handler, as Email Routing would; `rejected` is setReject's reason. */
  email(message: { from: string; to: string; subject: string }): Promise<{ rejected: string | null }>;
  /** CPU time (ms) the user Worker's workerd process has used so far (Linux /proc). */
  workerCpuMs(): number;
  /** Everything wrangler and the Worker printed. */
  output(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function startWorker(options: { persistDir: string; vars: Record<string, string>; readyTimeoutMs?: number }): Promise<RunningWorker> {
  // wrangler.toml's [assets] directory: bundled by `npm run assets` (pretest, prebench).
  if (!existsSync('dist/public/static')) throw new Error('dist/public/static is missing: run npm run assets first');
  mkdirSync(options.persistDir, { recursive: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const emptyEnvFile = join(options.persistDir, 'empty.env');
  writeFileSync(emptyEnvFile, '');
  const vars: Record<string, string> = { PUBLIC_BASE_URL: url, ...options.vars };
  const args = ['dev', '--env', 'production', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', '0'];
  args.push('--persist-to', options.persistDir, '--test-scheduled', '--env-file', emptyEnvFile);
  for (const [name, value] of Object.entries(vars)) args.push('--var', `${name}:${value}`);

  const child: ChildProcess = spawn('node_modules/.bin/wrangler', args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    env: {
      ...process.env,
      CI: 'true',
      WRANGLER_SEND_METRICS: 'false',
      WRANGLER_HIDE_BANNER: 'true',
      CLOUDFLARE_CF_FETCH_ENABLED: 'false',
      WRANGLER_CI_DISABLE_CONFIG_WATCHING: 'true',
      WRANGLER_LOG_PATH: join(options.persistDir, 'logs'),
    },
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`wrangler dev did not start in time:\n${output}`)), options.readyTimeoutMs ?? 60_000);
    const onData = () => {
      if (/Ready on http:\/\/\S+/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`wrangler dev exited with ${code}:\n${output}`));
    });
  });

  const pid = child.pid!;
  return {
    url,
    async scheduled(cron) {
      const res = await fetch(`${url}/__scheduled?cron=${encodeURIComponent(cron)}`);
      if (res.status !== 200) throw new Error(`scheduled(${cron}) answered ${res.status}: ${await res.text()}\n${output.slice(-2000)}`);
    },
    async email({ from, to, subject }) {
      const raw = [
        `From: ${from}`,
        `To: ${to}`,
        `Subject: ${subject}`,
        `Message-ID: <${crypto.randomUUID()}@mail.example.test>`,
        `Date: ${new Date().toUTCString()}`,
        'Content-Type: text/plain; charset=utf-8',
        '',
        'unsubscribe',
        '',
      ].join('\r\n');
      const res = await fetch(`${url}/cdn-cgi/handler/email?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`, { method: 'POST', body: raw });
      const text = await res.text();
      if (res.status === 200) return { rejected: null };
      const reason = /rejected email with the following reason: (.*)$/s.exec(text)?.[1];
      if (res.status === 400 && reason) return { rejected: reason.trim() };
      throw new Error(`email handler answered ${res.status}: ${text}`);
    },
    workerCpuMs() {
      const worker = descendants(pid).find((p) => commandLine(p).some((a) => a.startsWith('--inspector-addr')) && commandLine(p)[0]!.endsWith('workerd'));
      if (!worker) throw new Error('no workerd process found under wrangler');
      // utime + stime, in clock ticks of 10 ms (USER_HZ = 100 on Linux).
      const fields = readFileSync(`/proc/${worker}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return (Number(fields[11]) + Number(fields[12])) * 10;
    },
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return;
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        return;
      }
      // workerd lingers a moment after wrangler exits: wait for the whole group to be gone.
      const until = Date.now() + 8_000;
      while (Date.now() < until) {
        try {
          process.kill(-pid, 0);
        } catch {
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    },
  };
}

function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [''];
  }
}

function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      /* exited meanwhile */
    }
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) for (const child of children.get(stack.pop()!) ?? []) out.push(child), stack.push(child);
  return out;
}
