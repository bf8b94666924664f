/**
 * A confirmed subscriber who received one newsletter, made through the API as in production
 * (capture, confirmation from the emailed link, segment, send to the dev outbox); returns the
 * links that newsletter carries.
 */
import { expect } from 'vitest';
import { starterTemplates } from '../../src/email/templates.generated.js';
import type { TestApp } from './app.js';
import { makeScripts, unique } from './factories.js';

const everyone = { match: 'all', conditions: [] };

export async function lastMailText(t: TestApp, to: string): Promise<string> {
  const rows = (await t.client.execute({ sql: 'SELECT text FROM outbox_messages WHERE "to" = ? ORDER BY created_at DESC, rowid DESC LIMIT 1', args: [to] })).rows;
  return String(rows[0]?.text ?? '');
}

export async function subscriber(t: TestApp) {
  const team = await t.workspaceWithTeam();
  const scripts = await makeScripts(t.db, team.workspace);
  const email = `${unique('marie')}@example.test`;
  const digits = String(Math.floor(Math.random() * 1e8)).padStart(8, '0');
  const lastName = unique('Dupont');
  const body = {
    contact: { email, phone: `06${digits}`, firstName: 'Marie', lastName, attributes: { destination: 'Rome' } },
    call: { ref: unique('CALL'), basis: 'inbound_call', campaign: 'Voyage à Rome' },
    answers: [
      { purpose: 'newsletter', answer: 'granted', scriptId: scripts.newsletter.id },
      { purpose: 'open_tracking', answer: 'granted', scriptId: scripts.open_tracking.id },
    ],
  };
  // As a dialer sends it: with an Idempotency-Key, so its stored answer (which repeats the
  // person's details) is there for the erasure tests to see removed.
  const captured = await t.request('/api/v1/consents', { method: 'POST', token: team.agent.token, json: body, headers: { 'idempotency-key': unique('dialer') } });
  expect(captured.status).toBe(201);
  const contactId = ((await captured.json()) as { contact: { id: string } }).contact.id;
  const confirm = /\/confirm\/[\w.-]+/.exec(await lastMailText(t, email))![0];
  await t.request(confirm, { method: 'POST', headers: { origin: 'http://localhost' }, body: new URLSearchParams({ answer: 'confirm' }) });
  const segment = (await (await t.request('/api/v1/segments', { method: 'POST', token: team.marketer.token, json: { name: 'Tous', rules: everyone } })).json()) as { id: string };
  const campaign = (await (await t.request('/api/v1/campaigns', { method: 'POST', token: team.marketer.token, json: { name: 'Rome', templateId: starterTemplates[0].id } })).json()) as { id: string };
  expect((await t.request(`/api/v1/campaigns/${campaign.id}/send`, { method: 'POST', token: team.marketer.token, json: { segmentId: segment.id } })).status).toBe(200);
  const [mail] = (await t.client.execute({ sql: "SELECT headers, html FROM outbox_messages WHERE \"to\" = ? AND json_extract(tags, '$.campaign') = ?", args: [email, campaign.id] })).rows;
  const headers = JSON.parse(String(mail!.headers)) as Record<string, string>;
  const html = String(mail!.html);
  return {
    ...team,
    scripts,
    body,
    phone: `+336${digits}`,
    lastName,
    email,
    contactId,
    segmentId: segment.id,
    campaignId: campaign.id,
    headers,
    unsubscribe: /<https?:\/\/[^/>]+(\/u\/[\w.-]+)>/.exec(headers['List-Unsubscribe']!)![1]!,
    mailtoSubject: decodeURIComponent(/subject=([^>]+)>/.exec(headers['List-Unsubscribe']!)![1]!),
    preferences: /href="https?:\/\/[^/"]+(\/p\/[\w.-]+)"/.exec(html)![1]!,
  };
}
export type Subscriber = Awaited<ReturnType<typeof subscriber>>;
