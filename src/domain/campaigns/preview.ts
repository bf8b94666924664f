/**
 * Previews and test sends. A preview renders exactly what a recipient would get (same artefact,
 * same merge), with sample data or given values, and links that lead to an explanation page
 * instead of acting on anyone's subscription.
 */
import type { CompiledEmail } from '../../email/artefact.js';
import { brandOf } from '../../email/brand.js';
import { formatAddress } from '../../email/mailer.js';
import { renderEmail, type Recipient, type RenderedEmail } from '../../email/render.js';
import { maskAddress, seesWholeAddresses } from '../contacts/mask.js';
import { recipientForContact } from '../contacts/recipient.js';
import type { Ctx } from '../context.js';
import { Forbidden } from '../errors.js';
import { getWorkspace, type Workspace } from '../workspaces/workspaces.js';
import { compileContent, currentArtefact, getCampaign, type CampaignContent } from './campaigns.js';

export type SampleRecipient = Partial<Omit<Recipient, 'consentDate'>> & { consentDate?: Date };

/** Preview with sample values, or exactly as one of the workspace's contacts would receive it. */
export type PreviewAs = { sample?: SampleRecipient | undefined; contactId?: string | undefined };

function sampleFor(ctx: Ctx, sample: SampleRecipient = {}): Recipient {
  const agentName = ctx.actor.type === 'user' ? ctx.actor.name : 'Sophie Bernard';
  return {
    email: 'marie.dupont@example.com',
    firstName: 'Marie',
    lastName: 'Dupont',
    agentFirstName: agentName.split(/\s+/)[0] ?? agentName,
    consentAgentName: agentName,
    attributes: {},
    ...sample,
    consentDate: sample.consentDate ?? new Date(ctx.clock.now().getTime() - 7 * 86_400_000),
  };
}

export function previewUrls(base: string) {
  return {
    unsubscribeUrl: `${base}/preview-link/unsubscribe`,
    preferencesUrl: `${base}/preview-link/preferences`,
    stopTrackingUrl: `${base}/preview-link/stop-tracking`,
  };
}

async function render(ctx: Ctx, ws: Workspace, compiled: CompiledEmail, as: PreviewAs): Promise<RenderedEmail & { fields: string[] }> {
  let recipient = as.contactId ? await recipientForContact(ctx, as.contactId) : sampleFor(ctx, as.sample);
  // Previewing as a contact must not be a way round the masking of samples: {{email}} comes out
  // masked for anyone who sees masked addresses elsewhere (src/domain/contacts/mask.ts).
  if (as.contactId && !seesWholeAddresses(ctx.actor)) recipient = { ...recipient, email: maskAddress(recipient.email) };
  const rendered = renderEmail(compiled, recipient, previewUrls(ctx.publicBaseUrl), { brand: brandOf(ws) });
  return { ...rendered, fields: compiled.fields };
}

/** Renders unsaved content (the editor's live preview). 400 with field and line if it would be refused. */
export async function previewContent({ ctx, input }: { ctx: Ctx; input: CampaignContent & PreviewAs }) {
  const ws = await getWorkspace({ ctx });
  return render(ctx, ws, await compileContent(ws, input), input);
}

export async function previewCampaign({ ctx, input }: { ctx: Ctx; input: { id: string } & PreviewAs }) {
  const campaign = await getCampaign({ ctx, input });
  const { compiled, workspace } = await currentArtefact(ctx, campaign);
  return render(ctx, workspace, compiled, input);
}

/**
 * Sends the campaign, as rendered for sample data, to the person asking (never to contacts),
 * with "[TEST]" before the subject. People only: an API key has no mailbox.
 */
export async function testSendCampaign({ ctx, input }: { ctx: Ctx; input: { id: string } & PreviewAs }) {
  if (ctx.actor.type !== 'user') throw new Forbidden('users_only', 'A test send goes to the person asking: use a personal login.');
  const campaign = await getCampaign({ ctx, input });
  const { compiled, workspace } = await currentArtefact(ctx, campaign);
  const rendered = await render(ctx, workspace, compiled, input);
  const { id } = await ctx.mailer.send({
    from: formatAddress(workspace.senderName, workspace.senderEmail),
    to: ctx.actor.email,
    ...(workspace.replyTo ? { replyTo: workspace.replyTo } : {}),
    subject: `[TEST] ${rendered.subject}`,
    html: rendered.html,
    text: rendered.text,
    headers: {
      // RFC 2369 / RFC 8058, as real sends will carry them; here they lead to the preview page.
      'List-Unsubscribe': `<${previewUrls(ctx.publicBaseUrl).unsubscribeUrl}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    },
    tags: { category: 'test_send', campaign: campaign.id.replace(/[^A-Za-z0-9_-]/g, '_') },
    workspaceId: workspace.id,
  });
  return { messageId: id, to: ctx.actor.email, subject: `[TEST] ${rendered.subject}`, version: campaign.version };
}

