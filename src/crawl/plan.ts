/**
 * `crawl --plan`: what a crawl would do now, without making any request. It walks the tree the
 * way the crawl does (series → seasons → calendar → classification, within the scope), asking
 * the freshness policy (freshness.ts) about each request with the record the cache holds, and
 * finds each request's children in its cached body: the body the crawl would serve, or get back
 * from a 304, or (for an unchanged API) fetch again. A request with no cached body (never
 * fetched, or damaged) is fetched, and what hangs from it cannot be known before: the plan says
 * how many such requests there are.
 */
import { LABELS, targetKey, type Label } from '../api/endpoints.js';
import type { CrawlConfig } from '../config.js';
import type { Logger } from '../log.js';
import { ResponseCache } from './cache.js';
import { clockOf, decideFreshness, type FreshnessAction } from './freshness.js';
import { STATE_KEY, type CrawlState } from './queue.js';
import { LEAF_LABELS } from './routes/index.js';
import type { ChildRequest } from './routes/types.js';
import { childrenOf } from './sweep.js';
import { openStorage } from './storage.js';
import { formatTable } from '../text-table.js';
import { count } from './summary.js';

export type PlanCounts = Record<FreshnessAction, number> & {
  /** Fetched requests without a cached body: their children are not known before they are fetched. */
  unknownChildren: number;
};

export interface CrawlPlan {
  readonly baseUrl: string;
  readonly now: string;
  readonly cache: CrawlConfig['cache'];
  readonly byLabel: Record<Label, PlanCounts>;
  readonly total: PlanCounts;
  /** Requests that reach the API (revalidated or fetched). */
  readonly networkRequests: number;
  readonly maxRpm: number;
  /** networkRequests at --max-rpm; null when the rate is not limited. */
  readonly estimatedSeconds: number | null;
  /** Set when the storage dir holds an unfinished crawl, which `crawl` would resume instead. */
  readonly unfinishedCrawl?: string;
}

export async function planCrawl(config: CrawlConfig, log: Logger): Promise<CrawlPlan> {
  const storage = await openStorage(config.storageDir);
  try {
    const state = await storage.records.getValue<CrawlState>(STATE_KEY);
    const unfinished = state && state.finishedAt === undefined && !config.fresh ? state.startedAt : undefined;
    if (unfinished) log.warn(`an unfinished crawl (started ${unfinished}) is in ${storage.dir}: crawl would resume it; this plan is for a new crawl (--fresh)`);
    const cache = new ResponseCache(storage.config, storage.dir, config.baseUrl);
    const now = clockOf(config)();
    const byLabel = Object.fromEntries(LABELS.map((l) => [l, emptyCounts()])) as Record<Label, PlanCounts>;
    const seen = new Set<string>();
    let frontier: ChildRequest[] = [{ target: { label: 'series' }, meta: { historic: false } }];
    while (frontier.length) {
      const next: ChildRequest[] = [];
      for (const { target, meta } of frontier) {
        const key = targetKey(target);
        // The crawl's queue takes each request once (its unique key is the API path).
        if (seen.has(key)) continue;
        seen.add(key);
        const lookup = await cache.get(key);
        const record = lookup.state === 'hit' ? lookup.record : undefined;
        const { action } = decideFreshness(config, { label: target.label, meta, cached: record, now });
        const counts = byLabel[target.label];
        counts[action] += 1;
        if (action === 'fail' || LEAF_LABELS.has(target.label)) continue;
        const children = record && childrenOf(target.label, target.uuid, meta, record.body, config.scope);
        if (children) next.push(...children);
        else counts.unknownChildren += 1;
      }
      frontier = next;
    }
    const total = emptyCounts();
    for (const label of LABELS) for (const field of Object.keys(total) as (keyof PlanCounts)[]) total[field] += byLabel[label][field];
    const networkRequests = total.revalidate + total.fetch;
    return {
      baseUrl: config.baseUrl,
      now: new Date(now).toISOString(),
      cache: config.cache,
      byLabel,
      total,
      networkRequests,
      maxRpm: config.maxRpm,
      estimatedSeconds: Number.isFinite(config.maxRpm) ? Math.round((networkRequests / config.maxRpm) * 60) : null,
      ...(unfinished ? { unfinishedCrawl: unfinished } : {}),
    };
  } finally {
    await storage.close();
  }
}

function emptyCounts(): PlanCounts {
  return { serve: 0, revalidate: 0, fetch: 0, fail: 0, unknownChildren: 0 };
}

export function formatPlan(plan: CrawlPlan): string {
  const rows = [...LABELS.map((l) => [l, plan.byLabel[l]] as const), ['total', plan.total] as const];
  const lines = [
    `Plan of a crawl of ${plan.baseUrl} now (${plan.now}, cache ${plan.cache}), without any request:`,
    '',
    formatTable(['requests', 'from cache', 'revalidate', 'fetch', 'fail', 'total'], rows.map(([name, c]) => [name, c.serve, c.revalidate, c.fetch, c.fail, c.serve + c.revalidate + c.fetch + c.fail])),
    '',
    networkSentence(plan),
  ];
  const { fail, unknownChildren } = plan.total;
  if (fail) lines.push(`${count(fail, 'request')} would fail: ${fail === 1 ? 'it is' : 'they are'} not in the cache, and --cache only fetches nothing.`);
  if (unknownChildren) {
    lines.push(unknownChildren === 1
      ? '1 fetched request has no cached body: what hangs from it is not known until it is fetched, and comes on top.'
      : `${unknownChildren} fetched requests have no cached body: what hangs from them is not known until they are fetched, and comes on top.`);
  }
  if (plan.unfinishedCrawl) lines.push(`An unfinished crawl (started ${plan.unfinishedCrawl}) is in the storage dir: crawl resumes it unless given --fresh.`);
  return lines.join('\n');
}

/** `The crawl would send 3 requests to the API (1 of them conditional), taking about 2 s at 120 requests a minute.` */
function networkSentence({ networkRequests: n, total, estimatedSeconds, maxRpm }: CrawlPlan): string {
  if (n === 0) return 'The crawl would send no request to the API.';
  const conditional = total.revalidate === 0 ? 'none of them conditional' : total.revalidate === n ? (n === 1 ? 'a conditional one' : 'all of them conditional') : `${total.revalidate} of them conditional`;
  const time = estimatedSeconds === null ? 'with no rate limit' : `taking ${estimatedSeconds === 0 ? 'under a second' : `about ${formatDuration(estimatedSeconds)}`} at ${maxRpm} requests a minute`;
  return `The crawl would send ${count(n, 'request')} to the API (${conditional}), ${time}.`;
}

function formatDuration(seconds: number): string {
  if (seconds < 90) return `${seconds} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
