/**
 * The cache is keyed by origin (issue 11, requirement 5): two replicas on two ports serving
 * different data, crawled into one storage dir, each crawl stores its own server's data, from the
 * network first and from its own cached bodies after. And by the base URL's path: two APIs on one
 * origin (`http://h:p` and `http://h:p/other`) never share a cached body.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/store/db.js';
import { startReplica, syntheticTree, type Replica } from '../replica/index.js';
import { crawl, crawlConfig } from '../support/crawl.js';
import { startHostileServer } from '../support/hostile-server.js';
import { DATABASE_KINDS, createTestDatabase, tempDir, type TestDatabase } from '../support/db.js';

const KIND = DATABASE_KINDS.at(-1)!;
const SHAPE = { series: 2, seasonsPerSeries: 1, eventsPerSeason: 2, sessionsPerEvent: 2, carsPerSession: 4 };

async function seriesUuids(database: TestDatabase): Promise<string[]> {
  const db = await openDb(database.target);
  try {
    return (await db('series').orderBy('uuid').select<{ uuid: string }[]>('uuid')).map((r) => r.uuid);
  } finally {
    await db.destroy();
  }
}

describe(`two origins, one storage dir (${KIND})`, () => {
  const replicas: Replica[] = [];
  const databases: TestDatabase[] = [];
  let storage: string;
  const expected: string[][] = [];

  beforeAll(async () => {
    storage = tempDir();
    for (const seed of [51, 52]) {
      const tree = syntheticTree({ ...SHAPE, seed });
      replicas.push(await startReplica({ tree }));
      expected.push((JSON.parse(tree.body('/widgets/1.0.0/series')!) as { uuid: string }[]).map((s) => s.uuid).sort());
      databases.push(await createTestDatabase(KIND));
    }
    expect(expected[0]).not.toEqual(expected[1]);
  });
  afterAll(async () => {
    for (const replica of replicas) await replica.close();
    for (const database of databases) await database.drop();
  });

  it("each crawl stores its own server's data, and is served only its own cached bodies", async () => {
    const [a, b] = [0, 1] as const;
    const first = await crawl(crawlConfig(replicas[a]!.url, storage, databases[a]!.target));
    expect(first.outcome).toBe('complete');
    // The second origin's crawl finds none of the first one's bodies: every request goes to its server.
    const second = await crawl(crawlConfig(replicas[b]!.url, storage, databases[b]!.target));
    expect(second.outcome).toBe('complete');
    expect(second.requests.series.cacheHits + second.requests.classification.cacheHits).toBe(0);
    expect(await seriesUuids(databases[a]!)).toEqual(expected[a]);
    expect(await seriesUuids(databases[b]!)).toEqual(expected[b]);

    // From the cache alone, into fresh databases: each origin gets back exactly its own data.
    for (const i of [a, b]) {
      const fresh = await createTestDatabase(KIND);
      databases.push(fresh);
      const requestsBefore = replicas[i]!.stats.total;
      const cached = await crawl(crawlConfig(replicas[i]!.url, storage, fresh.target, { cache: 'only' }));
      expect(cached.outcome).toBe('complete');
      expect(replicas[i]!.stats.total).toBe(requestsBefore);
      expect(await seriesUuids(fresh)).toEqual(expected[i]);
    }
  });
});

describe(`two API paths on one origin, one storage dir (${KIND})`, () => {
  it("each base URL's crawl is served only the bodies cached under its own path", async () => {
    const trees = [51, 52].map((seed) => syntheticTree({ ...SHAPE, seed }));
    const expectedOf = (i: number) =>
      (JSON.parse(trees[i]!.body('/widgets/1.0.0/series')!) as { uuid: string }[]).map((s) => s.uuid).sort();
    const api = await startHostileServer({ tree: trees[0]!, mounts: { '/other/api': trees[1]! } });
    const databases = await Promise.all([0, 1, 2].map(() => createTestDatabase(KIND)));
    const storage = tempDir();
    const bases = [api.url, `${api.url}/other/api`];
    const gets = () => [...api.gets.values()].reduce((a, b) => a + b, 0);
    try {
      const root = await crawl(crawlConfig(bases[0]!, storage, databases[0]!.target));
      expect(root.outcome).toBe('complete');
      const before = gets();
      const other = await crawl(crawlConfig(bases[1]!, storage, databases[1]!.target));
      expect(other.outcome).toBe('complete');
      // Not one body of the root API's served to the other: every request went to the network.
      expect(other.requests.series.cacheHits + other.requests.classification.cacheHits).toBe(0);
      expect(gets()).toBeGreaterThan(before);
      expect(api.gets.get('/other/api/widgets/1.0.0/series')).toBe(1);
      expect(await seriesUuids(databases[0]!)).toEqual(expectedOf(0));
      expect(await seriesUuids(databases[1]!)).toEqual(expectedOf(1));
      // From the cache alone, the other path's crawl gets back exactly its own data.
      const settled = gets();
      const cached = await crawl(crawlConfig(bases[1]!, storage, databases[2]!.target, { cache: 'only' }));
      expect(cached.outcome).toBe('complete');
      expect(gets()).toBe(settled);
      expect(await seriesUuids(databases[2]!)).toEqual(expectedOf(1));
    } finally {
      await api.close();
      for (const database of databases) await database.drop();
    }
  });
});
