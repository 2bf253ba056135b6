/**
 * The completeness sweep run when a crawl's queue drains (src/crawl/sweep.ts): it adds back a
 * request that was genuinely lost (named by a payload this crawl handled, never in the queue),
 * and nothing else: not the children of a request that failed, and not what the rows of a crawl of
 * another origin imply. Real crawls of a real HTTP server into a real database.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JOURNAL_FILE } from '../../src/crawl/queue-journal.js';
import { QUEUE_NAME, requestQueueDir } from '../../src/crawl/storage-client.js';
import {
  apiPath,
  expectedCounts,
  syntheticTree,
  type Calendar,
  type ReplicaTree,
  type SeasonItem,
  type SeriesItem,
} from '../replica/index.js';
import { crawl, crawlConfig } from '../support/crawl.js';
import { DATABASE_KINDS, createTestDatabase, liveCountsOf, tempDir, type TestDatabase } from '../support/db.js';
import { startHostileServer, type HostileServer, type Hostility } from '../support/hostile-server.js';

const TREE = { seed: 51, series: 2, seasonsPerSeries: 2, eventsPerSeason: 2, sessionsPerEvent: 3, carsPerSession: 3 };
const KIND = DATABASE_KINDS.at(-1)!;
const LOST = /missing from the queue/;

const body = <T>(tree: ReplicaTree, p: string): T => JSON.parse(tree.body(p)!) as T;
const seriesOf = (tree: ReplicaTree) => body<SeriesItem[]>(tree, apiPath.series());
const seasonsOf = (tree: ReplicaTree, series: number) =>
  body<SeasonItem[]>(tree, apiPath.seasons(seriesOf(tree)[series]!.uuid));
const classificationsOf = (tree: ReplicaTree, season: string) =>
  body<Calendar>(tree, apiPath.calendar(season))
    .events.flatMap((e) => e.sessions)
    .filter((s) => s.hasResults)
    .map((s) => apiPath.classification(s.uuid));

describe(`the completeness sweep (${KIND})`, () => {
  const servers: HostileServer[] = [];
  const databases: TestDatabase[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
    await Promise.all(databases.splice(0).map((d) => d.drop()));
  });

  async function setUp(tree: ReplicaTree, hostile: Record<string, Hostility> = {}) {
    const api = await startHostileServer({ tree, hostile });
    servers.push(api);
    const database = await createTestDatabase(KIND);
    databases.push(database);
    return { api, database, storage: tempDir() };
  }

  it('does not take the children of a request that failed for lost requests', async () => {
    const tree = syntheticTree(TREE);
    const hostile: Record<string, Hostility> = {};
    const { api, database, storage } = await setUp(tree, hostile);
    expect((await crawl(crawlConfig(api.url, storage, database.target))).outcome).toBe('complete');
    // The next crawl refetches everything, and one calendar now fails: its sessions are in the
    // database from the first crawl, but this crawl never got to name them.
    const season = seasonsOf(tree, 0)[0]!.uuid;
    hostile[apiPath.calendar(season)] = { kind: 'html', times: Infinity };
    const orphans = classificationsOf(tree, season);
    expect(orphans.length).toBeGreaterThan(0);
    const before = orphans.map((p) => api.gets.get(p));
    const second = await crawl(crawlConfig(api.url, storage, database.target, { cache: 'refresh' }, { maxRetries: 1 }));
    expect(second.outcome).toBe('failures');
    expect(second.failures.map((f) => f.url)).toEqual([api.url + apiPath.calendar(season)]);
    expect(second.lines.filter((l) => LOST.test(l))).toEqual([]);
    expect(orphans.map((p) => api.gets.get(p))).toEqual(before);
    // Nothing was lost from the database either.
    expect(await liveCountsOf(database)).toEqual(expectedCounts(tree).rows);
  });

  it('does not take what the rows of a crawl of another origin imply for lost requests', async () => {
    const first = syntheticTree(TREE);
    const a = await setUp(first);
    expect((await crawl(crawlConfig(a.api.url, a.storage, a.database.target))).outcome).toBe('complete');
    // Another origin, another tree, whose series list loses an item to quarantine: the first
    // origin's series are then not soft-deleted, and stay live in the database.
    const other = syntheticTree({ ...TREE, seed: 52 });
    other.mutate<SeriesItem[]>(apiPath.series(), (list) =>
      list.map((s, i) => (i === 0 ? { ...s, uuid: undefined } : s)),
    );
    const b = await startHostileServer({ tree: other });
    servers.push(b);
    const second = await crawl(crawlConfig(b.url, a.storage, a.database.target));
    expect(second.lines.filter((l) => LOST.test(l))).toEqual([]);
    expect(second.failures.filter((f) => f.kind === 'request')).toEqual([]);
    // Nothing of the first origin's tree was asked of the second.
    const asked = [...b.gets.keys()];
    for (const s of seriesOf(first)) expect(asked).not.toContain(apiPath.seasons(s.uuid));
    expect(asked.every((p) => other.body(p) !== undefined)).toBe(true);
  });

  it('adds back a request genuinely lost from the queue, with a warning, and ends with every row', async () => {
    const tree = syntheticTree(TREE);
    const { api, database, storage } = await setUp(tree);
    const stopped = await crawl(crawlConfig(api.url, storage, database.target, { maxRequests: 6, concurrency: 1 }));
    expect(stopped.outcome).toBe('limit');
    // Drop one pending request's line from the journal, as a kill cutting it short would.
    const journal = path.join(requestQueueDir(storage, QUEUE_NAME), JOURNAL_FILE);
    const lines = readFileSync(journal, 'utf8').split('\n').filter(Boolean);
    const pendingKeys = new Set(
      lines.flatMap((l) => {
        const line = JSON.parse(l) as { put?: { uniqueKey: string } };
        return line.put ? [line.put.uniqueKey] : [];
      }),
    );
    const doneKeys = new Set(
      lines.flatMap((l) => {
        const line = JSON.parse(l) as { key?: string };
        return line.key ? [line.key] : [];
      }),
    );
    const victim = [...pendingKeys].find((k) => !doneKeys.has(k) && k.includes('classification'))!;
    expect(victim).toBeDefined();
    writeFileSync(journal, `${lines.filter((l) => !l.includes(JSON.stringify(victim))).join('\n')}\n`);
    const resumed = await crawl(crawlConfig(api.url, storage, database.target));
    expect(resumed.outcome).toBe('complete');
    expect(resumed.lines.filter((l) => LOST.test(l))).toEqual([
      'WARN 1 request named by payloads this crawl handled was missing ' +
        'from the queue (lost by an interrupted run): fetching it now',
    ]);
    expect(api.gets.get(victim)).toBe(1);
    expect(await liveCountsOf(database)).toEqual(expectedCounts(tree).rows);
  });
});
