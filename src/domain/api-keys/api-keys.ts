/**
 * Integration keys (dialer, CRM, shop). The key is shown once at creation; only its SHA-256 is
 * stored, so a database leak does not leak usable keys. A plain hash (not PBKDF2) is enough:
 * keys are 256 random bits, not guessable passwords, and are checked on every API request.
 */
import { and, desc, eq, isNull, lt, or } from 'drizzle-orm';
import { apiKeys, type ApiKeyScope } from '../../db/schema.js';
import { randomToken, sha256Hex } from '../../lib/crypto.js';
import { newId } from '../../lib/ids.js';
import { recordAudit } from '../audit/record.js';
import type { Ctx, Services } from '../context.js';
import { NotFound } from '../errors.js';
import type { Identity } from '../auth/session.js';

/** Recognisable prefix so secret scanners (and people) can tell what leaked. */
export const API_KEY_PREFIX = 'cnk_';

export interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  scopes: ApiKeyScope[];
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const view = (row: typeof apiKeys.$inferSelect): ApiKeyView => ({
  id: row.id,
  name: row.name,
  prefix: row.prefix,
  scopes: row.scopes,
  createdAt: row.createdAt,
  lastUsedAt: row.lastUsedAt,
  revokedAt: row.revokedAt,
});

/** Admin only. Returns the secret once; it cannot be read again. Audited. */
export async function createApiKey({
  ctx,
  input,
}: {
  ctx: Ctx;
  input: { name: string; scopes: ApiKeyScope[] };
}): Promise<{ key: ApiKeyView; secret: string }> {
  if (ctx.actor.type !== 'user') throw new Error('createApiKey needs a user actor');
  const secret = `${API_KEY_PREFIX}${randomToken(32)}`;
  const row = {
    id: newId('key'),
    workspaceId: ctx.workspaceId,
    name: input.name,
    prefix: secret.slice(0, API_KEY_PREFIX.length + 6),
    keyHash: await sha256Hex(secret),
    scopes: [...new Set(input.scopes)],
    createdBy: ctx.actor.userId,
    createdAt: ctx.clock.now(),
    lastUsedAt: null,
    revokedAt: null,
  };
  await ctx.db.transaction(async (tx) => {
    await tx.insert(apiKeys).values(row);
    await recordAudit(tx, ctx, {
      action: 'api_key.created',
      targetType: 'api_key',
      targetId: row.id,
      details: { name: row.name, scopes: row.scopes },
    });
  });
  return { key: view(row), secret };
}

export async function listApiKeys({ ctx }: { ctx: Ctx }): Promise<ApiKeyView[]> {
  const rows = await ctx.db
    .select()
    .from(apiKeys)
    .where(eq(apiKeys.workspaceId, ctx.workspaceId))
    .orderBy(desc(apiKeys.createdAt));
  return rows.map(view);
}

/** Admin only. Idempotent: revoking a revoked key changes nothing and writes no second audit entry. */
export async function revokeApiKey({ ctx, input }: { ctx: Ctx; input: { id: string } }): Promise<ApiKeyView> {
  return ctx.db.transaction(async (tx) => {
    const row = await tx.query.apiKeys.findFirst({
      where: and(eq(apiKeys.id, input.id), eq(apiKeys.workspaceId, ctx.workspaceId)),
    });
    if (!row) throw new NotFound('api_key_not_found', 'No such API key in this workspace.');
    if (row.revokedAt) return view(row);
    const revokedAt = ctx.clock.now();
    await tx.update(apiKeys).set({ revokedAt }).where(eq(apiKeys.id, row.id));
    await recordAudit(tx, ctx, { action: 'api_key.revoked', targetType: 'api_key', targetId: row.id });
    return view({ ...row, revokedAt });
  });
}

/** Resolves a presented key to its workspace and scopes; null if unknown or revoked. */
export async function authenticateApiKey(
  deps: Pick<Services, 'db' | 'clock'>,
  presented: string,
): Promise<Identity | null> {
  if (!presented.startsWith(API_KEY_PREFIX) || presented.length > 200) return null;
  const keyHash = await sha256Hex(presented);
  const row = await deps.db.query.apiKeys.findFirst({ where: and(eq(apiKeys.keyHash, keyHash), isNull(apiKeys.revokedAt)) });
  if (!row) return null;
  // Record use at most once a minute, so a busy dialer does not turn every request into a write.
  const now = deps.clock.now();
  const staleBefore = new Date(now.getTime() - 60_000);
  if (!row.lastUsedAt || row.lastUsedAt < staleBefore) {
    await deps.db
      .update(apiKeys)
      .set({ lastUsedAt: now })
      .where(and(eq(apiKeys.id, row.id), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, staleBefore))));
  }
  return { workspaceId: row.workspaceId, actor: { type: 'api_key', keyId: row.id, scopes: row.scopes } };
}
