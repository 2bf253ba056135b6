/**
 * The command line as a user meets it: configuration errors caught before the first request
 * (one line, exit 1), exit 2 with a summary for failed requests, filters, the cache modes,
 * --retry-failed, an API outage that pauses instead of failing, and a database that goes away.
 */
import { createServer, type Server, type Socket, connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiPath,
  expectedCounts,
  recordedTree,
  startReplica,
  syntheticTree,
  type Replica,
  type SeasonItem,
  type SeriesItem,
} from '../replica/index.js';
import knex from 'knex';
import { runCli, startCli, waitFor } from '../support/cli.js';
import { cli } from '../support/inprocess.js';
import { crawl, crawlConfig } from '../support/crawl.js';
import {
  DATABASE_KINDS,
  POSTGRES_URL,
  createTestDatabase,
  liveCountsOf,
  tempDir,
  type TestDatabase,
} from '../support/db.js';
import { snapshot } from '../support/snapshot.js';

const KIND = DATABASE_KINDS.at(-1)!;
const SMALL = { seed: 31, series: 2, seasonsPerSeries: 2, eventsPerSeason: 3, sessionsPerEvent: 4, carsPerSession: 5 };

describe('configuration errors are caught before the first request', () => {
  let replica: Replica;
  beforeAll(async () => {
    replica = await startReplica({ tree: recordedTree() });
  });
  afterAll(async () => replica?.close());

  // In-process (src/cli.ts's main): each case fails before the crawl would start.
  it.for<[string[], RegExp]>([
    [['--cache', 'bogus'], /cache.*bogus/i],
    [['--base-url', 'not a url'], /--base-url: malformed URL/],
    [
      ['--db', 'postgres://postgres@127.0.0.1:1/nowhere'],
      /database unreachable \(postgres:\/\/postgres@127\.0\.0\.1:1\/nowhere\).*ECONNREFUSED/,
    ],
    [
      ['--db', 'mysql://localhost/x'],
      /--db: "mysql:\/\/localhost\/x" looks like a URL but is not a postgres:\/\/ or postgresql:\/\/ URL/,
    ],
    [
      ['--storage', '/etc/hostname/storage'],
      /^ERROR --storage \/etc\/hostname\/storage: \/etc\/hostname is a file, not a folder$/,
    ],
    [['--from-year', '2025', '--to-year', '2020'], /--from-year 2025 is after --to-year 2020/],
    [['--max-rpm', '0'], /--max-rpm: "0" is not a whole number/],
    [['--max-age', 'soon'], /--max-age: "soon" is not a duration/],
  ])('crawl %j: exit 1 and one line', async ([args, message], { expect }) => {
    const before = replica.stats.total;
    const storage = args.includes('--storage') ? [] : ['--storage', tempDir()];
    const baseUrl = args.includes('--base-url') ? [] : ['--base-url', replica.url];
    const { code, lines } = await cli(['crawl', ...baseUrl, ...storage, ...args]);
    expect(code).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(lines[0]).not.toMatch(/^\s+at /);
    expect(replica.stats.total).toBe(before);
  });
});

describe('an API that cannot be reached', () => {
  // No separate check: the crawl's first request, unanswered three times, says it (in-process).
  it(
    'stops with one line naming the base URL and the ' + 'cause, exit 1, and keeps the crawl for the next run',
    async () => {
      const closed = await new Promise<number>((resolve) => {
        const server = createServer();
        server.listen(0, '127.0.0.1', () => {
          const { port } = server.address() as { port: number };
          server.close(() => resolve(port));
        });
      });
      const storage = tempDir();
      const args = ['crawl', '--storage', storage, '--base-url', `http://127.0.0.1:${closed}`, '--max-rpm', '100000'];
      const message =
        `ERROR cannot reach the API at http://127.0.0.1:${closed} (ECONNREFUSED): ` +
        `check the network or --base-url; --cache only crawls from the cache alone`;
      const first = await cli(args);
      expect(first.code).toBe(1);
      expect(first.stdout).toBe('');
      expect(first.lines.filter((l) => /^(ERROR|WARN) /.test(l))).toEqual([message]);
      expect(first.lines).toContainEqual(expect.stringMatching(/^new crawl of all series/));
      const again = await cli(args);
      expect(again.code).toBe(1);
      expect(again.lines.filter((l) => /^(ERROR|WARN) /.test(l))).toEqual([message]);
      expect(again.lines).toContainEqual(
        expect.stringMatching(/^resuming the crawl started .*: 0 requests done, 1 left/),
      );
    },
  );
});

describe(`crawl outcomes (${KIND})`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(KIND);
  });
  afterAll(async () => database?.drop());

  it('exits 2 with the failure in the summary when a payload fails validation', async () => {
    const tree = syntheticTree(SMALL);
    const replica = await startReplica({ tree, faults: { perPath: { [apiPath.series()]: 'drift-type' } } });
    try {
      const storage = tempDir();
      const db = database.target.kind === 'embedded' ? database.target.dir : database.target.url;
      // In-process (src/cli.ts's main): the exit code and summary the command line gives, without another process.
      const { code, stdout } = await cli([
        'crawl',
        '--storage',
        storage,
        '--db',
        db,
        '--base-url',
        replica.url,
        '--max-rpm',
        '100000',
        '--fresh',
      ]);
      expect(code).toBe(2);
      expect(stdout).toMatch(/^Crawl finished in [\d.]+ s with 1 quarantined item: /);
      expect(stdout).toContain(
        `quarantined /0 (${JSON.parse(tree.body(apiPath.series())!)[0].uuid}) ` +
          `of ${replica.url}${apiPath.series()}: /0/name must be string`,
      );
    } finally {
      await replica.close();
    }
  });
});

describe(`filters and cache modes (${KIND})`, () => {
  const tree = recordedTree();
  let replica: Replica | undefined;
  let database: TestDatabase;
  let storage: string;
  beforeAll(async () => {
    replica = await startReplica({ tree });
    database = await createTestDatabase(KIND);
    storage = tempDir();
  });
  afterAll(async () => {
    await replica?.close();
    await database?.drop();
  });

  it('--series and --from-year crawl exactly that part of the tree', async () => {
    const filters = { series: ['f1', 'FIA Formula 2 Championship'], fromYear: 2024 };
    const summary = await crawl(crawlConfig(replica!.url, storage, database.target, filters));
    const expected = expectedCounts(tree, filters);
    expect(summary.outcome).toBe('complete');
    expect(summary.requests.calendar.succeeded).toBe(expected.requests.calendar);
    expect(summary.requests.classification.succeeded).toBe(expected.requests.classification);
    expect(await liveCountsOf(database)).toEqual(expected.rows);
  });

  it(
    'stops at a --series that matches nothing, naming the ' +
      'closest series, having fetched nothing but the series list',
    async () => {
      const before = new Map(replica!.stats.byPath);
      const storage = tempDir();
      const run = crawl(crawlConfig(replica!.url, storage, database.target, { series: ['Formula 12', 'f1'] }));
      await expect(run).rejects.toThrow(
        /^--series "Formula 12" \(closest: (\w+ "[^"]+"(, )?){3}\) matches no series by uuid, shortCode or name$/,
      );
      const fetched = [...replica!.stats.byPath]
        .filter(([path, n]) => n !== (before.get(path) ?? 0))
        .map(([path]) => path);
      expect(fetched).toEqual([apiPath.series()]);
      // Nothing left to resume: the corrected command starts a new crawl.
      const fixed = await crawl(crawlConfig(replica!.url, storage, database.target, { series: ['F1Academy'] }));
      expect(fixed.outcome).toBe('complete');
    },
  );

  it('the same --series mistake in export is refused, naming the closest series', async () => {
    const storage = tempDir();
    const db = database.target.kind === 'embedded' ? database.target.dir : database.target.url;
    const run = await cli([
      'export',
      '--storage',
      storage,
      '--db',
      db,
      '--out',
      tempDir(),
      '--series',
      'F1,Formula 12',
      '--quiet',
    ]);
    expect(run.code).toBe(1);
    expect(run.lines).toEqual([
      expect.stringMatching(/^ERROR --series "Formula 12" \(closest: .*\) matches no series/),
    ]);
  });

  it(
    '--cache only rebuilds a database from the cache ' + 'with no server running, and reports what is missing',
    async () => {
      // The same origin the cache was filled from (the cache is keyed by origin), with nothing listening there now.
      const origin = replica!.url;
      await replica!.close();
      replica = undefined;
      const rebuilt = await createTestDatabase(KIND);
      try {
        const filters = { series: ['f1', 'FIA Formula 2 Championship'], fromYear: 2024 };
        const summary = await crawl(crawlConfig(origin, storage, rebuilt.target, { ...filters, cache: 'only' }));
        expect(summary.outcome).toBe('complete');
        expect(await liveCountsOf(rebuilt)).toEqual(expectedCounts(tree, filters).rows);

        const wider = await crawl(
          crawlConfig(origin, storage, rebuilt.target, { series: ['WEC'], cache: 'only', fresh: true }),
        );
        expect(wider.outcome).toBe('failures');
        expect(wider.failures[0]).toMatchObject({
          kind: 'request',
          label: 'seasons',
          error: expect.stringMatching(/not in the cache \(seasons-/),
        });
      } finally {
        await rebuilt.drop();
      }
    },
  );

  it('--cache refresh picks up changed upstream data that --cache prefer would serve from the cache', async () => {
    const changing = recordedTree();
    const server = await startReplica({ tree: changing });
    const target = await createTestDatabase(KIND);
    const dir = tempDir();
    try {
      const filters = { series: ['F1Academy'] };
      await crawl(crawlConfig(server.url, dir, target.target, filters));
      const seriesUuid = (JSON.parse(changing.body(apiPath.series())!) as SeriesItem[]).find(
        (s) => s.shortCode === 'F1Academy',
      )!.uuid;
      changing.mutate<SeasonItem[]>(apiPath.seasons(seriesUuid), (list) =>
        list.map((s, i) => (i === 0 ? { ...s, name: 'Renamed season' } : s)),
      );
      const prefer = await crawl(crawlConfig(server.url, dir, target.target, filters));
      expect(prefer.rows.seasons.updated).toBe(0);
      const refresh = await crawl(crawlConfig(server.url, dir, target.target, { ...filters, cache: 'refresh' }));
      expect(refresh.rows.seasons.updated).toBe(1);
      expect(refresh.requests.seasons.cacheHits).toBe(0);
    } finally {
      await server.close();
      await target.drop();
    }
  });
});

describe(`--retry-failed and outages (${KIND})`, () => {
  it('--retry-failed fetches only the failed requests and what hangs from them', async () => {
    const tree = syntheticTree(SMALL);
    const seriesUuid = (JSON.parse(tree.body(apiPath.series())!) as SeriesItem[])[0]!.uuid;
    const path = apiPath.seasons(seriesUuid);
    const database = await createTestDatabase(KIND);
    const storage = tempDir();
    const broken = await startReplica({ tree, faults: { perPath: { [path]: '404' } } });
    try {
      const first = await crawl(crawlConfig(broken.url, storage, database.target));
      expect(first.outcome).toBe('failures');
      await broken.close();
      const healed = await startReplica({ tree });
      const retried = await crawl(crawlConfig(healed.url, storage, database.target, { retryFailed: true }));
      await healed.close();
      expect(retried.outcome).toBe('complete');
      expect(retried.requests.series.succeeded).toBe(0);
      expect(retried.requests.seasons.succeeded).toBe(1);
      expect(healed.stats.byPath.get(path)).toBe(1);
      expect(await liveCountsOf(database)).toEqual(expectedCounts(tree).rows);
    } finally {
      await database.drop();
    }
  });

  it('pauses and probes while the API is down, then completes (circuit breaker)', async () => {
    const tree = syntheticTree(SMALL);
    const replica = await startReplica({ tree });
    const proxy = await startProxy(replica.port);
    const database = await createTestDatabase(KIND);
    try {
      // The API answers the first lists, then goes away for 1.5 s while many
      // distinct requests are under way (one URL failing alone never opens the breaker).
      const outage = setInterval(() => {
        if (replica.stats.total < 6) return;
        clearInterval(outage);
        proxy.stop();
        setTimeout(() => void proxy.resume(), 1500);
      }, 1);
      const summary = await crawl(
        crawlConfig(`http://127.0.0.1:${proxy.port}`, tempDir(), database.target, {}, { breakerCoolDownMs: 500 }),
      );
      expect(summary.lines.join('\n')).toMatch(
        /circuit open \(\d+ of the last \d+ distinct requests failed; the latest: .+\)/,
      );
      expect(summary.outcome).toBe('complete');
      expect(await liveCountsOf(database)).toEqual(expectedCounts(tree).rows);
    } finally {
      await proxy.close();
      await replica.close();
      await database.drop();
    }
  });
});

describe.skipIf(!POSTGRES_URL)('the database goes away mid-crawl', () => {
  it('stops with a clear message and exit 1, and a resume once it is back completes with nothing lost', async () => {
    const tree = syntheticTree({ ...SMALL, eventsPerSeason: 5, sessionsPerEvent: 6 });
    const replica = await startReplica({ tree, faults: { seed: 1, rateSlow: 1, slowMs: 20 } });
    const database = await createTestDatabase('postgres');
    const reference = await createTestDatabase('postgres');
    const proxy = await startProxy(5432);
    try {
      await crawl(crawlConfig(replica.url, tempDir(), reference.target));
      const url = new URL(database.target.kind === 'postgres' ? database.target.url : '');
      url.port = String(proxy.port);
      const storage = tempDir();
      const args = [
        'crawl',
        '--storage',
        storage,
        '--db',
        url.toString(),
        '--base-url',
        replica.url,
        '--max-rpm',
        '100000',
      ];
      const start = replica.stats.total;
      const cut = setInterval(() => {
        if (replica.stats.total - start > 40) {
          clearInterval(cut);
          proxy.stop();
        }
      }, 5);
      const down = await runCli(args);
      expectOneLineOutage(down);

      await proxy.resume();
      const back = await runCli(args);
      expect(back.code, back.stderr).toBe(0);
      expect(await snapshot(database.target)).toEqual(await snapshot(reference.target));
    } finally {
      await proxy.close();
      await replica.close();
      await database.drop();
      await reference.drop();
    }
  });

  it('a restart as PostgreSQL does it (backends terminated, connections ' +
    'refused): the summary on stdout, one line on stderr, then an exact resume', async () => {
    const tree = syntheticTree({ ...SMALL, eventsPerSeason: 5, sessionsPerEvent: 6 });
    const replica = await startReplica({ tree, faults: { seed: 2, rateSlow: 1, slowMs: 20 } });
    const database = await createTestDatabase('postgres');
    const reference = await createTestDatabase('postgres');
    const admin = knex({ client: 'pg', connection: POSTGRES_URL, pool: { min: 0, max: 1 } });
    const url = database.target.kind === 'postgres' ? database.target.url : '';
    const name = new URL(url).pathname.slice(1);
    try {
      await crawl(crawlConfig(replica.url, tempDir(), reference.target));
      const args = ['crawl', '--storage', tempDir(), '--db', url, '--base-url', replica.url, '--max-rpm', '100000'];
      const start = replica.stats.total;
      const run = startCli(args);
      await waitFor(() => replica.stats.total - start > 40, 120_000);
      await admin.raw(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      await admin.raw(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ? AND pid <> pg_backend_pid()',
        [name],
      );
      const down = await run.done;
      await admin.raw(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      expectOneLineOutage(down);

      const back = await runCli(args);
      expect(back.code, back.stderr).toBe(0);
      expect(await snapshot(database.target)).toEqual(await snapshot(reference.target));
    } finally {
      await admin.raw(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`).catch(() => undefined);
      await admin.destroy();
      await replica.close();
      await database.drop();
      await reference.drop();
    }
  }, 300_000);
});

/**
 * A crawl stopped by a lost database: exit 1; on stderr, besides the info and progress lines, the
 * one ERROR line; on stdout the summary and nothing else (knex logs connection errors with their
 * stack trace on stdout unless given a logger).
 */
function expectOneLineOutage(down: { code: number | null; stdout: string; stderr: string }): void {
  expect(down.code, down.stderr).toBe(1);
  expect(
    down.stderr.split('\n').filter((line) => /^(ERROR|WARN)\b/.test(line)),
    down.stderr,
  ).toEqual([expect.stringMatching(/^ERROR database unavailable: .*: stopping the crawl$/)]);
  expect(down.stdout).toMatch(/^Crawl stopped by an error after /);
  expect(down.stdout).toMatch(/Nothing stored was lost\. Run the same crawl command again to resume/);
  expect(down.stdout).not.toMatch(/Failures \(/);
  for (const output of [down.stdout, down.stderr])
    expect(output).not.toMatch(/Acquire connection error|Connection Error|\[object Object\]|^\s+at /m);
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A TCP proxy (to the PostgreSQL server, or the replica) that can drop every connection and refuse new ones. */
async function startProxy(targetPort: number) {
  const sockets = new Set<Socket>();
  let server: Server;
  const port = await freePort();
  const listen = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = connect(targetPort, '127.0.0.1');
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => undefined);
        }
        client.pipe(upstream).pipe(client);
      }).listen(port, '127.0.0.1', resolve);
    });
  await listen();
  return {
    port,
    stop() {
      server.close();
      for (const s of sockets) s.destroy();
    },
    resume: listen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
