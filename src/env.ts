/**
 * Environment, parsed once per entry (src/node.ts, src/worker.ts) and never read elsewhere.
 * `parseEnv` is pure: it takes a plain record, so tests and both runtimes share it.
 */
import { z } from 'zod';

export type Runtime = 'node' | 'worker';

export interface SigningKey {
  kid: string;
  secret: string;
}

const booleanFlag = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'], {
    error: 'must be one of 1/0, true/false, yes/no, on/off',
  })
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));

const signingKeysSchema = z
  .string()
  .transform((raw, ctx) => {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be JSON, e.g. [{"kid":"2026-11","secret":"<32+ chars>"}]' });
      return z.NEVER;
    }
  })
  .pipe(
    z
      .array(
        z.object({
          kid: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'kid must be 1-64 letters, digits, dot, dash or underscore'),
          // HS256 keys shorter than the hash output weaken the MAC (RFC 7518 §3.2).
          secret: z.string().min(32, 'secret must be at least 32 characters'),
        }),
      )
      .min(1, 'must list at least one key; the first one signs'),
  )
  .refine((keys) => new Set(keys.map((k) => k.kid)).size === keys.length, 'kids must be unique');

const url = (what: string) => z.url({ error: `must be an absolute URL (${what})` });

function schemaFor(runtime: Runtime) {
  return z.object({
    PORT: z.coerce.number({ error: 'must be a number' }).int().min(0).max(65535).default(3000),
    HOST: z.string().default('127.0.0.1'),
    DATABASE_URL:
      runtime === 'node'
        ? z.string().regex(/^(file:|libsql:|https?:|wss?:)/, 'must start with file:, libsql:, http(s): or ws(s):').default('file:./data/local.db')
        : z.string({ error: 'is required on Workers (the Turso database URL)' }).regex(/^(libsql:|https?:|wss?:)/, 'must be a libsql:, https: or wss: URL on Workers (no local files there)'),
    DATABASE_AUTH_TOKEN: z.string().optional(),
    // Required on Workers: Queue consumers and Cron runs build the links in emails outside any
    // request, so there is no request origin to fall back on.
    PUBLIC_BASE_URL:
      runtime === 'node'
        ? url('where subscribers reach this platform, e.g. https://news.example.com').optional()
        : z.url({ error: 'is required on Workers: the absolute URL subscribers reach, e.g. https://news.example.com (emails are built outside any request)' }),
    RESEND_API_KEY: z.string().startsWith('re_', 'must be a Resend API key (starts with re_)').optional(),
    RESEND_BASE_URL: url('the Resend API base').optional(),
    // Several secrets separated by spaces while a webhook endpoint is being replaced (SECURITY.md).
    RESEND_WEBHOOK_SECRET: z
      .string()
      .trim()
      .refine((v) => v.split(/\s+/).every((secret) => secret.startsWith('whsec_')), 'must be Svix secrets (each starts with whsec_), separated by spaces')
      .optional(),
    SIGNING_KEYS: runtime === 'node' ? signingKeysSchema.optional() : signingKeysSchema,
    DEMO: booleanFlag.default(runtime === 'node'),
    /** Requests per second the sender starts from (Resend's default team limit is 2); response headers then govern. */
    SEND_RATE: z.coerce.number({ error: 'must be a number' }).positive('must be above 0').max(1000).default(2),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  });
}


/** The Node entry's environment: SIGNING_KEYS may be absent (a local key is generated). */
export type NodeEnv = Omit<z.output<ReturnType<typeof schemaFor>>, 'SIGNING_KEYS'> & { SIGNING_KEYS?: SigningKey[] };
/** The Worker's environment: SIGNING_KEYS, DATABASE_URL and PUBLIC_BASE_URL are required. */
export type WorkerEnv = Omit<NodeEnv, 'SIGNING_KEYS' | 'PUBLIC_BASE_URL'> & { SIGNING_KEYS: SigningKey[]; PUBLIC_BASE_URL: string };
export type Env = NodeEnv | WorkerEnv;


export class EnvError extends Error {
  constructor(readonly problems: { name: string; message: string }[]) {
    super(
      'Invalid environment:\n' +
        problems.map((p) => `  - ${p.name}: ${p.message}`).join('\n') +
        '\nSee the "Environment" section of README.md.',
    );
    this.name = 'EnvError';
  }
}

/** Parses and checks the environment. Empty strings count as unset (as shells and dashboards often leave them). */
export function parseEnv(record: Record<string, unknown>, runtime: 'node'): NodeEnv;
export function parseEnv(record: Record<string, unknown>, runtime: 'worker'): WorkerEnv;
export function parseEnv(record: Record<string, unknown>, runtime: Runtime): Env {
  const cleaned: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) {
    if (typeof v === 'string' && v.trim() === '') continue;
    cleaned[k] = v;
  }
  const result = schemaFor(runtime).safeParse(cleaned);
  if (!result.success) {
    throw new EnvError(
      result.error.issues.map((i) => ({ name: i.path.join('.') || '(env)', message: i.message })),
    );
  }
  return result.data as Env;
}
