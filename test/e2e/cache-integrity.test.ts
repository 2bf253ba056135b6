/**
 * Cache records whose bytes changed without their length changing (issue 10, row 6): each record
 * carries a SHA-256 of its body, checked on read. A record that fails it is never served and never
 * stored: the crawl fetches it again (and counts it), or with --cache only fails it as corrupt.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/store/db.js';
import {
  apiPath,
  startReplica,
  syntheticTree,
  type Calendar,
  type Classification,
  type Replica,
  type ReplicaTree,
  type SeasonItem,
  type SeriesItem,
} from '../replica/index.js';
import { cacheRecordFile, readCacheRecord, rewriteCacheBody } from '../support/cache-files.js';
import { crawl, crawlConfig } from '../support/crawl.js';
import { DATABASE_KINDS, createTestDatabase, tempDir, type TestDatabase } from '../support/db.js';

const TREE = { seed: 41, series: 1, seasonsPerSeries: 1, eventsPerSeason: 2, sessionsPerEvent: 2, carsPerSession: 5 };
const KIND = DATABASE_KINDS.at(-1)!;

const payload = <T>(tree: ReplicaTree, path: string): T => JSON.parse(tree.body(path)!) as T;

/** A classification of the tree whose winner can be turned into P9 by flipping one byte. */
function aRace(tree: ReplicaTree): { session: string; carNumber: string } {
  const [series] = payload<SeriesItem[]>(tree, apiPath.series());
  const [season] = payload<SeasonItem[]>(tree, apiPath.seasons(series!.uuid));
  for (const event of payload<Calendar>(tree, apiPath.calendar(season!.uuid)).events) {
    for (const session of event.sessions.filter((s) => s.hasResults)) {
      const winner = payload<Classification>(tree, apiPath.classification(session.uuid)).details.find(
        (d) => d.finishPosition === 1,
      );
      if (winner) return { session: session.uuid, carNumber: winner.carNumber };
    }
  }
  throw new Error('the tree has no classified winner');
}

async function finishPosition(database: TestDatabase, session: string, carNumber: string): Promise<number | undefined> {
  const db = await openDb(database.target);
  try {
    return (await db('classifications').where({ session_uuid: session, car_number: carNumber }).first())
      ?.finish_position;
  } finally {
    await db.destroy();
  }
}

describe(`a cached body changed on disk without changing its length (${KIND})`, () => {
  let tree: ReplicaTree;
  let replica: Replica;
  let storage: string;
  let race: { session: string; carNumber: string };
  const databases: TestDatabase[] = [];
  const newDatabase = async () => {
    const database = await createTestDatabase(KIND);
    databases.push(database);
    return database;
  };

  beforeAll(async () => {
    tree = syntheticTree(TREE);
    replica = await startReplica({ tree });
    storage = tempDir();
    race = aRace(tree);
    const first = await crawl(crawlConfig(replica.url, storage, (await newDatabase()).target));
    expect(first.outcome).toBe('complete');
    // The winner becomes P9 in the cached record: same length, other bytes.
    const file = cacheRecordFile(storage, `classification-${race.session}`);
    const bytes = readCacheRecord(file).body;
    const flipped = Buffer.from(
      bytes.toString('latin1').replace('"finishPosition":1,', '"finishPosition":9,'),
      'latin1',
    );
    expect(flipped.length).toBe(bytes.length);
    expect(flipped.equals(bytes)).toBe(false);
    rewriteCacheBody(file, flipped);
  });
  afterAll(async () => {
    await replica?.close();
    for (const database of databases) await database.drop();
  });

  it('--cache only: fails that request as corrupt, counts it, and stores nothing of it', async () => {
    const database = await newDatabase();
    const summary = await crawl(crawlConfig(replica.url, storage, database.target, { cache: 'only' }));
    expect(summary.outcome).toBe('failures');
    expect(summary.requests.classification.cacheDamaged).toBe(1);
    const failed = summary.failures.filter((f) => f.kind === 'request');
    expect(failed.map((f) => f.kind === 'request' && f.error)).toEqual([
      `cached record corrupt (classification-${race.session}): content hash mismatch`,
    ]);
    expect(
      summary.lines.some((l) => l.includes(`classification-${race.session} is damaged (content hash mismatch)`)),
    ).toBe(true);
    expect(await finishPosition(database, race.session, race.carNumber)).toBeUndefined();
  });

  it(
    '--cache prefer: never serves it, fetches it again and ' +
      'stores what the server serves, then caches it whole again',
    async () => {
      const database = await newDatabase();
      const path = apiPath.classification(race.session);
      const fetchedBefore = replica.stats.getsByPath.get(path) ?? 0;
      const summary = await crawl(crawlConfig(replica.url, storage, database.target));
      expect(summary.outcome).toBe('complete');
      expect(summary.requests.classification.cacheDamaged).toBe(1);
      expect(replica.stats.getsByPath.get(path)).toBe(fetchedBefore + 1);
      expect(await finishPosition(database, race.session, race.carNumber)).toBe(1);
      // Rewritten whole: served from the cache by the next crawl, as the server's bytes.
      expect(
        readCacheRecord(cacheRecordFile(storage, `classification-${race.session}`)).body.equals(
          Buffer.from(tree.body(path)!),
        ),
      ).toBe(true);
      const again = await crawl(crawlConfig(replica.url, storage, (await newDatabase()).target, { cache: 'only' }));
      expect(again.outcome).toBe('complete');
      expect(again.requests.classification.cacheDamaged).toBe(0);
    },
  );
});
