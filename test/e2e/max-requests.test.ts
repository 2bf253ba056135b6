/**
 * `--max-requests N` is this run's own budget: each run of the real CLI starts at most N requests
 * (network and cache hits alike), stops with exit 0 and how many are left, and the same command
 * run again continues, on a new storage dir as on one that holds a finished crawl or was --fresh'ed.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CrawlArgs } from '../../src/commands/crawl.js';
import type { CrawlSummary } from '../../src/crawl/summary.js';
import { apiPath, startReplica, syntheticTree, type Replica, type ReplicaTree } from '../replica/index.js';
import { runCli } from '../support/cli.js';
import { crawl, crawlConfig } from '../support/crawl.js';
import { DATABASE_KINDS, createTestDatabase, tempDir, type TestDatabase } from '../support/db.js';
import { snapshot, type Snapshot } from '../support/snapshot.js';

// 1 series + 1 seasons + 2 calendar + 22 classification requests: three runs of 10.
const TREE = { seed: 41, series: 1, seasonsPerSeries: 2, eventsPerSeason: 4, sessionsPerEvent: 3, carsPerSession: 3 };
const LIMIT = 10;
/** Three runs of the CLI, each opening the embedded database: minutes on a loaded machine. */
const CLI_RUNS_TIMEOUT_MS = 300_000;

/** Requests this run handled, by its JSON summary (cache hits included). */
function handled(summary: CrawlSummary): number {
  return Object.values(summary.requests).reduce((n, c) => n + c.succeeded + c.failed, 0);
}

function cacheHits(summary: CrawlSummary): number {
  return Object.values(summary.requests).reduce((n, c) => n + c.cacheHits, 0);
}

describe('--max-requests', () => {
  let tree: ReplicaTree;
  let replica: Replica;
  let reference: Snapshot;
  let storage: string;
  let database: TestDatabase;
  let args: string[];
  /**
   * Requests that reached the replica, of any method: what --max-requests bounds (a HEAD preflight once came on top).
   */
  const gets = () => replica.stats.total;

  async function run(
    extra: string[],
  ): Promise<{ code: number | null; summary: CrawlSummary; stderr: string; network: number }> {
    const before = gets();
    const { code, stdout, stderr } = await runCli([...args, ...extra]);
    expect(stdout, stderr).toMatch(/^\{/);
    return { code, summary: JSON.parse(stdout) as CrawlSummary, stderr, network: gets() - before };
  }

  beforeAll(async () => {
    tree = syntheticTree(TREE);
    const clean = await startReplica({ tree });
    try {
      const dir = tempDir();
      const summary = await crawl(crawlConfig(clean.url, dir, { kind: 'embedded', dir: path.join(dir, 'db') }));
      expect(summary.outcome).toBe('complete');
      expect(clean.stats.total).toBeGreaterThan(2 * LIMIT);
      expect(clean.stats.total).toBeLessThanOrEqual(3 * LIMIT);
      reference = await snapshot({ kind: 'embedded', dir: path.join(dir, 'db') });
    } finally {
      await clean.close();
    }
    // Some latency, so the handlers have several requests in flight when the budget runs out.
    replica = await startReplica({ tree, faults: { seed: 3, rateSlow: 1, slowMs: 20 } });
    storage = tempDir();
    // The server when there is one: the CLI then starts faster than with the embedded database.
    database = await createTestDatabase(DATABASE_KINDS.at(-1)!);
    const db = database.target.kind === 'embedded' ? database.target.dir : database.target.url;
    args = [
      'crawl',
      '--storage',
      storage,
      '--db',
      db,
      '--base-url',
      replica.url,
      '--max-rpm',
      '100000',
      '--concurrency',
      '4',
      '--log-format',
      'json',
    ];
  });
  afterAll(async () => {
    await replica?.close();
    await database?.drop();
  });

  it(
    `run again and again on a new storage dir: each run handles ` +
      `at most ${LIMIT}, the crawl finishes with the exact rows`,
    async () => {
      let left = Infinity;
      let runs = 0;
      for (;;) {
        const { code, summary, stderr, network } = await run(['--max-requests', String(LIMIT)]);
        runs += 1;
        expect(code, stderr).toBe(0);
        // A new storage dir has no cache: every request this run handled came from the replica, and
        // nothing else did: at most N requests of any kind reached the server.
        expect(network).toBeLessThanOrEqual(LIMIT);
        expect(handled(summary)).toBe(network);
        expect(handled(summary)).toBeGreaterThan(0);
        if (summary.outcome === 'complete') break;
        expect(summary.outcome).toBe('limit');
        expect(handled(summary)).toBe(LIMIT);
        const match =
          /^Stopped at --max-requests: (\d+) requests? left; run the same crawl command again to continue\.$/.exec(
            summary.message ?? '',
          );
        expect(match, summary.message).not.toBeNull();
        expect(Number(match![1])).toBeGreaterThan(0);
        left = Number(match![1]);
        expect(runs, 'runs').toBeLessThan(3);
      }
      expect(runs).toBe(3);
      expect(left).toBeLessThanOrEqual(LIMIT);
      // No request fetched twice: a request not started stayed pending, never failed or handled.
      expect([...replica.stats.getsByPath.values()].every((n) => n === 1)).toBe(true);
      expect(await snapshot(database.target)).toEqual(reference);
    },
    CLI_RUNS_TIMEOUT_MS,
  );

  // In-process runs (the CLI's part is covered above): the budget is runCrawl's.
  it('makes progress on a storage dir that holds a finished crawl, after --fresh, and when resumed', async () => {
    const runIn = async (extra: CrawlArgs) => {
      const before = gets();
      const summary = await crawl(crawlConfig(replica.url, storage, database.target, { concurrency: 4, ...extra }));
      return { summary, network: gets() - before };
    };
    // The crawl above finished: this is a new crawl, served from the cache (fresh for 24 h).
    const second = await runIn({ maxRequests: 7 });
    expect(second.summary.lines.join('\n')).toMatch(/new crawl of all series/);
    expect(second.summary.outcome).toBe('limit');
    expect(handled(second.summary)).toBe(7);
    expect(cacheHits(second.summary)).toBe(7);
    expect(second.network).toBe(0);

    const fresh = await runIn({ maxRequests: 5, fresh: true });
    expect(fresh.summary.lines.join('\n')).toMatch(/new crawl of all series/);
    expect(fresh.summary.outcome).toBe('limit');
    expect(handled(fresh.summary)).toBe(5);

    const resumed = await runIn({ maxRequests: 5 });
    expect(resumed.summary.lines.join('\n')).toMatch(/resuming the crawl started .*: 5 requests done, \d+ left/);
    expect(resumed.summary.outcome).toBe('limit');
    expect(handled(resumed.summary)).toBe(5);
    // It went on where --fresh's run stopped: past the series list.
    expect(resumed.summary.requests.series.succeeded).toBe(0);

    const rest = await runIn({});
    expect(rest.summary.outcome).toBe('complete');
    expect(handled(rest.summary)).toBe(replica.stats.getsByPath.size - 10);
    expect(await snapshot(database.target)).toEqual(reference);
  });

  it(
    'a run whose only request failed its attempt is no clean stop: a warning, the summary says so, exit 2',
    async () => {
      const broken = await startReplica({ tree, faults: { perPath: { [apiPath.series()]: '500-always' } } });
      const own = await createTestDatabase(DATABASE_KINDS.at(-1)!);
      try {
        const db = own.target.kind === 'embedded' ? own.target.dir : own.target.url;
        const { code, stdout, stderr } = await runCli([
          'crawl',
          '--storage',
          tempDir(),
          '--db',
          db,
          '--base-url',
          broken.url,
          '--max-rpm',
          '100000',
          '--max-requests',
          '1',
          '--log-format',
          'json',
        ]);
        expect(code, stderr).toBe(2);
        const summary = JSON.parse(stdout) as CrawlSummary;
        expect(summary.outcome).toBe('limit');
        expect(summary.failedAttempts).toEqual({ requests: 1, reason: expect.stringMatching(/HTTP 500/) });
        expect(summary.message).toMatch(
          new RegExp(
            '^Stopped at --max-requests: 1 request left, 1 of them after a failed attempt \\(HTTP 500[^)]*\\); ' +
              'run the same crawl command again to retry them and continue\\.$',
          ),
        );
        expect(stderr).toMatch(/"level":"warn".*--max-requests stopped the run before the retries of 1 request/);
        expect(broken.stats.total).toBe(1);
      } finally {
        await broken.close();
        await own.drop();
      }
    },
    CLI_RUNS_TIMEOUT_MS,
  );
});
