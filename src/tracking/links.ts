/**
 * Tracked links. When a campaign starts sending, each link its author wrote is frozen in
 * `campaign_links` with its final destination (UTM parameters added); messages carry
 * `/c/{token}` instead, and the redirect reads the destination from that table and from nowhere
 * else: a token cannot be made to point anywhere new (no open redirect). Links whose URL depends
 * on the recipient (merge fields), and non-web links (mailto:, tel:), are left as written.
 */
import { and, eq } from 'drizzle-orm';
import type { Db, DbOrTx } from '../db/client.js';
import { campaignLinks, campaigns, type LinkTracking } from '../db/schema.js';
import type { CompiledEmail } from '../email/artefact.js';

/** Query parameter carrying the click token to the landing page, for conversion reports. */
export const CLICK_ID_PARAM = 'cn_click';

/** The URL of a link as the author wrote it, or null when it depends on the recipient. */
function staticUrl(link: CompiledEmail['links'][number]): string | null {
  return link.url.every((p) => typeof p === 'string') ? link.url.join('') : null;
}

/** Adds UTM parameters the author did not set themselves (theirs win); keeps query and fragment. */
export function withUtm(url: string, tracking: LinkTracking | null): string {
  if (!tracking?.utm) return url;
  const u = new URL(url);
  const utm = tracking.utm;
  const params: [string, string | undefined][] = [
    ['utm_source', utm.source],
    ['utm_medium', utm.medium],
    ['utm_campaign', utm.campaign],
    ['utm_content', utm.content],
  ];
  for (const [name, value] of params) if (value && !u.searchParams.has(name)) u.searchParams.set(name, value);
  return u.toString();
}

/** Freezes the campaign's links (idempotent: a resumed send keeps the first freeze). */
export async function freezeCampaignLinks(db: DbOrTx, campaign: { id: string; compiled: CompiledEmail; linkTracking: LinkTracking | null }): Promise<void> {
  const rows = campaign.compiled.links.map((link, idx) => {
    const url = staticUrl(link);
    const web = url !== null && /^https?:\/\//i.test(url) && URL.canParse(url);
    return { campaignId: campaign.id, idx, url: web ? withUtm(url, campaign.linkTracking) : (url ?? ''), tracked: web };
  });
  if (rows.length) await db.insert(campaignLinks).values(rows).onConflictDoNothing();
}

export interface FrozenLinks {
  /** Destination by link index, tracked links only. */
  urls: Map<number, string>;
  appendClickId: boolean;
}

export async function loadFrozenLinks(db: DbOrTx, campaignId: string): Promise<FrozenLinks | null> {
  const [campaign] = await db.select({ linkTracking: campaigns.linkTracking }).from(campaigns).where(eq(campaigns.id, campaignId));
  if (!campaign) return null;
  const rows = await db
    .select({ idx: campaignLinks.idx, url: campaignLinks.url })
    .from(campaignLinks)
    .where(and(eq(campaignLinks.campaignId, campaignId), eq(campaignLinks.tracked, true)));
  return { urls: new Map(rows.map((r) => [r.idx, r.url])), appendClickId: campaign.linkTracking?.appendClickId ?? false };
}

/**
 * A campaign's frozen links, cached: they never change once written, and the click redirect
 * (like the sender, for every batch) needs them without a query each time.
 */
export function frozenLinksCache(db: Db, maxCampaigns = 500) {
  const cache = new Map<string, Promise<FrozenLinks | null>>();
  const load = (campaignId: string) => loadFrozenLinks(db, campaignId);
  return {
    get(campaignId: string): Promise<FrozenLinks | null> {
      let entry = cache.get(campaignId);
      if (!entry) {
        entry = load(campaignId);
        // A campaign not yet sending has no frozen links: do not remember that.
        entry.then((v) => (!v || v.urls.size === 0) && cache.delete(campaignId)).catch(() => cache.delete(campaignId));
        if (cache.size >= maxCampaigns) cache.delete(cache.keys().next().value!);
        cache.set(campaignId, entry);
      }
      return entry;
    },
  };
}
export type FrozenLinksCache = ReturnType<typeof frozenLinksCache>;

/** Where `/c/:token` sends the reader: the frozen URL, plus the click id when the campaign asks. */
export function destination(links: FrozenLinks, link: number, token: string): string | null {
  const url = links.urls.get(link);
  if (!url) return null;
  if (!links.appendClickId) return url;
  const u = new URL(url);
  u.searchParams.set(CLICK_ID_PARAM, token);
  return u.toString();
}
