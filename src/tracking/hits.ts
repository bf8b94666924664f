/**
 * Opens and clicks, from the moment the pixel or link is requested to rows in `events`.
 *
 * The handlers answer at once and hand a `Hit` to a sink. On Node the sink buffers hits and
 * writes them in one transaction every second (or every MAX_PENDING hits), not one per request:
 * a newsletter's opens arrive in floods. `close()` writes what is left, and the process calls it
 * on graceful shutdown, so no hit is lost. On Workers each request writes its own hit after the
 * response (`waitUntil`), as an isolate may vanish between requests.
 *
 * Consent is checked when hits are written, against the state of that moment: an open of a
 * recipient who withdrew open-tracking consent after the mail left (or was erased) is only
 * counted in the campaign's anonymous total (CNIL délibération 2026-042).
 */
import { and, eq, gte, inArray, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../db/client.js';
import { anonymousOpens, campaignLinks, consentState, contacts, events, sends } from '../db/schema.js';
import type { Logger } from '../lib/logger.js';
import { classifyClicks, HONEYPOT_WINDOW_MS, type ClickFacts, type MachineReason } from './machine.js';
import { recomputeSendOutcomes } from './rollup.js';
import { HONEYPOT_LINK } from './tokens.js';

export interface Hit {
  kind: 'open' | 'click';
  sendId: number;
  /** Clicks: the link index, or HONEYPOT_LINK. */
  link: number | null;
  /** Epoch ms. */
  at: number;
  userAgent: string;
  /** The request-level verdict (src/tracking/machine.ts); history rules are applied on write. */
  verdict: MachineReason | null;
  /** Identical hits folded into this one (floods of the same pixel). */
  count?: number;
}

export interface HitSink {
  /** Returns a promise when the write happens per request (Workers: pass it to waitUntil). */
  record(hit: Hit): Promise<void> | void;
  /** Writes everything pending. */
  flush(): Promise<void>;
  /** Flushes and stops the timer (graceful shutdown). */
  close(): Promise<void>;
}

export const MAX_USER_AGENT = 256;
const MAX_PENDING = 2_000;
/** Beyond this many distinct pending hits (the database is down), new ones are dropped and counted in the log. */
const HARD_CAP = 200_000;

/** Node: buffered, written in batches. */
export function bufferedHitSink(db: Db, logger: Logger, options: { flushEveryMs?: number } = {}): HitSink {
  const flushEveryMs = options.flushEveryMs ?? 1_000;
  let pending = new Map<string, Hit>();
  let timer: ReturnType<typeof setTimeout> | null = null;
  let writing: Promise<void> = Promise.resolve();
  let dropped = 0;

  const schedule = () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      void flush();
    }, flushEveryMs);
    (timer as { unref?: () => void }).unref?.();
  };

  const add = (hit: Hit) => {
    // Same message, link, user agent and verdict: one row with a count (a flood stays one row).
    const key = `${hit.kind}|${hit.sendId}|${hit.link}|${hit.verdict}|${hit.userAgent}`;
    const seen = pending.get(key);
    if (seen) {
      seen.count = (seen.count ?? 1) + (hit.count ?? 1);
      return;
    }
    if (pending.size >= HARD_CAP) {
      dropped++;
      return;
    }
    pending.set(key, { ...hit });
  };

  const flush = (): Promise<void> => {
    writing = writing.then(async () => {
      if (pending.size === 0) return;
      const batch = [...pending.values()];
      pending = new Map();
      try {
        await recordHits(db, batch);
      } catch (error) {
        // Kept for the next attempt: a busy or unreachable database loses nothing.
        for (const hit of batch) add(hit);
        logger.error('tracking hits not written, will retry', { error, pending: pending.size });
        schedule();
      }
      if (dropped) {
        logger.error('tracking hits dropped: buffer full', { dropped });
        dropped = 0;
      }
    });
    return writing;
  };

  return {
    record(hit) {
      add(hit);
      if (pending.size >= MAX_PENDING) void flush();
      else schedule();
    },
    flush,
    async close() {
      if (timer) clearTimeout(timer);
      timer = null;
      await flush();
    },
  };
}

/** Workers: each hit written by its own request, after the response. */
export function directHitSink(db: Db, logger: Logger): HitSink {
  return {
    record: (hit) => recordHits(db, [hit]).catch((error: unknown) => logger.error('tracking hit not written', { error })),
    flush: async () => {},
    close: async () => {},
  };
}

interface SendFacts {
  id: number;
  workspaceId: string;
  campaignId: string;
  contactId: string;
  tracksOpens: boolean;
  deliveredAt: number | null;
  erased: boolean;
  opensConsented: boolean;
}

const CHUNK = 500;
/** Rows per INSERT: 11 columns each, under SQLite's default 32,766 bound parameters. */
const INSERT_CHUNK = 1_000;

async function sendFacts(tx: DbOrTx, ids: number[]): Promise<Map<number, SendFacts>> {
  const out = new Map<number, SendFacts>();
  for (let i = 0; i < ids.length; i += CHUNK) {
    const rows = await tx
      .select({
        id: sends.id,
        workspaceId: sends.workspaceId,
        campaignId: sends.campaignId,
        contactId: sends.contactId,
        tracksOpens: sends.tracksOpens,
        deliveredAt: sql<number | null>`coalesce(${sends.deliveredAt}, ${sends.sentAt})`,
        erasedAt: contacts.erasedAt,
        openConsent: consentState.status,
      })
      .from(sends)
      .innerJoin(contacts, eq(contacts.id, sends.contactId))
      .leftJoin(consentState, and(eq(consentState.contactId, sends.contactId), eq(consentState.purpose, 'open_tracking')))
      .where(inArray(sends.id, ids.slice(i, i + CHUNK)));
    for (const r of rows) {
      out.set(r.id, {
        id: r.id,
        workspaceId: r.workspaceId,
        campaignId: r.campaignId,
        contactId: r.contactId,
        tracksOpens: r.tracksOpens,
        deliveredAt: r.deliveredAt,
        erased: r.erasedAt !== null,
        opensConsented: r.openConsent === 'granted',
      });
    }
  }
  return out;
}

/**
 * Writes a batch of hits in one transaction: consent-gated opens, clicks classified with their
 * message's history (re-classifying earlier clicks a later one exposes), the prospect's last
 * action for human clicks (it restarts the retention period), and the sends' rollups.
 */
export async function recordHits(db: Db, hits: Hit[]): Promise<void> {
  if (hits.length === 0) return;
  await db.transaction(async (tx) => {
    const facts = await sendFacts(tx, [...new Set(hits.map((h) => h.sendId))]);
    const rows: (typeof events.$inferInsert)[] = [];
    const anonymous = new Map<string, { campaignId: string; machine: boolean; hits: number }>();
    /** Sends whose stored clicks changed verdict: their counters are recomputed from their events. */
    const recompute = new Set<number>();
    const clicksBySend = new Map<number, Hit[]>();

    for (const hit of hits) {
      const send = facts.get(hit.sendId);
      if (!send) continue; // a valid token of a send that no longer exists: nothing to attach it to
      if (hit.kind === 'open') {
        if (!send.tracksOpens || !send.opensConsented || send.erased) {
          const key = `${send.campaignId}|${hit.verdict !== null}`;
          const a = anonymous.get(key) ?? { campaignId: send.campaignId, machine: hit.verdict !== null, hits: 0 };
          a.hits += hit.count ?? 1;
          anonymous.set(key, a);
          continue;
        }
        rows.push(eventRow(send, hit, hit.verdict));
      } else {
        const list = clicksBySend.get(send.id) ?? [];
        list.push(hit);
        clicksBySend.set(send.id, list);
      }
    }

    const humanClickers = new Map<string, number>();
    if (clicksBySend.size) {
      const linkCounts = await trackedLinkCounts(tx, [...new Set([...clicksBySend.keys()].map((id) => facts.get(id)!.campaignId))]);
      const since = Math.min(...[...clicksBySend.values()].flat().map((h) => h.at)) - HONEYPOT_WINDOW_MS;
      const earlier = await tx
        .select({ id: events.id, sendId: events.sendId, link: events.linkIndex, at: events.occurredAt, machine: events.machine, reason: events.machineReason })
        .from(events)
        .where(and(inArray(events.sendId, [...clicksBySend.keys()]), eq(events.type, 'click'), gte(events.occurredAt, new Date(since))));
      const reclassified: { id: number; reason: MachineReason }[] = [];
      const earlierBySend = new Map<number, typeof earlier>();
      for (const e of earlier) {
        const list = earlierBySend.get(e.sendId);
        if (list) list.push(e);
        else earlierBySend.set(e.sendId, [e]);
      }
      for (const [sendId, fresh] of clicksBySend) {
        const send = facts.get(sendId)!;
        const stored: ClickFacts[] = (earlierBySend.get(sendId) ?? [])
          .map((e) => ({ id: e.id, link: e.link ?? 0, at: e.at.getTime(), reason: e.machine ? ((e.reason as MachineReason | null) ?? 'scanner_user_agent') : null }));
        const incoming = fresh.map((h) => ({ hit: h, facts: { link: h.link ?? 0, at: h.at, reason: h.verdict } as ClickFacts }));
        const all = [...stored, ...incoming.map((i) => i.facts)].sort((a, b) => a.at - b.at);
        for (const c of classifyClicks(all, { deliveredAt: send.deliveredAt, trackedLinks: linkCounts.get(send.campaignId) ?? 0, honeypot: HONEYPOT_LINK })) {
          reclassified.push({ id: c.id!, reason: c.reason! });
          recompute.add(sendId);
        }
        for (const { hit, facts: f } of incoming) {
          rows.push(eventRow(send, hit, f.reason));
          if (!f.reason && !send.erased) humanClickers.set(send.contactId, Math.max(humanClickers.get(send.contactId) ?? 0, hit.at));
        }
      }
      for (const r of reclassified) {
        await tx.update(events).set({ machine: true, machineReason: r.reason }).where(and(eq(events.id, r.id), eq(events.machine, false)));
      }
    }

    for (let i = 0; i < rows.length; i += INSERT_CHUNK) await tx.insert(events).values(rows.slice(i, i + INSERT_CHUNK));
    for (const a of anonymous.values()) {
      await tx
        .insert(anonymousOpens)
        .values(a)
        .onConflictDoUpdate({ target: [anonymousOpens.campaignId, anonymousOpens.machine], set: { hits: sql`${anonymousOpens.hits} + ${a.hits}` } });
    }
    // A click comes from the prospect: the CNIL's 3-year retention restarts from it (an open does not).
    const clickers = [...humanClickers];
    for (let i = 0; i < clickers.length; i += CHUNK) {
      const values = sql.join(
        clickers.slice(i, i + CHUNK).map(([id, at]) => sql`(${id}, ${at})`),
        sql`, `,
      );
      await tx.run(sql`
        UPDATE contacts SET last_prospect_action_at = max(contacts.last_prospect_action_at, d.column2)
        FROM (VALUES ${values}) AS d WHERE contacts.id = d.column1`);
    }
    // Rollups: the new rows only add to their sends' counters (an open's verdict never changes
    // later); a send whose stored clicks were re-classified is recomputed from its events.
    await addToSendCounters(tx, rows.filter((r) => !recompute.has(r.sendId)));
    await recomputeSendOutcomes(tx, recompute);
  });
}

/** Adds new open and click rows to their sends' counters, in one statement per chunk. */
async function addToSendCounters(tx: DbOrTx, rows: (typeof events.$inferInsert)[]): Promise<void> {
  const bySend = new Map<number, [number, number, number, number]>();
  for (const r of rows) {
    const c = bySend.get(r.sendId) ?? [0, 0, 0, 0];
    const at = (r.type === 'open' ? 0 : 2) + (r.machine ? 1 : 0);
    c[at] = c[at]! + (r.hits ?? 1);
    bySend.set(r.sendId, c);
  }
  const entries = [...bySend];
  for (let i = 0; i < entries.length; i += CHUNK) {
    const values = sql.join(
      entries.slice(i, i + CHUNK).map(([id, [ho, mo, hc, mc]]) => sql`(${id}, ${ho}, ${mo}, ${hc}, ${mc})`),
      sql`, `,
    );
    await tx.run(sql`
      UPDATE sends SET
        human_opens = sends.human_opens + d.column2,
        machine_opens = sends.machine_opens + d.column3,
        human_clicks = sends.human_clicks + d.column4,
        machine_clicks = sends.machine_clicks + d.column5
      FROM (VALUES ${values}) AS d
      WHERE sends.id = d.column1`);
  }
}

function eventRow(send: SendFacts, hit: Hit, reason: MachineReason | null): typeof events.$inferInsert {
  return {
    workspaceId: send.workspaceId,
    campaignId: send.campaignId,
    sendId: send.id,
    type: hit.kind,
    linkIndex: hit.kind === 'click' ? hit.link : null,
    machine: reason !== null,
    machineReason: reason,
    userAgent: send.erased ? null : hit.userAgent.slice(0, MAX_USER_AGENT),
    hits: hit.count ?? 1,
    occurredAt: new Date(hit.at),
  };
}

async function trackedLinkCounts(tx: DbOrTx, campaignIds: string[]): Promise<Map<string, number>> {
  const rows = await tx
    .select({ campaignId: campaignLinks.campaignId, n: sql<number>`count(*)` })
    .from(campaignLinks)
    .where(and(inArray(campaignLinks.campaignId, campaignIds), eq(campaignLinks.tracked, true)))
    .groupBy(campaignLinks.campaignId);
  return new Map(rows.map((r) => [r.campaignId, r.n]));
}
