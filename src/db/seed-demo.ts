/**
 * The demo workspace "Voyage Online", from the reference document (Paris 16e, 0 885 905 600),
 * with one person per role. Seeded only when DEMO is on and the database has no workspace.
 */
import { count } from 'drizzle-orm';
import { hashPassword } from '../domain/auth/password.js';
import { insertWorkspace } from '../domain/workspaces/workspaces.js';
import { newId } from '../lib/ids.js';
import type { Db } from './client.js';
import { consentScripts, memberships, users, workspaces, type Role } from './schema.js';
import { sha256Hex } from '../lib/crypto.js';

export const DEMO_PASSWORD = 'demo-password';

export const demoUsers: { email: string; name: string; role: Role }[] = [
  { email: 'admin@voyage-online.test', name: 'Claire Dubois', role: 'admin' },
  { email: 'marketer@voyage-online.test', name: 'Marc Lefèvre', role: 'marketer' },
  { email: 'agent@voyage-online.test', name: 'Sophie Bernard', role: 'agent' },
];

/** The demo's consent scripts, as an agent reads them (GDPR Art. 13: who, what for, how to withdraw, where the policy is). */
export const demoScripts = [
  {
    purpose: 'newsletter',
    label: 'Newsletter Voyage Online',
    text:
      'Avant de nous quitter : Voyage Online, 12 avenue Kléber à Paris, souhaite vous envoyer sa newsletter par e-mail, deux fois par mois environ, avec ses nouveaux voyages et ses offres. ' +
      'Acceptez-vous de la recevoir à l’adresse que nous venons de vérifier ensemble ? Vous recevrez d’abord un e-mail pour confirmer. ' +
      'Vous pourrez vous désinscrire à tout moment, en un clic, depuis chaque e-mail. ' +
      'Notre politique de confidentialité est sur voyage-online.test, rubrique Confidentialité.',
  },
  {
    purpose: 'open_tracking',
    label: 'Mesure d’ouverture des e-mails',
    text:
      'Une autre question, distincte : acceptez-vous que Voyage Online mesure si vous ouvrez nos e-mails, grâce à une petite image invisible, pour adapter ses envois ? ' +
      'Vous pouvez refuser sans aucune conséquence, et retirer ce choix à tout moment depuis chaque e-mail. ' +
      'Tout est expliqué dans notre politique de confidentialité.',
  },
];

/** Returns true if it seeded, false if the database already had a workspace. */
export async function seedDemo(db: Db, now: Date): Promise<boolean> {
  const [row] = await db.select({ n: count() }).from(workspaces);
  if ((row?.n ?? 0) > 0) return false;
  const passwordHash = await hashPassword(DEMO_PASSWORD);
  await db.transaction(async (tx) => {
    const ws = await insertWorkspace(
      tx,
      {
        slug: 'voyage-online',
        name: 'Voyage Online',
        legalName: 'Voyage Online SAS',
        addressLine: '12 avenue Kléber',
        postalCode: '75116',
        city: 'Paris',
        country: 'FR',
        contactEmail: 'contact@voyage-online.test',
        contactPhone: '0 885 905 600',
        privacyUrl: 'https://voyage-online.test/confidentialite',
        dpoContact: 'dpo@voyage-online.test',
        senderName: 'Voyage Online',
        senderEmail: 'newsletter@voyage-online.test',
        replyTo: 'contact@voyage-online.test',
      },
      now,
    );
    let adminId = '';
    for (const u of demoUsers) {
      const id = newId('usr');
      if (u.role === 'admin') adminId = id;
      await tx.insert(users).values({ id, email: u.email, name: u.name, passwordHash, createdAt: now });
      await tx.insert(memberships).values({ workspaceId: ws.id, userId: id, role: u.role, createdAt: now });
    }
    for (const s of demoScripts) {
      await tx.insert(consentScripts).values({ id: newId('scr'), workspaceId: ws.id, purpose: s.purpose, version: 1, label: s.label, text: s.text, sha256: await sha256Hex(s.text), createdBy: adminId, createdAt: now });
    }
  });
  return true;
}
