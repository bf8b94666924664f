/**
 * `npm run workspace:create`, run as a deployer runs it (a child process on a migrated database):
 * the workspace, its suppression key, its first admin (who can log in) and the audit entries;
 * refusals that write nothing; an existing account gaining the admin role; an unmigrated database.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../src/domain/auth/password.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { TEST_PASSWORD, unique } from '../helpers/factories.js';

let t: TestApp;
const dirs: string[] = [];
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => {
  t.dispose();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'node_modules/.bin/tsx',
      ['src/cli/create-workspace.ts', ...args],
      // Only what the CLI needs: no stray DATABASE_URL or ADMIN_PASSWORD from the caller's shell.
      { env: { PATH: process.env.PATH ?? '', DATABASE_URL: t.url, ...env }, timeout: 30_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function flags(slug: string, adminEmail: string, overrides: Record<string, string | undefined> = {}): string[] {
  const values: Record<string, string | undefined> = {
    slug,
    name: 'Maison Lumière',
    'legal-name': 'Maison Lumière SARL',
    address: '8 rue des Lilas',
    'postal-code': '69002',
    city: 'Lyon',
    country: 'FR',
    'contact-email': `contact@${slug}.test`,
    'contact-phone': '04 72 00 00 00',
    'privacy-url': `https://${slug}.test/confidentialite`,
    'dpo-contact': `dpo@${slug}.test`,
    'sender-name': 'Maison Lumière',
    'sender-email': `news@${slug}.test`,
    'reply-to': `bonjour@${slug}.test`,
    'admin-email': adminEmail,
    'admin-name': 'Alice Martin',
    ...overrides,
  };
  return Object.entries(values).flatMap(([k, v]) => (v === undefined ? [] : [`--${k}`, v]));
}

const slugOf = () => unique('brand').toLowerCase().replace(/[^a-z0-9]+/g, '-');

async function row<T>(query: string, args: (string | number)[] = []): Promise<T | undefined> {
  return (await t.client.execute({ sql: query, args })).rows[0] as T | undefined;
}

async function loginAs(email: string, password: string, workspaceId?: string) {
  const res = await t.request('/api/v1/auth/login', { method: 'POST', json: { email, password, ...(workspaceId ? { workspaceId } : {}) } });
  return { status: res.status, body: (await res.json()) as { workspace: { id: string; name: string }; role: string } };
}

describe('workspace:create', () => {
  it('creates the workspace with its identity and suppression key, a new admin whose printed password logs in, and the audit entries', async () => {
    const slug = slugOf();
    const email = `${unique('owner')}@example.test`;
    const run = await cli(flags(slug, email.toUpperCase()), { PUBLIC_BASE_URL: 'https://news.example.test/' });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);

    const ws = await row<Record<string, string>>('SELECT * FROM workspaces WHERE slug = ?', [slug]);
    expect(ws).toMatchObject({
      name: 'Maison Lumière',
      legal_name: 'Maison Lumière SARL',
      address_line: '8 rue des Lilas',
      postal_code: '69002',
      city: 'Lyon',
      country: 'FR',
      contact_email: `contact@${slug}.test`,
      contact_phone: '04 72 00 00 00',
      privacy_url: `https://${slug}.test/confidentialite`,
      dpo_contact: `dpo@${slug}.test`,
      sender_name: 'Maison Lumière',
      sender_email: `news@${slug}.test`,
      reply_to: `bonjour@${slug}.test`,
    });
    const id = ws!.id!;
    expect(JSON.parse(ws!.settings!)).toMatchObject({ requireDoubleOptIn: true, retentionDays: 1095 });
    expect(await row('SELECT 1 AS ok FROM workspace_keys WHERE workspace_id = ? AND length(suppression_key) > 20', [id])).toBeDefined();

    // The address is stored normalised; the role is admin.
    const user = await row<{ id: string; name: string; password_hash: string }>('SELECT * FROM users WHERE email = ?', [email]);
    expect(user?.name).toBe('Alice Martin');
    expect(await row('SELECT role FROM memberships WHERE workspace_id = ? AND user_id = ?', [id, user!.id])).toMatchObject({ role: 'admin' });

    expect(run.stdout).toContain(`id:    ${id}`);
    expect(run.stdout).toContain(`slug:  ${slug}`);
    expect(run.stdout).toContain(email);
    expect(run.stdout).toContain('Log in at https://news.example.test/login');
    const password = /admin password: (\S+)/.exec(run.stdout)?.[1];
    expect(password).toMatch(/^[\w-]{24}$/);
    expect(run.stdout).toMatch(/shown only once\. Change it/);
    // Printed once, stored only as a hash.
    expect(run.stdout.split(password!).length).toBe(2);
    expect(await t.dumpDatabase()).not.toContain(password);
    expect(await verifyPassword(password!, user!.password_hash)).toBe(true);

    const login = await loginAs(email, password!);
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({ workspace: { id, name: 'Maison Lumière' }, role: 'admin' });

    const audit = (await t.client.execute({ sql: 'SELECT actor_type, actor_id, action, target_id FROM audit_log WHERE workspace_id = ? ORDER BY action', args: [id] })).rows;
    expect(audit.map((a) => ({ ...a }))).toEqual([
      { actor_type: 'system', actor_id: 'cli:workspace:create', action: 'member.added', target_id: user!.id },
      { actor_type: 'system', actor_id: 'cli:workspace:create', action: 'workspace.created', target_id: id },
    ]);
  });

  it('takes the password from ADMIN_PASSWORD without printing it, and prints the Worker hint without PUBLIC_BASE_URL', async () => {
    const slug = slugOf();
    const email = `${unique('owner')}@example.test`;
    const chosen = 'a long chosen passphrase';
    const run = await cli(flags(slug, email, { 'reply-to': undefined }), { ADMIN_PASSWORD: chosen });
    expect(run.code).toBe(0);
    expect(run.stdout + run.stderr).not.toContain(chosen);
    expect(run.stdout).not.toContain('admin password');
    expect(run.stdout).toContain('Log in at <your Worker URL>/login');
    expect(await row('SELECT reply_to FROM workspaces WHERE slug = ?', [slug])).toMatchObject({ reply_to: null });
    expect((await loginAs(email, chosen)).status).toBe(200);
  });

  it('refuses missing and invalid flags with exit 2, naming each flag and reason, and writes nothing', async () => {
    const before = await t.dumpDatabase();
    const run = await cli(
      flags('Not A Slug', 'not-an-email', { name: undefined, city: undefined, country: 'France', 'privacy-url': 'javascript:alert(1)', 'sender-email': 'nope', 'reply-to': '' }),
    );
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('nothing was written');
    expect(run.stderr).toMatch(/--slug: must be 2-60 lower-case letters/);
    expect(run.stderr).toMatch(/--name: is required/);
    expect(run.stderr).toMatch(/--city: is required/);
    expect(run.stderr).toMatch(/--country: must be an ISO 3166-1 alpha-2 code/);
    expect(run.stderr).toMatch(/--privacy-url: must be an http\(s\) URL/);
    expect(run.stderr).toMatch(/--sender-email: is not an email address/);
    expect(run.stderr).toMatch(/--reply-to: is not an email address/);
    expect(run.stderr).toMatch(/--admin-email: is not an email address/);
    expect(run.stderr).not.toMatch(/--(legal-name|admin-name):/);
    expect(await t.dumpDatabase()).toBe(before);
  });

  it('refuses an unknown flag and a too-short ADMIN_PASSWORD with exit 2, writing nothing', async () => {
    const before = await t.dumpDatabase();
    const unknown = await cli([...flags(slugOf(), `${unique('x')}@example.test`), '--admin-role', 'owner']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--admin-role'");

    const short = await cli(flags(slugOf(), `${unique('x')}@example.test`), { ADMIN_PASSWORD: 'short' });
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/ADMIN_PASSWORD: must be at least 10 characters/);
    expect(short.stderr + short.stdout).not.toContain('short');
    expect(await t.dumpDatabase()).toBe(before);
  });

  it('refuses a slug that exists with exit 2 and writes nothing', async () => {
    const slug = slugOf();
    expect((await cli(flags(slug, `${unique('first')}@example.test`))).code).toBe(0);
    const before = await t.dumpDatabase();
    const again = await cli(flags(slug, `${unique('second')}@example.test`, { name: 'Another brand' }));
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`A workspace with the slug "${slug}" already exists`);
    expect(again.stdout).not.toContain('admin password');
    expect(await t.dumpDatabase()).toBe(before);
  });

  it('makes an existing account admin of the new workspace, keeping its name and password', async () => {
    const team = await t.workspaceWithTeam();
    const existing = team.marketer;
    const users = await row<{ n: number }>('SELECT count(*) AS n FROM users');
    const slug = slugOf();
    const run = await cli(flags(slug, existing.email, { 'admin-name': 'Someone Else' }), { ADMIN_PASSWORD: 'would overwrite it' });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`existing account "${existing.name}"`);
    expect(run.stdout).not.toContain('admin password');
    expect(run.stderr).toContain('ADMIN_PASSWORD was ignored');

    const ws = await row<{ id: string }>('SELECT id FROM workspaces WHERE slug = ?', [slug]);
    expect(await row('SELECT count(*) AS n FROM users')).toEqual(users);
    expect(await row('SELECT name FROM users WHERE id = ?', [existing.id])).toMatchObject({ name: existing.name });
    expect(await row('SELECT role FROM memberships WHERE workspace_id = ? AND user_id = ?', [ws!.id, existing.id])).toMatchObject({ role: 'admin' });
    // Still a marketer where they were.
    expect(await row('SELECT role FROM memberships WHERE workspace_id = ? AND user_id = ?', [team.workspace.id, existing.id])).toMatchObject({ role: 'marketer' });

    expect((await loginAs(existing.email, 'would overwrite it', ws!.id)).status).toBe(401);
    const login = await loginAs(existing.email, TEST_PASSWORD, ws!.id);
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({ workspace: { id: ws!.id }, role: 'admin' });
    expect(await row('SELECT details FROM audit_log WHERE workspace_id = ? AND action = ?', [ws!.id, 'member.added'])).toMatchObject({
      details: JSON.stringify({ email: existing.email, role: 'admin', account: 'existing' }),
    });
  });

  it('refuses to run without an explicit DATABASE_URL (no local default), writing nothing', async () => {
    const before = await t.dumpDatabase();
    const run = await cli(flags(slugOf(), `${unique('x')}@example.test`), { DATABASE_URL: '' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('DATABASE_URL is required');
    expect(await t.dumpDatabase()).toBe(before);
  });

  it('on a database without the schema, says to run npm run db:migrate first (exit 1)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cn-cli-'));
    dirs.push(dir);
    const run = await cli(flags(slugOf(), `${unique('x')}@example.test`), { DATABASE_URL: `file:${join(dir, 'empty.db')}` });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('run `npm run db:migrate` first');
    expect(run.stdout).toBe('');
  });
});
