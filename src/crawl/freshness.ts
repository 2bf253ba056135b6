/**
 * The freshness policy: for one request and what the cache holds for it, whether the crawl serves
 * the cached body, revalidates it with a conditional request, or fetches it. Asked once per
 * request (by the crawler before navigation, and by `crawl --plan`), and nowhere else.
 *
 * | # | --cache | cached record                         | the request            | decision   |
 * |---|---------|---------------------------------------|------------------------|------------|
 * | 1 | refresh | any                                   | any                    | fetch      |
 * | 2 | only    | sound                                 | any                    | serve      |
 * | 3 | only    | none, or damaged                      | any                    | fail       |
 * | 4 | prefer  | none, or damaged                      | any                    | fetch      |
 * | 5 | prefer  | sound                                 | of a `Historic` season | serve      |
 * | 6 | prefer  | sound, age ≤ its settled max age      | settled (below)        | serve      |
 * | 7 | prefer  | sound, age ≤ --max-age                | any other              | serve      |
 * | 8 | prefer  | sound, older, with ETag/Last-Modified | (expired by 6 or 7)    | revalidate |
 * | 9 | prefer  | sound, older, without validators      | (expired by 6 or 7)    | fetch      |
 *
 * Settled: the instant below lies more than --settle-after in the past. What upstream still changes
 * after that is a correction now and then, which the settled max age catches.
 *
 * | request        | the instant                            | read from       | why it is sound                       |
 * |----------------|----------------------------------------|-----------------|---------------------------------------|
 * | classification | its session's end: `endTimeUtc`, else  | its request     | results are corrected within days of  |
 * |                | the end of its event's last day; none: | (the calendar)  | a race (protests, penalties), not     |
 * |                | never settled (its season's rule)      |                 | weeks later                           |
 * | calendar       | its season's end: the last end of its  | the cached body | a season over for weeks gets no new   |
 * |                | events and sessions, and the end of    |                 | round, and its sessions' `hasResults` |
 * |                | its last year (`endYear`, else         |                 | flip within days; while its year runs |
 * |                | `year`), the later; none (never        |                 | a round may still be dated or added,  |
 * |                | settled) while an event not cancelled  |                 | so the year counts too                |
 * |                | has no date                            |                 |                                       |
 * | seasons list   | its series' stop: the end of its       | the cached body | the one change a seasons list gets is |
 * |                | newest season's last year, when that   |                 | a new season; a series whose newest   |
 * |                | season is `Historic`; none for an      |                 | season upstream calls historic, its   |
 * |                | empty list, or while the newest season |                 | year over, is not running; a revival  |
 * |                | is current or unmarked                 |                 | is seen within the settled age        |
 *
 * The settled max age is --settled-max-age times a factor from 0.8 to 1.2 hashed from the
 * request's uuid: the settled records of a first crawl then come due over ±20 % of it instead of
 * all on one day, and each uuid always on the same. The series list never settles (new series).
 * "Now" is MSC_NOW when set (a testing aid), else the clock; the age of a record is measured from
 * when it was fetched or last revalidated on that same clock.
 */
import type { Label } from '../api/endpoints.js';
import type { CacheMode, CrawlConfig } from '../config.js';
import { validatePayload } from '../api/validate.js';
import { decodeBody } from './decode.js';
import { seasonEnd, seriesStopped } from './tree.js';
import type { RequestMeta } from './routes/types.js';

export type FreshnessAction = 'serve' | 'revalidate' | 'fetch' | 'fail';

export interface FreshnessDecision {
  readonly action: FreshnessAction;
  /** The row of the table above that decided, for logs and the plan. */
  readonly rule: number;
}

/** What the policy needs to know of a cached record: when it was fetched, its validators, and its body. */
export interface CachedState {
  readonly fetchedAt: number;
  readonly etag?: string;
  readonly lastModified?: string;
  /** A calendar's or seasons list's body says whether it is settled; without it, it is not. */
  readonly body?: Buffer;
}

export interface FreshnessRules {
  readonly cache: CacheMode;
  readonly maxAgeMs: number;
  readonly settleAfterMs: number;
  readonly settledMaxAgeMs: number;
}

export interface FreshnessQuestion {
  readonly label: Label;
  /** The request's uuid (none for the series list): its settled max age is hashed from it. */
  readonly uuid?: string | undefined;
  readonly meta: RequestMeta;
  /** The sound record the cache holds; undefined when none (or only a damaged one). */
  readonly cached: CachedState | undefined;
  readonly now: number;
}

export function decideFreshness(
  rules: FreshnessRules,
  { label, uuid, meta, cached, now }: FreshnessQuestion,
): FreshnessDecision {
  if (rules.cache === 'refresh') return { action: 'fetch', rule: 1 };
  if (rules.cache === 'only') return cached ? { action: 'serve', rule: 2 } : { action: 'fail', rule: 3 };
  if (!cached) return { action: 'fetch', rule: 4 };
  if (meta.historic) return { action: 'serve', rule: 5 };
  const settled = isSettled(rules, label, meta, cached, now);
  if (now - cached.fetchedAt <= (settled ? settledMaxAge(rules, uuid) : rules.maxAgeMs))
    return { action: 'serve', rule: settled ? 6 : 7 };
  return cached.etag !== undefined || cached.lastModified !== undefined
    ? { action: 'revalidate', rule: 8 }
    : { action: 'fetch', rule: 9 };
}

/** Whether the request is settled: the instant of the table above lies more than --settle-after in the past. */
export function isSettled(
  rules: Pick<FreshnessRules, 'settleAfterMs'>,
  label: Label,
  meta: RequestMeta,
  cached: Pick<CachedState, 'body'> | undefined,
  now: number,
): boolean {
  const end = settledFrom(label, meta, cached?.body);
  return end !== undefined && now - end > rules.settleAfterMs;
}

/** The instant of the table above, or undefined when the request never settles (or it cannot be read). */
function settledFrom(label: Label, meta: RequestMeta, body: Buffer | undefined): number | undefined {
  if (label === 'classification') return meta.endsAt;
  if (label === 'series' || body === undefined) return undefined;
  try {
    // Read as the crawl reads it. A body that lost items to quarantine (or no longer passes) is
    // not known whole, so not trusted to be settled: upstream may yet mend it.
    const value = decodeBody(body).value;
    if (label === 'calendar') {
      const { payload, quarantined } = validatePayload('calendar', value);
      return quarantined.length ? undefined : seasonEnd(payload);
    }
    const { payload, quarantined } = validatePayload('seasons', value);
    return quarantined.length ? undefined : seriesStopped(payload);
  } catch {
    return undefined;
  }
}

/** --settled-max-age spread by ±20 % per uuid (FNV-1a of it): deterministic, and even over many uuids. */
export function settledMaxAge(rules: Pick<FreshnessRules, 'settledMaxAgeMs'>, uuid: string | undefined): number {
  if (uuid === undefined) return rules.settledMaxAgeMs;
  let hash = 0x811c9dc5;
  for (let i = 0; i < uuid.length; i += 1) hash = Math.imul(hash ^ uuid.charCodeAt(i), 0x01000193) >>> 0;
  return Math.round(rules.settledMaxAgeMs * (0.8 + (0.4 * hash) / 2 ** 32));
}

/** The conditional-request headers for a cached record's validators (those that can be sent). */
export function conditionalHeaders(cached: CachedState): Record<string, string> {
  const etag = validatorValue(cached.etag);
  const lastModified = validatorValue(cached.lastModified);
  return {
    ...(etag !== undefined ? { 'if-none-match': etag } : {}),
    ...(lastModified !== undefined ? { 'if-modified-since': lastModified } : {}),
  };
}

/** Validators are echoed back to the server and kept in each record's header: a hostile length is not kept. */
const MAX_VALIDATOR_LENGTH = 512;

/**
 * A validator (ETag, Last-Modified) as it may be kept and sent back, or undefined when it may not:
 * empty, too long, or holding a character Node refuses in a header value (a control byte other
 * than tab, DEL, anything above U+00FF). Bytes 0x80-0xFF stay: Node reads and writes header
 * values as latin1, so they go back byte for byte. A validator that could not be sent would fail
 * every later revalidation before it left; one left out only makes the request unconditional.
 */
export function validatorValue(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '' || value.length > MAX_VALIDATOR_LENGTH) return undefined;
  for (let i = 0; i < value.length; i += 1) {
    const code = value.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f || code > 0xff) return undefined;
  }
  return value;
}

/** "Now" for every freshness decision and every record's age: MSC_NOW when set, else the clock. */
export function clockOf(config: Pick<CrawlConfig, 'nowMs'>): () => number {
  const fixed = config.nowMs;
  return fixed === undefined ? Date.now : () => fixed;
}
