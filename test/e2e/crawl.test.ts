/**
 * Full crawls of the replica over real HTTP into both databases: exact row counts from the
 * replica's own oracle, a re-crawl that writes nothing, and a re-crawl after upstream changes
 * that writes exactly those changes, each with one new history version.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../../src/store/db.js';
import { TABLE_ORDER } from '../../src/store/tables.js';
import {
  apiPath,
  expectedCounts,
  recordedTree,
  startReplica,
  type Calendar,
  type Classification,
  type Replica,
  type ReplicaTree,
  type SeriesItem,
} from '../replica/index.js';
import {
  DATABASE_KINDS,
  createTestDatabase,
  historyCount,
  liveCounts,
  tempDir,
  type TestDatabase,
} from '../support/db.js';
import { crawl, crawlConfig, written } from '../support/crawl.js';
import { snapshot } from '../support/snapshot.js';

const WEC_2025 = '204926ca-77b0-4a4f-a1e7-352152e4fc25';
const QATAR_RACE = '1f2f78be-efb6-4d75-a029-235385c35cc1';

/** Opens the database between crawls (an embedded one cannot be open twice). */
async function withDb<T>(database: TestDatabase, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await openDb(database.target);
  try {
    return await fn(db);
  } finally {
    await db.destroy();
  }
}

async function historyTotals(database: TestDatabase): Promise<Record<string, number>> {
  return withDb(database, async (db) =>
    Object.fromEntries(await Promise.all(TABLE_ORDER.map(async (t) => [t, await historyCount(db, t)] as const))),
  );
}

describe.each(DATABASE_KINDS)('crawl of the recorded replica into %s', (kind) => {
  let tree: ReplicaTree;
  let replica: Replica;
  let database: TestDatabase;
  let storage: string;

  beforeAll(async () => {
    tree = recordedTree();
    replica = await startReplica({ tree });
    database = await createTestDatabase(kind);
    storage = tempDir();
  });
  afterAll(async () => {
    await replica?.close();
    await database?.drop();
  });

  it('stores exactly the rows of the tree, sending the API headers on every request', async () => {
    const expected = expectedCounts(tree);
    const summary = await crawl(crawlConfig(replica.url, storage, database.target));
    expect(summary.outcome).toBe('complete');
    expect(Object.fromEntries(Object.entries(summary.requests).map(([l, c]) => [l, c.succeeded]))).toEqual({
      series: expected.requests.series,
      seasons: expected.requests.seasons,
      calendar: expected.requests.calendar,
      classification: expected.requests.classification,
    });
    // Every request that reached the API was a fetch of the tree: no separate reachability check.
    expect(replica.stats.total).toBe(expected.requests.total);
    expect(replica.lastHeaders?.origin).toBe('https://widgets.motorsportstats.com');
    expect(replica.lastHeaders?.['x-parent-referer']).toBe('https://motorsportstats.com/');
    expect(Object.fromEntries(TABLE_ORDER.map((t) => [t, summary.rows[t].inserted]))).toEqual(expected.rows);
    await withDb(database, async (db) => {
      expect(await liveCounts(db)).toEqual(expected.rows);
      // Stored as served, replacement characters included.
      expect((await db('series').where({ uuid: 'd7bdfd27-5b7f-4812-881e-c7e55dd799da' }).first()).name).toBe(
        'ADAC 24h Rennen N\uFFFDrburgring',
      );
    });
  });

  it('writes nothing when re-crawling unchanged data (served from the cache, known to be stored already)', async () => {
    const before = await historyTotals(database);
    const cached = await crawl(crawlConfig(replica.url, storage, database.target));
    expect(cached.outcome).toBe('complete');
    expect(cached.requests.classification.cacheHits).toBe(cached.requests.classification.succeeded);
    for (const counts of Object.values(cached.requests)) expect(counts.alreadyStored).toBe(counts.succeeded);
    expect(written(cached)).toEqual({});
    expect(await historyTotals(database)).toEqual(before);
  });

  it(
    'after upstream renames an event, changes a result and ' +
      'drops a car: writes exactly those, one history version each',
    async () => {
      let renamed = '';
      let droppedCar: Classification['details'][number] | undefined;
      tree.mutate<Calendar>(apiPath.calendar(WEC_2025), (calendar) => {
        calendar.events[1]!.name = renamed = `${calendar.events[1]!.name} (renamed)`;
        return calendar;
      });
      tree.mutate<Classification>(apiPath.classification(QATAR_RACE), (classification) => {
        classification.details[0]!.points = 38;
        droppedCar = classification.details.pop();
        return classification;
      });
      try {
        const before = await historyTotals(database);
        // From the network, the branch holding the changes (WEC): unchanged everywhere but there.
        const summary = await crawl(
          crawlConfig(replica.url, storage, database.target, { cache: 'refresh', series: ['WEC'] }),
        );
        expect(summary.requests.classification.cacheHits).toBe(0);
        // Only the two changed bodies went through validation and the sink.
        expect(summary.requests.classification.alreadyStored).toBe(summary.requests.classification.succeeded - 1);
        expect(summary.requests.calendar.alreadyStored).toBe(summary.requests.calendar.succeeded - 1);
        const droppedLinks = droppedCar!.drivers.length;
        expect(written(summary)).toEqual({ events: 1, classifications: 2, entries: 1, entry_drivers: droppedLinks });
        expect(summary.rows.classifications).toMatchObject({ updated: 1, deleted: 1 });
        const after = await historyTotals(database);
        expect(Object.fromEntries(TABLE_ORDER.map((t) => [t, after[t]! - before[t]!]).filter(([, n]) => n))).toEqual({
          events: 1,
          classifications: 2,
          entries: 1,
          entry_drivers: droppedLinks,
        });
        await withDb(database, async (db) => {
          expect(await db('events').where({ name: renamed }).first()).toBeDefined();
          const gone = await db('entries')
            .where({ session_uuid: QATAR_RACE, car_number: droppedCar!.carNumber })
            .first();
          expect(gone.deleted_at).not.toBeNull();
        });
      } finally {
        tree.unmutateAll();
      }
    },
  );

  it(
    'refuses a 200 listing nothing of a set it holds rows of (no series, no events, no ' +
      'cars), naming how many rows it would delete; the mirror keeps every row',
    async () => {
      // In step with the tree again (the previous test's changes undone upstream).
      const synced = await crawl(
        crawlConfig(replica.url, storage, database.target, { cache: 'refresh', series: ['WEC'] }),
      );
      expect(synced.outcome).toBe('complete');
      const liveOf = (table: string, where: Record<string, string>) =>
        withDb(database, async (db) => (await db(table).where(where).whereNull('deleted_at').pluck('hash')).length);
      const refusal = (what: string, stored: number) =>
        `refused: the payload lists no ${what} and would soft-delete all ${stored} stored ` +
        '(a set emptied at once is not trusted)';
      const cases: [string, (tree: ReplicaTree) => void, string[] | undefined, string][] = [
        [
          'calendar',
          (t) => t.mutate<Calendar>(apiPath.calendar(WEC_2025), (c) => ({ ...c, events: [] })),
          ['WEC'],
          refusal(`events of season_uuid ${WEC_2025}`, await liveOf('events', { season_uuid: WEC_2025 })),
        ],
        [
          'classification',
          (t) => t.mutate<Classification>(apiPath.classification(QATAR_RACE), () => ({ details: [], retirements: [] })),
          ['WEC'],
          refusal(`entries of session_uuid ${QATAR_RACE}`, await liveOf('entries', { session_uuid: QATAR_RACE })),
        ],
        [
          'series',
          (t) => t.mutate<SeriesItem[]>(apiPath.series(), () => []),
          undefined,
          refusal('series', await liveOf('series', {})),
        ],
      ];
      for (const [label, empty, series, message] of cases) {
        expect(Number(/all (\d+)/.exec(message)![1]), label).toBeGreaterThan(0);
        const before = await snapshot(database.target);
        empty(tree);
        try {
          const summary = await crawl(crawlConfig(replica.url, storage, database.target, { cache: 'refresh', series }));
          expect(summary.outcome, label).toBe('failures');
          expect(summary.failures, label).toEqual([
            expect.objectContaining({ kind: 'request', label, error: message, attempts: 1 }),
          ]);
          expect(
            Object.values(summary.rows).reduce((n, c) => n + c.deleted, 0),
            label,
          ).toBe(0);
          expect(await snapshot(database.target), label).toEqual(before);
        } finally {
          tree.unmutateAll();
        }
      }
    },
  );
});
