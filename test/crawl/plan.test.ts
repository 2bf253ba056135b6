/** `crawl --plan`'s text: the footer reads as sentences, singular and plural alike. */
import { describe, expect, it } from 'vitest';
import { LABELS } from '../../src/api/endpoints.js';
import { formatPlan, type CrawlPlan, type PlanCounts } from '../../src/crawl/plan.js';

function plan(total: Partial<PlanCounts>, extra: Partial<CrawlPlan> = {}): CrawlPlan {
  const counts: PlanCounts = { serve: 0, revalidate: 0, fetch: 0, fail: 0, unknownChildren: 0, ...total };
  const none: PlanCounts = { serve: 0, revalidate: 0, fetch: 0, fail: 0, unknownChildren: 0 };
  const networkRequests = counts.revalidate + counts.fetch;
  return {
    baseUrl: 'http://127.0.0.1:8787',
    start: { kind: 'new', pending: 0, retried: 0 },
    now: '2026-12-01T00:00:00.000Z',
    cache: 'prefer',
    byLabel: Object.fromEntries(LABELS.map((l) => [l, l === 'series' ? counts : none])) as CrawlPlan['byLabel'],
    total: counts,
    networkRequests,
    maxRpm: 120,
    estimatedSeconds: Math.round((networkRequests / 120) * 60),
    ...extra,
  };
}

const footer = (p: CrawlPlan) => formatPlan(p).split('\n\n').at(-1)!.split('\n');

describe('crawl --plan', () => {
  it('a first crawl: one request, one fetched without a cached body', () => {
    expect(footer(plan({ fetch: 1, unknownChildren: 1 }))).toEqual([
      'The crawl would send 1 request to the API (none of them ' +
        'conditional), taking about 1 s at 120 requests a minute.',
      '1 fetched request has no cached body: what hangs from it is not known until it is fetched, and comes on top.',
    ]);
  });

  it('plurals, conditional requests, and no rate limit', () => {
    expect(footer(plan({ serve: 10, revalidate: 3, fetch: 240, unknownChildren: 2 }))).toEqual([
      'The crawl would send 243 requests to the API (3 of them ' +
        'conditional), taking about 2 min at 120 requests a minute.',
      '2 fetched requests have no cached body: what hangs from ' +
        'them is not known until they are fetched, and comes on top.',
    ]);
    expect(footer(plan({ revalidate: 2 }, { maxRpm: Infinity, estimatedSeconds: null }))).toEqual([
      'The crawl would send 2 requests to the API (all of them conditional), with no rate limit.',
    ]);
  });

  it('everything from the cache, or missing from it under --cache only', () => {
    expect(footer(plan({ serve: 22 }))).toEqual(['The crawl would send no request to the API.']);
    expect(footer(plan({ serve: 20, fail: 2 }, { cache: 'only' }))).toEqual([
      'The crawl would send no request to the API.',
      '2 requests would fail: they are not in the cache, and --cache only fetches nothing.',
    ]);
    expect(formatPlan(plan({ fail: 1 }, { cache: 'only' }))).toContain(
      '\n1 request would fail: it is not in the cache',
    );
  });
});
