/** Campaign drafts over the API: compile on save, refusals that store nothing, previews, test send. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { starterTemplates } from '../../src/email/templates.generated.js';
import { createTestApp, errorOf, type TestApp } from '../helpers/app.js';
import { makeScripts } from '../helpers/factories.js';
import { BODY } from '../helpers/tracked-campaign.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.dispose());

type CampaignBody = { id: string; version: number; fields: string[]; links: number; status: string; subject: string };

async function createFromStarter(token: string) {
  const res = await t.request('/api/v1/campaigns', { method: 'POST', token, json: { name: 'Rome, printemps', templateId: starterTemplates[0].id } });
  expect(res.status).toBe(201);
  return (await res.json()) as CampaignBody;
}

describe('campaign drafts', () => {
  it('are created from the starter, compiled and verified on save', async () => {
    const { marketer } = await t.workspaceWithTeam();
    const campaign = await createFromStarter(marketer.token);
    expect(campaign).toMatchObject({ status: 'draft', version: 1, fields: ['agentFirstName', 'agentPhone', 'firstName'], links: 6 });
    expect((await (await t.request('/api/v1/campaigns', { token: marketer.token })).json()) as { campaigns: { id: string }[] }).toMatchObject({
      campaigns: [{ id: campaign.id }],
    });
  });

  it('refuse content that would not be sendable, naming field and line, and store nothing', async () => {
    const { marketer } = await t.workspaceWithTeam();
    const before = await t.dumpDatabase();
    const res = await t.request('/api/v1/campaigns', {
      method: 'POST',
      token: marketer.token,
      json: {
        name: 'Broken',
        subject: 'Bonjour {{prenom}}',
        preheader: 'Un aperçu',
        body: '<mj-section>\n<mj-column>\n<mj-text><script>alert(1)</script></mj-text>\n</mj-column>\n</mj-section>',
      },
    });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe('invalid_content');
    expect(error.details?.issues).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'body', line: 3 })]));
    expect(await t.dumpDatabase()).toBe(before);

    const subjectTooLong = await t.request('/api/v1/campaigns', { method: 'POST', token: marketer.token, json: { name: 'Long', templateId: starterTemplates[0].id, subject: 'x'.repeat(151) } });
    expect(subjectTooLong.status).toBe(400);
    expect((await errorOf(subjectTooLong)).details?.issues?.[0]).toMatchObject({ field: 'subject' });
    expect(await t.dumpDatabase()).toBe(before);
  });

  it('bump their version on a content change, and keep the last good content on a refused edit', async () => {
    const { marketer } = await t.workspaceWithTeam();
    const campaign = await createFromStarter(marketer.token);
    const ok = await t.request(`/api/v1/campaigns/${campaign.id}`, { method: 'PATCH', token: marketer.token, json: { subject: 'Nouveautés {{firstName|"pour vous"}}' } });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as CampaignBody).version).toBe(2);
    const rename = await t.request(`/api/v1/campaigns/${campaign.id}`, { method: 'PATCH', token: marketer.token, json: { name: 'Renamed' } });
    expect(((await rename.json()) as CampaignBody).version).toBe(2);

    const bad = await t.request(`/api/v1/campaigns/${campaign.id}`, {
      method: 'PATCH',
      token: marketer.token,
      json: { body: '<mj-section><mj-column><mj-text css-class="cn-block-unsubscribe">Rien</mj-text></mj-column></mj-section>' },
    });
    expect(bad.status).toBe(400);
    const current = (await (await t.request(`/api/v1/campaigns/${campaign.id}`, { token: marketer.token })).json()) as CampaignBody;
    expect(current).toMatchObject({ version: 2, subject: 'Nouveautés {{firstName|"pour vous"}}' });
  });

  it('belong to their workspace and to marketers and admins', async () => {
    const a = await t.workspaceWithTeam();
    const b = await t.workspaceWithTeam();
    const campaign = await createFromStarter(a.marketer.token);
    expect((await t.request(`/api/v1/campaigns/${campaign.id}`, { token: b.admin.token })).status).toBe(404);
    expect((await t.request(`/api/v1/campaigns/${campaign.id}`, { method: 'PATCH', token: b.marketer.token, json: { name: 'x' } })).status).toBe(404);
    expect((await t.request(`/api/v1/campaigns/${campaign.id}/preview`, { method: 'POST', token: b.marketer.token })).status).toBe(404);
    expect((await t.request('/api/v1/campaigns', { token: a.agent.token })).status).toBe(403);
    expect((await t.request(`/api/v1/campaigns/${campaign.id}`, { token: a.admin.token })).status).toBe(200);

    const key = await t.request('/api/v1/api-keys', { method: 'POST', token: a.admin.token, json: { name: 'BI', scopes: ['campaigns:read'] } });
    const { secret } = (await key.json()) as { secret: string };
    expect((await t.request('/api/v1/campaigns', { token: secret })).status).toBe(200);
    expect((await t.request('/api/v1/campaigns', { method: 'POST', token: secret, json: { name: 'x', templateId: starterTemplates[0].id } })).status).toBe(403);
  });

  it('can be deleted while drafts', async () => {
    const { marketer } = await t.workspaceWithTeam();
    const campaign = await createFromStarter(marketer.token);
    expect((await t.request(`/api/v1/campaigns/${campaign.id}`, { method: 'DELETE', token: marketer.token })).status).toBe(204);
    expect((await t.request(`/api/v1/campaigns/${campaign.id}`, { token: marketer.token })).status).toBe(404);
  });
});

describe('previews', () => {
  type Rendered = { subject: string; html: string; text: string; preheader: string };

  it('render a saved campaign for sample data or given values', async () => {
    const { marketer } = await t.workspaceWithTeam();
    const campaign = await createFromStarter(marketer.token);
    const sample = await t.request(`/api/v1/campaigns/${campaign.id}/preview`, { method: 'POST', token: marketer.token });
    const rendered = (await sample.json()) as Rendered;
    expect(rendered.subject).toBe('Marie, vos prochaines destinations avec Voyage Online');
    expect(rendered.html).toContain('Bonjour Marie,');
    expect(rendered.html).toContain('href="http://localhost/preview-link/unsubscribe"');

    const given = await t.request(`/api/v1/campaigns/${campaign.id}/preview`, {
      method: 'POST',
      token: marketer.token,
      json: { sample: { firstName: '<b>Zoé</b>', agentFirstName: 'Karim', consentDate: '2025-12-24T10:00:00Z', consentAgentName: 'Karim B.' } },
    });
    const custom = (await given.json()) as Rendered;
    expect(custom.html).toContain('Bonjour &lt;b&gt;Zoé&lt;/b&gt;,');
    expect(custom.html).toContain('votre conseiller Karim au');
    expect(custom.html).toContain('le 24 décembre 2025 avec Karim B.');
    expect(custom.text).toContain('Bonjour <b>Zoé</b>,');
  });

  it('render exactly as one of the workspace’s contacts would receive it', async () => {
    const tm = await t.workspaceWithTeam();
    const scripts = await makeScripts(t.db, tm.workspace);
    const captured = await t.request('/api/v1/consents', {
      method: 'POST',
      token: tm.agent.token,
      json: {
        contact: { email: 'zoe@example.test', firstName: 'Zoé', attributes: { destination: 'Lisbonne' } },
        call: { ref: 'C-9', basis: 'inbound_call', occurredAt: '2026-11-20T10:00:00Z' },
        answers: [
          { purpose: 'newsletter', answer: 'granted', scriptId: scripts.newsletter.id },
          { purpose: 'open_tracking', answer: 'refused', scriptId: scripts.open_tracking.id },
        ],
      },
    });
    const { contact } = (await captured.json()) as { contact: { id: string } };
    const campaign = await createFromStarter(tm.marketer.token);
    const res = await t.request(`/api/v1/campaigns/${campaign.id}/preview`, { method: 'POST', token: tm.marketer.token, json: { contactId: contact.id } });
    const rendered = (await res.json()) as Rendered;
    expect(rendered.subject).toBe('Zoé, vos prochaines destinations avec Voyage Online');
    expect(rendered.html).toContain(`votre conseiller ${tm.agent.name.split(' ')[0]} au`);
    expect(rendered.html).toContain(`le 20 novembre 2026 avec ${tm.agent.name}`);
    const other = await t.workspaceWithTeam();
    const foreign = await createFromStarter(other.marketer.token);
    expect((await t.request(`/api/v1/campaigns/${foreign.id}/preview`, { method: 'POST', token: other.marketer.token, json: { contactId: contact.id } })).status).toBe(404);

    // {{email}} is no way round the masking of addresses: only admins read it whole.
    const subjectAs = async (token: string) => {
      const res = await t.request('/api/v1/campaigns/preview', { method: 'POST', token, json: { subject: 'Pour {{email}}', preheader: 'Rome', body: BODY, contactId: contact.id } });
      expect(res.status).toBe(200);
      return ((await res.json()) as Rendered).subject;
    };
    expect(await subjectAs(tm.marketer.token)).toBe('Pour z•••@example.test');
    expect(await subjectAs(tm.admin.token)).toBe('Pour zoe@example.test');
  });

  it('render unsaved content, or say what would be refused', async () => {
    const { marketer } = await t.workspaceWithTeam();
    const res = await t.request('/api/v1/campaigns/preview', {
      method: 'POST',
      token: marketer.token,
      json: { subject: 'Salut {{firstName|"toi"}}', preheader: 'Court', body: '<mj-section><mj-column><mj-text>Hello {{email}}</mj-text></mj-column></mj-section>' },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Rendered).html).toContain('Hello marie.dupont@example.com');
    const refused = await t.request('/api/v1/campaigns/preview', { method: 'POST', token: marketer.token, json: { subject: 'x', preheader: 'y', body: '<mj-section>\n<mj-column><mj-txt/></mj-column></mj-section>' } });
    expect(refused.status).toBe(400);
    expect((await errorOf(refused)).details?.issues?.[0]).toMatchObject({ field: 'body', line: 2 });
  });

  it('follow a change of the workspace identity', async () => {
    const { marketer, admin } = await t.workspaceWithTeam();
    const campaign = await createFromStarter(marketer.token);
    t.clock.advance(1000);
    await t.request('/api/v1/workspace', { method: 'PATCH', token: admin.token, json: { contactPhone: '01 99 88 77 66' } });
    const rendered = (await (await t.request(`/api/v1/campaigns/${campaign.id}/preview`, { method: 'POST', token: marketer.token })).json()) as Rendered;
    expect(rendered.html).toContain('Tél. 01 99 88 77 66');
  });
});

describe('test send', () => {
  it('sends the rendered campaign to the person asking, through the outbox', async () => {
    const { marketer } = await t.workspaceWithTeam();
    const campaign = await createFromStarter(marketer.token);
    const res = await t.request(`/api/v1/campaigns/${campaign.id}/test-send`, { method: 'POST', token: marketer.token });
    expect(res.status).toBe(202);
    const sent = (await res.json()) as { messageId: string; to: string; subject: string };
    expect(sent.to).toBe(marketer.email);
    const message = (await (await t.request(`/api/v1/dev/outbox/${sent.messageId}`, { token: marketer.token })).json()) as {
      to: string;
      subject: string;
      html: string;
      text: string;
      headers: Record<string, string>;
    };
    expect(message.subject).toBe('[TEST] Marie, vos prochaines destinations avec Voyage Online');
    expect(message.to).toBe(marketer.email);
    expect(message.html).toContain('Se désinscrire en un clic');
    expect(message.text).toContain('Se désinscrire en un clic [http://localhost/preview-link/unsubscribe]');
    expect(message.headers).toEqual({ 'List-Unsubscribe': '<http://localhost/preview-link/unsubscribe>', 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' });

    // The preview link explains and changes nothing, for GET and for a one-click POST.
    expect(await (await t.request('/preview-link/unsubscribe')).text()).toContain('rien n’a été modifié');
    expect((await t.request('/preview-link/unsubscribe', { method: 'POST', body: new URLSearchParams({ 'List-Unsubscribe': 'One-Click' }) })).status).toBe(200);
  });

  it('is for people, not API keys', async () => {
    const { admin } = await t.workspaceWithTeam();
    const campaign = await createFromStarter(admin.token);
    const key = await t.request('/api/v1/api-keys', { method: 'POST', token: admin.token, json: { name: 'x', scopes: ['campaigns:write'] } });
    const { secret } = (await key.json()) as { secret: string };
    expect((await t.request(`/api/v1/campaigns/${campaign.id}/test-send`, { method: 'POST', token: secret })).status).toBe(403);
  });
});
