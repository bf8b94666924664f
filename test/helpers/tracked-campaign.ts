/**
 * A sent campaign with three tracked links, to seeded recipients (some with open-tracking
 * consent), and the links each recipient's message carries, read from the message itself.
 */
import { expect } from 'vitest';
import type { TestApp } from './app.js';
import { seedAudience } from './audience.js';
import { makeScripts } from './factories.js';

export const LINKS = ['https://voyage.example/rome?ref=nl', 'https://voyage.example/paris', 'https://voyage.example/lisbonne#offre'];

export const BODY = `<mj-section><mj-column><mj-text>
  <p>Nos offres : <a href="${LINKS[0]}">Rome</a>, <a href="${LINKS[1]}">Paris</a>, <a href="${LINKS[2]}">Lisbonne</a>.</p>
  <p>Écrivez-nous : <a href="mailto:contact@voyage.example">contact</a></p>
</mj-text></mj-column></mj-section>`;

export interface Recipient {
  contactId: string;
  email: string;
  sendId: number;
  pixel: string | null;
  clicks: string[];
  honeypot: string;
  html: string;
}

export interface Group {
  prefix: string;
  n: number;
  openTracking: boolean;
  ownerAgentId?: string;
  attributes?: Record<string, string>;
  sourceCampaign?: string;
}

export async function trackedCampaign(
  t: TestApp,
  team: Awaited<ReturnType<TestApp['workspaceWithTeam']>>,
  groups: Group[],
  options: { tracking?: unknown; segmentName?: string; rules?: unknown; body?: string } = {},
) {
  const scripts = await t.client.execute({ sql: 'SELECT count(*) AS n FROM consent_scripts WHERE workspace_id = ?', args: [team.workspace.id] });
  if (Number(scripts.rows[0]!.n) === 0) await makeScripts(t.db, team.workspace);
  for (const g of groups) {
    await seedAudience(t.client, team.workspace.id, g.n, { prefix: g.prefix, openTracking: g.openTracking, ownerAgentId: g.ownerAgentId, attributes: g.attributes, sourceCampaign: g.sourceCampaign });
  }
  const segment = (await (
    await t.request('/api/v1/segments', { method: 'POST', token: team.marketer.token, json: { name: options.segmentName ?? 'Tous', rules: options.rules ?? { match: 'all', conditions: [] } } })
  ).json()) as { id: string };
  const created = await t.request('/api/v1/campaigns', {
    method: 'POST',
    token: team.marketer.token,
    json: { name: 'Offres', subject: 'Nos offres', preheader: 'Rome, Paris, Lisbonne', body: options.body ?? BODY, ...(options.tracking !== undefined ? { tracking: options.tracking } : {}) },
  });
  expect(created.status, await created.clone().text()).toBe(201);
  const campaign = (await created.json()) as { id: string };
  const sent = await t.request(`/api/v1/campaigns/${campaign.id}/send`, { method: 'POST', token: team.marketer.token, json: { segmentId: segment.id } });
  expect(sent.status).toBe(200);
  const rows = (
    await t.client.execute({
      sql: `SELECT s.id, s.contact_id, c.email, m.html FROM sends s JOIN contacts c ON c.id = s.contact_id
            JOIN outbox_messages m ON m."to" = c.email AND json_extract(m.tags, '$.campaign') = s.campaign_id
            WHERE s.campaign_id = ? ORDER BY s.id`,
      args: [campaign.id],
    })
  ).rows;
  const path = (url: string) => url.replace(/^https?:\/\/[^/]+/, '');
  const recipients: Recipient[] = rows.map((r) => {
    const html = String(r.html);
    const hrefs = [...html.matchAll(/href="(https?:\/\/[^"]+\/c\/[^"]+)"/g)].map((m) => path(m[1]!.replace(/&amp;/g, '&')));
    const honeypot = /<a href="([^"]+\/c\/[^"]+)" aria-hidden="true"/.exec(html)![1]!;
    return {
      contactId: String(r.contact_id),
      email: String(r.email),
      sendId: Number(r.id),
      pixel: /<img src="(https?:\/\/[^"]+\/o\/[^"]+)"/.exec(html)?.[1] ? path(/<img src="(https?:\/\/[^"]+\/o\/[^"]+)"/.exec(html)![1]!) : null,
      clicks: [...new Set(hrefs.filter((h) => h !== path(honeypot)))],
      honeypot: path(honeypot),
      html,
    };
  });
  const byPrefix = (prefix: string) => recipients.filter((r) => r.email.startsWith(prefix));
  return { campaignId: campaign.id, segmentId: segment.id, recipients, byPrefix };
}

export const HUMAN_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36 Edg/131.0';

/** A reader's request: a real browser's user agent, from an ordinary address. */
export function asReader(t: TestApp, path: string, init: { method?: string; ua?: string; ip?: string } = {}) {
  return t.request(path, { method: init.method ?? 'GET', headers: { 'user-agent': init.ua ?? HUMAN_UA, 'x-test-ip': init.ip ?? '198.51.100.7' }, redirect: 'manual' });
}
