/**
 * Keeping the mirror current (issue 13) against a synthetic tree with a current season around
 * T0, with MSC_NOW moving "now": settled results, 304 revalidation, a changed body, historic
 * seasons, a server without validators, --cache refresh, and --plan counting exactly what the
 * crawl then does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CrawlConfig } from '../../src/config.js';
import type { CrawlArgs } from '../../src/commands/crawl.js';
import { planCrawl, type CrawlPlan } from '../../src/crawl/plan.js';
import type { CrawlSummary } from '../../src/crawl/summary.js';
import { LABELS } from '../../src/api/endpoints.js';
import { apiPath, startReplica, syntheticTree, type Calendar, type Classification, type Replica, type ReplicaTree, type SeasonItem, type SeriesItem } from '../replica/index.js';
import { crawl, crawlConfig, memoryLogger, written } from '../support/crawl.js';
import { DATABASE_KINDS, createTestDatabase, tempDir, type TestDatabase } from '../support/db.js';

const KIND = DATABASE_KINDS.at(-1)!;
const DAY = 86_400_000;
const T0 = Date.parse('2026-06-15T12:00:00Z');
const TREE = { seed: 61, series: 2, seasonsPerSeries: 2, eventsPerSeason: 4, sessionsPerEvent: 3, carsPerSession: 4, currentAround: T0 };

const payload = <T>(tree: ReplicaTree, path: string): T => JSON.parse(tree.body(path)!) as T;

/** The classification requests of the tree, with their season's status and their session's end. */
function classifications(tree: ReplicaTree): { uuid: string; historic: boolean; endsAt: number }[] {
  const out: { uuid: string; historic: boolean; endsAt: number }[] = [];
  for (const series of payload<SeriesItem[]>(tree, apiPath.series())) {
    for (const season of payload<SeasonItem[]>(tree, apiPath.seasons(series.uuid))) {
      for (const event of payload<Calendar>(tree, apiPath.calendar(season.uuid)).events) {
        for (const session of event.sessions.filter((s) => s.hasResults)) {
          const endsAt = session.endTimeUtc !== null ? session.endTimeUtc * 1000 : (event.endDate! + 86_400) * 1000;
          out.push({ uuid: session.uuid, historic: season.status === 'Historic', endsAt });
        }
      }
    }
  }
  return out;
}

function at(now: number, replica: Replica, storage: string, database: TestDatabase, extra: CrawlArgs = {}): CrawlConfig {
  return { ...crawlConfig(replica.url, storage, database.target, extra), nowMs: now };
}

/** What the plan said, in the terms of what a crawl's summary and the replica count. */
function planned(plan: CrawlPlan): Record<string, { serve: number; revalidate: number; fetch: number }> {
  return Object.fromEntries(LABELS.map((l) => [l, { serve: plan.byLabel[l].serve, revalidate: plan.byLabel[l].revalidate, fetch: plan.byLabel[l].fetch }]));
}
function done(summary: CrawlSummary): Record<string, { serve: number; revalidate: number; fetch: number }> {
  return Object.fromEntries(LABELS.map((l) => {
    const c = summary.requests[l];
    return [l, { serve: c.cacheHits, revalidate: c.revalidated, fetch: c.succeeded - c.cacheHits - c.revalidated }];
  }));
}

/** Plans, crawls, and checks the crawl did what the plan said, on the replica's side too. */
async function planThenCrawl(config: CrawlConfig, replica: Replica): Promise<{ plan: CrawlPlan; summary: CrawlSummary }> {
  const plan = await planCrawl(config, memoryLogger().log);
  const before = { full: replica.stats.fullBodies, notModified: replica.stats.notModified };
  const summary = await crawl(config);
  expect(summary.outcome).toBe('complete');
  expect(done(summary)).toEqual(planned(plan));
  expect(replica.stats.fullBodies - before.full).toBe(plan.total.fetch);
  expect(replica.stats.notModified - before.notModified).toBe(plan.total.revalidate);
  return { plan, summary };
}

describe(`freshness of a refresh (${KIND})`, () => {
  let tree: ReplicaTree;
  let replica: Replica;
  let database: TestDatabase;
  let storage: string;
  let sessions: ReturnType<typeof classifications>;

  beforeAll(async () => {
    tree = syntheticTree(TREE);
    replica = await startReplica({ tree });
    database = await createTestDatabase(KIND);
    storage = tempDir();
    sessions = classifications(tree);
  });
  afterAll(async () => {
    await replica?.close();
    await database?.drop();
  });

  it('a first crawl: the plan knows only the series list, and the crawl fetches everything', async () => {
    const plan = await planCrawl(at(T0, replica, storage, database), memoryLogger().log);
    expect(planned(plan).series).toEqual({ serve: 0, revalidate: 0, fetch: 1 });
    expect(plan.total.unknownChildren).toBe(1);
    const summary = await crawl(at(T0, replica, storage, database));
    expect(summary.outcome).toBe('complete');
    expect(summary.requests.classification.succeeded).toBe(sessions.length);
  });

  it('two days later: settled and historic results are served, the rest revalidated with 304s; no full body, no row written', async () => {
    const now = T0 + 2 * DAY;
    const unsettled = sessions.filter((s) => !s.historic && now - s.endsAt <= 14 * DAY);
    const settled = sessions.filter((s) => !s.historic && now - s.endsAt > 14 * DAY);
    // The tree has sessions on both sides of --settle-after, and historic ones.
    expect(unsettled.length).toBeGreaterThan(0);
    expect(settled.length).toBeGreaterThan(0);
    expect(sessions.some((s) => s.historic)).toBe(true);
    const { plan, summary } = await planThenCrawl(at(now, replica, storage, database), replica);
    expect(plan.total.fetch).toBe(0);
    expect(summary.requests.classification.revalidated).toBe(unsettled.length);
    expect(summary.requests.classification.cacheHits).toBe(sessions.length - unsettled.length);
    expect(summary.requests.series.revalidated).toBe(1);
    expect(written(summary)).toEqual({});
    // Only unsettled classifications were asked for, each conditionally.
    for (const s of settled) expect(replica.stats.getsByPath.get(apiPath.classification(s.uuid))).toBe(1);
    expect(replica.lastHeaders?.['if-none-match']).toMatch(/^".+"$/);
  });

  it('--settle-after and --settled-max-age decide on both sides of their thresholds', async () => {
    const now = T0 + 4 * DAY;
    const plan = (extra: CrawlArgs) => planCrawl(at(now, replica, storage, database, extra), memoryLogger().log);
    const nonHistoric = sessions.filter((s) => !s.historic).length;
    const unsettledAt = (settleDays: number) => sessions.filter((s) => !s.historic && now - s.endsAt <= settleDays * DAY).length;
    // Records of sessions unsettled two days ago were revalidated then (a 304 restarts the age); the others date from T0.
    const fetchedAt = (s: (typeof sessions)[number]) => (T0 + 2 * DAY - s.endsAt <= 14 * DAY ? T0 + 2 * DAY : T0);
    const revalidated = (settleDays: number, settledMaxDays: number) =>
      sessions.filter((s) => !s.historic && (now - s.endsAt <= settleDays * DAY ? now - fetchedAt(s) > DAY : now - fetchedAt(s) > settledMaxDays * DAY)).length;
    expect((await plan({ maxAge: '1d' })).byLabel.classification.revalidate).toBe(unsettledAt(14));
    expect((await plan({ maxAge: '1d', settleAfter: '1d' })).byLabel.classification.revalidate).toBe(unsettledAt(1));
    expect(unsettledAt(1)).toBeLessThan(unsettledAt(14));
    // Settled records are 2 or 4 days old: all kept with --settled-max-age 5d, those of T0 revalidated with 3d, all with 1d.
    expect((await plan({ maxAge: '1d', settledMaxAge: '5d' })).byLabel.classification.revalidate).toBe(unsettledAt(14));
    expect((await plan({ maxAge: '1d', settledMaxAge: '3d' })).byLabel.classification.revalidate).toBe(revalidated(14, 3));
    expect(revalidated(14, 3)).toBeGreaterThan(unsettledAt(14));
    expect((await plan({ maxAge: '1d', settledMaxAge: '1d' })).byLabel.classification.revalidate).toBe(nonHistoric);
    // Historic seasons never expire, a year later too.
    const later = await planCrawl(at(T0 + 400 * DAY, replica, storage, database), memoryLogger().log);
    expect(later.byLabel.classification.serve).toBe(sessions.filter((s) => s.historic).length);
    expect(later.byLabel.classification.revalidate).toBe(nonHistoric);
  });

  it('a changed body answers the conditional request with a new ETag: exactly its rows change', async () => {
    const now = T0 + 6 * DAY;
    const changed = sessions.find((s) => !s.historic && now - s.endsAt <= 14 * DAY)!;
    const path = apiPath.classification(changed.uuid);
    const etagBefore = await etagOf(replica, path);
    tree.mutate<Classification>(path, (c) => {
      c.details[0]!.points = (c.details[0]!.points ?? 0) + 100;
      return c;
    });
    const fullBefore = replica.stats.fullBodies;
    const summary = await crawl(at(now, replica, storage, database));
    expect(summary.outcome).toBe('complete');
    expect(replica.stats.fullBodies - fullBefore).toBe(1);
    expect(written(summary)).toEqual({ classifications: 1 });
    expect(await etagOf(replica, path)).not.toBe(etagBefore);
    // Cached with its new validators: the next refresh gets a 304 for it.
    const next = await planThenCrawl(at(now + 2 * DAY, replica, storage, database), replica);
    expect(next.plan.total.fetch).toBe(0);
    expect(written(next.summary)).toEqual({});
  });

  it('--cache refresh still fetches everything, unconditionally', async () => {
    const { plan, summary } = await planThenCrawl(at(T0 + 7 * DAY, replica, storage, database, { cache: 'refresh' }), replica);
    expect(plan.total.serve + plan.total.revalidate).toBe(0);
    expect(summary.requests.classification.succeeded).toBe(sessions.length);
    expect(replica.lastHeaders?.['if-none-match']).toBeUndefined();
    expect(written(summary)).toEqual({});
  });
});

describe(`a server without validators (${KIND})`, () => {
  let replica: Replica;
  let database: TestDatabase;

  beforeAll(async () => {
    replica = await startReplica({ tree: syntheticTree(TREE), validators: false });
    database = await createTestDatabase(KIND);
  });
  afterAll(async () => {
    await replica?.close();
    await database?.drop();
  });

  it('costs nothing extra: expired bodies are fetched whole, without conditional headers, and write nothing', async () => {
    const storage = tempDir();
    expect((await crawl(at(T0, replica, storage, database))).outcome).toBe('complete');
    const { plan, summary } = await planThenCrawl(at(T0 + 2 * DAY, replica, storage, database), replica);
    expect(plan.total.revalidate).toBe(0);
    expect(plan.total.fetch).toBeGreaterThan(0);
    expect(plan.total.serve).toBeGreaterThan(0);
    expect(replica.stats.notModified).toBe(0);
    expect(replica.lastHeaders?.['if-none-match']).toBeUndefined();
    expect(replica.lastHeaders?.['if-modified-since']).toBeUndefined();
    expect(written(summary)).toEqual({});
  });
});

async function etagOf(replica: Replica, path: string): Promise<string | null> {
  const response = await fetch(replica.url + path);
  await response.arrayBuffer();
  return response.headers.get('etag');
}
