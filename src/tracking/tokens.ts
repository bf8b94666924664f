/**
 * Tokens of the open pixel (`/o/:token`) and of tracked links (`/c/:token`). They sit in every
 * message, so they are short and checked without the database: a send id (and for links the
 * campaign and link index) with a truncated HMAC-SHA-256 (128 bits) over them and their purpose.
 *
 * The MAC key is derived from each SIGNING_KEYS secret (first signs, all verify, as for the
 * JWS links), with a label of its own so these MACs can never stand in for anything else.
 * A token names one send; the send names its workspace, so a token can only ever act on it.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { SigningKey } from '../env.js';
import { base64url } from '../lib/crypto.js';

const encoder = new TextEncoder();
const MAC_BYTES = 16;

/** The hidden link every newsletter carries for scanners to follow (src/tracking/machine.ts). */
export const HONEYPOT_LINK = -1;

type Mac = ReturnType<typeof hmac.create>;
const derived = new Map<string, Mac>();

function macKey(secret: string): Mac {
  let mac = derived.get(secret);
  if (!mac) {
    mac = hmac.create(sha256, hmac(sha256, encoder.encode(secret), encoder.encode('tracking-link-v1')));
    derived.set(secret, mac);
  }
  return mac;
}

function macOf(secret: string, message: string): string {
  return base64url(macKey(secret).clone().update(encoder.encode(message)).digest().subarray(0, MAC_BYTES));
}

function signer(keys: SigningKey[]): string {
  const key = keys[0];
  if (!key) throw new Error('no signing key configured');
  return key.secret;
}

function verifies(keys: SigningKey[], message: string, mac: string): boolean {
  // Every key is tried whatever happens, and compared without an early exit on the first byte.
  let ok = false;
  for (const key of keys) ok = equal(macOf(key.secret, message), mac) || ok;
  return ok;
}

function equal(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

const SEND_ID = /^[0-9a-z]{1,11}$/;
const LINK = /^-?[0-9a-z]{1,4}$/;
const CAMPAIGN = /^cmp_[0-9a-f]{32}$/;

export function openToken(keys: SigningKey[], sendId: number): string {
  const send = sendId.toString(36);
  return `${send}.${macOf(signer(keys), `o:${send}`)}`;
}

export function readOpenToken(keys: SigningKey[], token: string): { sendId: number } | null {
  const [send, mac, extra] = token.split('.');
  if (extra !== undefined || !send || !mac || !SEND_ID.test(send)) return null;
  if (!verifies(keys, `o:${send}`, mac)) return null;
  return { sendId: parseInt(send, 36) };
}

export interface ClickClaims {
  campaignId: string;
  sendId: number;
  link: number;
}

export function clickToken(keys: SigningKey[], claims: ClickClaims): string {
  const body = `${claims.campaignId}.${claims.sendId.toString(36)}.${claims.link.toString(36)}`;
  return `${body}.${macOf(signer(keys), `c:${body}`)}`;
}

export function readClickToken(keys: SigningKey[], token: string): ClickClaims | null {
  const parts = token.split('.');
  if (parts.length !== 4) return null;
  const [campaignId, send, link, mac] = parts as [string, string, string, string];
  if (!CAMPAIGN.test(campaignId) || !SEND_ID.test(send) || !LINK.test(link)) return null;
  if (!verifies(keys, `c:${campaignId}.${send}.${link}`, mac)) return null;
  return { campaignId, sendId: parseInt(send, 36), link: parseInt(link, 36) };
}
