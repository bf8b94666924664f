/**
 * Reading the consent ledger for the DPO: a filtered, paginated view of the events (newest
 * first), the chain verification with when it was last run, and how many answers each script
 * version collected. Read-only except `checkLedger`, which records its result in the audit log so
 * "when was the chain last verified, by whom, with what result" survives the page.
 *
 * Who may call: admins (the DPO's role).
 */
import { and, count, desc, eq, inArray, lt } from 'drizzle-orm';
import { auditLog, consentEvents, consentScripts, contacts, users, type ConsentAction, type ConsentChannel } from '../../db/schema.js';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import { normaliseEmail } from '../contacts/normalise.js';
import { Invalid } from '../errors.js';
import { verifyChain, type ChainVerification } from './chain.js';

export interface LedgerFilter {
  purpose?: string | undefined;
  action?: ConsentAction | undefined;
  channel?: ConsentChannel | undefined;
  /** Any spelling of the address: normalised, then matched on the contact's stored address. */
  email?: string | undefined;
  /** Events with a smaller `seq` (the cursor of the next page). */
  before?: number | undefined;
  limit?: number | undefined;
}

export interface LedgerRow {
  id: string;
  seq: number;
  contactId: string;
  /** Null once the person is erased: the event stays, under the contact's random id only. */
  contactEmail: string | null;
  purpose: string;
  action: ConsentAction;
  channel: ConsentChannel;
  actorType: string;
  actorName: string | null;
  callRef: string | null;
  scriptVersion: number | null;
  occurredAt: Date;
  recordedAt: Date;
  prevHash: string;
  hash: string;
}

/** Newest first, `limit` at a time (max 200); `next` is the cursor of the following page, if any. */
export async function listLedger({ ctx, input }: { ctx: Pick<Ctx, 'db' | 'workspaceId'>; input: LedgerFilter }): Promise<{ rows: LedgerRow[]; next: number | null }> {
  const limit = Math.min(Math.max(input.limit ?? 50, 1), 200);
  let contactId: string | undefined;
  if (input.email !== undefined && input.email.trim() !== '') {
    const email = normaliseEmail(input.email);
    if (!email) throw new Invalid('invalid_input', 'Invalid email.', [{ field: 'email', message: 'is not an email address' }]);
    const contact = await ctx.db.query.contacts.findFirst({ columns: { id: true }, where: and(eq(contacts.workspaceId, ctx.workspaceId), eq(contacts.email, email)) });
    if (!contact) return { rows: [], next: null };
    contactId = contact.id;
  }
  const rows = await ctx.db
    .select({
      e: consentEvents,
      contactEmail: contacts.email,
      actorName: users.name,
      scriptVersion: consentScripts.version,
    })
    .from(consentEvents)
    .leftJoin(contacts, eq(contacts.id, consentEvents.contactId))
    .leftJoin(users, eq(users.id, consentEvents.actorId))
    .leftJoin(consentScripts, eq(consentScripts.id, consentEvents.scriptId))
    .where(
      and(
        eq(consentEvents.workspaceId, ctx.workspaceId),
        input.purpose ? eq(consentEvents.purpose, input.purpose) : undefined,
        input.action ? eq(consentEvents.action, input.action) : undefined,
        input.channel ? eq(consentEvents.channel, input.channel) : undefined,
        contactId ? eq(consentEvents.contactId, contactId) : undefined,
        input.before ? lt(consentEvents.seq, input.before) : undefined,
      ),
    )
    .orderBy(desc(consentEvents.seq))
    .limit(limit + 1);
  const page = rows.slice(0, limit).map(({ e, contactEmail, actorName, scriptVersion }) => ({
    id: e.id,
    seq: e.seq,
    contactId: e.contactId,
    contactEmail,
    purpose: e.purpose,
    action: e.action,
    channel: e.channel,
    actorType: e.actorType,
    actorName: e.actorType === 'user' ? actorName : null,
    callRef: e.callRef,
    scriptVersion,
    occurredAt: e.occurredAt,
    recordedAt: e.recordedAt,
    prevHash: e.prevHash,
    hash: e.hash,
  }));
  return { rows: page, next: rows.length > limit ? page.at(-1)!.seq : null };
}

/** The purposes that appear in the ledger or have a script (for filters). */
export async function ledgerPurposes({ ctx }: { ctx: Pick<Ctx, 'db' | 'workspaceId'> }): Promise<string[]> {
  const scripted = await ctx.db.selectDistinct({ p: consentScripts.purpose }).from(consentScripts).where(eq(consentScripts.workspaceId, ctx.workspaceId));
  const used = await ctx.db.selectDistinct({ p: consentEvents.purpose }).from(consentEvents).where(eq(consentEvents.workspaceId, ctx.workspaceId));
  return [...new Set([...scripted, ...used].map((r) => r.p))].sort();
}

export async function ledgerSize({ ctx }: { ctx: Pick<Ctx, 'db' | 'workspaceId'> }): Promise<number> {
  const [row] = await ctx.db.select({ n: count() }).from(consentEvents).where(eq(consentEvents.workspaceId, ctx.workspaceId));
  return row?.n ?? 0;
}

/** Below this many events the pages verify the chain on every visit (well under a second). */
export const LIVE_VERIFY_MAX = 5000;

export interface LedgerCheck extends ChainVerification {
  at: Date;
  /** `live`: verified for this page; `recorded`: the result of the last explicit check. */
  source: 'live' | 'recorded';
  by?: string | null;
}

/**
 * Admin only. Walks the whole chain now and records the result in the audit log
 * (`consent_ledger.verified`), so the DPO can later say when it was verified and what it found.
 */
export async function checkLedger({ ctx }: { ctx: Ctx }): Promise<LedgerCheck> {
  const result = await verifyChain(ctx.db, ctx.workspaceId);
  await ctx.db.transaction((tx) =>
    recordAudit(tx, ctx, { action: 'consent_ledger.verified', details: { ok: result.ok, count: result.count, headHash: result.headHash, ...(result.firstBroken ? { firstBroken: result.firstBroken } : {}) } }),
  );
  return { ...result, at: ctx.clock.now(), source: 'recorded', by: ctx.actor.type === 'user' ? ctx.actor.name : null };
}

/** The last recorded check, if any. */
export async function lastLedgerCheck({ ctx }: { ctx: Pick<Ctx, 'db' | 'workspaceId'> }): Promise<LedgerCheck | null> {
  const [row] = await ctx.db
    .select({ a: auditLog, name: users.name })
    .from(auditLog)
    .leftJoin(users, eq(users.id, auditLog.actorId))
    .where(and(eq(auditLog.workspaceId, ctx.workspaceId), eq(auditLog.action, 'consent_ledger.verified')))
    .orderBy(desc(auditLog.at), desc(auditLog.id))
    .limit(1);
  if (!row) return null;
  const d = (row.a.details ?? {}) as Partial<ChainVerification>;
  return { ok: d.ok === true, count: Number(d.count ?? 0), headHash: String(d.headHash ?? ''), ...(d.firstBroken ? { firstBroken: d.firstBroken } : {}), at: row.a.at, source: 'recorded', by: row.name };
}

/**
 * What the pages show: a fresh verification when the ledger is small enough to walk at once,
 * otherwise the last recorded check (null if never run: the page offers the button).
 */
export async function ledgerStatus({ ctx }: { ctx: Ctx }): Promise<{ size: number; check: LedgerCheck | null }> {
  const size = await ledgerSize({ ctx });
  if (size <= LIVE_VERIFY_MAX) return { size, check: { ...(await verifyChain(ctx.db, ctx.workspaceId)), at: ctx.clock.now(), source: 'live' } };
  return { size, check: await lastLedgerCheck({ ctx }) };
}

/** How many ledger events cite each script version. */
export async function scriptUsage({ ctx, input }: { ctx: Pick<Ctx, 'db' | 'workspaceId'>; input: { scriptIds: string[] } }): Promise<Map<string, number>> {
  if (input.scriptIds.length === 0) return new Map();
  const rows = await ctx.db
    .select({ id: consentEvents.scriptId, n: count() })
    .from(consentEvents)
    .where(and(eq(consentEvents.workspaceId, ctx.workspaceId), inArray(consentEvents.scriptId, input.scriptIds)))
    .groupBy(consentEvents.scriptId);
  return new Map(rows.map((r) => [r.id!, r.n]));
}
