import type { Workspace } from '../../domain/workspaces/workspaces.js';
import { t } from '../../i18n/fr.js';
import type { OutgoingEmail } from '../mailer.js';
import { platformMessage } from './platform.js';

/** The email sent when an admin adds someone to a workspace (emails/messages/invitation.mjml). */
export function invitationEmail(input: {
  workspace: Workspace;
  inviterName: string;
  to: string;
  role: string;
  /** A link to choose a password, or null for someone who already has an account. */
  link: string | null;
  loginUrl: string;
}): Promise<OutgoingEmail> {
  const s = t.email.invitation;
  return platformMessage(input.workspace, 'invitation', input.to, {
    inviterName: input.inviterName,
    roleLabel: (t.roles[input.role as keyof typeof t.roles] ?? input.role).toLowerCase(),
    actionLine: input.link ? s.setPassword : s.alreadyHaveAccount,
    buttonLabel: input.link ? s.button : s.login,
    link: input.link ?? input.loginUrl,
    note: input.link ? s.expiry : '',
  });
}
