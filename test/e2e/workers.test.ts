/**
 * `crawl --queue postgres`: several CLI processes (workers) on one crawl, against the replica with
 * latency and a PostgreSQL server. A worker killed with kill -9 loses its leases (after the lease
 * timeout, 5 s here through MSC_LEASE_TIMEOUT) and the others take them over: every worker exits
 * 0 and the database holds exactly what one clean crawl stores; only requests the killed worker
 * had leased are fetched twice. --max-rpm holds for all workers together (counted from the
 * replica's request log). A worker with other filters, and the embedded database, are refused.
 */
import knex, { type Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DbTarget } from '../../src/config.js';
import {
  apiPath,
  startReplica,
  syntheticTree,
  type Replica,
  type ReplicaTree,
  type SeriesItem,
} from '../replica/index.js';
import { runCli, startCli, waitFor, type CliRun } from '../support/cli.js';
import { crawl, crawlConfig } from '../support/crawl.js';
import { POSTGRES_URL, createTestDatabase, tempDir, type TestDatabase } from '../support/db.js';
import { snapshot, type Snapshot } from '../support/snapshot.js';

// 83 requests.
const TREE = { seed: 12, series: 2, seasonsPerSeries: 2, eventsPerSeason: 4, sessionsPerEvent: 6, carsPerSession: 4 };
/** Every first answer of a path takes this long. */
const LATENCY_MS = 150;
const LEASE_ENV = { MSC_LEASE_TIMEOUT: '5s' };
/** Three workers, a kill and a restart: minutes on a loaded machine. */
const TIMEOUT_MS = 300_000;
const START_MS = 200_000;

if (!POSTGRES_URL)
  console.warn('test/e2e/workers.test.ts: skipped, --queue postgres needs a PostgreSQL server (set TEST_DATABASE_URL)');

describe.skipIf(!POSTGRES_URL)('crawl --queue postgres: several workers on one crawl', () => {
  let tree: ReplicaTree;
  let reference: Snapshot;
  const running = new Set<CliRun>();

  /** A worker: `crawl --queue postgres` with the lease timeout of the tests. */
  function worker(database: TestDatabase, replica: Replica, storage: string, extra: string[]): CliRun {
    const run = startCli(
      [
        'crawl',
        '--queue',
        'postgres',
        '--db',
        urlOf(database.target),
        '--storage',
        storage,
        '--base-url',
        replica.url,
        ...extra,
      ],
      LEASE_ENV,
    );
    running.add(run);
    void run.done.then(() => running.delete(run));
    return run;
  }

  async function killLeftovers(): Promise<void> {
    for (const run of running) run.child.kill('SIGKILL');
    await Promise.all([...running].map((run) => run.done));
  }

  beforeAll(async () => {
    tree = syntheticTree(TREE);
    const clean = await startReplica({ tree });
    const database = await createTestDatabase('postgres');
    try {
      expect((await crawl(crawlConfig(clean.url, tempDir(), database.target))).outcome).toBe('complete');
      reference = await snapshot(database.target);
    } finally {
      await clean.close();
      await database.drop();
    }
  });
  afterAll(killLeftovers);

  it(
    'three workers, one killed with kill -9 mid-crawl and restarted: ' +
      'all exit 0, the database is exact, refetches ≤ its leases',
    async () => {
      // One request at a time each, 300 ms apiece: about 10 s of crawl, through which every worker holds leases.
      const replica = await startReplica({ tree, faults: { seed: 3, rateSlow: 1, slowMs: 2 * LATENCY_MS } });
      const database = await createTestDatabase('postgres');
      const db = admin(database);
      try {
        const storages = [tempDir(), tempDir(), tempDir()];
        // The victim takes four at a time: on a loaded machine a worker doing one at a time may hold
        // no lease at the instants it is looked at, and the crawl may end before it is caught.
        const workers = storages.map((storage, i) =>
          worker(database, replica, storage, ['--max-rpm', '100000', '--concurrency', i === 1 ? '4' : '1']),
        );
        const victim = workers[1]!;
        // Mid-crawl, with the victim at work (holding leases).
        await poll(
          async () =>
            (gets(replica) >= 20 && (await leasesOf(db, victim.child.pid!)) > 0) || victim.child.exitCode !== null,
          START_MS,
        );
        if (victim.child.exitCode !== null)
          throw new Error(`the worker to kill ended first: ${(await victim.done).stderr}`);

        victim.child.kill('SIGKILL');
        await victim.done;
        // Its leases stay until another worker finds it silent: what it held when it died.
        const held = await leasesOf(db, victim.child.pid!);
        expect(held).toBeGreaterThan(0);
        // Two leases per request it may have in flight (--concurrency 4), not Crawlee's batches of 25.
        expect(held).toBeLessThanOrEqual(8);

        const restarted = worker(database, replica, storages[1]!, ['--max-rpm', '100000', '--concurrency', '1']);
        const ends = await Promise.all([workers[0]!.done, workers[2]!.done, restarted.done]);
        for (const end of ends) expect(end.code, end.stderr).toBe(0);
        // Only the killed worker was taken for dead.
        for (const end of ends) expect(end.stderr).not.toMatch(/this worker was silent/);
        expect(ends.map((end) => end.stderr).join('\n')).toMatch(
          new RegExp(
            `worker \\S+ pid ${victim.child.pid} has been silent for ` +
              `over 5 s: (its \\d+ requests go|its request goes) back to the queue`,
          ),
        );

        expect(await snapshot(database.target)).toEqual(reference);
        expect(refetches(replica)).toBeLessThanOrEqual(held);
        expect(await finishedCrawls(db)).toBe(1);
      } finally {
        await killLeftovers();
        await db.destroy();
        await replica.close();
        await database.drop();
      }
    },
    TIMEOUT_MS,
  );

  it(
    'all workers killed at once and restarted: all exit 0 and the database is exact',
    async () => {
      const replica = await startReplica({ tree, faults: { seed: 4, rateSlow: 1, slowMs: LATENCY_MS } });
      const database = await createTestDatabase('postgres');
      try {
        const storages = [tempDir(), tempDir(), tempDir()];
        const workers = storages.map((storage) =>
          worker(database, replica, storage, ['--max-rpm', '100000', '--concurrency', '2']),
        );
        await waitFor(() => gets(replica) >= 30 || workers.some((w) => w.child.exitCode !== null), START_MS);
        for (const w of workers) w.child.kill('SIGKILL');
        await Promise.all(workers.map((w) => w.done));
        expect(gets(replica)).toBeLessThan(83);

        const ends = await Promise.all(
          storages.map(
            (storage) => worker(database, replica, storage, ['--max-rpm', '100000', '--concurrency', '2']).done,
          ),
        );
        for (const end of ends) expect(end.code, end.stderr).toBe(0);
        expect(ends.map((end) => end.stderr).join('\n')).toMatch(/joining the shared crawl started/);
        expect(await snapshot(database.target)).toEqual(reference);
      } finally {
        await killLeftovers();
        await replica.close();
        await database.drop();
      }
    },
    TIMEOUT_MS,
  );

  it(
    '--max-rpm holds for the workers together: no second of the ' +
      'request log holds more than its share, plus one per worker',
    async () => {
      const maxRpm = 1200;
      const replica = await startReplica({ tree, faults: { seed: 5, rateSlow: 1, slowMs: 20 } });
      const database = await createTestDatabase('postgres');
      try {
        const workers = [tempDir(), tempDir(), tempDir()].map((storage) =>
          worker(database, replica, storage, ['--max-rpm', String(maxRpm), '--concurrency', '4']),
        );
        const ends = await Promise.all(workers.map((w) => w.done));
        for (const end of ends) expect(end.code, end.stderr).toBe(0);
        // Each worker alone would go at 20 a second: three at 60.
        const times = replica.stats.getTimes;
        expect(times.length).toBe(83);
        expect(busiestWindow(times, 1000)).toBeLessThanOrEqual(maxRpm / 60 + workers.length);
        expect(await snapshot(database.target)).toEqual(reference);
      } finally {
        await killLeftovers();
        await replica.close();
        await database.drop();
      }
    },
    TIMEOUT_MS,
  );

  it(
    '--retry-failed on the shared queue: the failed requests of the ' +
      'finished crawl are queued again, whichever worker failed them',
    async () => {
      // One series' season list: the retry fetches it and everything that hangs from it.
      const failing = apiPath.seasons((JSON.parse(tree.body(apiPath.series())!) as SeriesItem[])[0]!.uuid);
      const broken = await startReplica({ tree, faults: { perPath: { [failing]: '404' } } });
      const database = await createTestDatabase('postgres');
      const db = admin(database);
      try {
        const first = await Promise.all(
          [tempDir(), tempDir()].map((storage) => worker(database, broken, storage, ['--max-rpm', '100000']).done),
        );
        expect(first.map((end) => end.code).sort()).toEqual([0, 2]);
        const status = await runCli(['status', '--db', urlOf(database.target), '--storage', tempDir()]);
        expect(status.stdout).toMatch(/requests: 0 queued, 0 leased, \d+ done, 1 failed/);

        // On the same origin: the failed requests keep their URLs.
        await broken.close();
        const fixed = await startReplica({ tree, port: broken.port });
        try {
          // A third storage dir, which never saw the failure: the shared queue knows it.
          const retry = await worker(database, fixed, tempDir(), ['--max-rpm', '100000', '--retry-failed']).done;
          expect(retry.code, retry.stderr).toBe(0);
          expect(retry.stderr).toMatch(/reopening the shared crawl started .* to retry its failed requests/);
          expect(fixed.stats.getsByPath.get(failing)).toBe(1);
          expect(fixed.stats.getsByPath.has(apiPath.series())).toBe(false);
        } finally {
          await fixed.close();
        }
        expect(await snapshot(database.target)).toEqual(reference);
        expect(await finishedCrawls(db)).toBe(1);
      } finally {
        await killLeftovers();
        await db.destroy();
        await broken.close().catch(() => undefined);
        await database.drop();
      }
    },
    TIMEOUT_MS,
  );

  it(
    'a worker started with other filters or another --max-rpm than the running crawl is refused in one ' +
      'line; status shows the crawl and its worker; SIGTERM gives its leases back',
    async () => {
      const replica = await startReplica({ tree });
      const database = await createTestDatabase('postgres');
      const db = admin(database);
      try {
        // One request every 10 s: the crawl stays running.
        const running = worker(database, replica, tempDir(), ['--max-rpm', '6']);
        await poll(async () => (await unfinishedCrawls(db)) === 1 || running.child.exitCode !== null, START_MS);
        const other = await runCli(
          [
            'crawl',
            '--queue',
            'postgres',
            '--db',
            urlOf(database.target),
            '--storage',
            tempDir(),
            '--base-url',
            replica.url,
            '--series',
            'S1',
          ],
          LEASE_ENV,
        );
        expect(other.code).toBe(1);
        expect(other.stderr.trim().split('\n')).toEqual([
          expect.stringMatching(
            new RegExp(
              '^ERROR the crawl running in this database has other filters \\(all series\\): ' +
                'start every worker with the same filters, or add --fresh once no worker is running$',
            ),
          ),
        ]);
        // Another --max-rpm, the same filters: each worker would open the limiter's windows at its own length.
        for (const maxRpm of ['7', '10000']) {
          const faster = await runCli(
            [
              'crawl',
              '--queue',
              'postgres',
              '--db',
              urlOf(database.target),
              '--storage',
              tempDir(),
              '--base-url',
              replica.url,
              '--max-rpm',
              maxRpm,
            ],
            LEASE_ENV,
          );
          expect(faster.code).toBe(1);
          expect(faster.stderr.trim().split('\n')).toEqual([
            `ERROR the crawl running in this database runs at --max-rpm 6 for all its workers together: ` +
              'start every worker with --max-rpm 6, or add --fresh once no worker is running',
          ]);
        }
        expect(running.child.exitCode).toBeNull();
        expect(await unfinishedCrawls(db)).toBe(1);

        // status against the database shows the running crawl and its worker.
        const status = await runCli(['status', '--db', urlOf(database.target), '--storage', tempDir()]);
        expect(status.code, status.stderr).toBe(0);
        expect(status.stdout).toMatch(
          new RegExp(
            'Shared crawl \\(--queue postgres\\) of all series from http:\\/\\/127\\.0\\.0\\.1:\\d+: ' +
              'started \\S+, running, 1 worker\\n {2}requests: \\d+ queued, \\d+ leased, \\d+ done, 0 failed',
          ),
        );
        expect(status.stdout).toMatch(new RegExp(`\\n\\S+ +${running.child.pid} +\\S+ +[\\d.]+ s ago +\\d+ +/`));

        // Stopped with SIGTERM, a worker gives back what it held at once: nothing stays leased.
        await poll(async () => (await leasesOf(db, running.child.pid!)) > 0, START_MS);
        running.child.kill('SIGTERM');
        const stopped = await running.done;
        expect(stopped.code, stopped.stderr).toBe(130);
        const { rows } = await db.raw<{ rows: { leases: number; workers: number; active: number; queued: number }[] }>(
          `SELECT (SELECT count(*)::int FROM shared_leases) AS leases,
                (SELECT count(*)::int FROM shared_workers) AS workers,
                count(*) FILTER (WHERE state = 'active')::int AS active,
                count(*) FILTER (WHERE state IN ('created', 'retry'))::int AS queued
         FROM crawl_queue.job`,
        );
        expect(rows[0]).toMatchObject({ leases: 0, workers: 0, active: 0 });
        expect(rows[0]!.queued).toBeGreaterThan(0);
      } finally {
        await killLeftovers();
        await db.destroy();
        await replica.close();
        await database.drop();
      }
    },
    TIMEOUT_MS,
  );

  it(
    'status of a shared crawl whose only worker stopped at --max-requests: unfinished, no worker on it',
    async () => {
      const replica = await startReplica({ tree });
      const database = await createTestDatabase('postgres');
      try {
        const paused = await worker(database, replica, tempDir(), ['--max-rpm', '100000', '--max-requests', '3']).done;
        expect(paused.code, paused.stderr).toBe(0);
        const status = await runCli(['status', '--db', urlOf(database.target), '--storage', tempDir()]);
        expect(status.code, status.stderr).toBe(0);
        expect(status.stdout).toMatch(
          new RegExp(
            'Shared crawl \\(--queue postgres\\) of all series from http:\\/\\/127\\.0\\.0\\.1:\\d+: started \\S+, ' +
              'unfinished, no worker on it: \\d+ requests left; start crawl --queue postgres with the same filters ' +
              'to go on\\n {2}requests: \\d+ queued, 0 leased, 3 done, 0 failed',
          ),
        );
        expect(status.stdout).not.toMatch(/running/);
      } finally {
        await killLeftovers();
        await replica.close();
        await database.drop();
      }
    },
    TIMEOUT_MS,
  );

  it(
    '--queue postgres with the embedded database is refused in one line, before anything is fetched',
    async () => {
      const replica = await startReplica({ tree });
      try {
        const flag = await runCli(['crawl', '--queue', 'postgres', '--storage', tempDir(), '--base-url', replica.url]);
        expect(flag.code).toBe(1);
        expect(flag.stderr.trim().split('\n')).toEqual([
          expect.stringMatching(
            new RegExp(
              '^ERROR --queue postgres needs a PostgreSQL server \\(--db ' +
                'postgres:\\/\\/…\\): the embedded database can only be opened by one process',
            ),
          ),
        ]);
        const env = await runCli(['crawl', '--storage', tempDir(), '--base-url', replica.url], {
          MSC_QUEUE: 'postgres',
        });
        expect(env.code).toBe(1);
        expect(env.stderr).toMatch(/MSC_QUEUE postgres needs a PostgreSQL server/);
        expect(replica.stats.total).toBe(0);
      } finally {
        await replica.close();
      }
    },
    TIMEOUT_MS,
  );
});

function urlOf(target: DbTarget): string {
  if (target.kind !== 'postgres') throw new Error('a PostgreSQL database was expected');
  return target.url;
}

function admin(database: TestDatabase): Knex {
  return knex({ client: 'pg', connection: urlOf(database.target), pool: { min: 0, max: 1 } });
}

async function poll(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('poll: timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const gets = (replica: Replica) => replica.stats.getTimes.length;

/** GETs beyond the first of each path. */
function refetches(replica: Replica): number {
  return [...replica.stats.getsByPath.values()].reduce((sum, n) => sum + n - 1, 0);
}

async function leasesOf(db: Knex, pid: number): Promise<number> {
  const { rows } = await db.raw<{ rows: { n: number }[] }>(
    'SELECT count(*)::int AS n FROM shared_leases l JOIN shared_workers w ON w.id = l.worker_id WHERE w.pid = ?',
    [pid],
  );
  return rows[0]!.n;
}

async function finishedCrawls(db: Knex): Promise<number> {
  const { rows } = await db.raw<{ rows: { n: number }[] }>(
    'SELECT count(*)::int AS n FROM shared_crawls WHERE finished_at IS NOT NULL',
  );
  return rows[0]!.n;
}

async function unfinishedCrawls(db: Knex): Promise<number> {
  const { rows } = await db
    .raw<{ rows: { n: number }[] }>(
      "SELECT count(*)::int AS n FROM shared_crawls WHERE finished_at IS NULL AND queue <> ''",
    )
    .catch(() => ({ rows: [{ n: 0 }] }));
  return rows[0]!.n;
}

/** The most requests any window of `ms` holds. */
function busiestWindow(times: readonly number[], ms: number): number {
  let most = 0;
  let first = 0;
  for (let last = 0; last < times.length; last++) {
    while (times[last]! - times[first]! >= ms) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}
