/**
 * Conversions: a prospect became a customer (a quote, a booking). Reported by the shop or
 * booking site (`POST /api/v1/conversions`, API key with `conversions:write`) or recorded by an
 * agent when a prospect calls back after a newsletter ("Appelez votre conseiller").
 *
 * Attribution, decided once when recorded and stored with its rule:
 *  1. `click_token`: the request carries the `cn_click` token from the landing URL: the campaign
 *     and recipient of that click;
 *  2. `last_click`: else the last campaign this contact clicked (human clicks only) within the
 *     workspace's attribution window before the conversion (default 30 days);
 *  3. `last_delivered`: else the last campaign delivered to them (sent, when the provider has not
 *     reported delivery) within that window;
 *  4. `none`: else nobody's: counted in the workspace, in no campaign.
 *
 * Idempotent on the reporter's `externalId`: the same request again returns the first record;
 * another request with the same id is a conflict. A conversion is a prospect-originated action:
 * it restarts the CNIL retention period.
 */
import { and, desc, eq, gte, isNull, lte, sql } from 'drizzle-orm';
import { contacts, conversions, events, sends, workspaces, type AttributionRule } from '../db/schema.js';
import { actorRef, type Ctx } from '../domain/context.js';
import { normaliseEmail } from '../domain/contacts/normalise.js';
import { Conflict, Invalid, NotFound } from '../domain/errors.js';
import { canonicalJson } from '../domain/consent/chain.js';
import { sha256HexSync } from '../lib/crypto.js';
import { newId } from '../lib/ids.js';
import { recomputeSendOutcomes } from './rollup.js';
import { readClickToken } from './tokens.js';

/** Reporting currency of every workspace for now (values of other currencies are refused, not converted). */
export const REPORTING_CURRENCY = 'EUR';
/** One conversion above this is a typo or an attack, not a booking. */
export const MAX_VALUE = 1_000_000;
/** Conversions reported later than this after the fact are refused (stats are closed by then). */
const MAX_AGE_DAYS = 365;
/** Clock skew tolerated for a conversion time slightly in the future. */
const FUTURE_SKEW_MS = 5 * 60_000;

export interface ConversionInput {
  clickToken?: string | undefined;
  contactId?: string | undefined;
  email?: string | undefined;
  type: string;
  /** Major units (euros), at most two decimals. */
  value?: number | undefined;
  currency?: string | undefined;
  occurredAt?: Date | undefined;
  externalId: string;
}

export type Conversion = typeof conversions.$inferSelect;

export async function recordConversion({ ctx, input }: { ctx: Ctx; input: ConversionInput }): Promise<{ conversion: Conversion; replayed: boolean }> {
  const now = ctx.clock.now();
  const occurredAt = input.occurredAt ?? now;
  const issues = [];
  if (occurredAt.getTime() > now.getTime() + FUTURE_SKEW_MS) issues.push({ field: 'occurredAt', message: 'is in the future' });
  if (occurredAt.getTime() < now.getTime() - MAX_AGE_DAYS * 86_400_000) issues.push({ field: 'occurredAt', message: `is more than ${MAX_AGE_DAYS} days ago` });
  const value = input.value ?? 0;
  if (!Number.isFinite(value) || value < 0) issues.push({ field: 'value', message: 'must be zero or more' });
  else if (value > MAX_VALUE) issues.push({ field: 'value', message: `must be at most ${MAX_VALUE}` });
  else if (Math.abs(Math.round(value * 100) - value * 100) > 1e-6) issues.push({ field: 'value', message: 'has more than two decimals' });
  const currency = (input.currency ?? REPORTING_CURRENCY).toUpperCase();
  if (currency !== REPORTING_CURRENCY) issues.push({ field: 'currency', message: `must be ${REPORTING_CURRENCY}, the workspace's reporting currency (values are not converted)` });
  if (issues.length) throw new Invalid('invalid_input', 'This conversion cannot be recorded.', issues);

  const requestHash = sha256HexSync(
    canonicalJson({ ...input, value, currency, occurredAt: input.occurredAt?.toISOString() ?? null, email: input.email ? normaliseEmail(input.email) : null }),
  );
  const existing = await ctx.db.query.conversions.findFirst({ where: and(eq(conversions.workspaceId, ctx.workspaceId), eq(conversions.externalId, input.externalId)) });
  if (existing) return replayOf(existing, requestHash);

  const who = await identify(ctx, input);
  const ws = await ctx.db.query.workspaces.findFirst({ where: eq(workspaces.id, ctx.workspaceId) });
  const windowMs = (ws?.settings.attributionWindowDays ?? 30) * 86_400_000;
  const attributed = who.send ?? (await attribute(ctx, who.contactId, occurredAt, windowMs));
  const { actorType, actorId } = actorRef(ctx.actor);
  const row: Conversion = {
    id: newId('cv'),
    workspaceId: ctx.workspaceId,
    contactId: who.contactId,
    externalId: input.externalId,
    type: input.type,
    value: Math.round(value * 100),
    currency,
    occurredAt,
    recordedAt: now,
    campaignId: attributed?.campaignId ?? null,
    sendId: attributed?.sendId ?? null,
    attribution: attributed?.rule ?? 'none',
    actorType,
    actorId,
    requestHash,
  };
  const inserted = await ctx.db.transaction(async (tx) => {
    const done = await tx.insert(conversions).values(row).onConflictDoNothing().returning({ id: conversions.id });
    if (done.length === 0) return false; // the same external id, recorded by a concurrent request
    await tx
      .update(contacts)
      .set({ lastProspectActionAt: sql`max(${contacts.lastProspectActionAt}, ${occurredAt.getTime()})` })
      .where(eq(contacts.id, who.contactId));
    if (row.sendId !== null) await recomputeSendOutcomes(tx, [row.sendId]);
    return true;
  });
  if (!inserted) {
    const winner = await ctx.db.query.conversions.findFirst({ where: and(eq(conversions.workspaceId, ctx.workspaceId), eq(conversions.externalId, input.externalId)) });
    return replayOf(winner!, requestHash);
  }
  return { conversion: row, replayed: false };
}

function replayOf(existing: Conversion, requestHash: string) {
  if (existing.requestHash !== requestHash) {
    throw new Conflict('external_id_conflict', 'A different conversion was already recorded with this externalId.', { issues: [{ field: 'externalId', message: 'already used for another conversion' }] });
  }
  return { conversion: existing, replayed: true };
}

interface Attributed {
  campaignId: string;
  sendId: number;
  rule: AttributionRule;
}

async function identify(ctx: Ctx, input: ConversionInput): Promise<{ contactId: string; send: Attributed | null }> {
  if (input.clickToken !== undefined) {
    const claims = readClickToken(ctx.signingKeys, input.clickToken);
    const [send] = claims
      ? await ctx.db
          .select({ id: sends.id, contactId: sends.contactId, erasedAt: contacts.erasedAt })
          .from(sends)
          .innerJoin(contacts, eq(contacts.id, sends.contactId))
          .where(and(eq(sends.id, claims.sendId), eq(sends.campaignId, claims.campaignId), eq(sends.workspaceId, ctx.workspaceId)))
      : [];
    // Forged, altered, or another workspace's: the same answer, which tells nothing about the others.
    if (!claims || !send) throw new Invalid('invalid_input', 'This conversion cannot be recorded.', [{ field: 'clickToken', message: 'is not a click token of this workspace' }]);
    if (send.erasedAt) throw new NotFound('contact_not_found', 'This person was erased.');
    return { contactId: send.contactId, send: { campaignId: claims.campaignId, sendId: send.id, rule: 'click_token' } };
  }
  const email = input.contactId === undefined ? normaliseEmail(input.email ?? '') : null;
  if (input.contactId === undefined && !email) throw new Invalid('invalid_input', 'This conversion cannot be recorded.', [{ field: 'email', message: 'is not a valid email address' }]);
  const where = input.contactId !== undefined ? eq(contacts.id, input.contactId) : eq(contacts.email, email!);
  const contact = await ctx.db.query.contacts.findFirst({ where: and(eq(contacts.workspaceId, ctx.workspaceId), where, isNull(contacts.erasedAt)) });
  if (!contact) throw new NotFound('contact_not_found', `No contact with this ${input.contactId !== undefined ? 'id' : 'email'} in this workspace.`);
  return { contactId: contact.id, send: null };
}

async function attribute(ctx: Ctx, contactId: string, at: Date, windowMs: number): Promise<Attributed | null> {
  const from = new Date(at.getTime() - windowMs);
  const [click] = await ctx.db
    .select({ sendId: sends.id, campaignId: sends.campaignId })
    .from(events)
    .innerJoin(sends, eq(sends.id, events.sendId))
    .where(and(eq(sends.contactId, contactId), eq(events.type, 'click'), eq(events.machine, false), gte(events.occurredAt, from), lte(events.occurredAt, at)))
    .orderBy(desc(events.occurredAt))
    .limit(1);
  if (click) return { ...click, rule: 'last_click' };
  const reached = sql`coalesce(${sends.deliveredAt}, ${sends.sentAt})`;
  const [delivered] = await ctx.db
    .select({ sendId: sends.id, campaignId: sends.campaignId })
    .from(sends)
    .where(and(eq(sends.contactId, contactId), eq(sends.status, 'sent'), isNull(sends.bouncedAt), sql`${reached} BETWEEN ${from.getTime()} AND ${at.getTime()}`))
    .orderBy(desc(reached))
    .limit(1);
  return delivered ? { ...delivered, rule: 'last_delivered' } : null;
}
