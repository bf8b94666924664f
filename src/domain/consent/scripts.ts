/**
 * Consent scripts: what the agent reads for each purpose. Versions are immutable (the table is
 * append-only); writing new wording creates the next version, and captures from then on use it.
 */
import { and, countDistinct, desc, eq, max } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { consentScripts, PURPOSE_PATTERN } from '../../db/schema.js';
import { sha256Hex } from '../../lib/crypto.js';
import { newId } from '../../lib/ids.js';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import { Conflict, Invalid, NotFound } from '../errors.js';
import { getWorkspace } from '../workspaces/workspaces.js';

export type ConsentScript = typeof consentScripts.$inferSelect;

export const SCRIPT_MAX = 4000;

/**
 * Purposes a workspace may have: a capture answers every one of them (never a default), and
 * takes at most this many answers (POST /consents), so one more purpose would make every
 * capture impossible.
 */
export const MAX_PURPOSES = 20;

/** Every version of every script of a workspace (a small table), newest versions first. */
export async function allScripts(db: DbOrTx, workspaceId: string): Promise<ConsentScript[]> {
  return db.select().from(consentScripts).where(eq(consentScripts.workspaceId, workspaceId)).orderBy(desc(consentScripts.version));
}

/** The latest version of each purpose's script, in a stable order (core purposes first). */
export async function currentScripts(db: DbOrTx, workspaceId: string, all?: ConsentScript[]): Promise<ConsentScript[]> {
  const rows = all ?? (await allScripts(db, workspaceId));
  const latest = new Map<string, ConsentScript>();
  for (const r of rows) if (!latest.has(r.purpose)) latest.set(r.purpose, r);
  const order = (p: string) => (p === 'newsletter' ? 0 : p === 'open_tracking' ? 1 : 2);
  return [...latest.values()].sort((a, b) => order(a.purpose) - order(b.purpose) || a.purpose.localeCompare(b.purpose));
}

export async function listScriptVersions({ ctx, input }: { ctx: Pick<Ctx, 'db' | 'workspaceId'>; input: { purpose?: string } }) {
  return ctx.db
    .select()
    .from(consentScripts)
    .where(and(eq(consentScripts.workspaceId, ctx.workspaceId), input.purpose ? eq(consentScripts.purpose, input.purpose) : undefined))
    .orderBy(consentScripts.purpose, desc(consentScripts.version));
}

export async function getScript(db: DbOrTx, workspaceId: string, id: string): Promise<ConsentScript> {
  const row = await db.query.consentScripts.findFirst({ where: and(eq(consentScripts.id, id), eq(consentScripts.workspaceId, workspaceId)) });
  if (!row) throw new NotFound('script_not_found', 'No such consent script in this workspace.');
  return row;
}

/**
 * Checks the wording gives what GDPR Art. 13 requires the agent to say: who is asking (the
 * brand), that consent can be withdrawn at any time, and where the privacy policy is.
 */
export function scriptProblems(text: string, brandNames: string[]): string[] {
  const problems: string[] = [];
  const lower = text.toLowerCase();
  if (!brandNames.some((n) => lower.includes(n.toLowerCase()))) problems.push(`names the controller (${brandNames.join(' or ')})`);
  if (!/(retir|désinscri|desinscri|désabonn|opposer|withdraw|unsubscribe)/i.test(text)) problems.push('says consent can be withdrawn at any time, and how');
  if (!/(confidentialit|données personnelles|privacy)/i.test(text)) problems.push('says where the privacy policy is');
  return problems;
}

/** Admin only. Creates the next version of a purpose's script (version 1 for a new purpose). Audited. */
export async function createScriptVersion({
  ctx,
  input,
}: {
  ctx: Ctx;
  input: { purpose: string; label: string; text: string };
}): Promise<ConsentScript> {
  if (!PURPOSE_PATTERN.test(input.purpose)) {
    throw new Invalid('invalid_input', 'Invalid purpose.', [{ field: 'purpose', message: 'lower-case letters, digits and _ (2-40), e.g. partners' }]);
  }
  const ws = await getWorkspace({ ctx });
  const text = input.text.replace(/\r\n/g, '\n').trim();
  const problems = scriptProblems(text, [ws.name, ws.legalName]);
  if (problems.length) {
    throw new Invalid('invalid_script', `The script must say what GDPR Art. 13 requires: it ${problems.join('; it ')}.`, problems.map((message) => ({ field: 'text', message: `must ${message}` })));
  }
  const sha256 = await sha256Hex(text);
  return ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .select({ v: max(consentScripts.version) })
      .from(consentScripts)
      .where(and(eq(consentScripts.workspaceId, ctx.workspaceId), eq(consentScripts.purpose, input.purpose)));
    if (!row?.v) {
      const [purposes] = await tx.select({ n: countDistinct(consentScripts.purpose) }).from(consentScripts).where(eq(consentScripts.workspaceId, ctx.workspaceId));
      if ((purposes?.n ?? 0) >= MAX_PURPOSES) {
        throw new Conflict('too_many_purposes', `A workspace has at most ${MAX_PURPOSES} consent purposes: a capture must answer each one.`);
      }
    }
    const script: ConsentScript = {
      id: newId('scr'),
      workspaceId: ctx.workspaceId,
      purpose: input.purpose,
      version: (row?.v ?? 0) + 1,
      label: input.label.trim(),
      text,
      sha256,
      createdBy: ctx.actor.type === 'user' ? ctx.actor.userId : 'system',
      createdAt: ctx.clock.now(),
    };
    await tx.insert(consentScripts).values(script);
    await recordAudit(tx, ctx, { action: 'consent_script.created', targetType: 'consent_script', targetId: script.id, details: { purpose: script.purpose, version: script.version, sha256 } });
    return script;
  });
}
