/**
 * The contact directory of a workspace, for admins (it shows personal data): search and filter
 * with pagination, the CSV export of a filter, and one contact's profile (identity, current
 * consents, the ledger timeline with the script read and the evidence, the newsletters sent and
 * what was measured about each, opens and clicks with their machine verdicts, conversions).
 *
 * Erased contacts never appear in the list or the export (their row is only a pseudonym the
 * ledger points to); opened by id, their profile says "erased" and shows no personal data.
 */
import { and, asc, count, desc, eq, gt, inArray, isNotNull, isNull, like, or, sql, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/sqlite-core';
import {
  campaigns,
  consentEvents,
  consentEvidence,
  consentScripts,
  consentState,
  contacts,
  conversions,
  events as sendEvents,
  memberships,
  sends,
  users,
  type ConsentStatus,
} from '../../db/schema.js';
import { csvField } from '../../lib/csv.js';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import { NotFound } from '../errors.js';
import { activeSuppression } from '../privacy/suppressions.js';
import { normalisePhone } from './normalise.js';

export const PAGE_SIZE = 50;

/** Newsletter filter: `confirmed`/`pending` split `granted` by the double opt-in confirmation. */
export const newsletterFilters = ['granted', 'confirmed', 'pending', 'refused', 'withdrawn', 'none'] as const;
export type NewsletterFilter = (typeof newsletterFilters)[number];
export const openTrackingFilters = ['granted', 'refused', 'withdrawn', 'none'] as const;
export type OpenTrackingFilter = (typeof openTrackingFilters)[number];

export interface ContactFilter {
  /** Name (part of), email (part of) or phone (any national or E.164 writing, or its last digits). */
  q?: string | undefined;
  newsletter?: NewsletterFilter | undefined;
  openTracking?: OpenTrackingFilter | undefined;
  ownerAgentId?: string | undefined;
  sourceCampaign?: string | undefined;
}

const nl = alias(consentState, 'nl');
const ot = alias(consentState, 'ot');

/** `%`, `_` and `\` typed by a person are literal characters, not wildcards. */
function likeTerm(term: string): string {
  return `%${term.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
}

function whereOf(workspaceId: string, f: ContactFilter): SQL {
  const conditions: (SQL | undefined)[] = [eq(contacts.workspaceId, workspaceId), isNull(contacts.erasedAt)];
  const q = f.q?.trim().slice(0, 254);
  if (q) {
    const term = likeTerm(q.toLowerCase());
    const alternatives: (SQL | undefined)[] = [
      sql`lower(coalesce(${contacts.firstName}, '') || ' ' || coalesce(${contacts.lastName}, '')) LIKE ${term} ESCAPE '\\'`,
      sql`lower(coalesce(${contacts.lastName}, '') || ' ' || coalesce(${contacts.firstName}, '')) LIKE ${term} ESCAPE '\\'`,
      sql`${contacts.email} LIKE ${term} ESCAPE '\\'`,
    ];
    const phone = normalisePhone(q);
    if (phone) alternatives.push(eq(contacts.phone, phone));
    // "56 78", "0612": the digits a person remembers, without the national leading 0.
    const digits = q.replace(/[\s.\-()]/g, '');
    if (/^\+?\d{4,15}$/.test(digits)) alternatives.push(like(contacts.phone, `%${digits.replace(/^\+/, '').replace(/^0/, '')}%`));
    conditions.push(or(...alternatives));
  }
  switch (f.newsletter) {
    case 'granted':
      conditions.push(eq(nl.status, 'granted'));
      break;
    case 'confirmed':
      conditions.push(and(eq(nl.status, 'granted'), isNotNull(nl.confirmedAt)));
      break;
    case 'pending':
      conditions.push(and(eq(nl.status, 'granted'), isNull(nl.confirmedAt)));
      break;
    case 'refused':
    case 'withdrawn':
      conditions.push(eq(nl.status, f.newsletter));
      break;
    case 'none':
      conditions.push(isNull(nl.status));
      break;
  }
  if (f.openTracking === 'none') conditions.push(isNull(ot.status));
  else if (f.openTracking) conditions.push(eq(ot.status, f.openTracking));
  if (f.ownerAgentId) conditions.push(eq(contacts.ownerAgentId, f.ownerAgentId));
  if (f.sourceCampaign) conditions.push(eq(contacts.sourceCampaign, f.sourceCampaign));
  return and(...conditions)!;
}

const listColumns = {
  id: contacts.id,
  email: contacts.email,
  phone: contacts.phone,
  firstName: contacts.firstName,
  lastName: contacts.lastName,
  attributes: contacts.attributes,
  ownerAgentId: contacts.ownerAgentId,
  ownerAgentName: users.name,
  sourceCampaign: contacts.sourceCampaign,
  createdAt: contacts.createdAt,
  updatedAt: contacts.updatedAt,
  lastProspectActionAt: contacts.lastProspectActionAt,
  newsletter: nl.status,
  newsletterConfirmedAt: nl.confirmedAt,
  openTracking: ot.status,
};

function baseQuery<T extends Record<string, unknown>>(db: Ctx['db'], columns: T) {
  return db
    .select(columns as never)
    .from(contacts)
    .leftJoin(nl, and(eq(nl.contactId, contacts.id), eq(nl.purpose, 'newsletter')))
    .leftJoin(ot, and(eq(ot.contactId, contacts.id), eq(ot.purpose, 'open_tracking')))
    .leftJoin(users, eq(users.id, contacts.ownerAgentId));
}

export interface ContactListRow {
  id: string;
  email: string | null;
  phone: string | null;
  firstName: string | null;
  lastName: string | null;
  attributes: Record<string, string | number | boolean>;
  ownerAgentId: string | null;
  ownerAgentName: string | null;
  sourceCampaign: string | null;
  createdAt: Date;
  updatedAt: Date;
  lastProspectActionAt: Date;
  newsletter: ConsentStatus | null;
  newsletterConfirmedAt: Date | null;
  openTracking: ConsentStatus | null;
}

/**
 * Admin only (the caller checks the role). One page of the workspace's live contacts matching the
 * filter, most recently updated first, with the total. Reads only.
 */
export async function listContacts({ ctx, input }: { ctx: Pick<Ctx, 'db' | 'workspaceId'>; input: ContactFilter & { page?: number | undefined } }) {
  const where = whereOf(ctx.workspaceId, input);
  const [{ n }] = (await baseQuery(ctx.db, { n: count() }).where(where)) as unknown as [{ n: number }];
  const pageCount = Math.max(1, Math.ceil(n / PAGE_SIZE));
  const page = Math.min(Math.max(1, Math.floor(input.page ?? 1)), pageCount);
  const rows = (await baseQuery(ctx.db, listColumns)
    .where(where)
    .orderBy(desc(contacts.updatedAt), desc(contacts.id))
    .limit(PAGE_SIZE)
    .offset((page - 1) * PAGE_SIZE)) as unknown as ContactListRow[];
  return { rows, total: n, page, pageCount, pageSize: PAGE_SIZE };
}

/** What the filter choices offer: the workspace's members (owner agents) and the source campaigns seen. */
export async function directoryChoices({ ctx }: { ctx: Pick<Ctx, 'db' | 'workspaceId'> }) {
  const agents = await ctx.db
    .select({ id: users.id, name: users.name, role: memberships.role })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.workspaceId, ctx.workspaceId))
    .orderBy(asc(users.name));
  const campaignsSeen = await ctx.db
    .selectDistinct({ name: contacts.sourceCampaign })
    .from(contacts)
    .where(and(eq(contacts.workspaceId, ctx.workspaceId), isNotNull(contacts.sourceCampaign), isNull(contacts.erasedAt)))
    .orderBy(asc(contacts.sourceCampaign))
    .limit(500);
  return { agents, sourceCampaigns: campaignsSeen.map((c) => c.name!).filter(Boolean) };
}

/** The export's columns, in order; the header row carries these names. */
export const EXPORT_FIELDS = [
  'id',
  'email',
  'phone',
  'first_name',
  'last_name',
  'newsletter',
  'newsletter_confirmed_at',
  'open_tracking',
  'owner_agent',
  'source_campaign',
  'created_at',
  'last_prospect_action_at',
  'attributes',
] as const;

const EXPORT_PAGE = 1000;

/**
 * Admin only. The contacts matching a filter as CSV (RFC 4180, UTF-8 with a BOM so spreadsheets
 * read accents), streamed page by page (keyset on id: never the whole audience in memory).
 * Erased contacts are left out. The export is audited (who, which filter, how many rows) before
 * the first byte leaves: personal data leaving the platform is always on record.
 * Statuses are the ledger's words: granted, refused, withdrawn, or empty when never asked.
 */
export async function exportContacts({ ctx, input }: { ctx: Ctx; input: ContactFilter }): Promise<{ rows: number; stream: ReadableStream<Uint8Array> }> {
  const where = whereOf(ctx.workspaceId, input);
  const [{ n }] = (await baseQuery(ctx.db, { n: count() }).where(where)) as unknown as [{ n: number }];
  // The search text is often an email, a phone or a name: the audit log (kept after erasure) only
  // says there was one.
  const filter = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => [k, k === 'q' ? true : v]));
  await recordAudit(ctx.db, ctx, { action: 'contacts.exported', targetType: 'contacts', details: { filter, rows: n, format: 'csv' } });
  const encoder = new TextEncoder();
  const iso = (d: Date | null) => d?.toISOString() ?? '';
  let after = '';
  let headerSent = false;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!headerSent) {
        headerSent = true;
        controller.enqueue(encoder.encode(`\uFEFF${EXPORT_FIELDS.join(',')}\r\n`));
        return;
      }
      const rows = (await baseQuery(ctx.db, listColumns)
        .where(and(where, gt(contacts.id, after)))
        .orderBy(asc(contacts.id))
        .limit(EXPORT_PAGE)) as unknown as ContactListRow[];
      if (rows.length === 0) {
        controller.close();
        return;
      }
      after = rows[rows.length - 1]!.id;
      const lines = rows.map((r) =>
        [
          r.id,
          r.email,
          r.phone,
          r.firstName,
          r.lastName,
          r.newsletter ?? '',
          r.newsletter === 'granted' ? iso(r.newsletterConfirmedAt) : '',
          r.openTracking ?? '',
          r.ownerAgentName,
          r.sourceCampaign,
          iso(r.createdAt),
          iso(r.lastProspectActionAt),
          Object.keys(r.attributes ?? {}).length ? r.attributes : '',
        ]
          .map(csvField)
          .join(','),
      );
      controller.enqueue(encoder.encode(lines.join('\r\n') + '\r\n'));
    },
  });
  return { rows: n, stream };
}

/** How many of the most recent sends and events a profile shows (the access export has them all). */
export const PROFILE_LIMIT = 200;

/**
 * Admin only. One contact of the workspace (another workspace's id is a 404), erased or not:
 * identity, owner agent, source campaign, current consent per purpose, every ledger event with
 * the script version read (label, version, SHA-256), the evidence still held and the event hash,
 * the newsletters sent with their delivery and human/machine opens and clicks, the opens and
 * clicks themselves with the machine verdict and its reason, and the conversions. Reads only.
 */
export async function contactProfile({ ctx, input }: { ctx: Pick<Ctx, 'db' | 'workspaceId'>; input: { id: string } }) {
  const contact = await ctx.db.query.contacts.findFirst({ where: and(eq(contacts.id, input.id), eq(contacts.workspaceId, ctx.workspaceId)) });
  if (!contact) throw new NotFound('contact_not_found', 'No such contact in this workspace.');
  const owner = contact.ownerAgentId ? await ctx.db.query.users.findFirst({ where: eq(users.id, contact.ownerAgentId), columns: { name: true } }) : undefined;
  const consents = await ctx.db.select().from(consentState).where(eq(consentState.contactId, contact.id)).orderBy(asc(consentState.purpose));

  const ledger = await ctx.db
    .select({
      event: consentEvents,
      evidence: consentEvidence.data,
      scriptLabel: consentScripts.label,
      scriptVersion: consentScripts.version,
      actorName: users.name,
    })
    .from(consentEvents)
    .leftJoin(consentEvidence, eq(consentEvidence.eventId, consentEvents.id))
    .leftJoin(consentScripts, eq(consentScripts.id, consentEvents.scriptId))
    .leftJoin(users, and(eq(consentEvents.actorType, 'user'), eq(users.id, consentEvents.actorId)))
    .where(and(eq(consentEvents.workspaceId, ctx.workspaceId), eq(consentEvents.contactId, contact.id)))
    .orderBy(asc(consentEvents.seq));

  const sent = await ctx.db
    .select({
      id: sends.id,
      campaignId: sends.campaignId,
      campaign: campaigns.name,
      status: sends.status,
      error: sends.error,
      sentAt: sends.sentAt,
      createdAt: sends.createdAt,
      tracksOpens: sends.tracksOpens,
      deliveredAt: sends.deliveredAt,
      bouncedAt: sends.bouncedAt,
      complainedAt: sends.complainedAt,
      unsubscribedAt: sends.unsubscribedAt,
      humanOpens: sends.humanOpens,
      machineOpens: sends.machineOpens,
      humanClicks: sends.humanClicks,
      machineClicks: sends.machineClicks,
      conversions: sends.conversions,
      conversionValue: sends.conversionValue,
    })
    .from(sends)
    .innerJoin(campaigns, eq(campaigns.id, sends.campaignId))
    .where(and(eq(sends.workspaceId, ctx.workspaceId), eq(sends.contactId, contact.id)))
    .orderBy(desc(sends.id))
    .limit(PROFILE_LIMIT);

  const activity = await ctx.db
    .select({
      id: sendEvents.id,
      campaign: campaigns.name,
      type: sendEvents.type,
      linkIndex: sendEvents.linkIndex,
      machine: sendEvents.machine,
      machineReason: sendEvents.machineReason,
      hits: sendEvents.hits,
      detail: sendEvents.detail,
      occurredAt: sendEvents.occurredAt,
    })
    .from(sendEvents)
    .innerJoin(sends, eq(sends.id, sendEvents.sendId))
    .innerJoin(campaigns, eq(campaigns.id, sends.campaignId))
    .where(and(eq(sends.workspaceId, ctx.workspaceId), eq(sends.contactId, contact.id), inArray(sendEvents.type, ['open', 'click', 'unsubscribe'])))
    .orderBy(desc(sendEvents.occurredAt), desc(sendEvents.id))
    .limit(PROFILE_LIMIT);

  const converted = await ctx.db
    .select({
      id: conversions.id,
      type: conversions.type,
      value: conversions.value,
      currency: conversions.currency,
      occurredAt: conversions.occurredAt,
      attribution: conversions.attribution,
      campaign: campaigns.name,
    })
    .from(conversions)
    .leftJoin(campaigns, eq(campaigns.id, conversions.campaignId))
    .where(and(eq(conversions.workspaceId, ctx.workspaceId), eq(conversions.contactId, contact.id)))
    .orderBy(desc(conversions.occurredAt));

  const suppression = contact.emailHash ? await activeSuppression(ctx.db, ctx.workspaceId, contact.emailHash) : null;

  return {
    contact: { ...contact, ownerAgentName: owner?.name ?? null },
    erased: contact.erasedAt !== null,
    consents,
    ledger: ledger.map((r) => ({
      ...r.event,
      evidence: r.evidence ?? null,
      script: r.event.scriptId ? { id: r.event.scriptId, label: r.scriptLabel, version: r.scriptVersion, sha256: r.event.scriptSha256 } : null,
      actorName: r.actorName ?? null,
    })),
    sends: sent,
    activity,
    conversions: converted,
    suppression: suppression ? { reason: suppression.reason, since: suppression.suppressedAt } : null,
  };
}

export type ContactProfile = Awaited<ReturnType<typeof contactProfile>>;
