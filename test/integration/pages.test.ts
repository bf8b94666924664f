/** Page flows over app.request: login form, cookie session, role homes, CSRF origin checks. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { TEST_PASSWORD } from '../helpers/factories.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.dispose());

const form = (fields: Record<string, string>) => new URLSearchParams(fields);
const sessionOf = (res: Response) => /session=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];

describe('login page', () => {
  it('logs in with the form, sets an HttpOnly SameSite cookie, and goes back to the asked page', async () => {
    const { admin } = await t.workspaceWithTeam();
    const res = await t.request('/login?next=%2Fadmin%2Fmembers', {
      method: 'POST',
      headers: { origin: 'http://localhost' },
      body: form({ email: admin.email, password: TEST_PASSWORD }),
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin/members');
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    const page = await t.request('/admin/members', { headers: { cookie: `session=${sessionOf(res)}` } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(admin.email);
  });

  it('keeps accented query values intact through the redirect', async () => {
    const { agent } = await t.workspaceWithTeam();
    const next = '/agent?campaign=Voyage à Rome&callRef=V-1';
    const res = await t.request(`/login?next=${encodeURIComponent(next)}`, {
      method: 'POST',
      headers: { origin: 'http://localhost' },
      body: form({ email: agent.email, password: TEST_PASSWORD }),
    });
    expect(res.headers.get('location')).toBe('/agent?campaign=Voyage%20%C3%A0%20Rome&callRef=V-1');
  });

  it('never redirects to another site after login', async () => {
    const { agent } = await t.workspaceWithTeam();
    for (const next of ['//evil.example', 'https://evil.example', '/\\evil.example', '/.//evil.example/x', '/..//evil.example']) {
      const res = await t.request(`/login?next=${encodeURIComponent(next)}`, {
        method: 'POST',
        headers: { origin: 'http://localhost' },
        body: form({ email: agent.email, password: TEST_PASSWORD }),
      });
      expect(res.headers.get('location')).toBe('/');
    }
  });

  it('shows the error in French with a 401 on a wrong password', async () => {
    const { agent } = await t.workspaceWithTeam();
    const res = await t.request('/login', { method: 'POST', headers: { origin: 'http://localhost' }, body: form({ email: agent.email, password: 'nope' }) });
    expect(res.status).toBe(401);
    expect(await res.text()).toContain('Adresse e-mail ou mot de passe incorrect.');
  });

  it('sends anonymous visitors to the login form', async () => {
    const res = await t.request('/admin/workspace');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/login?next=%2Fadmin%2Fworkspace');
  });
});

describe('home per role', () => {
  it('shows each role its own page, and keeps admin pages from others', async () => {
    const team = await t.workspaceWithTeam();
    const home = async (token: string) => (await t.request('/', { headers: { cookie: `session=${token}` } })).text();
    expect(await home(team.admin.token)).toContain('Identité affichée dans chaque e-mail');
    expect(await home(team.marketer.token)).toContain('newsletters aux segments');
    expect(await home(team.agent.token)).toContain('consentement des prospects');
    const forbidden = await t.request('/admin/api-keys', { headers: { cookie: `session=${team.agent.token}`, accept: 'text/html' } });
    expect(forbidden.status).toBe(403);
    expect(await forbidden.text()).toContain('Requête refusée');
  });
});

describe('CSRF', () => {
  it('refuses cookie-authenticated writes from another origin, accepts same-origin ones', async () => {
    const { admin, workspace } = await t.workspaceWithTeam();
    const cookie = `session=${admin.token}`;
    const before = await t.dumpDatabase();
    const body = () => form({ name: 'Dialer', scopes: 'consents:write' });
    const attempts: Record<string, string>[] = [{ cookie, origin: 'https://evil.example' }, { cookie }, { cookie, 'sec-fetch-site': 'cross-site' }, { cookie, origin: 'null' }];
    for (const headers of attempts) {
      const res = await t.request('/admin/api-keys', { method: 'POST', headers, body: body() });
      expect(res.status, JSON.stringify(headers)).toBe(403);
    }
    const api = await t.request('/api/v1/workspace', { method: 'PATCH', headers: { cookie, origin: 'https://evil.example' }, json: { name: 'Pwned' } });
    expect(api.status).toBe(403);
    expect(await t.dumpDatabase()).toBe(before);

    const ok = await t.request('/admin/api-keys', { method: 'POST', headers: { cookie, origin: 'http://localhost' }, body: body() });
    expect(ok.status).toBe(201);
    expect(await ok.text()).toMatch(/cnk_[A-Za-z0-9_-]{43}/);
    const ok2 = await t.request('/admin/workspace', {
      method: 'POST',
      headers: { cookie, 'sec-fetch-site': 'same-origin' },
      body: form({
        name: 'Renamed brand', legalName: workspace.legalName, addressLine: workspace.addressLine, postalCode: workspace.postalCode, city: workspace.city,
        country: 'FR', contactEmail: workspace.contactEmail, contactPhone: workspace.contactPhone, privacyUrl: workspace.privacyUrl,
        dpoContact: workspace.dpoContact, senderName: workspace.senderName, senderEmail: workspace.senderEmail, replyTo: '',
        requireDoubleOptIn: 'on', retentionDays: '1095', attributionWindowDays: '30',
      }),
    });
    expect(ok2.status).toBe(303);
    expect(ok2.headers.get('location')).toBe('/admin/workspace?ok=saved');
  });

  it('checks the login form origin too (login CSRF)', async () => {
    const { agent } = await t.workspaceWithTeam();
    const res = await t.request('/login', { method: 'POST', headers: { origin: 'https://evil.example' }, body: form({ email: agent.email, password: TEST_PASSWORD }) });
    expect(res.status).toBe(403);
  });

  it('does not apply to bearer-token API calls', async () => {
    const { admin } = await t.workspaceWithTeam();
    const res = await t.request('/api/v1/workspace', { method: 'PATCH', token: admin.token, headers: { origin: 'https://integrator.example' }, json: { city: 'Lyon' } });
    expect(res.status).toBe(200);
  });
});

describe('workspace form', () => {
  it('re-shows the form with the field errors and keeps what was typed', async () => {
    const { admin } = await t.workspaceWithTeam();
    const before = await t.dumpDatabase();
    const res = await t.request('/admin/workspace', {
      method: 'POST',
      headers: { cookie: `session=${admin.token}`, origin: 'http://localhost' },
      body: form({ name: 'Typed name', contactEmail: 'broken', retentionDays: '9999', attributionWindowDays: '30' }),
    });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('value="Typed name"');
    expect(html).toContain('id="contactEmail-error"');
    expect(html).toContain('id="retentionDays-error"');
    expect(await t.dumpDatabase()).toBe(before);
  });
});
