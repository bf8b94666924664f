/** Test data with unique values, so no test depends on another's rows. */
import type { Db } from '../../src/db/client.js';
import { memberships, users, type Role } from '../../src/db/schema.js';
import { hashPassword } from '../../src/domain/auth/password.js';
import { insertWorkspace, type Workspace } from '../../src/domain/workspaces/workspaces.js';
import { newId } from '../../src/lib/ids.js';

let counter = 0;
export const unique = (label: string) => `${label}-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;

export const TEST_PASSWORD = 'correct horse battery';
let cachedHash: Promise<string> | undefined;
const passwordHash = () => (cachedHash ??= hashPassword(TEST_PASSWORD));

export async function makeWorkspace(db: Db, overrides: Partial<Parameters<typeof insertWorkspace>[1]> = {}): Promise<Workspace> {
  const slug = unique('ws');
  return insertWorkspace(
    db,
    {
      slug,
      name: `Brand ${slug}`,
      legalName: `Brand ${slug} SAS`,
      addressLine: '1 rue de la Paix',
      postalCode: '75002',
      city: 'Paris',
      country: 'FR',
      contactEmail: `contact@${slug}.test`,
      contactPhone: '01 23 45 67 89',
      privacyUrl: `https://${slug}.test/privacy`,
      dpoContact: `dpo@${slug}.test`,
      senderName: `Brand ${slug}`,
      senderEmail: `news@${slug}.test`,
      replyTo: null,
      ...overrides,
    },
    new Date('2026-01-01T00:00:00Z'),
  );
}

export interface TestUser {
  id: string;
  email: string;
  name: string;
  role: Role;
}

export async function makeUser(db: Db, workspaceId: string, role: Role, email = `${unique(role)}@example.test`): Promise<TestUser> {
  const id = newId('usr');
  const name = `${role} ${id.slice(-4)}`;
  await db.insert(users).values({ id, email, name, passwordHash: await passwordHash(), createdAt: new Date() });
  await db.insert(memberships).values({ workspaceId, userId: id, role, createdAt: new Date() });
  return { id, email, name, role };
}

/** The two core consent scripts of a workspace (newsletter, open tracking), as an admin would write them. */
export async function makeScripts(db: Db, workspace: Workspace) {
  const { consentScripts } = await import('../../src/db/schema.js');
  const { sha256Hex } = await import('../../src/lib/crypto.js');
  const texts = {
    newsletter: `${workspace.name} souhaite vous envoyer sa newsletter. Vous pourrez vous désinscrire à tout moment. Politique de confidentialité : ${workspace.privacyUrl}.`,
    open_tracking: `${workspace.name} souhaite mesurer l’ouverture de ses e-mails. Vous pourrez retirer ce choix à tout moment. Politique de confidentialité : ${workspace.privacyUrl}.`,
  };
  const out: Record<'newsletter' | 'open_tracking', { id: string; sha256: string; text: string }> = {} as never;
  for (const [purpose, text] of Object.entries(texts) as ['newsletter' | 'open_tracking', string][]) {
    const row = { id: newId('scr'), workspaceId: workspace.id, purpose, version: 1, label: purpose, text, sha256: await sha256Hex(text), createdBy: 'test', createdAt: new Date('2026-01-01T00:00:00Z') };
    await db.insert(consentScripts).values(row);
    out[purpose] = row;
  }
  return out;
}
