/**
 * Human or machine? Apple Mail Privacy Protection fetches every image of every message, and
 * security gateways open and follow every link before the person sees the mail: counted as
 * people, they make open and click rates meaningless (listmonk users report 50 % opens within
 * minutes). Each open and click is classified by the first rule below that matches, and the rule
 * is stored with it; reports show human and machine figures side by side.
 *
 * Rules known from the request alone (checked in the handler, where the IP address is seen and
 * then dropped):
 *  - `head_request`: mail clients GET images and links; link checkers and prefetchers send HEAD.
 *  - `apple_mpp` (opens): Apple's proxy fetches images from Apple's network (17.0.0.0/8) with the
 *    bare user agent `Mozilla/5.0`; either signature is enough.
 *  - `scanner_user_agent`: no user agent, HTTP libraries, crawlers and the security gateways that
 *    name themselves (see SCANNER_USER_AGENT).
 *  - `scanner_network`: the published address ranges of email security services (SCANNER_NETWORKS).
 *
 * Rules that need the message's history (applied when hits are written, src/tracking/hits.ts):
 *  - `honeypot`: the hidden link every newsletter carries was requested; that click, and every
 *    click of the same message within HONEYPOT_WINDOW_MS of it, is a scanner's.
 *  - `burst`: BURST_LINKS distinct links (or every link, if fewer) of one message within
 *    BURST_WINDOW_MS: no reader clicks like that.
 *  - `too_soon_after_delivery`: a click within TOO_SOON_MS of delivery (or of sending, when the
 *    provider has not reported delivery): gateways click on arrival, people read first.
 */

export const machineReasons = [
  'head_request',
  'apple_mpp',
  'scanner_user_agent',
  'scanner_network',
  'honeypot',
  'burst',
  'too_soon_after_delivery',
] as const;
export type MachineReason = (typeof machineReasons)[number];

export const TOO_SOON_MS = 10_000;
export const BURST_WINDOW_MS = 5_000;
export const BURST_LINKS = 3;
export const HONEYPOT_WINDOW_MS = 60_000;

/**
 * User agents that are never a person reading mail. Gmail's and Yahoo's image proxies
 * (GoogleImageProxy, YahooMailProxy) fetch on the reader's behalf when they open: they stay human.
 */
const SCANNER_USER_AGENT =
  /bot\b|bot\/|crawler|spider|slurp|python-requests|python-urllib|aiohttp|curl\/|wget\/|go-http-client|java\/|okhttp|apache-httpclient|libwww|node-fetch|undici|axios|headlesschrome|phantomjs|barracuda|mimecast|proofpoint|forcepoint|trend ?micro|sophos|symantec|messagelabs|ironport|fireeye|zscaler|safelinks|urldefense|linkscanner|cloudmark|vade ?secure|hornetsecurity/i;

/**
 * Address ranges of scanning services, as their vendors publish them for allow-listing.
 * Extend this list as new ones are documented; anything here only ever moves hits to "machine".
 */
const SCANNER_NETWORKS: { cidr: string; owner: string }[] = [
  { cidr: '64.235.144.0/20', owner: 'Barracuda Email Security Service' },
  { cidr: '205.139.110.0/24', owner: 'Mimecast (US)' },
  { cidr: '207.211.30.0/24', owner: 'Mimecast (US)' },
  { cidr: '216.205.24.0/24', owner: 'Mimecast (US)' },
  { cidr: '91.220.42.0/24', owner: 'Mimecast (EU)' },
  { cidr: '195.130.217.0/24', owner: 'Mimecast (EU)' },
];
const APPLE_NETWORK = '17.0.0.0/8';

type Range = { base: number; mask: number };

function parseIpv4(ip: string): number | null {
  // Node reports IPv4 clients on a dual-stack socket as IPv4-mapped IPv6.
  const m = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/i.exec(ip.trim());
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

function parseCidr(cidr: string): Range {
  const [ip, bits] = cidr.split('/');
  const mask = Number(bits) === 0 ? 0 : (0xffffffff << (32 - Number(bits))) >>> 0;
  return { base: (parseIpv4(ip!)! & mask) >>> 0, mask };
}

const scannerRanges = SCANNER_NETWORKS.map((n) => parseCidr(n.cidr));
const appleRange = parseCidr(APPLE_NETWORK);
const inRange = (ip: number, r: Range) => ((ip & r.mask) >>> 0) === r.base;

export interface RequestFacts {
  kind: 'open' | 'click';
  method: string;
  userAgent: string;
  ip: string | undefined;
}

/** The request-level verdict: a machine reason, or null (human as far as the request tells). */
export function classifyRequest(r: RequestFacts): MachineReason | null {
  if (r.method === 'HEAD') return 'head_request';
  const ua = r.userAgent.trim();
  const ip = r.ip ? parseIpv4(r.ip) : null;
  if (r.kind === 'open' && (ua === 'Mozilla/5.0' || (ip !== null && inRange(ip, appleRange)))) return 'apple_mpp';
  if (ua === '' || SCANNER_USER_AGENT.test(ua)) return 'scanner_user_agent';
  if (ip !== null && scannerRanges.some((range) => inRange(ip, range))) return 'scanner_network';
  return null;
}

export interface ClickFacts {
  /** Event id when already stored, to re-classify it. */
  id?: number;
  link: number;
  at: number;
  reason: MachineReason | null;
}

/**
 * Applies the history rules to the clicks of one message (stored ones within the window, and
 * new ones), oldest first. Sets `reason` where a rule matches and the click had none; returns
 * the stored clicks whose verdict changed.
 */
export function classifyClicks(clicks: ClickFacts[], ctx: { deliveredAt: number | null; trackedLinks: number; honeypot: number }): ClickFacts[] {
  const changed: ClickFacts[] = [];
  const mark = (c: ClickFacts, reason: MachineReason) => {
    if (c.reason) return;
    c.reason = reason;
    if (c.id !== undefined) changed.push(c);
  };
  for (const trap of clicks.filter((c) => c.link === ctx.honeypot)) {
    for (const c of clicks) if (Math.abs(c.at - trap.at) <= HONEYPOT_WINDOW_MS) mark(c, 'honeypot');
  }
  const needed = Math.max(2, Math.min(BURST_LINKS, ctx.trackedLinks));
  for (const c of clicks) {
    const near = clicks.filter((o) => o.link !== ctx.honeypot && Math.abs(o.at - c.at) <= BURST_WINDOW_MS);
    if (new Set(near.map((o) => o.link)).size >= needed) for (const o of near) mark(o, 'burst');
  }
  if (ctx.deliveredAt !== null) {
    for (const c of clicks) if (c.at - ctx.deliveredAt < TOO_SOON_MS) mark(c, 'too_soon_after_delivery');
  }
  return changed;
}
