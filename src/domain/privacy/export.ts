/**
 * Access and portability (GDPR Art. 15 and 20): everything held about one person, as JSON (the
 * portable format) or CSV (one row per fact, for a spreadsheet). The person's contact record,
 * current consents, every ledger event with the exact wording they were read and its hash (they
 * can check it), the calls, the newsletters sent to them with what we measured about each (opens,
 * clicks and their machine verdicts, delivery reports), their conversions, their requests and
 * whether their address is suppressed. Nothing about other people: agents appear by name only.
 */
import { and, asc, eq, inArray } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { calls, campaigns, consentEvents, consentEvidence, consentScripts, consentState, contacts, conversions, dsrRequests, events as sendEvents, sends, users } from '../../db/schema.js';
import { NotFound } from '../errors.js';
import { controllerOf, type Workspace } from '../workspaces/workspaces.js';
import { activeSuppression, emailHash } from './suppressions.js';
import { toCsv } from '../../lib/csv.js';

export async function exportContactData(db: DbOrTx, workspace: Workspace, contactId: string, now: Date) {
  const contact = await db.query.contacts.findFirst({ where: and(eq(contacts.id, contactId), eq(contacts.workspaceId, workspace.id)) });
  if (!contact || contact.erasedAt) throw new NotFound('contact_not_found', 'No such contact in this workspace (or erased: nothing personal is left to export).');
  const events = await db.select().from(consentEvents).where(eq(consentEvents.contactId, contact.id)).orderBy(asc(consentEvents.seq));
  const evidence = events.length ? await db.select().from(consentEvidence).where(inArray(consentEvidence.eventId, events.map((e) => e.id))) : [];
  const evidenceOf = new Map(evidence.map((e) => [e.eventId, e.data]));
  const scriptIds = [...new Set(events.map((e) => e.scriptId).filter((id): id is string => !!id))];
  const scripts = scriptIds.length ? await db.select().from(consentScripts).where(inArray(consentScripts.id, scriptIds)) : [];
  const scriptOf = new Map(scripts.map((s) => [s.id, s]));
  const states = await db.select().from(consentState).where(eq(consentState.contactId, contact.id)).orderBy(asc(consentState.purpose));
  const callRows = await db.select().from(calls).where(eq(calls.contactId, contact.id)).orderBy(asc(calls.occurredAt));
  const agentIds = [...new Set([contact.ownerAgentId, ...callRows.map((c) => c.agentId)].filter((id): id is string => !!id))];
  const agents = new Map((agentIds.length ? await db.select({ id: users.id, name: users.name }).from(users).where(inArray(users.id, agentIds)) : []).map((a) => [a.id, a.name]));
  const sent = await db
    .select({ campaign: campaigns.name, subject: campaigns.subject, status: sends.status, sentAt: sends.sentAt, createdAt: sends.createdAt })
    .from(sends)
    .innerJoin(campaigns, eq(campaigns.id, sends.campaignId))
    .where(eq(sends.contactId, contact.id))
    .orderBy(asc(sends.id));
  const activity = await db
    .select({ campaign: campaigns.name, type: sendEvents.type, link: sendEvents.linkIndex, machine: sendEvents.machine, reason: sendEvents.machineReason, userAgent: sendEvents.userAgent, hits: sendEvents.hits, occurredAt: sendEvents.occurredAt })
    .from(sendEvents)
    .innerJoin(sends, eq(sends.id, sendEvents.sendId))
    .innerJoin(campaigns, eq(campaigns.id, sends.campaignId))
    .where(eq(sends.contactId, contact.id))
    .orderBy(asc(sendEvents.id));
  const converted = await db
    .select({ type: conversions.type, value: conversions.value, currency: conversions.currency, externalId: conversions.externalId, occurredAt: conversions.occurredAt, attribution: conversions.attribution, campaign: campaigns.name })
    .from(conversions)
    .leftJoin(campaigns, eq(campaigns.id, conversions.campaignId))
    .where(eq(conversions.contactId, contact.id))
    .orderBy(asc(conversions.occurredAt));
  const requests = await db.select().from(dsrRequests).where(eq(dsrRequests.contactId, contact.id)).orderBy(asc(dsrRequests.receivedAt));
  const suppression = contact.email ? await activeSuppression(db, workspace.id, contact.emailHash ?? (await emailHash(db, workspace.id, contact.email))) : null;
  const iso = (d: Date | null) => d?.toISOString() ?? null;

  return {
    generatedAt: now.toISOString(),
    controller: controllerOf(workspace),
    contact: {
      id: contact.id,
      email: contact.email,
      phone: contact.phone,
      firstName: contact.firstName,
      lastName: contact.lastName,
      locale: contact.locale,
      attributes: contact.attributes,
      ownerAgent: contact.ownerAgentId ? (agents.get(contact.ownerAgentId) ?? null) : null,
      sourceCampaign: contact.sourceCampaign,
      createdAt: iso(contact.createdAt),
      lastProspectActionAt: iso(contact.lastProspectActionAt),
    },
    consents: states.map((s) => ({ purpose: s.purpose, status: s.status, since: iso(s.since), confirmedAt: iso(s.confirmedAt) })),
    ledger: events.map((e) => {
      const script = e.scriptId ? scriptOf.get(e.scriptId) : undefined;
      return {
        id: e.id,
        seq: e.seq,
        purpose: e.purpose,
        action: e.action,
        channel: e.channel,
        actor: e.actorType,
        callRef: e.callRef,
        callBasis: e.callBasis,
        script: script ? { label: script.label, version: script.version, text: script.text, sha256: script.sha256 } : null,
        evidence: evidenceOf.get(e.id) ?? null,
        occurredAt: iso(e.occurredAt),
        recordedAt: iso(e.recordedAt),
        hash: e.hash,
        prevHash: e.prevHash,
      };
    }),
    calls: callRows.map((c) => ({ ref: c.callRef, basis: c.basis, basisRef: c.basisRef, campaign: c.callCampaign, agent: c.agentId ? (agents.get(c.agentId) ?? null) : null, occurredAt: iso(c.occurredAt) })),
    emails: sent.map((s) => ({ campaign: s.campaign, subject: s.subject, status: s.status, sentAt: iso(s.sentAt), queuedAt: iso(s.createdAt) })),
    activity: activity.map((a) => ({ campaign: a.campaign, type: a.type, link: a.link, machine: a.machine, machineReason: a.reason, userAgent: a.userAgent, hits: a.hits, occurredAt: iso(a.occurredAt) })),
    conversions: converted.map((c) => ({ type: c.type, value: c.value / 100, currency: c.currency, externalId: c.externalId, campaign: c.campaign, attribution: c.attribution, occurredAt: iso(c.occurredAt) })),
    requests: requests.map((r) => ({ id: r.id, type: r.type, status: r.status, channel: r.channel, receivedAt: iso(r.receivedAt), dueAt: iso(r.dueAt), completedAt: iso(r.completedAt), outcome: r.outcome })),
    suppression: suppression ? { suppressed: true, reason: suppression.reason, since: iso(suppression.suppressedAt) } : { suppressed: false },
  };
}

export type ContactExport = Awaited<ReturnType<typeof exportContactData>>;

/** One row per fact: `section,item,field,value`, so every part of the export fits one sheet. */
export function exportToCsv(data: ContactExport): string {
  const rows: unknown[][] = [['section', 'item', 'field', 'value']];
  const add = (section: string, item: string | number, record: Record<string, unknown>) => {
    for (const [field, value] of Object.entries(record)) rows.push([section, item, field, value]);
  };
  add('controller', '', data.controller);
  add('contact', data.contact.id, data.contact);
  data.consents.forEach((c, i) => add('consent', i + 1, c));
  data.ledger.forEach((e) => add('ledger', e.seq, e));
  data.calls.forEach((c, i) => add('call', i + 1, c));
  data.emails.forEach((e, i) => add('email', i + 1, e));
  data.activity.forEach((a, i) => add('activity', i + 1, a));
  data.conversions.forEach((c, i) => add('conversion', i + 1, c));
  data.requests.forEach((r, i) => add('request', i + 1, r));
  add('suppression', '', data.suppression);
  add('export', '', { generatedAt: data.generatedAt });
  return toCsv(rows);
}
