/**
 * Interrupted crawls: kill -9 at seeded random moments and resume, compared row for row with an
 * uninterrupted crawl. (Ctrl-C and SIGTERM, and a finished queue starting a new crawl:
 * test/e2e/interrupt.test.ts.)
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DbTarget } from '../../src/config.js';
import { startReplica, syntheticTree, type ReplicaTree } from '../replica/index.js';
import { startCli, runCli, waitFor } from '../support/cli.js';
import { crawl, crawlConfig } from '../support/crawl.js';
import { DATABASE_KINDS, createTestDatabase, tempDir, type TestDatabase } from '../support/db.js';
import { snapshot, type Snapshot } from '../support/snapshot.js';

// About 200 requests, and slow enough answers that a kill lands with requests in flight.
const TREE = { seed: 11, series: 2, seasonsPerSeries: 3, eventsPerSeason: 5, sessionsPerEvent: 6, carsPerSession: 8 };

function dbFlag(target: DbTarget): string {
  return target.kind === 'embedded' ? target.dir : target.url;
}

/**
 * Requests in flight when the process died: fetched from the replica, but not recorded handled
 * in the queue's journal (a `{"done":…,"key":<API path>}` line; a line cut short does not count).
 */
function inFlightPaths(storage: string, served: Iterable<string>): Set<string> {
  const journal = readFileSync(path.join(storage, 'request_queues', 'crawl', 'journal.ndjson'), 'utf8');
  const done = new Set<string>();
  for (const line of journal.split('\n')) {
    try {
      const { key } = JSON.parse(line) as { key?: string };
      if (key) done.add(key);
    } catch {
      // cut short by the kill
    }
  }
  return new Set([...served].filter((p) => !done.has(p)));
}

/** A tiny seeded generator, so each seed kills at its own reproducible moments. */
function* killPoints(seed: number, total: number, kills: number): Generator<number> {
  let x = seed * 2654435761;
  let at = 0;
  for (let i = 0; i < kills; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    at += 5 + (x % Math.floor(total / (kills + 1)));
    yield at;
  }
}

describe('resume after kill -9', () => {
  let tree: ReplicaTree;
  let reference: Snapshot;
  let totalRequests: number;

  beforeAll(async () => {
    tree = syntheticTree(TREE);
    const replica = await startReplica({ tree });
    // The server when there is one: the reference's database does
    // not matter, and this process then never starts PGlite.
    const database = await createTestDatabase(DATABASE_KINDS.at(-1)!);
    try {
      const summary = await crawl(crawlConfig(replica.url, tempDir(), database.target));
      expect(summary.outcome).toBe('complete');
      totalRequests = replica.stats.total;
      reference = await snapshot(database.target);
    } finally {
      await replica.close();
      await database.drop();
    }
  });

  // Every seed on the embedded database; the middle one on PostgreSQL when a server is there.
  const seeds: [number, TestDatabase['name']][] = [
    [1, 'pglite'],
    [2, DATABASE_KINDS.at(-1)!],
    [3, 'pglite'],
  ];

  it.each(seeds)(
    'seed %i on %s: two kills, then a resume that ends with exactly the rows of a clean crawl',
    async (seed, kind) => {
      const replica = await startReplica({ tree, faults: { seed, rateSlow: 0.5, slowMs: 40 } });
      const database = await createTestDatabase(kind);
      const storage = tempDir();
      const args = [
        'crawl',
        '--storage',
        storage,
        '--db',
        dbFlag(database.target),
        '--base-url',
        replica.url,
        '--max-rpm',
        '100000',
        '--concurrency',
        '8',
      ];
      try {
        const inFlightAtKills = new Set<string>();
        for (const at of killPoints(seed, totalRequests, 2)) {
          const run = startCli(args);
          await waitFor(() => replica.stats.total >= at || run.child.exitCode !== null);
          run.child.kill('SIGKILL');
          const ended = await run.done;
          expect(ended.signal, ended.stderr).toBe('SIGKILL');
          for (const p of inFlightPaths(storage, replica.stats.getsByPath.keys())) inFlightAtKills.add(p);
        }
        const final = await runCli(args);
        expect(final.stderr).toMatch(/resuming the crawl/);
        expect(final.code, final.stderr + final.stdout).toBe(0);
        expect(await snapshot(database.target)).toEqual(reference);
        // Refetched over the network: only what was in flight at a kill, never a request handled before it.
        const refetched = [...replica.stats.getsByPath].filter(([, count]) => count > 1).map(([p]) => p);
        expect(refetched.filter((p) => !inFlightAtKills.has(p))).toEqual([]);
        expect(inFlightAtKills.size).toBeGreaterThan(0);
      } finally {
        await replica.close();
        await database.drop();
      }
    },
  );
});
