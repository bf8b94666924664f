/**
 * The demo workspace "Voyage Online", from the reference document (Paris 16e, 0 885 905 600),
 * with one person per role. Seeded only when DEMO is on and the database has no workspace.
 */
import { count } from 'drizzle-orm';
import { hashPassword } from '../domain/auth/password.js';
import { insertWorkspace } from '../domain/workspaces/workspaces.js';
import { newId } from '../lib/ids.js';
import type { Db } from './client.js';
import { memberships, users, workspaces, type Role } from './schema.js';

export const DEMO_PASSWORD = 'demo-password';

export const demoUsers: { email: string; name: string; role: Role }[] = [
  { email: 'admin@voyage-online.test', name: 'Claire Dubois', role: 'admin' },
  { email: 'marketer@voyage-online.test', name: 'Marc Lefèvre', role: 'marketer' },
  { email: 'agent@voyage-online.test', name: 'Sophie Bernard', role: 'agent' },
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
    for (const u of demoUsers) {
      const id = newId('usr');
      await tx.insert(users).values({ id, email: u.email, name: u.name, passwordHash, createdAt: now });
      await tx.insert(memberships).values({ workspaceId: ws.id, userId: id, role: u.role, createdAt: now });
    }
  });
  return true;
}
