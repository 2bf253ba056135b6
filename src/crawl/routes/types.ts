/**
 * The one shape every route has: a pure function from a validated payload (and the UUID of the
 * request it answers) to rows, complete sets and child requests. Routes know motorsport;
 * the crawl core that calls them does not.
 */
import type { ApiTarget, Label, PayloadByLabel } from '../../api/endpoints.js';
import type { CrawlScope } from '../../config.js';
import type { RowsByTable } from '../../store/tables.js';
import type { CompleteSet } from '../../store/complete-sets.js';

/** What a request carries besides its target; persisted in the queue with it. */
export interface RequestMeta {
  /** The season is `Historic`: its calendar and classifications never change, never expire. */
  readonly historic: boolean;
  /**
   * A classification's: when its session ended (epoch ms: its `endTimeUtc`, else the end of its
   * event's last day), for the freshness policy's settled rule. Absent when unknown.
   */
  readonly endsAt?: number;
}

export interface ChildRequest {
  readonly target: ApiTarget;
  readonly meta: RequestMeta;
}

export interface RouteInput<L extends Label> {
  readonly payload: PayloadByLabel[L];
  /** The UUID in the request path: the parent every row of the payload hangs from. */
  readonly parentUuid: L extends 'series' ? undefined : string;
  readonly meta: RequestMeta;
  readonly scope: CrawlScope;
}

export interface RouteResult {
  readonly rows: RowsByTable;
  /** The complete sets: sets of rows this payload holds in full (absent ones are soft-deleted). */
  readonly complete: readonly CompleteSet[];
  /** Enqueued only after `rows` are committed. */
  readonly children: readonly ChildRequest[];
  /** Things the user should hear about (a filter that matched nothing…). */
  readonly warnings?: readonly string[];
}

export type Route<L extends Label> = (input: RouteInput<L>) => RouteResult;

/** Keeps the first of each key: the same venue, driver or country recurs within one payload. */
export function uniqueBy<T>(items: Iterable<T>, key: (item: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const item of items) if (!seen.has(key(item))) seen.set(key(item), item);
  return [...seen.values()];
}
