/**
 * The demo workspace "Voyage Online", from the reference document (Paris 16e, 0 885 905 600),
 * with one person per role. Seeded only when DEMO is on and the database has no workspace.
 */
import { count } from 'drizzle-orm';
import { hashPassword } from '../domain/auth/password.js';
import { insertWorkspace } from '../domain/workspaces/workspaces.js';
import { newId } from '../lib/ids.js';
import type { Db } from './client.js';
import { calls, consentScripts, contacts, memberships, segments, users, workspaces, type Role } from './schema.js';
import { appendConsentEvents } from '../domain/consent/chain.js';
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

/** Demo leads, as if the agent had called them for "Voyage à Rome": consent, confirmation, interests. */
const demoLeads: { first: string; last: string; destination: string; newsletter: 'granted' | 'refused'; confirmed: boolean; openTracking: 'granted' | 'refused' }[] = [
  { first: 'Marie', last: 'Dupont', destination: 'Rome', newsletter: 'granted', confirmed: true, openTracking: 'granted' },
  { first: 'Julien', last: 'Moreau', destination: 'Rome', newsletter: 'granted', confirmed: true, openTracking: 'refused' },
  { first: 'Camille', last: 'Laurent', destination: 'Lisbonne', newsletter: 'granted', confirmed: true, openTracking: 'granted' },
  { first: 'Nicolas', last: 'Petit', destination: 'Rome', newsletter: 'granted', confirmed: true, openTracking: 'refused' },
  { first: 'Chloé', last: 'Garcia', destination: 'Athènes', newsletter: 'granted', confirmed: true, openTracking: 'granted' },
  { first: 'Thomas', last: 'Roux', destination: 'Rome', newsletter: 'granted', confirmed: true, openTracking: 'refused' },
  { first: 'Léa', last: 'Fournier', destination: 'Lisbonne', newsletter: 'granted', confirmed: true, openTracking: 'granted' },
  { first: 'Hugo', last: 'Girard', destination: 'Rome', newsletter: 'granted', confirmed: true, openTracking: 'refused' },
  { first: 'Manon', last: 'Bonnet', destination: 'Rome', newsletter: 'granted', confirmed: false, openTracking: 'refused' },
  { first: 'Lucas', last: 'Mercier', destination: 'Athènes', newsletter: 'granted', confirmed: false, openTracking: 'granted' },
  { first: 'Inès', last: 'Lambert', destination: 'Rome', newsletter: 'refused', confirmed: false, openTracking: 'refused' },
  { first: 'Enzo', last: 'Faure', destination: 'Lisbonne', newsletter: 'refused', confirmed: false, openTracking: 'refused' },
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
    const scripts: Record<string, { id: string; sha256: string }> = {};
    for (const s of demoScripts) {
      const script = { id: newId('scr'), sha256: await sha256Hex(s.text) };
      scripts[s.purpose] = script;
      await tx.insert(consentScripts).values({ id: script.id, workspaceId: ws.id, purpose: s.purpose, version: 1, label: s.label, text: s.text, sha256: script.sha256, createdBy: adminId, createdAt: now });
    }
    const agentId = (await tx.query.users.findFirst({ where: (u, { eq }) => eq(u.email, 'agent@voyage-online.test') }))!.id;
    for (const [i, lead] of demoLeads.entries()) {
      // Called over the past weeks, in the ledger like any capture (chained, with the script read).
      const at = new Date(now.getTime() - (demoLeads.length - i) * 2 * 86_400_000);
      const contactId = newId('ct');
      const email = `${lead.first}.${lead.last}`.toLowerCase().normalize('NFD').replace(/[\u0300-\u036f]/g, '') + '@example.com';
      await tx.insert(contacts).values({
        id: contactId, workspaceId: ws.id, email, phone: `+336${String(12345600 + i)}`, firstName: lead.first, lastName: lead.last,
        attributes: { destination: lead.destination }, ownerAgentId: agentId, sourceCampaign: 'Voyage à Rome',
        createdAt: at, updatedAt: at, lastProspectActionAt: at,
      });
      const callId = newId('call');
      await tx.insert(calls).values({ id: callId, workspaceId: ws.id, contactId, callRef: `DEMO-${String(i + 1).padStart(3, '0')}`, basis: 'inbound_call', callCampaign: 'Voyage à Rome', agentId, actorType: 'user', actorId: agentId, occurredAt: at, recordedAt: at });
      const common = { contactId, channel: 'phone' as const, actorType: 'user' as const, actorId: agentId, callId, callRef: `DEMO-${String(i + 1).padStart(3, '0')}`, callBasis: 'inbound_call', evidence: { via: 'demo seed' }, occurredAt: at };
      await appendConsentEvents(tx, ws.id, [
        { ...common, purpose: 'newsletter', action: lead.newsletter, scriptId: scripts.newsletter!.id, scriptSha256: scripts.newsletter!.sha256 },
        { ...common, purpose: 'open_tracking', action: lead.openTracking, scriptId: scripts.open_tracking!.id, scriptSha256: scripts.open_tracking!.sha256 },
      ], at);
      if (lead.confirmed) {
        const confirmedAt = new Date(at.getTime() + 3600_000);
        await appendConsentEvents(tx, ws.id, [{ contactId, purpose: 'newsletter', action: 'confirmed', channel: 'email_link', actorType: 'subscriber', actorId: contactId, evidence: { via: 'demo seed' }, occurredAt: confirmedAt }], confirmedAt);
      }
    }
    await tx.insert(segments).values({
      id: newId('seg'),
      workspaceId: ws.id,
      name: 'Intéressés par Rome',
      rules: { match: 'all', conditions: [{ field: 'attributes.destination', operator: 'equals', value: 'Rome' }] },
      createdBy: adminId,
      createdAt: now,
      updatedAt: now,
    });
  });
  return true;
}
