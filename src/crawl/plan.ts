/**
 * `crawl --plan`: what a crawl with the same flags would do now, without making any request. It
 * starts where the crawl starts (startQueue): the pending requests of an unfinished crawl it
 * would resume, plus the failed ones with --retry-failed; only the failed ones with --retry-failed
 * otherwise; else the series list. From there it walks the tree as the crawl does (series →
 * seasons → calendar → classification, within the scope; a request the queue already knows is
 * not taken again), asking the freshness policy (freshness.ts) about each request with the record
 * the cache holds, and finds each request's children in its cached body: the body the crawl would
 * serve, or get back from a 304, or (for an unchanged API) fetch again. A request with no cached
 * body (never fetched, or damaged) is fetched, and what hangs from it cannot be known before: the
 * plan says how many such requests there are. With --max-requests it says how many of the planned
 * requests this run starts, and how many of those reach the API: which ones do depends on the
 * order concurrent handlers finish in, so that is a range unless the planned requests leave no
 * choice. Not foreseen: retries of requests that fail, and what the crawl's completeness sweep
 * or a queue rebuilt for another database add (the plan reads neither the database nor the API).
 */
import { LABELS, LEAF_LABELS, apiPath, targetKey, type Label } from '../api/endpoints.js';
import type { CrawlConfig } from '../config.js';
import type { Logger } from '../log.js';
import { ResponseCache } from './cache.js';
import { FailureLog } from './failures.js';
import { clockOf, decideFreshness, type FreshnessAction } from './freshness.js';
import { readRequest } from './crawl-request.js';
import { QueueJournal } from './queue-journal.js';
import { crawlToResume, failedRequests } from './queue.js';
import type { ChildRequest } from './routes/types.js';
import { QUEUE_NAME, requestQueueDir } from './storage-client.js';
import { openStorageDir, type StorageDir } from './storage-dir.js';
import { ROOT } from './tree.js';
import { formatTable } from '../text-table.js';
import { keysOf, recordOf } from '../record.js';
import { childrenOf } from './sweep.js';
import { count } from '../words.js';

export type PlanCounts = Record<FreshnessAction, number> & {
  /** Fetched requests without a cached body: their children are not known before they are fetched. */
  unknownChildren: number;
};

/** Where the crawl starts: what startQueue would put in the queue, and what the queue already knows. */
export interface PlanStart {
  /**
   * `new`: the series list; `resume`: an unfinished crawl's pending
   * requests; with --retry-failed, the failed requests besides.
   */
  readonly kind: 'new' | 'resume';
  /** When the crawl resumed was started. */
  readonly resumes?: string;
  /** Pending requests of the resumed crawl. */
  readonly pending: number;
  /** Failed requests retried (--retry-failed). */
  readonly retried: number;
}

/** What --max-requests leaves of the plan for this run. */
export interface PlanCap {
  readonly maxRequests: number;
  /**
   * Requests this run starts: the cap, or all planned requests when they are fewer (min = max);
   * up to the cap when some planned requests have no cached body (their children come on top).
   */
  readonly requests: { readonly min: number; readonly max: number };
  /** Of those, how many reach the API: at least min, at most max (equal when the order cannot change it). */
  readonly network: { readonly min: number; readonly max: number };
  /** Planned requests left for the next run (at least: children of requests without a cached body come on top). */
  readonly left: number;
}

export interface CrawlPlan {
  readonly baseUrl: string;
  readonly now: string;
  readonly cache: CrawlConfig['cache'];
  readonly start: PlanStart;
  readonly byLabel: Record<Label, PlanCounts>;
  readonly total: PlanCounts;
  /** Requests that reach the API (revalidated or fetched), this run; the upper end with --max-requests. */
  readonly networkRequests: number;
  readonly maxRpm: number;
  /** networkRequests at --max-rpm; null when the rate is not limited. */
  readonly estimatedSeconds: number | null;
  /** Set with --max-requests: byLabel and total are the whole plan, this is what the run takes of it. */
  readonly cap?: PlanCap;
}

/** A request the plan walks: its target and meta, and its unique key in the crawl's queue. */
interface Planned extends ChildRequest {
  readonly key: string;
}

export async function planCrawl(config: CrawlConfig, log: Logger): Promise<CrawlPlan> {
  const storage = await openStorageDir(config.storageDir, config.storageName);
  try {
    const { start, seeds, knownKeys } = await startOf(storage, config);
    if (start.kind === 'resume')
      log.info(
        `an unfinished crawl (started ${start.resumes}) is in ` +
          `${storage.dir}: the plan is of its resume (--fresh plans a new crawl)`,
      );
    const cache = new ResponseCache(storage.config, storage.dir, config.baseUrl);
    const now = clockOf(config)();
    const byLabel = recordOf(LABELS, () => emptyCounts());
    // The crawl's queue takes each unique key once: what it knows already is not taken again.
    const seen = new Set(knownKeys);
    let frontier: Planned[] = seeds;
    while (frontier.length) {
      const next: Planned[] = [];
      for (const { target, meta, key } of frontier) {
        if (seen.has(key)) continue;
        seen.add(key);
        const lookup = await cache.get(targetKey(target));
        const record = lookup.state === 'hit' ? lookup.record : undefined;
        const { action } = decideFreshness(config, {
          label: target.label,
          uuid: target.uuid,
          meta,
          cached: record,
          now,
        });
        const counts = byLabel[target.label];
        counts[action] += 1;
        if (action === 'fail' || LEAF_LABELS.has(target.label)) continue;
        const children = record && childrenOf(target.label, target.uuid, meta, record.body, config.scope);
        if (children) next.push(...children.map((child) => ({ ...child, key: apiPath(child.target) })));
        else counts.unknownChildren += 1;
      }
      frontier = next;
    }
    const total = emptyCounts();
    for (const label of LABELS) for (const field of keysOf(total)) total[field] += byLabel[label][field];
    const cap = config.maxRequests === undefined ? undefined : capOf(config.maxRequests, total);
    const networkRequests = cap ? cap.network.max : total.revalidate + total.fetch;
    return {
      baseUrl: config.baseUrl,
      now: new Date(now).toISOString(),
      cache: config.cache,
      start,
      byLabel,
      total,
      networkRequests,
      maxRpm: config.maxRpm,
      estimatedSeconds: Number.isFinite(config.maxRpm) ? Math.round((networkRequests / config.maxRpm) * 60) : null,
      ...(cap ? { cap } : {}),
    };
  } finally {
    await storage.close();
  }
}

/**
 * What the crawl's queue starts with (see startQueue): an unfinished crawl's pending requests,
 * the failed requests with --retry-failed (under unique keys of their own, as seedFailures adds
 * them), or the series list; and the unique keys the queue already knows.
 */
async function startOf(
  storage: StorageDir,
  config: CrawlConfig,
): Promise<{ start: PlanStart; seeds: Planned[]; knownKeys: ReadonlySet<string> }> {
  const resumed = await crawlToResume(storage, config);
  const queued = resumed
    ? QueueJournal.snapshot(requestQueueDir(storage.dir, QUEUE_NAME))
    : { pending: [], knownKeys: new Set<string>() };
  const pending = queued.pending.flatMap((request): Planned[] => {
    let read: ChildRequest;
    try {
      read = readRequest(request.userData);
    } catch {
      // The crawl fails a request it cannot read without sending it.
      return [];
    }
    // Pending ones are known to the queue, but it hands them out: keyed apart so the walk takes them.
    return [{ ...read, key: `pending:${request.uniqueKey}` }];
  });
  const failed = config.retryFailed ? await failedRequests(await FailureLog.open(storage.config)) : [];
  const retried = failed.map((f): Planned => ({ target: f.target, meta: f.meta, key: `retry:${apiPath(f.target)}` }));
  const fresh: Planned[] = resumed || config.retryFailed ? [] : [{ ...ROOT, key: apiPath(ROOT.target) }];
  return {
    start: {
      kind: resumed ? 'resume' : 'new',
      ...(resumed ? { resumes: resumed.startedAt } : {}),
      pending: pending.length,
      retried: retried.length,
    },
    seeds: [...pending, ...retried, ...fresh],
    knownKeys: queued.knownKeys,
  };
}

/**
 * This run's share of the plan under --max-requests: the first `maxRequests` requests the queue
 * hands out. Served (and failing) requests cost no network request; which of the planned requests
 * come first depends on the order concurrent handlers finish in, hence a range. Requests hanging
 * from a body not cached are not planned: when there are such, the run may start more, up to the
 * cap, and any of them may reach the API.
 */
function capOf(maxRequests: number, total: PlanCounts): PlanCap {
  const planned = total.serve + total.revalidate + total.fetch + total.fail;
  const network = total.revalidate + total.fetch;
  const least = Math.min(maxRequests, planned);
  const most = total.unknownChildren ? maxRequests : least;
  return {
    maxRequests,
    requests: { min: least, max: most },
    network: { min: Math.max(0, least - (planned - network)), max: Math.min(most, network + (most - least)) },
    left: planned - least,
  };
}

function emptyCounts(): PlanCounts {
  return { serve: 0, revalidate: 0, fetch: 0, fail: 0, unknownChildren: 0 };
}

export function formatPlan(plan: CrawlPlan): string {
  const rows = [...LABELS.map((l) => [l, plan.byLabel[l]] as const), ['total', plan.total] as const];
  const { start, cap } = plan;
  const from =
    start.kind === 'resume'
      ? `the resume of the unfinished crawl started ${start.resumes} ` +
        `(${count(start.pending, 'pending request')}` +
        `${start.retried ? `, and ${count(start.retried, 'failed one')} retried` : ''}; ` +
        `--fresh plans a new crawl instead)`
      : start.retried
        ? `a retry of the ${count(start.retried, 'failed request')} of the last crawl`
        : `a new crawl`;
  const lines = [
    `Plan of ${from} of ${plan.baseUrl} now (${plan.now}, cache ${plan.cache}), without any request:`,
    '',
    formatTable(
      ['requests', 'from cache', 'revalidate', 'fetch', 'fail', 'total'],
      rows.map(([name, c]) => [
        name,
        c.serve,
        c.revalidate,
        c.fetch,
        c.fail,
        c.serve + c.revalidate + c.fetch + c.fail,
      ]),
    ),
    '',
  ];
  if (cap) {
    const range = ({ min, max }: { min: number; max: number }) => (min === max ? `${max}` : `${min} to ${max}`);
    const order =
      cap.network.min === cap.network.max ? '' : ' (which come first depends on the order handlers finish in)';
    const time =
      plan.estimatedSeconds === null
        ? ', with no rate limit.'
        : `, taking ${cap.network.min !== cap.network.max ? 'at most' : 'about'} ` +
          `${formatDuration(plan.estimatedSeconds)} at ${plan.maxRpm} requests a minute.`;
    const left = cap.left
      ? ` ${count(cap.left, 'request')} ${cap.left === 1 ? 'is' : 'are'} left for the next run.`
      : '';
    lines.push(
      `--max-requests ${cap.maxRequests} caps this run: it starts ${range(cap.requests)} of these ` +
        `requests (cache hits included), ${range(cap.network)} of them to the API${order}${time}${left}`,
    );
  } else {
    lines.push(networkSentence(plan));
  }
  const { fail, unknownChildren } = plan.total;
  if (fail)
    lines.push(
      `${count(fail, 'request')} would fail: ${fail === 1 ? 'it is' : 'they are'} ` +
        `not in the cache, and --cache only fetches nothing.`,
    );
  if (unknownChildren) {
    lines.push(
      unknownChildren === 1
        ? '1 fetched request has no cached body: what hangs from it is not known until it is fetched, and comes on top.'
        : `${unknownChildren} fetched requests have no cached body: what hangs ` +
            `from them is not known until they are fetched, and comes on top.`,
    );
  }
  return lines.join('\n');
}

/** `The crawl would send 3 requests to the API (1 of them conditional), taking about 2 s at 120 requests a minute.` */
function networkSentence({ networkRequests: n, total, estimatedSeconds, maxRpm }: CrawlPlan): string {
  if (n === 0) return 'The crawl would send no request to the API.';
  const conditional =
    total.revalidate === 0
      ? 'none of them conditional'
      : total.revalidate === n
        ? n === 1
          ? 'a conditional one'
          : 'all of them conditional'
        : `${total.revalidate} of them conditional`;
  const time =
    estimatedSeconds === null
      ? 'with no rate limit'
      : `taking ${estimatedSeconds === 0 ? 'under a second' : `about ${formatDuration(estimatedSeconds)}`} ` +
        `at ${maxRpm} requests a minute`;
  return `The crawl would send ${count(n, 'request')} to the API (${conditional}), ${time}.`;
}

function formatDuration(seconds: number): string {
  if (seconds < 90) return `${seconds} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
