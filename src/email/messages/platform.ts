/**
 * The platform's own messages (invitation, consent confirmation, data export…): bodies in
 * emails/messages/, rendered in the transactional layout with the same identity and privacy
 * blocks as newsletters. Compiled once per workspace identity and message, then cached.
 */
import type { Workspace } from '../../domain/workspaces/workspaces.js';
import type { CompiledEmail } from '../artefact.js';
import { brandOf } from '../brand.js';
import { compileEmail } from '../compile.js';
import { formatAddress, type OutgoingEmail } from '../mailer.js';
import { findTags, recipientFields } from '../merge-fields.js';
import { renderEmail } from '../render.js';
import { platformMessages } from '../templates.generated.js';

export type PlatformMessageId = keyof typeof platformMessages;

const cache = new Map<string, Promise<CompiledEmail>>();
const MAX_CACHED = 500;

/** The extra fields a message uses: its tags that are neither recipient, brand nor system fields. */
function extraFieldsOf(id: PlatformMessageId): string[] {
  const m = platformMessages[id];
  const names = findTags(`${m.subject}\n${m.preheader}\n${m.body}`).tags.map((t) => t.name);
  return [...new Set(names.filter((n) => !n.includes('.') && !(n in recipientFields)))];
}

function compiled(ws: Workspace, id: PlatformMessageId): Promise<CompiledEmail> {
  const key = `${ws.id}:${ws.updatedAt.getTime()}:${id}`;
  let entry = cache.get(key);
  if (!entry) {
    if (cache.size >= MAX_CACHED) cache.clear();
    const m = platformMessages[id];
    const extra = extraFieldsOf(id);
    entry = compileEmail({
      layout: 'transactional',
      subject: m.subject,
      preheader: m.preheader,
      body: m.body,
      brand: brandOf(ws),
      // Convention: `link` and `…Url` fields are whole URLs the platform built.
      urlFields: extra.filter((f) => f === 'link' || f.endsWith('Url')),
      extraFields: extra,
    });
    entry.catch(() => cache.delete(key));
    cache.set(key, entry);
  }
  return entry;
}

export async function platformMessage(
  ws: Workspace,
  id: PlatformMessageId,
  to: string,
  vars: Record<string, string>,
  tags: Record<string, string> = {},
): Promise<OutgoingEmail> {
  const brand = brandOf(ws);
  const rendered = renderEmail(
    await compiled(ws, id),
    { email: to, consentDate: new Date(0) },
    { unsubscribeUrl: '', preferencesUrl: '', stopTrackingUrl: '' },
    { brand, vars },
  );
  return {
    from: formatAddress(ws.senderName, ws.senderEmail),
    to,
    ...(ws.replyTo ? { replyTo: ws.replyTo } : {}),
    subject: rendered.subject,
    html: rendered.html,
    text: rendered.text,
    tags: { category: id, ...tags },
    workspaceId: ws.id,
  };
}
