/**
 * The invitation email sent when an admin adds someone to a workspace. Plain, transactional,
 * no tracking. (Newsletter layout and mandatory blocks live in emails/ and src/email/render.)
 */
import { html, raw } from 'hono/html';
import type { Workspace } from '../../domain/workspaces/workspaces.js';
import { formatAddress, type OutgoingEmail } from '../mailer.js';
import { t } from '../../i18n/fr.js';

export function invitationEmail(input: {
  workspace: Workspace;
  inviterName: string;
  to: string;
  role: string;
  link: string | null;
}): OutgoingEmail {
  const { workspace: ws, inviterName, role, link } = input;
  const s = t.email.invitation;
  const subject = s.subject(ws.name);
  const intro = s.intro(inviterName, ws.name, (t.roles[role as keyof typeof t.roles] ?? role).toLowerCase());
  const action = link ? s.setPassword : s.alreadyHaveAccount;
  const identity = `${ws.legalName}, ${ws.addressLine}, ${ws.postalCode} ${ws.city}. ${ws.contactEmail}, ${ws.contactPhone}.`;
  const body = html`<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>${subject}</title></head>
<body style="font-family:Arial,Helvetica,sans-serif;color:#1f2933;max-width:600px;margin:0 auto;padding:24px">
<p>${intro}</p>
<p>${action}</p>
${link ? html`<p><a href="${link}" style="display:inline-block;background:#1d4ed8;color:#fff;padding:12px 20px;border-radius:6px;text-decoration:none">${s.button}</a></p><p style="font-size:13px;color:#52606d">${s.expiry}</p>` : raw('')}
<hr style="border:none;border-top:1px solid #d9e2ec;margin:24px 0">
<p style="font-size:12px;color:#52606d">${identity}<br><a href="${ws.privacyUrl}">${t.email.privacyPolicy}</a></p>
</body></html>`;
  const text = [intro, '', action, ...(link ? ['', `${s.button} : ${link}`, s.expiry] : []), '', '--', identity, `${t.email.privacyPolicy} : ${ws.privacyUrl}`].join('\n');
  return {
    from: formatAddress(ws.senderName, ws.senderEmail),
    to: input.to,
    ...(ws.replyTo ? { replyTo: ws.replyTo } : {}),
    subject,
    html: String(body),
    text,
    tags: { category: 'invitation' },
    workspaceId: ws.id,
  };
}
