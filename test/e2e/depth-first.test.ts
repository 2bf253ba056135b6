/**
 * The crawl walks the tree depth first: a payload's children go to the forefront of the queue, so
 * what waits in it is one frontier, not a whole level of the tree (issue 14: at live size, ~10⁵
 * classification requests held at once). Breadth first, every calendar is fetched before the first
 * classification; depth first, classifications come as soon as the first calendars are in, and the
 * calendars left are fetched among them. Handlers run 48 at once (DEFAULTS.handlerConcurrency), so
 * the order is depth first to about that width, not exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReplica, syntheticTree, type Replica, type ReplicaTree } from '../replica/index.js';
import { crawl, crawlConfig } from '../support/crawl.js';
import { DATABASE_KINDS, createTestDatabase, tempDir, type TestDatabase } from '../support/db.js';

describe('the crawl order', () => {
  let tree: ReplicaTree;
  let replica: Replica;
  let database: TestDatabase;

  beforeAll(async () => {
    tree = syntheticTree({ seed: 7, series: 3, seasonsPerSeries: 40, eventsPerSeason: 2, sessionsPerEvent: 2 });
    replica = await startReplica({ tree });
    database = await createTestDatabase(DATABASE_KINDS.at(-1)!);
  });
  afterAll(async () => {
    await replica?.close();
    await database?.drop();
  });

  it('is depth first: classifications are fetched long before the last calendar', async () => {
    const summary = await crawl(crawlConfig(replica.url, tempDir(), database.target));
    expect(summary.outcome).toBe('complete');
    const order = [...replica.stats.getsByPath.keys()];
    const calendars = order.flatMap((p, at) => (p.endsWith('/calendar') ? [at] : []));
    const classifications = order.flatMap((p, at) => (p.endsWith('/classification') ? [at] : []));
    expect(calendars).toHaveLength(120);
    expect(classifications.length).toBeGreaterThan(300);
    // Breadth first: 120 calendars, then every classification. Depth first: fewer than half the
    // calendars before the first classification, and most classifications before the last calendar.
    expect(calendars.filter((at) => at < classifications[0]!).length).toBeLessThan(60);
    expect(classifications.filter((at) => at < calendars.at(-1)!).length).toBeGreaterThan(classifications.length / 2);
  });
});
