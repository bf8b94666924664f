/** Segments: rules compiled to SQL, the audience (consent, confirmation, erasure, workspace), streaming. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendConsentEvents } from '../../src/domain/consent/chain.js';
import { streamAudience } from '../../src/domain/segments/segments.js';
import type { SegmentRules } from '../../src/domain/segments/rules.js';
import { createTestApp, errorOf, type TestApp } from '../helpers/app.js';
import { makeScripts, unique } from '../helpers/factories.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.dispose());

type Team = Awaited<ReturnType<TestApp['workspaceWithTeam']>> & { scripts: Awaited<ReturnType<typeof makeScripts>> };
async function team(): Promise<Team> {
  const tm = await t.workspaceWithTeam();
  return { ...tm, scripts: await makeScripts(t.db, tm.workspace) };
}

/** A lead captured by the agent, then optionally confirmed, withdrawn or erased. */
async function lead(
  tm: Team,
  opts: { newsletter?: 'granted' | 'refused'; openTracking?: 'granted' | 'refused'; then?: 'confirm' | 'withdraw' | 'erase'; attributes?: Record<string, string>; campaign?: string; firstName?: string; agentEmail?: string } = {},
) {
  const email = `${unique('lead')}@example.test`;
  const res = await t.request('/api/v1/consents', {
    method: 'POST',
    token: tm.agent.token,
    json: {
      contact: { email, firstName: opts.firstName ?? 'Lea', attributes: opts.attributes ?? {} },
      call: { ref: unique('C'), basis: 'inbound_call', ...(opts.campaign ? { campaign: opts.campaign } : {}) },
      answers: [
        { purpose: 'newsletter', answer: opts.newsletter ?? 'granted', scriptId: tm.scripts.newsletter.id },
        { purpose: 'open_tracking', answer: opts.openTracking ?? 'refused', scriptId: tm.scripts.open_tracking.id },
      ],
    },
  });
  const { contact } = (await res.json()) as { contact: { id: string } };
  const now = t.clock.now();
  if (opts.then === 'confirm' || opts.then === 'withdraw') {
    await t.db.transaction((tx) =>
      appendConsentEvents(
        tx,
        tm.workspace.id,
        [{ contactId: contact.id, purpose: 'newsletter', action: opts.then === 'confirm' ? 'confirmed' : 'withdrawn', channel: 'email_link', actorType: 'subscriber', actorId: contact.id, evidence: {}, occurredAt: now }],
        now,
      ),
    );
  }
  if (opts.then === 'erase') {
    await t.client.execute({ sql: 'UPDATE contacts SET email = NULL, first_name = NULL, erased_at = ? WHERE id = ?', args: [now.getTime(), contact.id] });
  }
  return contact.id;
}

const everyone: SegmentRules = { match: 'all', conditions: [] };
async function audience(tm: Team, rules: SegmentRules) {
  const res = await t.request('/api/v1/segments/preview', { method: 'POST', token: tm.marketer.token, json: { rules } });
  expect(res.status).toBe(200);
  return (await res.json()) as { count: number; sample: { id: string }[] };
}

describe('audience', () => {
  it('samples show whole addresses to admins only: marketers and keys get them masked, as on the segment page', async () => {
    const tm = await team();
    await lead(tm, { then: 'confirm' });
    const email = String((await t.client.execute({ sql: 'SELECT email FROM contacts WHERE workspace_id = ?', args: [tm.workspace.id] })).rows[0]!.email);
    const key = await t.request('/api/v1/api-keys', { method: 'POST', token: tm.admin.token, json: { name: 'reporting', scopes: ['campaigns:read'] } });
    const { secret } = (await key.json()) as { secret: string };
    const sampleAs = async (token: string) => {
      const res = await t.request('/api/v1/segments/preview', { method: 'POST', token, json: { rules: everyone } });
      expect(res.status).toBe(200);
      return ((await res.json()) as { sample: { email: string }[] }).sample.map((m) => m.email);
    };
    const masked = `${email.slice(0, 2)}•••${email.slice(email.indexOf('@'))}`;
    expect(await sampleAs(tm.admin.token)).toEqual([email]);
    expect(await sampleAs(tm.marketer.token)).toEqual([masked]);
    expect(await sampleAs(secret)).toEqual([masked]);
  });

  it('is the segment among contacts whose newsletter consent is granted now and confirmed', async () => {
    const tm = await team();
    const confirmed = await lead(tm, { then: 'confirm' });
    await lead(tm); // granted, never confirmed
    await lead(tm, { newsletter: 'refused' });
    await lead(tm, { then: 'withdraw' });
    await lead(tm, { then: 'erase' });
    const other = await team();
    await lead(other, { then: 'confirm' });

    const result = await audience(tm, everyone);
    expect(result.count).toBe(1);
    expect(result.sample.map((s) => s.id)).toEqual([confirmed]);

    // Without double opt-in, granted but unconfirmed contacts count too.
    await t.request('/api/v1/workspace', { method: 'PATCH', token: tm.admin.token, json: { settings: { requireDoubleOptIn: false } } });
    expect((await audience(tm, everyone)).count).toBe(2);
  });

  it('streams in id order by keyset pages, each contact once', async () => {
    const tm = await team();
    await t.request('/api/v1/workspace', { method: 'PATCH', token: tm.admin.token, json: { settings: { requireDoubleOptIn: false } } });
    const ids = new Set<string>();
    for (let i = 0; i < 25; i++) ids.add(await lead(tm));
    await lead(tm, { newsletter: 'refused' });
    const ctx = { db: t.db, workspaceId: tm.workspace.id, clock: t.clock };
    const pages: string[][] = [];
    for await (const page of streamAudience(t.db, ctx, everyone, 10)) pages.push(page);
    expect(pages.map((p) => p.length)).toEqual([10, 10, 5]);
    const flat = pages.flat();
    expect(new Set(flat)).toEqual(ids);
    expect([...flat].sort()).toEqual(flat);
  });
});

describe('rules', () => {
  it('test fields, attributes, campaign, agent, consent state, with and/or groups', async () => {
    const tm = await team();
    await t.request('/api/v1/workspace', { method: 'PATCH', token: tm.admin.token, json: { settings: { requireDoubleOptIn: false } } });
    const rome = await lead(tm, { attributes: { destination: 'Rome' }, campaign: 'Voyage à Rome', openTracking: 'granted' });
    const lisbon = await lead(tm, { attributes: { destination: 'Lisbonne' }, campaign: 'Voyage à Lisbonne', then: 'confirm' });
    const percent = await lead(tm, { attributes: { promo: '50% off' }, firstName: 'Zoé' });
    const ids = async (rules: SegmentRules) => (await audience(tm, rules)).sample.map((s) => s.id).sort();

    expect(await ids({ match: 'all', conditions: [{ field: 'attributes.destination', operator: 'equals', value: 'rome' }] })).toEqual([rome]);
    expect(await ids({ match: 'all', conditions: [{ field: 'sourceCampaign', operator: 'contains', value: 'lisbonne' }] })).toEqual([lisbon]);
    expect(await ids({ match: 'all', conditions: [{ field: 'attributes.destination', operator: 'in', value: ['Rome', 'Lisbonne'] }] })).toEqual([rome, lisbon].sort());
    expect(await ids({ match: 'all', conditions: [{ field: 'attributes.destination', operator: 'is_empty' }] })).toEqual([percent]);
    // "%" is a literal character, not a wildcard.
    expect(await ids({ match: 'all', conditions: [{ field: 'attributes.promo', operator: 'contains', value: '50%' }] })).toEqual([percent]);
    expect(await ids({ match: 'all', conditions: [{ field: 'attributes.destination', operator: 'contains', value: '%' }] })).toEqual([]);
    expect(await ids({ match: 'all', conditions: [{ field: 'confirmed', operator: 'is', value: true }] })).toEqual([lisbon]);
    expect(await ids({ match: 'all', conditions: [{ field: 'openTracking', operator: 'is', value: true }] })).toEqual([rome]);
    expect(await ids({ match: 'all', conditions: [{ field: 'ownerAgentId', operator: 'equals', value: tm.agent.id }] })).toHaveLength(3);
    expect(await ids({ match: 'all', conditions: [{ field: 'consentDate', operator: 'within_days', value: 1 }] })).toHaveLength(3);
    expect(await ids({ match: 'all', conditions: [{ field: 'consentDate', operator: 'older_than_days', value: 1 }] })).toEqual([]);
    expect(
      await ids({
        match: 'any',
        conditions: [
          { field: 'firstName', operator: 'starts_with', value: 'zo' },
          { match: 'all', conditions: [{ field: 'confirmed', operator: 'is', value: false }, { field: 'attributes.destination', operator: 'equals', value: 'Rome' }] },
        ],
      }),
    ).toEqual([rome, percent].sort());
  });

  it('are refused with the path of each problem, and nothing is saved', async () => {
    const tm = await team();
    const before = await t.dumpDatabase();
    const res = await t.request('/api/v1/segments', {
      method: 'POST',
      token: tm.marketer.token,
      json: {
        name: 'Broken',
        rules: {
          match: 'all',
          conditions: [
            { field: 'shoeSize', operator: 'equals', value: '42' },
            { field: 'confirmed', operator: 'contains', value: 'x' },
            { match: 'any', conditions: [{ field: 'consentDate', operator: 'before', value: 'yesterday' }] },
          ],
        },
      },
    });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe('invalid_rules');
    expect(error.details?.issues?.map((i) => i.field)).toEqual(['conditions.0.field', 'conditions.1.operator', 'conditions.2.conditions.0.value']);
    expect(await t.dumpDatabase()).toBe(before);
  });
});

describe('saved segments', () => {
  it('are created, read with their audience, changed and deleted; audited; per workspace and role', async () => {
    const tm = await team();
    await lead(tm, { then: 'confirm', attributes: { destination: 'Rome' } });
    const rules: SegmentRules = { match: 'all', conditions: [{ field: 'attributes.destination', operator: 'equals', value: 'Rome' }] };
    const created = await t.request('/api/v1/segments', { method: 'POST', token: tm.marketer.token, json: { name: 'Rome', rules } });
    expect(created.status).toBe(201);
    const segment = (await created.json()) as { id: string; audience: { count: number } };
    expect(segment.audience.count).toBe(1);
    const read = (await (await t.request(`/api/v1/segments/${segment.id}`, { token: tm.admin.token })).json()) as { name: string; audience: { count: number } };
    expect(read).toMatchObject({ name: 'Rome', audience: { count: 1 } });
    const renamed = await t.request(`/api/v1/segments/${segment.id}`, { method: 'PATCH', token: tm.marketer.token, json: { name: 'Rome 2027' } });
    expect(((await renamed.json()) as { name: string }).name).toBe('Rome 2027');

    const other = await team();
    expect((await t.request(`/api/v1/segments/${segment.id}`, { token: other.marketer.token })).status).toBe(404);
    expect((await t.request('/api/v1/segments', { token: tm.agent.token })).status).toBe(403);

    expect((await t.request(`/api/v1/segments/${segment.id}`, { method: 'DELETE', token: tm.marketer.token })).status).toBe(204);
    const audit = (await (await t.request('/api/v1/audit-log', { token: tm.admin.token })).json()) as { entries: { action: string }[] };
    expect(audit.entries.map((e) => e.action)).toEqual(expect.arrayContaining(['segment.created', 'segment.updated', 'segment.deleted']));
  });
});
