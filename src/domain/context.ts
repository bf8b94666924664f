/**
 * What a domain action receives besides its input: the dependencies it may use and who is
 * acting, for which workspace. Actions never see HTTP; the router builds this.
 */
import type { Db } from '../db/client.js';
import type { ApiKeyScope, Role } from '../db/schema.js';
import type { MailQueue } from '../email/dispatcher.js';
import type { Mailer } from '../email/mailer.js';
import type { SigningKey } from '../env.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';

/** Who performs an action; recorded in the audit log and the consent ledger. */
export type Actor =
  | { type: 'user'; userId: string; role: Role; email: string; name: string }
  | { type: 'api_key'; keyId: string; scopes: ApiKeyScope[] }
  | { type: 'subscriber'; contactId: string }
  | { type: 'system'; reason: string };

/** Dependencies shared by every action (the same object for the app's whole life). */
export interface Services {
  db: Db;
  mailer: Mailer;
  /** Platform emails written in the transaction that causes them, sent after commit. */
  mailQueue: MailQueue;
  /** Starts work on a campaign send (the Node runner, or a Queue message on Workers). */
  sendQueue: { kick(campaignId: string): void };
  clock: Clock;
  logger: Logger;
  /** JWS keys: the first signs, all verify (rotation). */
  signingKeys: SigningKey[];
  /** Absolute base URL used in links we email (`https://news.example.com`). */
  publicBaseUrl: string;
}

/** An action's context once the caller is known. */
export interface Ctx extends Services {
  workspaceId: string;
  actor: Actor;
  requestId: string;
}

/** Context for actions that run before anyone is authenticated (login, invitation). */
export interface AnonymousCtx extends Services {
  requestId: string;
}

export function actorRef(actor: Actor): { actorType: Actor['type']; actorId: string | null } {
  switch (actor.type) {
    case 'user':
      return { actorType: 'user', actorId: actor.userId };
    case 'api_key':
      return { actorType: 'api_key', actorId: actor.keyId };
    case 'subscriber':
      return { actorType: 'subscriber', actorId: actor.contactId };
    case 'system':
      return { actorType: 'system', actorId: actor.reason };
  }
}
