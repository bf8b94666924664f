/**
 * The proof bundle for one contact: what a DPO hands the CNIL (GDPR Art. 7(1)). Every ledger
 * event with the exact script text read and its hash, the calls and their legal basis
 * (L.223-1), the evidence still held, the chain segment and the verification of the whole
 * workspace chain, and the controller's identity. Admin only.
 */
import { and, eq, inArray } from 'drizzle-orm';
import { consentEvidence, consentScripts, users } from '../../db/schema.js';
import { contactHistory, getContact } from '../contacts/contacts.js';
import type { Ctx } from '../context.js';
import { controllerOf, getWorkspace } from '../workspaces/workspaces.js';
import { eventHash, evidenceHash, verifyChain } from './chain.js';

export async function consentProof({ ctx, input }: { ctx: Ctx; input: { contactId: string } }) {
  const contact = await getContact({ ctx, input: { id: input.contactId } });
  const workspace = await getWorkspace({ ctx });
  const { events, calls } = await contactHistory(ctx, contact.id);
  const scriptIds = [...new Set(events.map((e) => e.scriptId).filter((id): id is string => id !== null))];
  const scripts = scriptIds.length ? await ctx.db.select().from(consentScripts).where(inArray(consentScripts.id, scriptIds)) : [];
  const evidence = events.length
    ? await ctx.db.select().from(consentEvidence).where(and(eq(consentEvidence.workspaceId, ctx.workspaceId), inArray(consentEvidence.eventId, events.map((e) => e.id))))
    : [];
  const evidenceById = new Map(evidence.map((e) => [e.eventId, e.data]));
  const agentIds = [...new Set(calls.map((c) => c.agentId).filter((id): id is string => id !== null))];
  const agents = agentIds.length ? await ctx.db.select({ id: users.id, name: users.name }).from(users).where(inArray(users.id, agentIds)) : [];
  const chain = await verifyChain(ctx.db, ctx.workspaceId);

  const eventViews = await Promise.all(
    events.map(async (e) => {
      const { hash, ...rest } = e;
      const data = evidenceById.get(e.id);
      return {
        ...e,
        occurredAt: e.occurredAt.toISOString(),
        recordedAt: e.recordedAt.toISOString(),
        evidence: data ?? null,
        checks: {
          hashMatches: eventHash(rest) === hash,
          evidenceMatches: data ? evidenceHash(data) === e.evidenceSha256 : null,
        },
      };
    }),
  );

  return {
    generatedAt: ctx.clock.now().toISOString(),
    controller: controllerOf(workspace),
    contact: {
      id: contact.id,
      email: contact.email,
      phone: contact.phone,
      firstName: contact.firstName,
      lastName: contact.lastName,
      sourceCampaign: contact.sourceCampaign,
      ownerAgent: contact.ownerAgentName,
      createdAt: contact.createdAt.toISOString(),
    },
    currentConsents: contact.consents.map((c) => ({ ...c, since: c.since.toISOString(), confirmedAt: c.confirmedAt?.toISOString() ?? null })),
    calls: calls.map((c) => ({
      id: c.id,
      callRef: c.callRef,
      basis: c.basis,
      basisRef: c.basisRef,
      callCampaign: c.callCampaign,
      agent: agents.find((a) => a.id === c.agentId)?.name ?? null,
      recordedBy: `${c.actorType}:${c.actorId ?? ''}`,
      occurredAt: c.occurredAt.toISOString(),
      recordedAt: c.recordedAt.toISOString(),
    })),
    scripts: scripts.map((s) => ({ id: s.id, purpose: s.purpose, version: s.version, label: s.label, text: s.text, sha256: s.sha256, createdAt: s.createdAt.toISOString() })),
    events: eventViews,
    chain: {
      algorithm: 'SHA-256 over prev_hash and the canonical JSON of each event (keys sorted); evidence by its SHA-256',
      workspaceVerification: chain,
    },
  };
}

export type ConsentProof = Awaited<ReturnType<typeof consentProof>>;
