/**
 * What the DPO watches and does outside a single person's file: the compliance figures, the
 * retention setting and its purge log, the suppression list (looked up by keyed hash, never by
 * the address itself).
 *
 * Who may call: admins (the DPO's role).
 */
import { and, asc, count, desc, eq, inArray, isNotNull, isNull, lt, sql } from 'drizzle-orm';
import { auditLog, consentState, contacts, dsrRequests, suppressions, suppressionReasons, users, type SuppressionReason } from '../../db/schema.js';
import { recordAudit } from '../audit/record.js';
import { actorRef, type Ctx } from '../context.js';
import { normaliseEmail } from '../contacts/normalise.js';
import { Invalid } from '../errors.js';
import { getWorkspace, updateWorkspace } from '../workspaces/workspaces.js';
import { runRetention } from './retention.js';
import { activeSuppression, emailHash, suppress, type Suppression } from './suppressions.js';

type ReadCtx = Pick<Ctx, 'db' | 'workspaceId' | 'clock'>;
const DAY_MS = 86_400_000;

/** CNIL (référentiel "gestion commerciale"): prospect data at most 3 years after the last contact. */
export const RETENTION_MAX_DAYS = 3 * 365;
/** Below a month, a prospect could be erased between a call and its confirmation reminder. */
export const RETENTION_MIN_DAYS = 30;

export interface ComplianceSummary {
  contacts: { live: number; erased: number };
  /** Granted consents per purpose, with how many of them are confirmed by email. */
  consents: { purpose: string; granted: number; confirmed: number }[];
  suppressions: { active: number; byReason: Record<SuppressionReason, number> };
  requests: { open: number; overdue: number; nextDueAt: Date | null };
  retention: { days: number; lastRun: RetentionRun | null; dueNow: number };
}

export async function complianceSummary({ ctx }: { ctx: ReadCtx }): Promise<ComplianceSummary> {
  const ws = await getWorkspace({ ctx });
  const now = ctx.clock.now();
  const contactRows = await ctx.db
    .select({ erased: sql<number>`${contacts.erasedAt} IS NOT NULL`, n: count() })
    .from(contacts)
    .where(eq(contacts.workspaceId, ctx.workspaceId))
    .groupBy(sql`${contacts.erasedAt} IS NOT NULL`);
  const consents = await ctx.db
    .select({ purpose: consentState.purpose, granted: count(), confirmed: count(consentState.confirmedAt) })
    .from(consentState)
    .where(and(eq(consentState.workspaceId, ctx.workspaceId), eq(consentState.status, 'granted')))
    .groupBy(consentState.purpose)
    .orderBy(consentState.purpose);
  const [open] = await ctx.db
    .select({ n: count(), overdue: sql<number>`coalesce(sum(${dsrRequests.dueAt} < ${now.getTime()}), 0)`, next: sql<number | null>`min(${dsrRequests.dueAt})` })
    .from(dsrRequests)
    .where(and(eq(dsrRequests.workspaceId, ctx.workspaceId), eq(dsrRequests.status, 'open')));
  const order = (p: string) => (p === 'newsletter' ? 0 : p === 'open_tracking' ? 1 : 2);
  return {
    contacts: {
      live: contactRows.find((r) => !Number(r.erased))?.n ?? 0,
      erased: contactRows.find((r) => Number(r.erased))?.n ?? 0,
    },
    consents: consents.sort((a, b) => order(a.purpose) - order(b.purpose) || a.purpose.localeCompare(b.purpose)),
    suppressions: await suppressionCounts({ ctx }),
    requests: { open: open?.n ?? 0, overdue: Number(open?.overdue ?? 0), nextDueAt: open?.next != null ? new Date(Number(open.next)) : null },
    retention: { days: ws.settings.retentionDays, lastRun: (await retentionLog({ ctx, input: { limit: 1 } }))[0] ?? null, dueNow: await retentionDue({ ctx, input: { days: ws.settings.retentionDays } }) },
  };
}

// ---------------------------------------------------------------------------------------------
// Retention

/** Live contacts whose last prospect-originated action is older than `days`: what a run would erase. */
export async function retentionDue({ ctx, input }: { ctx: ReadCtx; input: { days: number } }): Promise<number> {
  const cutoff = new Date(ctx.clock.now().getTime() - input.days * DAY_MS);
  const [row] = await ctx.db
    .select({ n: count() })
    .from(contacts)
    .where(and(eq(contacts.workspaceId, ctx.workspaceId), isNull(contacts.erasedAt), lt(contacts.lastProspectActionAt, cutoff)));
  return row?.n ?? 0;
}

/** Checks a retention duration; the issue names the form field `retentionDays`. */
export function retentionIssues(days: number): { field: string; message: string }[] {
  if (!Number.isInteger(days)) return [{ field: 'retentionDays', message: 'must be a whole number of days' }];
  if (days > RETENTION_MAX_DAYS) return [{ field: 'retentionDays', message: `must be at most ${RETENTION_MAX_DAYS} days (CNIL: 3 years for prospects)` }];
  if (days < RETENTION_MIN_DAYS) return [{ field: 'retentionDays', message: `must be at least ${RETENTION_MIN_DAYS} days` }];
  return [];
}

/** Admin only. Changes how long prospects are kept (audited as a workspace change). */
export async function setRetention({ ctx, input }: { ctx: Ctx; input: { days: number } }) {
  const issues = retentionIssues(input.days);
  if (issues.length) throw new Invalid('invalid_input', 'Invalid retention.', issues);
  return updateWorkspace({ ctx, input: { settings: { retentionDays: input.days } } });
}

export interface RetentionRun {
  at: Date;
  /** `system`: the daily job; `user`: someone pressed "run now". */
  trigger: 'system' | 'user';
  by: string | null;
  erased: number;
  cutoff: string | null;
  retentionDays: number | null;
}

/**
 * The purge log, from the audit log: `retention.run` (written by the job when it erased someone)
 * and `retention.requested` (a run asked for by an admin, even when it erased nobody). A daily
 * run that erased nobody leaves no trace today.
 */
export async function retentionLog({ ctx, input }: { ctx: Pick<Ctx, 'db' | 'workspaceId'>; input: { limit: number } }): Promise<RetentionRun[]> {
  const rows = await ctx.db
    .select({ a: auditLog, name: users.name })
    .from(auditLog)
    .leftJoin(users, eq(users.id, auditLog.actorId))
    .where(and(eq(auditLog.workspaceId, ctx.workspaceId), inArray(auditLog.action, ['retention.run', 'retention.requested'])))
    .orderBy(desc(auditLog.at), desc(auditLog.id))
    .limit(input.limit * 2);
  const runs: RetentionRun[] = rows.map(({ a, name }) => {
    const d = (a.details ?? {}) as { erased?: number; cutoff?: string; retentionDays?: number };
    return {
      at: a.at,
      trigger: a.actorType === 'user' ? 'user' : 'system',
      by: a.actorType === 'user' ? name : null,
      erased: Number(d.erased ?? 0),
      cutoff: d.cutoff ?? null,
      retentionDays: d.retentionDays ?? null,
    };
  });
  // A requested run that erased people wrote both entries: keep the one naming who asked.
  const twinOf = (r: RetentionRun) => runs.find((u) => u.trigger === 'user' && u.erased === r.erased && Math.abs(u.at.getTime() - r.at.getTime()) < 60_000);
  for (const r of runs) {
    const twin = r.trigger === 'system' ? twinOf(r) : undefined;
    if (twin) {
      twin.cutoff ??= r.cutoff;
      twin.retentionDays ??= r.retentionDays;
    }
  }
  return runs.filter((r) => r.trigger === 'user' || !twinOf(r)).slice(0, input.limit);
}

/** How many contacts retention has erased in total (one audit entry per contact). */
export async function retentionErasedTotal({ ctx }: { ctx: Pick<Ctx, 'db' | 'workspaceId'> }): Promise<number> {
  const [row] = await ctx.db.select({ n: count() }).from(auditLog).where(and(eq(auditLog.workspaceId, ctx.workspaceId), eq(auditLog.action, 'contact.erased_retention')));
  return row?.n ?? 0;
}

/**
 * Admin only. Runs the retention job for this workspace now (the same job as the daily one: safe
 * to repeat) and records who asked, with what it did.
 */
export async function runRetentionNow({ ctx }: { ctx: Ctx }): Promise<{ erased: number; cutoff: string }> {
  const [report] = await runRetention(ctx.db, ctx.clock.now(), { workspaceId: ctx.workspaceId });
  const ws = await getWorkspace({ ctx });
  await ctx.db.transaction((tx) => recordAudit(tx, ctx, { action: 'retention.requested', details: { erased: report!.erased, cutoff: report!.cutoff, retentionDays: ws.settings.retentionDays } }));
  return { erased: report!.erased, cutoff: report!.cutoff };
}

// ---------------------------------------------------------------------------------------------
// Suppressions

export async function suppressionCounts({ ctx }: { ctx: Pick<Ctx, 'db' | 'workspaceId'> }): Promise<{ active: number; byReason: Record<SuppressionReason, number> }> {
  const rows = await ctx.db
    .select({ reason: suppressions.reason, n: count() })
    .from(suppressions)
    .where(and(eq(suppressions.workspaceId, ctx.workspaceId), isNull(suppressions.liftedAt)))
    .groupBy(suppressions.reason);
  const byReason = Object.fromEntries(suppressionReasons.map((r) => [r, 0])) as Record<SuppressionReason, number>;
  for (const r of rows) byReason[r.reason] = r.n;
  return { active: rows.reduce((n, r) => n + r.n, 0), byReason };
}

export interface SuppressionLookup {
  /** The active suppression, if any. */
  suppression: Suppression | null;
  /** A lifted one (the person confirmed a new consent), when there is no active one. */
  lifted: Suppression | null;
  /** The live contact with this address, if any (to open their proof). */
  contactId: string | null;
}

function hashInput(email: string): string {
  const normalised = normaliseEmail(email);
  if (!normalised) throw new Invalid('invalid_input', 'Invalid email.', [{ field: 'email', message: 'is not an email address' }]);
  return normalised;
}

/**
 * Looks an address up by its keyed hash. The address is normalised and hashed here and goes no
 * further: it is not stored, logged or audited (the list exists so that we need not keep it).
 */
export async function lookupSuppression({ ctx, input }: { ctx: Pick<Ctx, 'db' | 'workspaceId'>; input: { email: string } }): Promise<SuppressionLookup> {
  const hash = await emailHash(ctx.db, ctx.workspaceId, hashInput(input.email));
  const active = await activeSuppression(ctx.db, ctx.workspaceId, hash);
  const lifted = active
    ? null
    : ((await ctx.db.query.suppressions.findFirst({ where: and(eq(suppressions.workspaceId, ctx.workspaceId), eq(suppressions.emailHash, hash), isNotNull(suppressions.liftedAt)) })) ?? null);
  const contact = await ctx.db.query.contacts.findFirst({
    columns: { id: true },
    where: and(eq(contacts.workspaceId, ctx.workspaceId), eq(contacts.emailHash, hash), isNull(contacts.erasedAt)),
  });
  return { suppression: active, lifted, contactId: contact?.id ?? null };
}

/** Reasons an admin may give by hand; `erased` only comes from an erasure (which has its own flow). */
export const manualSuppressionReasons = ['admin', 'unsubscribed', 'complained', 'hard_bounce'] as const satisfies readonly SuppressionReason[];
export type ManualSuppressionReason = (typeof manualSuppressionReasons)[number];

/**
 * Admin only. Puts an address on the suppression list (e.g. an objection received by letter or
 * phone). Idempotent: an address already suppressed keeps its first date and reason. The
 * consents in the ledger are not changed: the address is excluded from every send, now and at
 * each batch. Audited with the hash, never the address.
 */
export async function addSuppression({ ctx, input }: { ctx: Ctx; input: { email: string; reason: string } }): Promise<{ added: boolean; suppression: Suppression }> {
  const issues = [];
  const normalised = normaliseEmail(input.email);
  if (!normalised) issues.push({ field: 'email', message: 'is not an email address' });
  if (!(manualSuppressionReasons as readonly string[]).includes(input.reason)) issues.push({ field: 'reason', message: `must be one of ${manualSuppressionReasons.join(', ')}` });
  if (issues.length) throw new Invalid('invalid_input', 'Invalid suppression.', issues);
  const hash = await emailHash(ctx.db, ctx.workspaceId, normalised!);
  const reason = input.reason as ManualSuppressionReason;
  const now = ctx.clock.now();
  const { actorId } = actorRef(ctx.actor);
  return ctx.db.transaction(async (tx) => {
    const before = await activeSuppression(tx, ctx.workspaceId, hash);
    if (before) return { added: false, suppression: before };
    await suppress(tx, ctx.workspaceId, hash, reason, { via: 'admin', ...(actorId ? { by: actorId } : {}) }, now);
    await recordAudit(tx, ctx, { action: 'suppression.added', targetType: 'suppression', targetId: hash, details: { reason } });
    return { added: true, suppression: (await activeSuppression(tx, ctx.workspaceId, hash))! };
  });
}

/** The most recent suppressions (hash prefix, reason, date): nothing personal. */
export async function recentSuppressions({ ctx, input }: { ctx: Pick<Ctx, 'db' | 'workspaceId'>; input: { limit: number } }) {
  return ctx.db
    .select()
    .from(suppressions)
    .where(and(eq(suppressions.workspaceId, ctx.workspaceId), isNull(suppressions.liftedAt)))
    .orderBy(desc(suppressions.suppressedAt), asc(suppressions.emailHash))
    .limit(input.limit);
}
