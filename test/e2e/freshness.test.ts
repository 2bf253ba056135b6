/**
 * Keeping the mirror current (issue 13) against a synthetic tree with a current season around
 * T0, with MSC_NOW moving "now": settled results, 304 revalidation, a changed body, historic
 * seasons, a server without validators, --cache refresh, and --plan counting exactly what the
 * crawl then does (a new crawl, a resume, --retry-failed, --max-requests); and the "done
 * when" on the recorded tree.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CrawlConfig } from '../../src/config.js';
import type { CrawlArgs } from '../../src/commands/crawl.js';
import { formatPlan, planCrawl, type CrawlPlan } from '../../src/crawl/plan.js';
import type { CrawlSummary } from '../../src/crawl/summary.js';
import { LABELS } from '../../src/api/endpoints.js';
import type { Label } from '../../src/api/endpoints.js';
import { openDb } from '../../src/store/db.js';
import { TABLE_ORDER } from '../../src/store/tables.js';
import {
  apiPath,
  recordedTree,
  startReplica,
  syntheticTree,
  type Calendar,
  type Classification,
  type Replica,
  type ReplicaTree,
  type SeasonItem,
  type SeriesItem,
} from '../replica/index.js';
import { routeOf } from '../replica/tree.js';
import { crawl, crawlConfig, memoryLogger, written } from '../support/crawl.js';
import { DATABASE_KINDS, createTestDatabase, tempDir, type TestDatabase } from '../support/db.js';

const KIND = DATABASE_KINDS.at(-1)!;
const DAY = 86_400_000;
const T0 = Date.parse('2026-06-15T12:00:00Z');
const TREE = {
  seed: 61,
  series: 2,
  seasonsPerSeries: 2,
  eventsPerSeason: 4,
  sessionsPerEvent: 3,
  carsPerSession: 4,
  currentAround: T0,
};

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

function at(
  now: number,
  replica: Replica,
  storage: string,
  database: TestDatabase,
  extra: CrawlArgs = {},
): CrawlConfig {
  return { ...crawlConfig(replica.url, storage, database.target, extra), nowMs: now };
}

/** What the plan said, in the terms of what a crawl's summary and the replica count. */
function planned(plan: CrawlPlan): Record<string, { serve: number; revalidate: number; fetch: number }> {
  return Object.fromEntries(
    LABELS.map((l) => [
      l,
      { serve: plan.byLabel[l].serve, revalidate: plan.byLabel[l].revalidate, fetch: plan.byLabel[l].fetch },
    ]),
  );
}
function done(summary: CrawlSummary): Record<string, { serve: number; revalidate: number; fetch: number }> {
  return Object.fromEntries(
    LABELS.map((l) => {
      const c = summary.requests[l];
      return [l, { serve: c.cacheHits, revalidate: c.revalidated, fetch: c.succeeded - c.cacheHits - c.revalidated }];
    }),
  );
}

/** The GETs the replica's request log holds, per endpoint. */
function getsByLabel(replica: Replica): Record<Label, number> {
  const out: Record<Label, number> = { series: 0, seasons: 0, calendar: 0, classification: 0 };
  for (const [path, n] of replica.stats.getsByPath) {
    const endpoint = routeOf(path)?.endpoint;
    if (endpoint) out[endpoint] += n;
  }
  return out;
}

/** What the replica's request log gained since `before`. */
function getsSince(replica: Replica, before: Record<Label, number>): Record<Label, number> {
  const now = getsByLabel(replica);
  return Object.fromEntries(LABELS.map((l) => [l, now[l] - before[l]])) as Record<Label, number>;
}

/**
 * Plans, crawls, and checks the crawl did what the plan said,
 * on the replica's side too (its request log, 200s and 304s).
 */
async function planThenCrawl(
  config: CrawlConfig,
  replica: Replica,
): Promise<{ plan: CrawlPlan; summary: CrawlSummary }> {
  const plan = await planCrawl(config, memoryLogger().log);
  const before = { full: replica.stats.fullBodies, notModified: replica.stats.notModified, gets: getsByLabel(replica) };
  const summary = await crawl(config);
  expect(summary.outcome).toBe('complete');
  expect(done(summary)).toEqual(planned(plan));
  expect(getsSince(replica, before.gets)).toEqual(
    Object.fromEntries(LABELS.map((l) => [l, plan.byLabel[l].revalidate + plan.byLabel[l].fetch])),
  );
  expect(replica.stats.fullBodies - before.full).toBe(plan.total.fetch);
  expect(replica.stats.notModified - before.notModified).toBe(plan.total.revalidate);
  return { plan, summary };
}

const plannedTotal = (plan: CrawlPlan) => plan.total.serve + plan.total.revalidate + plan.total.fetch + plan.total.fail;
const handled = (summary: CrawlSummary) =>
  Object.values(summary.requests).reduce((n, c) => n + c.succeeded + c.failed, 0);
const sum = (counts: Record<Label, number>) => Object.values(counts).reduce((n, c) => n + c, 0);

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

  it(
    'two days later: settled and historic results are served, ' +
      'the rest revalidated with 304s; no full body, no row written',
    async () => {
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
    },
  );

  it('--settle-after and --settled-max-age decide on both sides of their thresholds', async () => {
    const now = T0 + 4 * DAY;
    const plan = (extra: CrawlArgs) => planCrawl(at(now, replica, storage, database, extra), memoryLogger().log);
    const nonHistoric = sessions.filter((s) => !s.historic).length;
    const unsettledAt = (settleDays: number) =>
      sessions.filter((s) => !s.historic && now - s.endsAt <= settleDays * DAY).length;
    // Records of sessions unsettled two days ago were revalidated
    // then (a 304 restarts the age); the others date from T0.
    const fetchedAt = (s: (typeof sessions)[number]) => (T0 + 2 * DAY - s.endsAt <= 14 * DAY ? T0 + 2 * DAY : T0);
    const revalidated = (settleDays: number, settledMaxDays: number) =>
      sessions.filter(
        (s) =>
          !s.historic &&
          (now - s.endsAt <= settleDays * DAY ? now - fetchedAt(s) > DAY : now - fetchedAt(s) > settledMaxDays * DAY),
      ).length;
    expect((await plan({ maxAge: '1d' })).byLabel.classification.revalidate).toBe(unsettledAt(14));
    expect((await plan({ maxAge: '1d', settleAfter: '1d' })).byLabel.classification.revalidate).toBe(unsettledAt(1));
    expect(unsettledAt(1)).toBeLessThan(unsettledAt(14));
    // Settled records are 2 or 4 days old: all kept with
    // --settled-max-age 5d, those of T0 revalidated with 3d, all with 1d.
    expect((await plan({ maxAge: '1d', settledMaxAge: '5d' })).byLabel.classification.revalidate).toBe(unsettledAt(14));
    expect((await plan({ maxAge: '1d', settledMaxAge: '3d' })).byLabel.classification.revalidate).toBe(
      revalidated(14, 3),
    );
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
    const { plan, summary } = await planThenCrawl(
      at(T0 + 7 * DAY, replica, storage, database, { cache: 'refresh' }),
      replica,
    );
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

  it(
    'costs nothing extra: expired bodies are fetched ' + 'whole, without conditional headers, and write nothing',
    async () => {
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
    },
  );
});

async function etagOf(replica: Replica, path: string): Promise<string | null> {
  const response = await fetch(replica.url + path);
  await response.arrayBuffer();
  return response.headers.get('etag');
}

describe(`--plan counts what the crawl then does: a resume, --retry-failed, --max-requests (${KIND})`, () => {
  let tree: ReplicaTree;
  let replica: Replica;
  let database: TestDatabase;
  let storage: string;

  beforeAll(async () => {
    tree = syntheticTree(TREE);
    replica = await startReplica({ tree });
    database = await createTestDatabase(KIND);
    storage = tempDir();
    expect((await crawl(at(T0, replica, storage, database))).outcome).toBe('complete');
  });
  afterAll(async () => {
    await replica?.close();
    await database?.drop();
  });

  it('a pending resume: the plan is of the queue the crawl continues, not of a new crawl', async () => {
    const now = T0 + 2 * DAY;
    const whole = await planCrawl(at(now, replica, storage, database), memoryLogger().log);
    expect(whole.start.kind).toBe('new');
    const stopped = await crawl(at(now, replica, storage, database, { maxRequests: 5 }));
    expect(stopped.outcome).toBe('limit');
    expect(handled(stopped)).toBe(5);
    const { plan } = await planThenCrawl(at(now, replica, storage, database), replica);
    expect(plan.start).toMatchObject({ kind: 'resume', retried: 0 });
    expect(plan.start.pending).toBeGreaterThan(0);
    // The 5 handled requests are not planned again: with them, the resume is the whole refresh.
    expect(plannedTotal(plan) + 5).toBe(plannedTotal(whole));
    // --fresh plans a new crawl instead.
    expect((await planCrawl(at(now, replica, storage, database, { fresh: true }), memoryLogger().log)).start.kind).toBe(
      'new',
    );
  });

  it('--retry-failed: the failed requests, and what hangs from them', async () => {
    const now = T0 + 4 * DAY;
    const [series] = payload<SeriesItem[]>(tree, apiPath.series());
    const [current] = payload<SeasonItem[]>(tree, apiPath.seasons(series!.uuid));
    const failing = apiPath.calendar(current!.uuid);
    // The current season's calendar fails on the refresh: its cached body stays, its failure is recorded.
    await replica.close();
    replica = await startReplica({ tree, port: replica.port, faults: { perPath: { [failing]: '500-always' } } });
    const failed = await crawl(at(now, replica, storage, database));
    expect(failed.outcome).toBe('failures');
    expect(failed.failures.map((f) => f.url)).toEqual([replica.url + failing]);
    await replica.close();
    replica = await startReplica({ tree, port: replica.port });
    const { plan, summary } = await planThenCrawl(at(now, replica, storage, database, { retryFailed: true }), replica);
    expect(plan.start).toMatchObject({ kind: 'new', pending: 0, retried: 1 });
    expect(planned(plan).calendar).toEqual({ serve: 0, revalidate: 1, fetch: 0 });
    // Its sessions' classifications are walked too (the failed run did not reach them: a failed
    // list's children are not swept, so some have come due since and are revalidated).
    const sessionsOf = payload<Calendar>(tree, failing)
      .events.flatMap((e) => e.sessions)
      .filter((s) => s.hasResults).length;
    const { serve, revalidate, fetch } = plan.byLabel.classification;
    expect(serve + revalidate + fetch).toBe(sessionsOf);
    expect(plannedTotal(plan)).toBe(1 + sessionsOf);
    expect(summary.failures).toEqual([]);
  });

  it(
    '--max-requests: exactly N requests start; the plan gives how ' +
      'many reach the API, exactly when the order cannot change it',
    async () => {
      const now = T0 + 6 * DAY;
      // Mixed: some served, some revalidated; the order handlers finish in decides which come first.
      const plan = await planCrawl(at(now, replica, storage, database, { maxRequests: 9 }), memoryLogger().log);
      expect(plan.cap?.requests).toEqual({ min: 9, max: 9 });
      expect(plan.cap?.left).toBe(plannedTotal(plan) - 9);
      expect(formatPlan(plan)).toContain('--max-requests 9 caps this run: it starts 9 of these requests');
      let before = getsByLabel(replica);
      const capped = await crawl(at(now, replica, storage, database, { maxRequests: 9 }));
      expect(capped.outcome).toBe('limit');
      expect(handled(capped)).toBe(9);
      const network = sum(getsSince(replica, before));
      expect(network).toBeGreaterThanOrEqual(plan.cap!.network.min);
      expect(network).toBeLessThanOrEqual(plan.cap!.network.max);
      expect(plan.networkRequests).toBe(plan.cap!.network.max);
      // Every request to the API (--cache refresh): the plan's count is exact.
      const refresh = at(now, replica, storage, database, { maxRequests: 12, cache: 'refresh', fresh: true });
      const exact = await planCrawl(refresh, memoryLogger().log);
      expect(exact.cap?.network).toEqual({ min: 12, max: 12 });
      before = getsByLabel(replica);
      const full = replica.stats.fullBodies;
      const run = await crawl(refresh);
      expect(run.outcome).toBe('limit');
      expect(sum(getsSince(replica, before))).toBe(12);
      expect(replica.stats.fullBodies - full).toBe(12);
      // A cap above the whole plan leaves it whole: the resume of what is left, exactly.
      const rest = at(now, replica, storage, database, { maxRequests: 100_000, cache: 'refresh' });
      const restPlan = await planCrawl(rest, memoryLogger().log);
      expect(restPlan.start.kind).toBe('resume');
      expect(restPlan.cap).toMatchObject({
        requests: { min: plannedTotal(restPlan), max: plannedTotal(restPlan) },
        left: 0,
      });
      await planThenCrawl(rest, replica);
    },
  );
});

describe(`the issue's "done when", on the recorded tree (${KIND})`, () => {
  // When the corpus was recorded: the 2025 seasons still running, their last results days old.
  const RECORDED_AT = Date.parse('2025-10-22T12:00:00Z');
  const HOUR = 3_600_000;
  /** The 2025 World Championship: its season is not over on RECORDED_AT. */
  const CHANGED_SEASON = '71fdf79a-0cf3-4aab-99f6-b9a836c333da';
  let tree: ReplicaTree;
  let replica: Replica;
  let database: TestDatabase;
  let storage: string;

  beforeAll(async () => {
    tree = recordedTree();
    replica = await startReplica({ tree });
    database = await createTestDatabase(KIND);
    storage = tempDir();
  });
  afterAll(async () => {
    await replica?.close();
    await database?.drop();
  });

  /** Per table, the history versions and the ids of the latest. */
  async function history(): Promise<Record<string, { versions: number; closed: number }>> {
    const db = await openDb(database.target);
    try {
      const out: Record<string, { versions: number; closed: number }> = {};
      for (const table of TABLE_ORDER) {
        const [row] = await db(`${table}_history`).select(
          db.raw('count(*)::int as versions'),
          db.raw('count(valid_to)::int as closed'),
        );
        out[table] = { versions: Number(row.versions), closed: Number(row.closed) };
      }
      return out;
    } finally {
      await db.destroy();
    }
  }

  it(
    'a full crawl, then --max-age 0s: no full body, no settled classification asked for, ' +
      'no row written, history unchanged; then one changed calendar changes exactly its rows',
    async () => {
      const first = await crawl(at(RECORDED_AT, replica, storage, database));
      expect(first.outcome).toBe('complete');
      const all = classifications(tree);
      const settled = all.filter((s) => s.historic || RECORDED_AT + HOUR - s.endsAt > 14 * DAY);
      const unsettled = all.filter((s) => !settled.includes(s));
      expect(settled.length).toBeGreaterThan(1000);
      expect(unsettled.length).toBeGreaterThan(0);
      const historyBefore = await history();

      const { summary } = await planThenCrawl(
        at(RECORDED_AT + HOUR, replica, storage, database, { maxAge: '0s' }),
        replica,
      );
      expect(replica.stats.fullBodies).toBe(
        first.requests.series.succeeded +
          first.requests.seasons.succeeded +
          first.requests.calendar.succeeded +
          first.requests.classification.succeeded,
      );
      for (const s of settled) expect(replica.stats.getsByPath.get(apiPath.classification(s.uuid))).toBe(1);
      expect(summary.requests.classification.revalidated).toBe(unsettled.length);
      expect(written(summary)).toEqual({});
      expect(await history()).toEqual(historyBefore);

      // Upstream renames one event of a running season's calendar.
      const path = apiPath.calendar(CHANGED_SEASON);
      const renamed = payload<Calendar>(tree, path).events[3]!;
      tree.mutate<Calendar>(path, (c) => {
        c.events[3]!.name = `${c.events[3]!.name ?? ''} (renamed)`;
        return c;
      });
      const full = replica.stats.fullBodies;
      const changed = await crawl(at(RECORDED_AT + 2 * HOUR, replica, storage, database, { maxAge: '0s' }));
      expect(changed.outcome).toBe('complete');
      expect(replica.stats.fullBodies - full).toBe(1);
      expect(written(changed)).toEqual({ events: 1 });
      const historyAfter = await history();
      expect(historyAfter).toEqual({
        ...historyBefore,
        events: { versions: historyBefore.events!.versions + 1, closed: historyBefore.events!.closed + 1 },
      });
      const db = await openDb(database.target);
      try {
        const latest = await db('events_history').orderBy('version_id', 'desc').first('uuid', 'name');
        expect(latest).toEqual({ uuid: renamed.uuid, name: `${renamed.name ?? ''} (renamed)` });
      } finally {
        await db.destroy();
      }
    },
  );
});
