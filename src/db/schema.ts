/**
 * The database schema (drizzle, SQLite/libSQL dialect).
 *
 * Conventions: ids are prefixed random strings (`ws_…`, `usr_…`); times are integer epoch
 * milliseconds; JSON columns hold small, schema-checked documents. Every table that holds
 * a brand's data carries `workspace_id`, and every query filters on it: that is how one
 * brand never sees another's leads.
 *
 * Later tables (contacts, consent_events, campaigns, sends, events, suppressions) follow
 * DESIGN.md §5 and arrive with the issues that need them.
 */
import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import type { CompiledEmail } from '../email/artefact.js';
import type { OutgoingEmail } from '../email/mailer.js';
import type { SegmentRules } from '../domain/segments/rules.js';

const createdAt = () =>
  integer('created_at', { mode: 'timestamp_ms' })
    .notNull()
    .default(sql`(unixepoch('subsec') * 1000)`);

/** Settings a workspace can change without a migration. Parsed by `workspaceSettingsSchema`. */
export interface WorkspaceSettings {
  /** Newsletters go only to contacts who confirmed by email (double opt-in). */
  requireDoubleOptIn: boolean;
  /** CNIL: prospects are kept 3 years after their last prospect-originated contact. */
  retentionDays: number;
  /** Attribution window for conversions after a click. */
  attributionWindowDays: number;
}

export const defaultWorkspaceSettings: WorkspaceSettings = {
  requireDoubleOptIn: true,
  retentionDays: 3 * 365,
  attributionWindowDays: 30,
};

/** A workspace is one data controller (a brand such as "Voyage Online"). */
export const workspaces = sqliteTable('workspaces', {
  id: text('id').primaryKey(),
  slug: text('slug').notNull().unique(),
  /** Brand name shown to subscribers. */
  name: text('name').notNull(),
  /** Controller identity (CPCE L.34-5: every message identifies the advertiser). */
  legalName: text('legal_name').notNull(),
  addressLine: text('address_line').notNull(),
  postalCode: text('postal_code').notNull(),
  city: text('city').notNull(),
  country: text('country').notNull().default('FR'),
  contactEmail: text('contact_email').notNull(),
  contactPhone: text('contact_phone').notNull(),
  privacyUrl: text('privacy_url').notNull(),
  dpoContact: text('dpo_contact').notNull(),
  senderName: text('sender_name').notNull(),
  senderEmail: text('sender_email').notNull(),
  replyTo: text('reply_to'),
  settings: text('settings', { mode: 'json' }).$type<WorkspaceSettings>().notNull(),
  createdAt: createdAt(),
  updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
});

export const users = sqliteTable('users', {
  id: text('id').primaryKey(),
  /** Normalised (trimmed, lower-cased): one account per address across workspaces. */
  email: text('email').notNull().unique(),
  name: text('name').notNull(),
  /** `pbkdf2-sha256$<iterations>$<salt>$<hash>`; null until an invited user sets a password. */
  passwordHash: text('password_hash'),
  disabledAt: integer('disabled_at', { mode: 'timestamp_ms' }),
  /**
   * Sessions are stateless tokens; each carries the generation it was issued under. Logging out
   * bumps it, which ends every session of the person at once (a copied token dies with them).
   */
  sessionGeneration: integer('session_generation').notNull().default(0),
  createdAt: createdAt(),
});

export const roles = ['admin', 'marketer', 'agent'] as const;
export type Role = (typeof roles)[number];

export const memberships = sqliteTable(
  'memberships',
  {
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id),
    userId: text('user_id')
      .notNull()
      .references(() => users.id),
    role: text('role', { enum: roles }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.userId] }), index('memberships_user_idx').on(t.userId)],
);

/**
 * Scopes an integration key can hold. Keys are for machines (dialer, CRM, shop);
 * people use their own login.
 */
export const apiKeyScopes = [
  'consents:write',
  'contacts:read',
  'conversions:write',
  'campaigns:read',
  'campaigns:write',
  'stats:read',
] as const;
export type ApiKeyScope = (typeof apiKeyScopes)[number];

export const apiKeys = sqliteTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id),
    name: text('name').notNull(),
    /** First characters of the key, shown in lists so people can tell keys apart. */
    prefix: text('prefix').notNull(),
    /** SHA-256 of the whole key, hex. The key itself is shown once and never stored. */
    keyHash: text('key_hash').notNull(),
    scopes: text('scopes', { mode: 'json' }).$type<ApiKeyScope[]>().notNull(),
    createdBy: text('created_by')
      .notNull()
      .references(() => users.id),
    createdAt: createdAt(),
    lastUsedAt: integer('last_used_at', { mode: 'timestamp_ms' }),
    revokedAt: integer('revoked_at', { mode: 'timestamp_ms' }),
  },
  (t) => [uniqueIndex('api_keys_hash_idx').on(t.keyHash), index('api_keys_workspace_idx').on(t.workspaceId)],
);

/**
 * Who did what, written in the same transaction as the change it describes (fail closed).
 * `actorType` + `actorId` name a user, an API key, a subscriber (contact) or the system.
 */
export const auditLog = sqliteTable(
  'audit_log',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id),
    actorType: text('actor_type', { enum: ['user', 'api_key', 'subscriber', 'system'] }).notNull(),
    actorId: text('actor_id'),
    action: text('action').notNull(),
    targetType: text('target_type'),
    targetId: text('target_id'),
    details: text('details', { mode: 'json' }).$type<Record<string, unknown>>(),
    requestId: text('request_id'),
    at: integer('at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [index('audit_log_workspace_at_idx').on(t.workspaceId, t.at)],
);

/**
 * Failed login attempts, kept briefly to throttle guessing per account and per IP.
 * In the database (not process memory) so the limit holds across Worker isolates.
 */
export const loginFailures = sqliteTable(
  'login_failures',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    /** `email:<normalised address>` or `ip:<address>`. */
    key: text('key').notNull(),
    at: integer('at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [index('login_failures_key_at_idx').on(t.key, t.at)],
);

/**
 * The dev outbox: every message the platform would have sent, when no RESEND_API_KEY is set.
 * Lets a newcomer (and the tests) see exactly what subscribers and users would receive.
 */
export const outboxMessages = sqliteTable(
  'outbox_messages',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').references(() => workspaces.id),
    from: text('from').notNull(),
    to: text('to').notNull(),
    replyTo: text('reply_to'),
    subject: text('subject').notNull(),
    html: text('html').notNull(),
    text: text('text').notNull(),
    headers: text('headers', { mode: 'json' }).$type<Record<string, string>>().notNull(),
    tags: text('tags', { mode: 'json' }).$type<Record<string, string>>().notNull(),
    idempotencyKey: text('idempotency_key'),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [
    index('outbox_workspace_created_idx').on(t.workspaceId, t.createdAt),
    uniqueIndex('outbox_idempotency_idx').on(t.idempotencyKey),
  ],
);

/** Lifecycle of a campaign; sending states arrive with the sending pipeline. */
export const campaignStatuses = ['draft', 'scheduled', 'sending', 'paused', 'sent', 'cancelled', 'failed'] as const;
export type CampaignStatus = (typeof campaignStatuses)[number];

/**
 * A newsletter. The marketer owns name, subject, preheader and the MJML body; the platform
 * stores the compiled artefact (static chunks + slots, verified to carry the mandatory blocks)
 * with the version it was compiled from. An invalid body is never stored.
 */
export const campaigns = sqliteTable(
  'campaigns',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id),
    name: text('name').notNull(),
    subject: text('subject').notNull(),
    preheader: text('preheader').notNull(),
    body: text('body').notNull(),
    /** The starter template it was created from, if any. */
    templateId: text('template_id'),
    status: text('status', { enum: campaignStatuses }).notNull().default('draft'),
    /** Bumped by every content change; the compiled artefact records which version it is. */
    version: integer('version').notNull(),
    compiled: text('compiled', { mode: 'json' }).$type<CompiledEmail>().notNull(),
    /** When it was compiled: a later change of the workspace identity means compiling again. */
    compiledAt: integer('compiled_at', { mode: 'timestamp_ms' }).notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
    /** The segment it goes to (chosen when sending or scheduling). */
    segmentId: text('segment_id'),
    scheduledAt: integer('scheduled_at', { mode: 'timestamp_ms' }),
    startedAt: integer('started_at', { mode: 'timestamp_ms' }),
    finishedAt: integer('finished_at', { mode: 'timestamp_ms' }),
    /** Set once every recipient has a row in `sends` (materialisation can resume after a crash). */
    audienceCompleteAt: integer('audience_complete_at', { mode: 'timestamp_ms' }),
    /** Why it is paused or failed, in words a marketer can act on. */
    statusReason: text('status_reason'),
    /** UTM parameters and the click id added to its links' destinations; frozen with the content at send. */
    linkTracking: text('link_tracking', { mode: 'json' }).$type<LinkTracking>(),
    /**
     * Until when one worker holds this campaign's send (a Queue consumer on Workers, see
     * src/sending/lease.ts): a second message for the same campaign is acknowledged and dropped
     * instead of sending beside it, and the Cron Trigger only re-enqueues campaigns nobody holds.
     */
    sendLeaseUntil: integer('send_lease_until', { mode: 'timestamp_ms' }),
  },
  (t) => [index('campaigns_workspace_updated_idx').on(t.workspaceId, t.updatedAt), index('campaigns_status_idx').on(t.status, t.scheduledAt)],
);

/** What the click redirect adds to a link's destination (never overriding the author's own parameters). */
export interface LinkTracking {
  utm?: { source: string; medium: string; campaign: string; content?: string };
  /** Append `cn_click=<token>` so the landing site can report a conversion with it. */
  appendClickId?: boolean;
}

export const sendStatuses = ['queued', 'claimed', 'sent', 'failed', 'suppressed'] as const;
export type SendStatus = (typeof sendStatuses)[number];

/**
 * The send ledger: one row per recipient of a campaign (unique), the durable queue of a send.
 * Rows are claimed by batches of at most 100 (`batch` is fixed at claim, so a batch retried after
 * a crash is the same request with the same Idempotency-Key); the recipient's segment and owner
 * agent are copied here so analytics stay stable when rules or owners change later.
 */
export const sends = sqliteTable(
  'sends',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    workspaceId: text('workspace_id').notNull(),
    campaignId: text('campaign_id')
      .notNull()
      .references(() => campaigns.id),
    contactId: text('contact_id')
      .notNull()
      .references(() => contacts.id),
    status: text('status', { enum: sendStatuses }).notNull(),
    batch: integer('batch'),
    providerId: text('provider_id'),
    error: text('error'),
    segmentLabels: text('segment_labels', { mode: 'json' }).$type<string[]>().notNull(),
    ownerAgentId: text('owner_agent_id'),
    sourceCampaign: text('source_campaign'),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    sentAt: integer('sent_at', { mode: 'timestamp_ms' }),
    /**
     * Whether this message carries the open pixel: the recipient's `open_tracking` consent when
     * the batch was claimed (CNIL délibération 2026-042). The "tracked base" of open rates.
     */
    tracksOpens: integer('tracks_opens', { mode: 'boolean' }).notNull().default(false),
    // What happened to this message afterwards: a rollup of its `events` and `conversions`,
    // kept equal to them in the transaction that writes them (src/tracking/rollup.ts), so stats read one row
    // per recipient instead of every event.
    deliveredAt: integer('delivered_at', { mode: 'timestamp_ms' }),
    bouncedAt: integer('bounced_at', { mode: 'timestamp_ms' }),
    complainedAt: integer('complained_at', { mode: 'timestamp_ms' }),
    unsubscribedAt: integer('unsubscribed_at', { mode: 'timestamp_ms' }),
    humanOpens: integer('human_opens').notNull().default(0),
    machineOpens: integer('machine_opens').notNull().default(0),
    humanClicks: integer('human_clicks').notNull().default(0),
    machineClicks: integer('machine_clicks').notNull().default(0),
    conversions: integer('conversions').notNull().default(0),
    /** Sum of attributed conversion values, in minor units of the workspace currency. */
    conversionValue: integer('conversion_value').notNull().default(0),
  },
  (t) => [
    uniqueIndex('sends_campaign_contact_idx').on(t.campaignId, t.contactId),
    index('sends_provider_idx').on(t.providerId),
    index('sends_contact_idx').on(t.contactId, t.sentAt),
    index('sends_campaign_status_idx').on(t.campaignId, t.status, t.id),
    index('sends_campaign_batch_idx').on(t.campaignId, t.batch),
  ],
);

/** Purposes every workspace asks about; workspaces may add their own (`partners`…). */
export const corePurposes = ['newsletter', 'open_tracking'] as const;
export const PURPOSE_PATTERN = /^[a-z][a-z0-9_]{1,39}$/;

/**
 * The exact text an agent reads for a purpose (GDPR Art. 13 information, EDPB 05/2020 §108:
 * keep a copy of what was presented). Append-only: a new wording is a new version; triggers
 * refuse any UPDATE or DELETE, so a proof can always show what was read.
 */
export const consentScripts = sqliteTable(
  'consent_scripts',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id),
    purpose: text('purpose').notNull(),
    version: integer('version').notNull(),
    /** Short label shown to agents and subscribers ("Newsletter Voyage Online"). */
    label: text('label').notNull(),
    text: text('text').notNull(),
    /** SHA-256 of `text`, hex: what the ledger records with each answer. */
    sha256: text('sha256').notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [uniqueIndex('consent_scripts_version_idx').on(t.workspaceId, t.purpose, t.version)],
);

export const contacts = sqliteTable(
  'contacts',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id),
    /** Normalised (trimmed, lower-cased); null once erased. */
    email: text('email'),
    /** E.164. */
    phone: text('phone'),
    firstName: text('first_name'),
    lastName: text('last_name'),
    locale: text('locale').notNull().default('fr'),
    attributes: text('attributes', { mode: 'json' }).$type<Record<string, string | number | boolean>>().notNull(),
    /** The agent (user) whose call brought this lead; their dashboard counts it. */
    ownerAgentId: text('owner_agent_id'),
    /** The call campaign the lead came from ("Voyage à Rome"). */
    sourceCampaign: text('source_campaign'),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
    /** CNIL retention runs from the last contact *coming from the prospect* (capture, click…; not an open). */
    lastProspectActionAt: integer('last_prospect_action_at', { mode: 'timestamp_ms' }).notNull(),
    erasedAt: integer('erased_at', { mode: 'timestamp_ms' }),
    /**
     * HMAC of `email` with the workspace's suppression key (src/domain/privacy/suppressions.ts):
     * lets audience queries exclude suppressed addresses in SQL. Null once erased.
     */
    emailHash: text('email_hash'),
  },
  (t) => [
    uniqueIndex('contacts_email_idx').on(t.workspaceId, t.email),
    index('contacts_email_hash_idx').on(t.workspaceId, t.emailHash),
    index('contacts_phone_idx').on(t.workspaceId, t.phone),
    index('contacts_owner_idx').on(t.workspaceId, t.ownerAgentId),
  ],
);

/** Why a phone call to a consumer was lawful (Code de la consommation L.223-1, from 11 Aug 2026). */
export const callBases = ['prior_consent', 'ongoing_contract', 'inbound_call'] as const;
export type CallBasis = (typeof callBases)[number];

/** One recorded call: what the agent captured at its end. */
export const calls = sqliteTable(
  'calls',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id),
    contactId: text('contact_id')
      .notNull()
      .references(() => contacts.id),
    /** The dialer's reference for the call. */
    callRef: text('call_ref').notNull(),
    basis: text('basis', { enum: callBases }).notNull(),
    /** Reference of the prior consent or contract, when the basis has one. */
    basisRef: text('basis_ref'),
    callCampaign: text('call_campaign'),
    agentId: text('agent_id'),
    actorType: text('actor_type', { enum: ['user', 'api_key', 'subscriber', 'system'] }).notNull(),
    actorId: text('actor_id'),
    occurredAt: integer('occurred_at', { mode: 'timestamp_ms' }).notNull(),
    recordedAt: integer('recorded_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [index('calls_workspace_agent_idx').on(t.workspaceId, t.agentId, t.occurredAt), index('calls_contact_idx').on(t.contactId)],
);

export const consentActions = ['granted', 'refused', 'confirmed', 'withdrawn'] as const;
export type ConsentAction = (typeof consentActions)[number];
export const consentChannels = ['phone', 'email_link', 'web', 'api', 'system'] as const;
export type ConsentChannel = (typeof consentChannels)[number];

/**
 * The consent ledger: append-only (triggers refuse UPDATE and DELETE) and hash-chained per
 * workspace (`seq` orders it; `hash` = SHA-256 over `prev_hash` and a canonical serialisation
 * of the event), so an edited, removed or reordered event is detected (src/domain/consent/chain.ts).
 */
export const consentEvents = sqliteTable(
  'consent_events',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id),
    /** Position in the workspace's chain, from 1. */
    seq: integer('seq').notNull(),
    contactId: text('contact_id')
      .notNull()
      .references(() => contacts.id),
    purpose: text('purpose').notNull(),
    action: text('action', { enum: consentActions }).notNull(),
    channel: text('channel', { enum: consentChannels }).notNull(),
    actorType: text('actor_type', { enum: ['user', 'api_key', 'subscriber', 'system'] }).notNull(),
    actorId: text('actor_id'),
    callId: text('call_id'),
    callRef: text('call_ref'),
    callBasis: text('call_basis'),
    scriptId: text('script_id'),
    scriptSha256: text('script_sha256'),
    /**
     * SHA-256 of the evidence (IP, user agent…) kept in `consent_evidence`. The chain covers this
     * digest, not the personal data itself, so erasing the evidence (GDPR Art. 17) leaves the
     * chain verifiable.
     */
    evidenceSha256: text('evidence_sha256').notNull(),
    occurredAt: integer('occurred_at', { mode: 'timestamp_ms' }).notNull(),
    recordedAt: integer('recorded_at', { mode: 'timestamp_ms' }).notNull(),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [
    uniqueIndex('consent_events_seq_idx').on(t.workspaceId, t.seq),
    index('consent_events_contact_idx').on(t.contactId, t.seq),
    index('consent_events_actor_idx').on(t.workspaceId, t.actorId, t.recordedAt),
    // A call's receipt and the per-agent stats read a call's events: without it, each call read
    // the whole ledger (128 ms per stats query at 1,400 calls in the load bench).
    index('consent_events_call_idx').on(t.callId),
  ],
);

/** How an event was given (IP address, user agent, source): personal data, erasable. */
export const consentEvidence = sqliteTable('consent_evidence', {
  eventId: text('event_id').primaryKey(),
  workspaceId: text('workspace_id').notNull(),
  data: text('data', { mode: 'json' }).$type<Record<string, string>>().notNull(),
});

export const consentStatuses = ['granted', 'refused', 'withdrawn'] as const;
export type ConsentStatus = (typeof consentStatuses)[number];

/** Current consent per contact and purpose, derived from the ledger in the same transaction. */
export const consentState = sqliteTable(
  'consent_state',
  {
    workspaceId: text('workspace_id').notNull(),
    contactId: text('contact_id')
      .notNull()
      .references(() => contacts.id),
    purpose: text('purpose').notNull(),
    status: text('status', { enum: consentStatuses }).notNull(),
    /** When the current grant was confirmed by email (double opt-in); null otherwise. */
    confirmedAt: integer('confirmed_at', { mode: 'timestamp_ms' }),
    since: integer('since', { mode: 'timestamp_ms' }).notNull(),
    lastEventId: text('last_event_id').notNull(),
  },
  (t) => [primaryKey({ columns: [t.contactId, t.purpose] }), index('consent_state_audience_idx').on(t.workspaceId, t.purpose, t.status)],
);

/**
 * Idempotency-Key records: a retried request with the same key and body gets the first answer
 * and writes nothing; the same key with another body is a conflict.
 */
export const idempotencyKeys = sqliteTable(
  'idempotency_keys',
  {
    workspaceId: text('workspace_id').notNull(),
    key: text('key').notNull(),
    route: text('route').notNull(),
    requestHash: text('request_hash').notNull(),
    status: integer('status').notNull(),
    response: text('response', { mode: 'json' }).notNull(),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.route, t.key] }), index('idempotency_keys_created_at_idx').on(t.createdAt)],
);

/**
 * Platform emails waiting to be sent (transactional outbox): written in the same transaction as
 * the change that causes them (a consent capture), so a crash after commit never loses one,
 * then sent in batches by the mail dispatcher (src/email/dispatcher.ts).
 */
export const emailQueue = sqliteTable(
  'email_queue',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id'),
    message: text('message', { mode: 'json' }).$type<OutgoingEmail>().notNull(),
    /** Passed to the mailer: a resend after a crash is not a second email. */
    idempotencyKey: text('idempotency_key').notNull(),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    nextAttemptAt: integer('next_attempt_at', { mode: 'timestamp_ms' }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    claimedUntil: integer('claimed_until', { mode: 'timestamp_ms' }),
    sentAt: integer('sent_at', { mode: 'timestamp_ms' }),
    providerId: text('provider_id'),
    failedAt: integer('failed_at', { mode: 'timestamp_ms' }),
    lastError: text('last_error'),
  },
  (t) => [uniqueIndex('email_queue_key_idx').on(t.idempotencyKey), index('email_queue_due_idx').on(t.sentAt, t.nextAttemptAt)],
);

/**
 * A saved audience definition: rules over contact fields, attributes, owner agent, source call
 * campaign and consent state (src/domain/segments/rules.ts). Evaluated in SQL, never in memory.
 */
export const segments = sqliteTable(
  'segments',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id),
    name: text('name').notNull(),
    rules: text('rules', { mode: 'json' }).$type<SegmentRules>().notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [index('segments_workspace_idx').on(t.workspaceId, t.name)],
);

/**
 * Secrets a workspace owns, kept apart from `workspaces` so no query that shows a workspace can
 * leak them. `suppression_key` keys the HMAC of suppressed addresses (CNIL: keep suppression data
 * as a keyed hash); it never rotates, or every suppression would stop matching.
 */
export const workspaceKeys = sqliteTable('workspace_keys', {
  workspaceId: text('workspace_id')
    .primaryKey()
    .references(() => workspaces.id),
  suppressionKey: text('suppression_key').notNull(),
  createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
});

export const suppressionReasons = ['unsubscribed', 'erased', 'complained', 'hard_bounce', 'admin'] as const;
export type SuppressionReason = (typeof suppressionReasons)[number];

/**
 * Addresses that must not be mailed: HMAC-SHA-256 of the normalised email, never the address,
 * so the list survives erasure (an erased person is never re-imported and mailed). Checked when
 * the audience is built and again when each batch is claimed. A suppression lifts only when the
 * person confirms a new consent by email; the row then keeps when and why (`lifted_*`).
 */
export const suppressions = sqliteTable(
  'suppressions',
  {
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id),
    emailHash: text('email_hash').notNull(),
    reason: text('reason', { enum: suppressionReasons }).notNull(),
    /** What caused it: a consent event, a campaign, a request (ids only, nothing personal). */
    source: text('source', { mode: 'json' }).$type<Record<string, string>>().notNull(),
    suppressedAt: integer('suppressed_at', { mode: 'timestamp_ms' }).notNull(),
    liftedAt: integer('lifted_at', { mode: 'timestamp_ms' }),
    /** The `confirmed` consent event that lifted it. */
    liftedByEventId: text('lifted_by_event_id'),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.emailHash] })],
);

export const dsrTypes = ['access', 'portability', 'erasure', 'rectification', 'objection'] as const;
export type DsrType = (typeof dsrTypes)[number];
export const dsrStatuses = ['open', 'completed', 'refused'] as const;
export type DsrStatus = (typeof dsrStatuses)[number];
export const dsrChannels = ['preference_centre', 'phone', 'email', 'letter', 'other'] as const;
export type DsrChannel = (typeof dsrChannels)[number];

/**
 * Data-subject requests (GDPR Art. 15–21), each due one month after receipt (Art. 12(3)).
 * Requests made from the preference centre are verified by its token and done at once; others
 * are logged by an admin and worked through the list, soonest deadline first.
 */
export const dsrRequests = sqliteTable(
  'dsr_requests',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id),
    /** Kept after erasure: the id is random and the contact row no longer says who it was. */
    contactId: text('contact_id').references(() => contacts.id),
    type: text('type', { enum: dsrTypes }).notNull(),
    status: text('status', { enum: dsrStatuses }).notNull(),
    channel: text('channel', { enum: dsrChannels }).notNull(),
    /** Free text from whoever logged it; must not repeat personal data the erasure would remove. */
    notes: text('notes').notNull().default(''),
    receivedAt: integer('received_at', { mode: 'timestamp_ms' }).notNull(),
    dueAt: integer('due_at', { mode: 'timestamp_ms' }).notNull(),
    completedAt: integer('completed_at', { mode: 'timestamp_ms' }),
    /** What was done, or why it was refused. */
    outcome: text('outcome'),
    createdByType: text('created_by_type', { enum: ['user', 'api_key', 'subscriber', 'system'] }).notNull(),
    createdById: text('created_by_id'),
  },
  (t) => [index('dsr_requests_due_idx').on(t.workspaceId, t.status, t.dueAt), index('dsr_requests_contact_idx').on(t.contactId)],
);

/**
 * One link the author wrote in a campaign, frozen when sending starts: the click redirect
 * (`/c/:token`) goes to this URL and nowhere else. `url` already carries the campaign's UTM
 * parameters; a link whose URL depends on the recipient is not wrapped (`tracked` false).
 */
export const campaignLinks = sqliteTable(
  'campaign_links',
  {
    campaignId: text('campaign_id')
      .notNull()
      .references(() => campaigns.id),
    idx: integer('idx').notNull(),
    url: text('url').notNull(),
    tracked: integer('tracked', { mode: 'boolean' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.campaignId, t.idx] })],
);

export const eventTypes = ['delivered', 'delivery_delayed', 'bounced', 'complained', 'failed', 'open', 'click', 'unsubscribe'] as const;
export type EventType = (typeof eventTypes)[number];

/**
 * What happened to a sent message: provider reports (Resend webhooks), opens (consenting
 * recipients only), clicks, unsubscribes. Each open and click carries a verdict, human or machine,
 * and the rule that decided it (src/tracking/machine.ts); raw IP addresses are never stored.
 * Repeated identical hits within one write batch are one row with `hits` > 1.
 */
export const events = sqliteTable(
  'events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    workspaceId: text('workspace_id').notNull(),
    campaignId: text('campaign_id').notNull(),
    sendId: integer('send_id')
      .notNull()
      .references(() => sends.id),
    type: text('type', { enum: eventTypes }).notNull(),
    /** For clicks: the campaign link (`campaign_links.idx`), or -1 for the hidden honeypot link. */
    linkIndex: integer('link_index'),
    machine: integer('machine', { mode: 'boolean' }).notNull().default(false),
    machineReason: text('machine_reason'),
    /** Truncated; erased with the person. */
    userAgent: text('user_agent'),
    hits: integer('hits').notNull().default(1),
    /** Provider detail: bounce type and message, failure reason. */
    detail: text('detail'),
    occurredAt: integer('occurred_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [index('events_send_idx').on(t.sendId, t.type, t.occurredAt), index('events_campaign_idx').on(t.campaignId, t.type, t.machine, t.linkIndex, t.sendId),
    // Covers the machine-activity breakdown and per-link machine clicks of campaign stats.
    index('events_machine_idx').on(t.campaignId, t.machine, t.type, t.machineReason, t.linkIndex, t.hits),
  ],
);

/**
 * Opens that may not be recorded individually (the recipient withdrew open-tracking consent
 * after the mail left, or was erased): counted per campaign, with nothing that points at anyone.
 * CNIL délibération 2026-042 exempts such anonymous aggregate measurement.
 */
export const anonymousOpens = sqliteTable(
  'anonymous_opens',
  {
    campaignId: text('campaign_id').notNull(),
    machine: integer('machine', { mode: 'boolean' }).notNull(),
    hits: integer('hits').notNull(),
  },
  (t) => [primaryKey({ columns: [t.campaignId, t.machine] })],
);

/** Webhook deliveries already processed, by `svix-id` (a replay is acknowledged and ignored). */
export const webhookReceipts = sqliteTable(
  'webhook_receipts',
  {
    id: text('id').primaryKey(),
    type: text('type').notNull(),
    receivedAt: integer('received_at', { mode: 'timestamp_ms' }).notNull(),
  },
  // Housekeeping deletes by age (src/domain/housekeeping.ts); without it, a scan per run (billed row reads on Turso).
  (t) => [index('webhook_receipts_received_at_idx').on(t.receivedAt)],
);

export const attributionRules = ['click_token', 'last_click', 'last_delivered', 'none'] as const;
export type AttributionRule = (typeof attributionRules)[number];

/**
 * A prospect becoming a customer (a quote, a booking), reported by the shop with an external id
 * (idempotent) or recorded by an agent. Attributed when recorded to one campaign send, by the
 * rule named in `attribution` (src/tracking/conversions.ts).
 */
export const conversions = sqliteTable(
  'conversions',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id),
    contactId: text('contact_id')
      .notNull()
      .references(() => contacts.id),
    /** The reporter's own id (order number…); null once the person is erased. */
    externalId: text('external_id'),
    type: text('type').notNull(),
    /** Minor units (cents) of `currency`. */
    value: integer('value').notNull(),
    currency: text('currency').notNull(),
    occurredAt: integer('occurred_at', { mode: 'timestamp_ms' }).notNull(),
    recordedAt: integer('recorded_at', { mode: 'timestamp_ms' }).notNull(),
    campaignId: text('campaign_id'),
    sendId: integer('send_id'),
    attribution: text('attribution', { enum: attributionRules }).notNull(),
    actorType: text('actor_type', { enum: ['user', 'api_key', 'subscriber', 'system'] }).notNull(),
    actorId: text('actor_id'),
    /** SHA-256 of the request, to tell a retry (same) from a conflicting reuse of the external id. */
    requestHash: text('request_hash').notNull(),
  },
  (t) => [
    uniqueIndex('conversions_external_idx').on(t.workspaceId, t.externalId),
    index('conversions_send_idx').on(t.sendId),
    index('conversions_contact_idx').on(t.contactId, t.occurredAt),
  ],
);

/**
 * Monthly objectives a call-centre manager sets per agent and for the team (reference §1.3: per
 * téléacteur and for the équipe, Objectif / Réalisé / Écart). `target` is the agent's user id or
 * `team` (a NOT NULL text rather than a nullable agent id, so the unique index also holds for the
 * team: SQLite treats NULLs as distinct). `value` is in the metric's integer unit: a count,
 * hundredths of a percent for rates, cents for money (src/domain/objectives/metrics.ts).
 */
export const objectives = sqliteTable(
  'objectives',
  {
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id),
    /** `YYYY-MM`, a calendar month in Europe/Paris. */
    month: text('month').notNull(),
    target: text('target').notNull(),
    metric: text('metric').notNull(),
    value: integer('value').notNull(),
    updatedBy: text('updated_by'),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.month, t.target, t.metric] })],
);
