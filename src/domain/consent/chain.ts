/**
 * The hash chain of a workspace's consent ledger. Each event's hash covers the previous hash
 * and a canonical serialisation of the event (fixed field order, ISO times, evidence by digest),
 * so editing, deleting, inserting or reordering any event breaks every hash after it.
 * `appendConsentEvents` must run inside a write transaction: SQLite serialises writers, so two
 * captures cannot both take the same chain head (and a unique (workspace, seq) index backs that up).
 */
import { and, asc, desc, eq, gt, sql } from 'drizzle-orm';
import type { DbOrTx, Db } from '../../db/client.js';
import { consentEvents, consentEvidence, consentState, type ConsentAction, type ConsentChannel, type ConsentStatus } from '../../db/schema.js';
import { sha256HexSync } from '../../lib/crypto.js';
import { newId } from '../../lib/ids.js';
import { pipelined } from '../../db/pipeline.js';

/** The hash every workspace's first event points back to. */
export const GENESIS = '0'.repeat(64);

export interface NewConsentEvent {
  /** Chosen beforehand when something outside the ledger must cite the event (a confirmation link). */
  id?: string;
  contactId: string;
  purpose: string;
  action: ConsentAction;
  channel: ConsentChannel;
  actorType: 'user' | 'api_key' | 'subscriber' | 'system';
  actorId: string | null;
  callId?: string | null;
  callRef?: string | null;
  callBasis?: string | null;
  scriptId?: string | null;
  scriptSha256?: string | null;
  evidence: Record<string, string>;
  occurredAt: Date;
}

export type ConsentEvent = typeof consentEvents.$inferSelect;

/** Keys sorted, no whitespace: the same object always gives the same bytes. */
export function canonicalJson(value: unknown): string {
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** What the hash covers: every field of the event except the hash itself. */
function hashedFields(e: Omit<ConsentEvent, 'hash'>) {
  return {
    v: 1,
    id: e.id,
    workspaceId: e.workspaceId,
    seq: e.seq,
    contactId: e.contactId,
    purpose: e.purpose,
    action: e.action,
    channel: e.channel,
    actorType: e.actorType,
    actorId: e.actorId,
    callId: e.callId,
    callRef: e.callRef,
    callBasis: e.callBasis,
    scriptId: e.scriptId,
    scriptSha256: e.scriptSha256,
    evidenceSha256: e.evidenceSha256,
    occurredAt: e.occurredAt.toISOString(),
    recordedAt: e.recordedAt.toISOString(),
    prevHash: e.prevHash,
  };
}

export function eventHash(e: Omit<ConsentEvent, 'hash'>): string {
  return sha256HexSync(canonicalJson(hashedFields(e)));
}

export function evidenceHash(evidence: Record<string, string>): string {
  return sha256HexSync(canonicalJson(evidence));
}

/** The latest event of the workspace's chain (a lazy query: await it, or pass it to `pipelined`). */
export function chainHead(tx: DbOrTx, workspaceId: string) {
  return tx
    .select({ seq: consentEvents.seq, hash: consentEvents.hash })
    .from(consentEvents)
    .where(eq(consentEvents.workspaceId, workspaceId))
    .orderBy(desc(consentEvents.seq))
    .limit(1);
}

/** The events as they will be stored after `head`: numbered, each hashed over the previous one. Pure. */
export function chainEvents(head: { seq: number; hash: string } | undefined, workspaceId: string, events: NewConsentEvent[], recordedAt: Date): ConsentEvent[] {
  let seq = head?.seq ?? 0;
  let prevHash = head?.hash ?? GENESIS;
  const stored: ConsentEvent[] = [];
  for (const e of events) {
    const id = e.id ?? newId('evt');
    const unhashed = {
      id,
      workspaceId,
      seq: ++seq,
      contactId: e.contactId,
      purpose: e.purpose,
      action: e.action,
      channel: e.channel,
      actorType: e.actorType,
      actorId: e.actorId,
      callId: e.callId ?? null,
      callRef: e.callRef ?? null,
      callBasis: e.callBasis ?? null,
      scriptId: e.scriptId ?? null,
      scriptSha256: e.scriptSha256 ?? null,
      evidenceSha256: evidenceHash(e.evidence),
      occurredAt: e.occurredAt,
      recordedAt,
      prevHash,
    };
    const event: ConsentEvent = { ...unhashed, hash: eventHash(unhashed) };
    prevHash = event.hash;
    stored.push(event);
  }
  return stored;
}

/**
 * The statements that store chained events, their evidence and the per-contact state, as lazy
 * queries to run in order in the caller's transaction (with `pipelined`, in one round trip).
 * `stored` must come from `chainEvents` over the head read in that same transaction.
 */
export function chainWrites(tx: DbOrTx, workspaceId: string, stored: ConsentEvent[], events: NewConsentEvent[]) {
  if (stored.length === 0) return [];
  const writes = [
    tx.insert(consentEvents).values(stored),
    tx.insert(consentEvidence).values(stored.map((e, i) => ({ eventId: e.id, workspaceId, data: events[i]!.evidence }))),
  ];
  // One statement when each (contact, purpose) appears once, as in a capture.
  const keys = new Set(stored.map((e) => `${e.contactId}|${e.purpose}`));
  if (keys.size === stored.length && stored.every((e) => e.action !== 'confirmed')) return [...writes, stateWrite(tx, workspaceId, stored)];
  return [...writes, ...stored.map((e) => stateWrite(tx, workspaceId, [e]))];
}

/**
 * Appends events to the workspace's chain and moves the per-contact state along, in the caller's
 * transaction: one read of the head, then every write in one round trip. Returns the stored events.
 */
export async function appendConsentEvents(tx: DbOrTx, workspaceId: string, events: NewConsentEvent[], recordedAt: Date): Promise<ConsentEvent[]> {
  const [head] = await chainHead(tx, workspaceId);
  const stored = chainEvents(head, workspaceId, events, recordedAt);
  const writes = chainWrites(tx, workspaceId, stored, events);
  if (writes.length) await pipelined(tx, writes);
  return stored;
}

/** The state machine from events to the current status per contact and purpose (a lazy statement). */
function stateWrite(tx: DbOrTx, workspaceId: string, batch: ConsentEvent[]) {
  const e = batch[0]!;
  if (batch.length === 1 && e.action === 'confirmed') {
    // Confirms the current grant only; a confirmation after a withdrawal changes nothing.
    return tx
      .update(consentState)
      .set({ confirmedAt: e.occurredAt, lastEventId: e.id })
      .where(and(eq(consentState.contactId, e.contactId), eq(consentState.purpose, e.purpose), eq(consentState.status, 'granted')));
  }
  const statusOf = (action: ConsentAction): ConsentStatus => (action === 'granted' ? 'granted' : action === 'refused' ? 'refused' : 'withdrawn');
  return tx
    .insert(consentState)
    .values(batch.map((ev) => ({ workspaceId, contactId: ev.contactId, purpose: ev.purpose, status: statusOf(ev.action), confirmedAt: null, since: ev.occurredAt, lastEventId: ev.id })))
    .onConflictDoUpdate({
      target: [consentState.contactId, consentState.purpose],
      // A new grant needs a new confirmation; a repeated grant of a confirmed consent keeps it.
      set: {
        status: sql`excluded.status`,
        since: sql`excluded.since`,
        lastEventId: sql`excluded.last_event_id`,
        confirmedAt: sql`CASE WHEN excluded.status = 'granted' AND ${consentState.status} = 'granted' THEN ${consentState.confirmedAt} ELSE NULL END`,
      },
    });
}

export interface ChainVerification {
  ok: boolean;
  /** Events checked. */
  count: number;
  /** The first event that does not verify, and why. */
  firstBroken?: { id: string; seq: number; reason: string };
  headHash: string;
}

/** Walks the whole chain of a workspace in pages (never all in memory). */
export async function verifyChain(db: Db, workspaceId: string, pageSize = 1000): Promise<ChainVerification> {
  let prevHash = GENESIS;
  let expectedSeq = 1;
  let count = 0;
  for (;;) {
    const page = await db
      .select()
      .from(consentEvents)
      .where(and(eq(consentEvents.workspaceId, workspaceId), gt(consentEvents.seq, expectedSeq - 1)))
      .orderBy(asc(consentEvents.seq))
      .limit(pageSize);
    for (const e of page) {
      const broken = (reason: string): ChainVerification => ({ ok: false, count, firstBroken: { id: e.id, seq: e.seq, reason }, headHash: prevHash });
      if (e.seq !== expectedSeq) return broken(`expected seq ${expectedSeq}, found ${e.seq} (an event was removed or inserted)`);
      if (e.prevHash !== prevHash) return broken('prev_hash does not match the previous event (an event was removed, inserted or reordered)');
      const { hash, ...rest } = e;
      if (eventHash(rest) !== hash) return broken('hash does not match the event content (the event was edited)');
      prevHash = hash;
      expectedSeq++;
      count++;
    }
    if (page.length < pageSize) return { ok: true, count, headHash: prevHash };
  }
}
