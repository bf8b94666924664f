/**
 * `npm run workspace:create -- --slug … --name … --admin-email …`: onboards a workspace (a data
 * controller) and its first admin on any libSQL database, e.g. Turso in production, where there
 * is no demo seed:
 *
 *   DATABASE_URL=libsql://… DATABASE_AUTH_TOKEN=… npm run db:migrate
 *   DATABASE_URL=libsql://… DATABASE_AUTH_TOKEN=… PUBLIC_BASE_URL=https://news.example.com \
 *     npm run workspace:create -- --slug voyage-online --name "Voyage Online" … --admin-email a@b.fr --admin-name "Claire Dubois"
 *
 * The admin's password comes from ADMIN_PASSWORD, else one is generated and printed once.
 * Exit codes: 0 done; 2 bad input or conflict (nothing written); 1 anything else (e.g. an
 * unmigrated database).
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { openDatabase } from '../db/node.js';
import { PASSWORD_MAX, PASSWORD_MIN, hashPassword } from '../domain/auth/password.js';
import { Conflict } from '../domain/errors.js';
import { normaliseEmail } from '../domain/users/email.js';
import { createWorkspace, WORKSPACE_SLUG } from '../domain/workspaces/create.js';
import { EnvError, parseEnv } from '../env.js';
import { identityShape } from '../http/api/workspace.js';
import { systemClock } from '../lib/clock.js';
import { randomToken } from '../lib/crypto.js';
import { newId } from '../lib/ids.js';

/** Flag → field. The identity fields are validated by the workspace API's own schema. */
const FLAGS = {
  slug: 'slug',
  name: 'name',
  'legal-name': 'legalName',
  address: 'addressLine',
  'postal-code': 'postalCode',
  city: 'city',
  country: 'country',
  'contact-email': 'contactEmail',
  'contact-phone': 'contactPhone',
  'privacy-url': 'privacyUrl',
  'dpo-contact': 'dpoContact',
  'sender-name': 'senderName',
  'sender-email': 'senderEmail',
  'reply-to': 'replyTo',
  'admin-email': 'adminEmail',
  'admin-name': 'adminName',
} as const;
type Flag = keyof typeof FLAGS;
const flagOf = Object.fromEntries(Object.entries(FLAGS).map(([flag, field]) => [field, flag])) as Record<string, Flag>;

const USAGE = `Usage: npm run workspace:create -- ${Object.keys(FLAGS)
  .map((f) => (f === 'reply-to' ? `[--${f} …]` : `--${f} …`))
  .join(' ')}
Environment: DATABASE_URL, DATABASE_AUTH_TOKEN (Turso), PUBLIC_BASE_URL, ADMIN_PASSWORD (optional: else one is generated).`;

const InputSchema = z.object({
  slug: z.string().regex(WORKSPACE_SLUG, 'must be 2-60 lower-case letters, digits and single dashes, e.g. voyage-online'),
  ...identityShape,
  replyTo: identityShape.replyTo.optional().transform((v) => v ?? null),
  adminEmail: z
    .string()
    .transform((v, ctx) => normaliseEmail(v) ?? (ctx.addIssue({ code: 'custom', message: 'is not an email address' }), z.NEVER)),
  adminName: z.string().trim().min(1, 'must not be empty').max(120),
});

const PasswordSchema = z
  .string()
  .min(PASSWORD_MIN, `must be at least ${PASSWORD_MIN} characters`)
  .max(PASSWORD_MAX, `must be at most ${PASSWORD_MAX} characters`);

class CliError extends Error {
  constructor(
    readonly exitCode: 1 | 2,
    message: string,
  ) {
    super(message);
  }
}

/** Parses and checks flags and ADMIN_PASSWORD; every problem at once, each naming its flag or variable. */
function parseInput(argv: string[], adminPassword: string | undefined) {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: { ...Object.fromEntries(Object.keys(FLAGS).map((f) => [f, { type: 'string' as const }])), help: { type: 'boolean', short: 'h' } },
    }));
  } catch (error) {
    throw new CliError(2, `${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  }
  if (values.help) return 'help' as const;

  const problems: string[] = [];
  const raw = Object.fromEntries(Object.entries(FLAGS).map(([flag, field]) => [field, values[flag]]));
  const parsed = InputSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = String(issue.path[0] ?? '');
      // A flag left out is "required", whatever the field's own message for a bad value.
      problems.push(`  --${flagOf[field] ?? field}: ${raw[field] === undefined ? 'is required' : issue.message}`);
    }
  }
  const password = adminPassword === undefined || adminPassword === '' ? undefined : adminPassword;
  if (password !== undefined) {
    const check = PasswordSchema.safeParse(password);
    if (!check.success) problems.push(...check.error.issues.map((i) => `  ADMIN_PASSWORD: ${i.message}`));
  }
  if (!parsed.success || problems.length > 0) throw new CliError(2, `Invalid input, nothing was written:\n${problems.join('\n')}\n${USAGE}`);
  return { ...parsed.data, password };
}

/** SQLite's answer when drizzle/ migrations were never applied (or only older ones). */
function isUnmigrated(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (/no such table|no such column|has no column named/i.test(String((e as { message?: unknown }).message ?? e))) return true;
  }
  return false;
}

async function main(argv: string[], env: Record<string, string | undefined>, out = console.log, err = console.error): Promise<number> {
  try {
    const input = parseInput(argv, env.ADMIN_PASSWORD);
    if (input === 'help') {
      out(USAGE);
      return 0;
    }
    // No default here: creating a production workspace in a local file by mistake would look like success.
    if (!env.DATABASE_URL) {
      err('DATABASE_URL is required: the database to create the workspace in (libsql://… for Turso, file:./data/local.db locally). Nothing was written.');
      return 2;
    }
    const parsedEnv = parseEnv(env, 'node');
    const generated = input.password === undefined;
    // 144 random bits, URL-safe: easy to paste, far beyond guessing.
    const password = input.password ?? randomToken(18);
    const passwordHash = await hashPassword(password);

    const { db, close } = await openDatabase(parsedEnv.DATABASE_URL, parsedEnv.DATABASE_AUTH_TOKEN);
    try {
      const { slug, adminEmail, adminName, password: _ignored, ...identity } = input;
      const result = await createWorkspace({
        ctx: { db, clock: systemClock, actor: { type: 'system', reason: 'cli:workspace:create' }, requestId: newId('req') },
        input: { slug, ...identity, admin: { email: adminEmail, name: adminName, passwordHash } },
      });
      const base = parsedEnv.PUBLIC_BASE_URL?.replace(/\/+$/, '') ?? '<your Worker URL>';
      out(`Workspace created in ${parsedEnv.DATABASE_URL.replace(/\?.*$/, '')}.`);
      out(`  id:    ${result.workspace.id}`);
      out(`  slug:  ${result.workspace.slug}`);
      if (result.admin.accountCreated) {
        out(`  admin: ${result.admin.email} (new account, role admin)`);
        if (generated) {
          out(`  admin password: ${password}`);
          out(`  Save it in a password manager now: it is shown only once. Change it as soon as you can (this version has no password-change page yet; setting ADMIN_PASSWORD lets you choose it instead).`);
        }
      } else {
        out(`  admin: ${result.admin.email} (existing account "${result.admin.name}": added as admin of this workspace; its password is unchanged)`);
        if (!generated) err('Note: ADMIN_PASSWORD was ignored, because that account already exists and keeps its own password.');
        if (!result.admin.hasPassword) err('Note: that account has not chosen a password yet: it must accept its pending invitation before it can log in.');
        err(`Note: the login page opens the account's oldest workspace; reach this one with POST /api/v1/auth/login and "workspaceId": "${result.workspace.id}".`);
      }
      out(`Log in at ${base}/login`);
      return 0;
    } finally {
      close();
    }
  } catch (error) {
    if (error instanceof CliError) {
      err(error.message);
      return error.exitCode;
    }
    if (error instanceof Conflict) {
      err(`${error.message} Nothing was written.`);
      return 2;
    }
    if (error instanceof EnvError) {
      err(error.message);
      return 1;
    }
    if (isUnmigrated(error)) {
      err('The database has no (or an outdated) schema: run `npm run db:migrate` first, with the same DATABASE_URL (and DATABASE_AUTH_TOKEN). Nothing was written.');
      return 1;
    }
    err(error);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2), process.env);
