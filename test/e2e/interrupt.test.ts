/**
 * Ctrl-C and SIGTERM on the real CLI: from the signal on no request starts (the replica sees at
 * most --concurrency more, those already on their way), exit 130, the resume ends with exactly
 * the rows of a clean crawl, and the same command once more starts a new crawl. With a request
 * stuck on a server that never answers, the first signal still ends the process within the grace
 * deadline, and a second one ends it at once.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import knex from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS, type DbTarget } from '../../src/config.js';
import { startReplica, syntheticTree, type Replica, type ReplicaTree } from '../replica/index.js';
import { runCli, startCli, waitFor, type CliRun } from '../support/cli.js';
import { crawl, crawlConfig } from '../support/crawl.js';
import { DATABASE_KINDS, POSTGRES_URL, createTestDatabase, tempDir, type TestDatabase } from '../support/db.js';
import { snapshot, type Snapshot } from '../support/snapshot.js';

// About 100 requests.
const TREE = { seed: 12, series: 2, seasonsPerSeries: 2, eventsPerSeason: 4, sessionsPerEvent: 6, carsPerSession: 4 };
const CONCURRENCY = 4;
/** Two runs of the CLI (the interrupted one and the resume): minutes on a loaded machine. */
const TIMEOUT_MS = 300_000;
/** How long the CLI may take to get going (open and migrate a database) on a loaded machine. */
const START_MS = 200_000;

function dbFlag(target: DbTarget): string {
  return target.kind === 'embedded' ? target.dir : target.url;
}

/** CLI runs still going when a test gives up: killed before its database is dropped. */
const running = new Set<CliRun>();
function start(args: string[]): CliRun {
  const run = startCli(args);
  running.add(run);
  void run.done.then(() => running.delete(run));
  return run;
}
async function killLeftovers(): Promise<void> {
  for (const run of running) run.child.kill('SIGKILL');
  await Promise.all([...running].map((run) => run.done));
}

const gets = (replica: Replica) => [...replica.stats.getsByPath.values()].reduce((n, c) => n + c, 0);

/**
 * A server in front of the replica that never answers the paths `stall` picks while `stalling`
 * is on (the socket stays open, as a hung upstream's would), and forwards everything else.
 */
async function startStallingProxy(target: string, stall: (path: string) => boolean) {
  let stalling = true;
  let stalled = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/';
    if (stalling && stall(path)) {
      stalled += 1;
      return;
    }
    fetch(target + path, { method: req.method, headers: { accept: 'application/json' } })
      .then(async (upstream) => {
        const body = Buffer.from(await upstream.arrayBuffer());
        res.writeHead(upstream.status, {
          'content-type': upstream.headers.get('content-type') ?? 'application/json',
          'content-length': body.length,
        });
        res.end(req.method === 'HEAD' ? undefined : body);
      })
      .catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get stalled() {
      return stalled;
    },
    release() {
      stalling = false;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('Ctrl-C and SIGTERM', () => {
  let tree: ReplicaTree;
  let reference: Snapshot;

  /** Runs the same command again: it must end with exit 0 and exactly the rows of a clean crawl. */
  async function resumeExactly(args: string[], database: TestDatabase) {
    const resumed = await runCli(args);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(await snapshot(database.target)).toEqual(reference);
    return resumed;
  }

  beforeAll(async () => {
    tree = syntheticTree(TREE);
    const clean = await startReplica({ tree });
    // The server when there is one: the reference's database does
    // not matter, and this process then never starts PGlite.
    const database = await createTestDatabase(DATABASE_KINDS.at(-1)!);
    try {
      expect((await crawl(crawlConfig(clean.url, tempDir(), database.target))).outcome).toBe('complete');
      expect(clean.stats.total).toBeGreaterThan(60);
      reference = await snapshot(database.target);
    } finally {
      await clean.close();
      await database.drop();
    }
  });

  // SIGINT on the embedded database; SIGTERM on the server when there is one (and there, the same
  // command once more: the queue the resume finished starts a new crawl).
  it.each<[NodeJS.Signals, TestDatabase['name'], string]>([
    ['SIGINT', 'pglite', ''],
    ['SIGTERM', DATABASE_KINDS.at(-1)!, '; once more, a new crawl'],
  ])(
    '%s mid-crawl (%s): at most --concurrency requests reach the API after it, exit 130, the resume is exact%s',
    async (signal, kind, again) => {
      // Every answer takes 100 ms: the 48 handlers keep most requests waiting at the gate.
      const replica = await startReplica({ tree, faults: { seed: 9, rateSlow: 1, slowMs: 100 } });
      const database = await createTestDatabase(kind);
      const args = [
        'crawl',
        '--storage',
        tempDir(),
        '--db',
        dbFlag(database.target),
        '--base-url',
        replica.url,
        '--max-rpm',
        '100000',
        '--concurrency',
        String(CONCURRENCY),
      ];
      try {
        const run = start(args);
        let stderr = '';
        run.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        await waitFor(() => gets(replica) >= 12 || run.child.exitCode !== null, START_MS);
        run.child.kill(signal);
        // Counted from the moment the process says it stops (it runs its handler then): on a
        // loaded machine a few more requests may leave between the kill and that moment. After
        // it, only those already sent can still arrive: at most --concurrency.
        await waitFor(
          () => stderr.includes(`${signal}: stopping: no new request starts`) || run.child.exitCode !== null,
          START_MS,
        );
        const atStop = gets(replica);
        const stopped = await run.done;
        expect(stopped.code, stopped.stderr).toBe(130);
        expect(gets(replica) - atStop).toBeLessThanOrEqual(CONCURRENCY);
        expect(stopped.stdout).toMatch(
          /Interrupted with \d+ requests? left\. Run the same crawl command again to resume/,
        );
        // Nothing given up on: a request sent back to the queue is not a failure.
        expect(stopped.stdout).toMatch(/^Crawl interrupted after [\d.]+ s: \d+ requests \(.*\), 0 from cache/);
        expect(stopped.stdout).not.toMatch(/failed request/);

        expect((await resumeExactly(args, database)).stderr).toMatch(
          /resuming the crawl started .*: \d+ requests done, \d+ left/,
        );

        if (again) {
          const anew = await runCli(args);
          expect(anew.code, anew.stderr).toBe(0);
          expect(anew.stderr).toMatch(/new crawl of all series/);
          expect(anew.stdout).toMatch(/^Crawl finished in [\d.]+ s: /);
        }
      } finally {
        await killLeftovers();
        await replica.close();
        await database.drop();
      }
    },
    TIMEOUT_MS,
  );

  describe('with requests stuck on a server that never answers', () => {
    let replica: Replica;
    let database: TestDatabase;
    // The server when there is one: the CLI then starts faster than with the embedded database.
    beforeAll(async () => {
      replica = await startReplica({ tree });
      database = await createTestDatabase(DATABASE_KINDS.at(-1)!);
    });
    afterAll(async () => {
      await replica?.close();
      await database?.drop();
    });

    it(
      `the first signal ends the process within the grace deadline ` +
        `(${DEFAULTS.interruptGraceMs / 1000} s), keeping what was committed; the resume is exact`,
      async () => {
        const proxy = await startStallingProxy(replica.url, (p) => p.includes('/classification'));
        const args = [
          'crawl',
          '--storage',
          tempDir(),
          '--db',
          dbFlag(database.target),
          '--base-url',
          proxy.url,
          '--max-rpm',
          '100000',
          '--concurrency',
          String(CONCURRENCY),
        ];
        try {
          const run = start(args);
          await waitFor(() => proxy.stalled >= CONCURRENCY || run.child.exitCode !== null, START_MS);
          const signalledAt = Date.now();
          run.child.kill('SIGINT');
          const stopped = await run.done;
          const seconds = (Date.now() - signalledAt) / 1000;
          expect(stopped.code, stopped.stderr).toBe(130);
          expect(stopped.stderr).toMatch(
            /still not stopped 5 s after SIGINT \(a request or a database write is stuck\): exiting/,
          );
          // The stuck requests would hold it for their whole timeout (30 s) otherwise.
          expect(seconds).toBeGreaterThanOrEqual(DEFAULTS.interruptGraceMs / 1000 - 0.5);
          expect(seconds).toBeLessThan(DEFAULTS.requestTimeoutSecs - 5);
          expect(proxy.stalled).toBe(CONCURRENCY);

          proxy.release();
          expect((await resumeExactly(args, database)).stderr).toMatch(/resuming the crawl/);
        } finally {
          await killLeftovers();
          await proxy.close();
        }
      },
      TIMEOUT_MS,
    );

    it('a second signal ends the process at once, by the signal itself', async () => {
      const proxy = await startStallingProxy(replica.url, (p) => p.includes('/classification'));
      try {
        const run = start([
          'crawl',
          '--storage',
          tempDir(),
          '--db',
          dbFlag(database.target),
          '--base-url',
          proxy.url,
          '--max-rpm',
          '100000',
          '--concurrency',
          String(CONCURRENCY),
        ]);
        let stderr = '';
        run.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        await waitFor(() => proxy.stalled >= 1 || run.child.exitCode !== null, START_MS);
        run.child.kill('SIGINT');
        await waitFor(() => stderr.includes('SIGINT: stopping') || run.child.exitCode !== null, START_MS);
        const secondAt = Date.now();
        run.child.kill('SIGINT');
        const ended = await run.done;
        // Killed by the signal's default action (the shell says 130), well before the grace deadline.
        expect(ended.signal, ended.stderr).toBe('SIGINT');
        expect(Date.now() - secondAt).toBeLessThan(DEFAULTS.interruptGraceMs);
        expect(ended.stderr).not.toMatch(/still not stopped/);
      } finally {
        await killLeftovers();
        await proxy.close();
      }
    });
  });

  it.skipIf(!POSTGRES_URL)(
    'with a database commit that never returns, the first signal ends the ' +
      'process within the grace deadline; nothing uncommitted is marked handled',
    async () => {
      const replica = await startReplica({ tree });
      const database = await createTestDatabase('postgres');
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
        String(CONCURRENCY),
      ];
      const locker = knex({ client: 'pg', connection: dbFlag(database.target), pool: { min: 1, max: 1 } });
      try {
        const run = start(args);
        await waitFor(() => replica.stats.getsByPath.size >= 1 || run.child.exitCode !== null, START_MS);
        // Another session holds the results table: every commit that writes results waits for it.
        const holding = await locker.transaction();
        await holding.raw('LOCK TABLE classifications IN ACCESS EXCLUSIVE MODE');
        try {
          await waitFor(
            () =>
              [...replica.stats.getsByPath.keys()].filter((p) => p.includes('/classification')).length >= CONCURRENCY ||
              run.child.exitCode !== null,
            START_MS,
          );
          const signalledAt = Date.now();
          run.child.kill('SIGTERM');
          const stopped = await run.done;
          expect(stopped.code, stopped.stderr).toBe(130);
          expect(stopped.stderr).toMatch(/still not stopped 5 s after SIGTERM/);
          expect((Date.now() - signalledAt) / 1000).toBeLessThan(DEFAULTS.requestTimeoutSecs - 5);
        } finally {
          await holding.rollback();
        }
        await resumeExactly(args, database);
      } finally {
        await killLeftovers();
        await locker.destroy();
        await replica.close();
        await database.drop();
      }
    },
    TIMEOUT_MS,
  );
});
