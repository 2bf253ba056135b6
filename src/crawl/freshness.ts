/**
 * The freshness policy: for one request and what the cache holds for it, whether the crawl serves
 * the cached body, revalidates it with a conditional request, or fetches it. Asked once per
 * request (by the crawler before navigation, and by `crawl --plan`), and nowhere else.
 *
 * | # | --cache | cached record                          | the request                               | decision   |
 * |---|---------|----------------------------------------|-------------------------------------------|------------|
 * | 1 | refresh | any                                    | any                                       | fetch      |
 * | 2 | only    | sound                                  | any                                       | serve      |
 * | 3 | only    | none, or damaged                       | any                                       | fail       |
 * | 4 | prefer  | none, or damaged                       | any                                       | fetch      |
 * | 5 | prefer  | sound                                  | of a `Historic` season                    | serve      |
 * | 6 | prefer  | sound, age ≤ --settled-max-age         | classification of a settled session       | serve      |
 * | 7 | prefer  | sound, age ≤ --max-age                 | any other                                 | serve      |
 * | 8 | prefer  | sound, older, with ETag/Last-Modified  | (expired by 6 or 7)                       | revalidate |
 * | 9 | prefer  | sound, older, without validators       | (expired by 6 or 7)                       | fetch      |
 *
 * A session is *settled* when its end (its `endTimeUtc`, else the end of its event's last day)
 * lies more than --settle-after in the past: its results will not change any more, so a stored
 * classification is trusted for --settled-max-age instead of --max-age. A session without an end
 * follows its season's rule. "Now" is MSC_NOW when set (a testing aid), else the clock; the age of
 * a record is measured from when it was fetched or last revalidated on that same clock.
 */
import type { Label } from '../api/endpoints.js';
import type { CacheMode, CrawlConfig } from '../config.js';
import type { RequestMeta } from './routes/types.js';

export type FreshnessAction = 'serve' | 'revalidate' | 'fetch' | 'fail';

export interface FreshnessDecision {
  readonly action: FreshnessAction;
  /** The row of the table above that decided, for logs and the plan. */
  readonly rule: number;
}

/** What the policy needs to know of a cached record: when it was fetched, and its validators. */
export interface CachedState {
  readonly fetchedAt: number;
  readonly etag?: string;
  readonly lastModified?: string;
}

export interface FreshnessRules {
  readonly cache: CacheMode;
  readonly maxAgeMs: number;
  readonly settleAfterMs: number;
  readonly settledMaxAgeMs: number;
}

export interface FreshnessQuestion {
  readonly label: Label;
  readonly meta: RequestMeta;
  /** The sound record the cache holds; undefined when none (or only a damaged one). */
  readonly cached: CachedState | undefined;
  readonly now: number;
}

export function decideFreshness(rules: FreshnessRules, { label, meta, cached, now }: FreshnessQuestion): FreshnessDecision {
  if (rules.cache === 'refresh') return { action: 'fetch', rule: 1 };
  if (rules.cache === 'only') return cached ? { action: 'serve', rule: 2 } : { action: 'fail', rule: 3 };
  if (!cached) return { action: 'fetch', rule: 4 };
  if (meta.historic) return { action: 'serve', rule: 5 };
  const settled = isSettled(rules, label, meta, now);
  if (now - cached.fetchedAt <= (settled ? rules.settledMaxAgeMs : rules.maxAgeMs)) return { action: 'serve', rule: settled ? 6 : 7 };
  return cached.etag !== undefined || cached.lastModified !== undefined ? { action: 'revalidate', rule: 8 } : { action: 'fetch', rule: 9 };
}

/** A classification whose session ended more than --settle-after ago. */
export function isSettled(rules: Pick<FreshnessRules, 'settleAfterMs'>, label: Label, meta: RequestMeta, now: number): boolean {
  return label === 'classification' && meta.endsAt !== undefined && now - meta.endsAt > rules.settleAfterMs;
}

/** The conditional-request headers for a cached record's validators. */
export function conditionalHeaders(cached: CachedState): Record<string, string> {
  return {
    ...(cached.etag !== undefined ? { 'if-none-match': cached.etag } : {}),
    ...(cached.lastModified !== undefined ? { 'if-modified-since': cached.lastModified } : {}),
  };
}

/** "Now" for every freshness decision and every record's age: MSC_NOW when set, else the clock. */
export function clockOf(config: Pick<CrawlConfig, 'nowMs'>): () => number {
  const fixed = config.nowMs;
  return fixed === undefined ? Date.now : () => fixed;
}
