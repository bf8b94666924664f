/** One error envelope everywhere, and never a stack trace to the client. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { createTestApp, errorOf, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.dispose());

const envelopeKeys = (body: unknown) => Object.keys((body as { error: object }).error).sort();

describe('error envelope', () => {
  it('400 names each failing field', async () => {
    const { admin } = await t.workspaceWithTeam();
    const res = await t.request('/api/v1/workspace', { method: 'PATCH', token: admin.token, json: { privacyUrl: 'not a url', country: 'France', bogus: 1 } });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(envelopeKeys(body)).toEqual(['code', 'details', 'message', 'requestId']);
    const error = (body as { error: { details: { issues: { field: string }[] }; requestId: string } }).error;
    expect(error.details.issues.map((i) => i.field)).toEqual(expect.arrayContaining(['privacyUrl', 'country']));
    expect(error.requestId).toBe(res.headers.get('x-request-id'));
  });

  it('400 malformed_json for a body that is not JSON', async () => {
    const res = await t.request('/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"email":' });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe('malformed_json');
  });

  it('404 JSON for unknown API routes, a page for browsers', async () => {
    const api = await t.request('/api/v1/does-not-exist');
    expect(api.status).toBe(404);
    expect(envelopeKeys(await api.json())).toEqual(['code', 'message', 'requestId']);

    const page = await t.request('/nowhere', { headers: { accept: 'text/html,application/xhtml+xml' } });
    expect(page.status).toBe(404);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain('Page introuvable');
    expect(html).toContain('<html lang="fr">');
  });

  it('413 for an oversized body', async () => {
    const res = await t.request('/api/v1/auth/login', { method: 'POST', json: { email: 'a@b.test', password: 'x'.repeat(2 * 1024 * 1024) } });
    expect(res.status).toBe(413);
    expect((await errorOf(res)).code).toBe('payload_too_large');
  });

  it('500 hides the cause from the client and logs it with the request id', async () => {
    const logged: string[] = [];
    const broken = createApp({
      ...t.deps,
      logger: { info() {}, warn() {}, error: (msg, fields) => logged.push(`${msg} ${JSON.stringify(fields)}`) },
      db: new Proxy(t.deps.db, {
        get(target, prop, receiver) {
          if (prop === 'query') throw new Error('SQLITE_IOERR: disk I/O error at /secret/path/db');
          return Reflect.get(target, prop, receiver);
        },
      }),
    });
    const { admin } = await t.workspaceWithTeam();
    const res = await broken.request('http://localhost/api/v1/workspace', { headers: { authorization: `Bearer ${admin.token}` } });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain('SQLITE');
    expect(text).not.toContain('/secret/path');
    expect(text).not.toMatch(/at .*\.ts:\d+/);
    const error = (JSON.parse(text) as { error: { code: string; requestId: string } }).error;
    expect(error.code).toBe('internal_error');
    expect(logged.join('\n')).toContain(error.requestId);
    expect(logged.join('\n')).toContain('SQLITE_IOERR');
  });

  it('/healthz reports the database', async () => {
    const ok = await t.request('/healthz');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: 'ok', database: 'ok', runtime: 'node' });
    const down = createApp({ ...t.deps, pingDatabase: () => Promise.reject(new Error('unreachable')) });
    const res = await down.request('http://localhost/healthz');
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: 'error', database: 'unreachable' });
  });
});

describe('security headers', () => {
  it('pages carry CSP, frame-ancestors, referrer policy and no-store', async () => {
    const res = await t.request('/login');
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('cache-control')).toBe('no-store');
  });
});

describe('OpenAPI', () => {
  it('describes every API route with its access rule', async () => {
    const doc = (await (await t.request('/api/openapi.json')).json()) as { openapi: string; paths: Record<string, Record<string, { description?: string; security?: unknown }>> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/auth/login', '/me', '/workspace', '/members', '/members/{userId}', '/api-keys', '/api-keys/{id}/revoke', '/audit-log', '/dev/outbox']),
    );
    expect(doc.paths['/members']!.get!.description).toContain('roles: admin');
    expect(doc.paths['/members']!.get!.security).toEqual([{ Bearer: [] }]);
    expect(doc.paths['/auth/login']!.post!.security).toBeUndefined();
    const docs = await t.request('/api/docs');
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('/api/v1/auth/login');
  });
});
