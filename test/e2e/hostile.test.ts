/**
 * Crawls against a hostile API (test/support/hostile-server.ts) over real HTTP into a real
 * database, for issue 10's rows 1-4: redirects off the API's origin and long redirect chains,
 * invalid UTF-8 in one name, bodies that are not JSON (cut short under clean framing, HTML, empty,
 * gzip-encoded bytes that are not gzip),
 * and one endpoint trickling its body. Stored rows are compared with what was served.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LABELS } from '../../src/api/endpoints.js';
import type { CrawlConfig, DbTarget } from '../../src/config.js';
import type { FailedRequest } from '../../src/crawl/failures.js';
import { planCrawl } from '../../src/crawl/plan.js';
import { exitCodeOf } from '../../src/crawl/summary.js';
import { openDb } from '../../src/store/db.js';
import {
  apiPath,
  expectedCounts,
  syntheticTree,
  withMutations,
  type Calendar,
  type Classification,
  type ReplicaTree,
  type SeasonItem,
  type SeriesItem,
} from '../replica/index.js';
import { cacheRecordFile, readCacheRecord, rewriteCacheHeader } from '../support/cache-files.js';
import { crawl, crawlConfig, memoryLogger } from '../support/crawl.js';
import { DATABASE_KINDS, createTestDatabase, liveCountsOf, tempDir, type TestDatabase } from '../support/db.js';
import { startHostileServer, type HostileServer, type Hostility } from '../support/hostile-server.js';
import { snapshot } from '../support/snapshot.js';

const TREE = { seed: 33, series: 3, seasonsPerSeries: 2, eventsPerSeason: 2, sessionsPerEvent: 3, carsPerSession: 4 };
/** Few retries keep the retried faults quick; the budget is the same for every transient fault. */
const RETRIES = 2;
/** PostgreSQL when TEST_DATABASE_URL is set (a new database is quicker to make than a PGlite dir), PGlite otherwise. */
const KIND = DATABASE_KINDS.at(-1)!;

const body = <T>(tree: ReplicaTree, path: string): T => JSON.parse(tree.body(path)!) as T;
const seriesOf = (tree: ReplicaTree) => body<SeriesItem[]>(tree, apiPath.series());
const seasonsOf = (tree: ReplicaTree, series: number) =>
  body<SeasonItem[]>(tree, apiPath.seasons(seriesOf(tree)[series]!.uuid));
const sessionsWithResults = (tree: ReplicaTree, season: string) =>
  body<Calendar>(tree, apiPath.calendar(season))
    .events.flatMap((e) => e.sessions)
    .filter((s) => s.hasResults)
    .map((s) => s.uuid);

/** The rows a correct crawl stores when the paths given fail: each emptied in an oracle copy of the tree. */
function expectedWithout(paths: Record<string, (payload: never) => unknown>) {
  const oracle = syntheticTree(TREE);
  for (const [path, empty] of Object.entries(paths)) oracle.mutate(path, empty);
  return expectedCounts(oracle).rows;
}
const noSeasons = () => [];
const noEvents = (c: Calendar) => ({ ...c, events: [] });
const noResults = (c: Classification) => ({ ...c, details: [], retirements: [] });

/** The quarantine table, first and last seen left out (they are the crawl's times). */
async function quarantineOf(target: DbTarget): Promise<unknown[]> {
  const db = await openDb(target);
  try {
    return await db('quarantine')
      .select(
        'target_key',
        'label',
        'parent_uuid',
        'url',
        'pointer',
        'item_id',
        'reason',
        db.raw('cleared_at IS NULL AS open'),
      )
      .orderByRaw('target_key COLLATE "C", pointer COLLATE "C"');
  } finally {
    await db.destroy();
  }
}

const failureAt = (failures: readonly { kind: string; url: string }[], path: string) =>
  failures.find((f) => f.kind === 'request' && f.url.endsWith(path)) as FailedRequest | undefined;

describe(`a hostile API (${KIND})`, () => {
  const servers: HostileServer[] = [];
  const databases: TestDatabase[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
    await Promise.all(databases.splice(0).map((d) => d.drop()));
  });

  async function crawlHostile(
    tree: ReplicaTree,
    hostile: Record<string, Hostility>,
    extra = {},
    overrides: Partial<CrawlConfig> = {},
  ) {
    // Another origin, answering every path with valid JSON of another tree: never to be stored.
    const foreignTree = syntheticTree({ ...TREE, seed: 99 });
    const foreignSeasons = foreignTree.body(apiPath.seasons(seriesOf(foreignTree)[0]!.uuid))!;
    const foreign = await startHostileServer({ tree: withMutations(() => foreignSeasons) });
    const api = await startHostileServer({ tree, hostile, foreignUrl: foreign.url });
    servers.push(foreign, api);
    const database = await createTestDatabase(KIND);
    databases.push(database);
    const summary = await crawl(
      crawlConfig(
        api.url,
        tempDir(),
        database.target,
        { concurrency: 4, ...extra },
        { maxRetries: RETRIES, ...overrides },
      ),
    );
    const db = await openDb(database.target);
    let series: { uuid: string; name: string }[];
    let seasons: string[];
    try {
      series = await db('series').select('uuid', 'name').orderBy('uuid');
      seasons = await db('seasons').pluck('uuid');
    } finally {
      await db.destroy();
    }
    return {
      summary,
      api,
      foreign,
      database,
      series,
      seasons,
      counts: await liveCountsOf(database),
      foreignSeasons: JSON.parse(foreignSeasons) as SeasonItem[],
    };
  }

  it('row 1: refuses a redirect to another host at once, naming it; follows 3 same-origin hops, not 4', async () => {
    const tree = syntheticTree(TREE);
    const toForeign = apiPath.seasons(seriesOf(tree)[0]!.uuid);
    const tooLong = apiPath.seasons(seriesOf(tree)[1]!.uuid);
    const run = await crawlHostile(tree, {
      [apiPath.series()]: { kind: 'redirect-chain', hops: 3 },
      [apiPath.seasons(seriesOf(tree)[2]!.uuid)]: { kind: 'redirect-chain', hops: 1 },
      [toForeign]: { kind: 'redirect-foreign' },
      [tooLong]: { kind: 'redirect-chain', hops: 4 },
    });
    expect(run.summary.outcome).toBe('failures');
    expect(run.summary.failures).toHaveLength(2);
    const foreign = failureAt(run.summary.failures, toForeign)!;
    expect(foreign.error).toBe(`redirected off the API's origin to ${run.foreign.url}${toForeign}: not followed`);
    expect(foreign.attempts).toBe(1);
    const chain = failureAt(run.summary.failures, tooLong)!;
    expect(chain.error).toMatch(
      /^more than 3 redirects \(the last to http:\/\/127\.0\.0\.1:\d+\/.*\?hop=4\): not followed$/,
    );
    expect(chain.attempts).toBe(1);
    // The other host was never even asked, and nothing of its tree is stored.
    expect(run.foreign.gets.size).toBe(0);
    expect(run.seasons.filter((uuid) => run.foreignSeasons.some((s) => s.uuid === uuid))).toEqual([]);
    expect(run.counts).toEqual(expectedWithout({ [toForeign]: noSeasons, [tooLong]: noSeasons }));
  });

  it('refuses a redirect to another path of the API at once; follows one that only adds a trailing slash', async () => {
    const tree = syntheticTree(TREE);
    const [seasonA, seasonB] = seasonsOf(tree, 0).map((s) => s.uuid) as [string, string];
    const elsewhere = apiPath.calendar(seasonA);
    const slashed = apiPath.seasons(seriesOf(tree)[1]!.uuid);
    const run = await crawlHostile(tree, {
      // Another season's calendar: its body names season B, and must never be stored as A's.
      [elsewhere]: { kind: 'redirect-to', location: apiPath.calendar(seasonB) },
      [slashed]: { kind: 'redirect-to', location: `${slashed}/` },
    });
    expect(run.summary.outcome).toBe('failures');
    expect(run.summary.failures).toEqual([
      expect.objectContaining({
        url: `${run.api.url}${elsewhere}`,
        attempts: 1,
        error:
          `redirected to another path of the API, ${run.api.url}${apiPath.calendar(seasonB)}: ` +
          'not followed (its body is not the one asked for)',
      }),
    ]);
    expect(run.api.gets.get(elsewhere)).toBe(1);
    expect(run.api.gets.get(`${slashed}/`)).toBe(1);
    expect(run.counts).toEqual(expectedWithout({ [elsewhere]: noEvents }));
  });

  it('compressed bodies (gzip, deflate, raw deflate, br) are read and stored; one cut short is retried', async () => {
    const tree = syntheticTree(TREE);
    const [seasonA, seasonB] = seasonsOf(tree, 0).map((s) => s.uuid) as [string, string];
    const [br, cutLength, cutWire] = sessionsWithResults(tree, seasonA).map(apiPath.classification) as [
      string,
      string,
      string,
    ];
    const paths = {
      gzip: apiPath.series(),
      deflate: apiPath.seasons(seriesOf(tree)[0]!.uuid),
      raw: apiPath.calendar(seasonA),
      br,
      recovers: apiPath.calendar(seasonB),
      cutLength,
      cutWire,
    };
    const run = await crawlHostile(tree, {
      [paths.gzip]: { kind: 'compressed', encoding: 'gzip' },
      [paths.deflate]: { kind: 'compressed', encoding: 'deflate' },
      [paths.raw]: { kind: 'compressed', encoding: 'deflate-raw' },
      [paths.br]: { kind: 'compressed', encoding: 'br' },
      [paths.recovers]: { kind: 'compressed-cut', encoding: 'gzip', how: 'wire', times: 1 },
      [paths.cutLength]: { kind: 'compressed-cut', encoding: 'gzip', how: 'length', times: Infinity },
      [paths.cutWire]: { kind: 'compressed-cut', encoding: 'br', how: 'wire', times: Infinity },
    });
    expect(run.summary.outcome).toBe('failures');
    const failed = run.summary.failures.map((f) => [f.url.slice(run.api.url.length), (f as FailedRequest).error]);
    expect(Object.fromEntries(failed)).toEqual({
      [paths.cutLength]: 'body could not be decompressed (content-encoding gzip): unexpected end of file',
      [paths.cutWire]: expect.stringMatching(/^body cut short \(\d+ bytes read, Content-Length \d+\): /),
    });
    for (const path of [paths.cutLength, paths.cutWire]) {
      expect(failureAt(run.summary.failures, path)!.attempts).toBe(RETRIES + 1);
      expect(run.api.gets.get(path)).toBe(RETRIES + 1);
    }
    expect(run.api.gets.get(paths.recovers)).toBe(2);
    for (const path of [paths.gzip, paths.deflate, paths.raw, paths.br]) expect(run.api.gets.get(path)).toBe(1);
    expect(run.counts).toEqual(expectedWithout({ [paths.cutLength]: noResults, [paths.cutWire]: noResults }));
  });

  it('a whole endpoint answering 200 with bad bodies spends its own attempts: never an outage', async () => {
    const tree = syntheticTree(TREE);
    const classifications = seriesOf(tree)
      .flatMap((_, series) => seasonsOf(tree, series))
      .flatMap((season) => sessionsWithResults(tree, season.uuid))
      .map(apiPath.classification);
    // Far more distinct failing requests than open the breaker (4, and most of the last 20).
    expect(classifications.length).toBeGreaterThan(20);
    const hostile = Object.fromEntries(
      classifications.map((path, i): [string, Hostility] => [
        path,
        i % 2
          ? { kind: 'encoding-lie', encoding: 'br' }
          : { kind: 'compressed-cut', encoding: 'gzip', how: 'length', times: Infinity },
      ]),
    );
    const run = await crawlHostile(tree, hostile);
    expect(run.summary.outcome).toBe('failures');
    expect(run.summary.lines.join('\n')).not.toMatch(/circuit open|has been failing/);
    const failed = run.summary.failures as FailedRequest[];
    expect(failed.map((f) => f.url.slice(run.api.url.length)).sort()).toEqual([...classifications].sort());
    for (const failure of failed) {
      expect(failure.attempts).toBe(RETRIES + 1);
      expect(failure.error).toMatch(
        /^body could not be decompressed \(content-encoding (br|gzip)\): (Decompression failed|unexpected end of file)/,
      );
    }
    for (const path of classifications) expect(run.api.gets.get(path)).toBe(RETRIES + 1);
    expect(run.counts).toEqual(expectedWithout(Object.fromEntries(classifications.map((p) => [p, noResults]))));
  });

  it('row 2: stores a list with one invalid byte, U+FFFD in its place, and reports that item only', async () => {
    const tree = syntheticTree(TREE);
    // A genuine U+FFFD, sent as valid UTF-8, is data, not a repair.
    tree.mutate<SeriesItem[]>(apiPath.series(), (list) =>
      list.map((s, i) => (i === 0 ? { ...s, name: `${s.name} N\ufffdrburgring` } : s)),
    );
    const served = seriesOf(tree);
    const run = await crawlHostile(tree, { [apiPath.series()]: { kind: 'invalid-utf8-name', item: 1 } });
    expect(run.summary.outcome).toBe('complete');
    expect(run.summary.requests.series.repaired).toBe(1);
    const repairs = run.summary.lines.filter((line) => line.includes('repaired invalid UTF-8'));
    expect(repairs).toHaveLength(1);
    expect(repairs[0]).toContain(`in /1 of ${run.api.url}${apiPath.series()}: U+FFFD in place of bad bytes at /1/name`);
    const stored = new Map(run.series.map((s) => [s.uuid, s.name]));
    expect(stored.get(served[0]!.uuid)).toBe(served[0]!.name);
    expect(stored.get(served[1]!.uuid)).toBe(`${served[1]!.name}\ufffd`);
    expect(stored.get(served[2]!.uuid)).toBe(served[2]!.name);
    expect(run.counts).toEqual(expectedCounts(tree).rows);
  });

  it('row 3: retries bodies that are not JSON like a 5xx; fails a schema mismatch at once', async () => {
    const tree = syntheticTree(TREE);
    const [seasonA, seasonB] = seasonsOf(tree, 0).map((s) => s.uuid) as [string, string];
    const seasonC = seasonsOf(tree, 1)[0]!.uuid;
    const [html, empty, gzip] = sessionsWithResults(tree, seasonA).map(apiPath.classification) as [
      string,
      string,
      string,
    ];
    const gzipOnce = apiPath.classification(sessionsWithResults(tree, seasonsOf(tree, 2)[0]!.uuid)[0]!);
    const paths = {
      recovers: apiPath.calendar(seasonA),
      cut: apiPath.calendar(seasonB),
      wrong: apiPath.calendar(seasonC),
      html,
      empty,
      gzip,
      gzipOnce,
    };
    const run = await crawlHostile(tree, {
      [paths.recovers]: { kind: 'cut-chunked', times: 2 },
      [paths.cut]: { kind: 'cut-length', times: Infinity },
      [paths.wrong]: { kind: 'wrong-json' },
      [paths.html]: { kind: 'html', times: Infinity },
      [paths.empty]: { kind: 'empty', times: 1 },
      [paths.gzip]: { kind: 'gzip-garbage', times: Infinity },
      [paths.gzipOnce]: { kind: 'gzip-garbage', times: 1 },
    });
    expect(run.summary.outcome).toBe('failures');
    expect(run.summary.failures.map((f) => f.url.slice(run.api.url.length)).sort()).toEqual(
      [paths.cut, paths.html, paths.wrong, paths.gzip].sort(),
    );
    expect(failureAt(run.summary.failures, paths.gzip)).toMatchObject({
      attempts: RETRIES + 1,
      error: 'body could not be decompressed (content-encoding gzip): incorrect header check',
    });
    expect([paths.gzip, paths.gzipOnce].map((p) => run.api.gets.get(p))).toEqual([RETRIES + 1, 2]);
    expect(failureAt(run.summary.failures, paths.cut)).toMatchObject({
      attempts: RETRIES + 1,
      error: expect.stringMatching(/^body is not JSON \(.*JSON.*; \d+ bytes starting "\{/),
    });
    expect(failureAt(run.summary.failures, paths.html)).toMatchObject({
      attempts: RETRIES + 1,
      error: expect.stringMatching(/^body is not JSON \(.*; 93 bytes starting "<html>/),
    });
    expect(failureAt(run.summary.failures, paths.wrong)).toMatchObject({
      attempts: 1,
      error: expect.stringMatching(/^schema mismatch/),
    });
    expect([paths.recovers, paths.cut, paths.wrong, paths.html, paths.empty].map((p) => run.api.gets.get(p))).toEqual([
      3,
      RETRIES + 1,
      1,
      RETRIES + 1,
      2,
    ]);
    expect(run.counts).toEqual(
      expectedWithout({
        [paths.cut]: noEvents,
        [paths.wrong]: noEvents,
        [paths.html]: noResults,
        [paths.gzip]: noResults,
      }),
    );
  });

  it("refuses a calendar naming another season than the one asked: nothing stored, the mirror's kept", async () => {
    const tree = syntheticTree(TREE);
    const [asked, other] = seasonsOf(tree, 0).map((s) => s.uuid) as [string, string];
    const path = apiPath.calendar(asked);
    const hostile = { [path]: { kind: 'body-of', path: apiPath.calendar(other) } } as const;
    const refusal = `the calendar of ${other}, not of the requested ${asked}: nothing of it stored`;

    // Into an empty database: the asked season gets no events, the other season its own.
    const run = await crawlHostile(tree, hostile);
    expect(run.summary.outcome).toBe('failures');
    expect(run.summary.failures).toEqual([
      expect.objectContaining({ kind: 'request', url: `${run.api.url}${path}`, error: refusal, attempts: 1 }),
    ]);
    expect(run.counts).toEqual(expectedWithout({ [path]: noEvents }));

    // Into a database holding the right calendar: the mix-up moves nothing.
    const clean = await startHostileServer({ tree });
    const mixedUp = await startHostileServer({ tree, hostile });
    servers.push(clean, mixedUp);
    const database = await createTestDatabase(KIND);
    databases.push(database);
    const first = await crawl(crawlConfig(clean.url, tempDir(), database.target, {}, { maxRetries: RETRIES }));
    expect(first.outcome).toBe('complete');
    const before = await snapshot(database.target);
    const second = await crawl(crawlConfig(mixedUp.url, tempDir(), database.target, {}, { maxRetries: RETRIES }));
    expect(second.failures).toEqual([expect.objectContaining({ kind: 'request', error: refusal, attempts: 1 })]);
    expect(await snapshot(database.target)).toEqual(before);
    const db = await openDb(database.target);
    try {
      const eventsOf = (season: string) =>
        db('events').where({ season_uuid: season }).whereNull('deleted_at').pluck('uuid');
      expect((await eventsOf(asked)).sort()).toEqual(
        body<Calendar>(tree, path)
          .events.map((e) => e.uuid)
          .sort(),
      );
      expect(await eventsOf(asked)).toHaveLength(TREE.eventsPerSeason);
      expect(await eventsOf(other)).toHaveLength(TREE.eventsPerSeason);
    } finally {
      await db.destroy();
    }
  });

  it(
    'row 2 with issue 13: repaired and partial bodies are cached as served; ' +
      '--cache only into a new database stores the same rows and quarantine',
    async () => {
      const tree = syntheticTree(TREE);
      // One season of the second series breaks the schema: quarantined, the others stored.
      const partial = apiPath.seasons(seriesOf(tree)[1]!.uuid);
      tree.mutate<Record<string, unknown>[]>(partial, (list) => list.map((s, i) => (i === 0 ? { ...s, name: 42 } : s)));
      const api = await startHostileServer({
        tree,
        hostile: { [apiPath.series()]: { kind: 'invalid-utf8-name', item: 1 } },
      });
      servers.push(api);
      const [first, second] = [await createTestDatabase(KIND), await createTestDatabase(KIND)];
      databases.push(first, second);
      const storage = tempDir();
      const problems = (lines: readonly string[]) =>
        lines.filter((line) => /repaired invalid UTF-8|quarantined \//.test(line));

      const crawled = await crawl(crawlConfig(api.url, storage, first.target, {}, { maxRetries: RETRIES }));
      expect(crawled.outcome).toBe('failures');
      expect([crawled.requests.series.repaired, crawled.requests.seasons.quarantined]).toEqual([1, 1]);
      expect(problems(crawled.lines)).toHaveLength(2);
      const requests = LABELS.reduce((n, l) => n + crawled.requests[l].succeeded, 0);
      const gets = [...api.gets.values()].reduce((a, b) => a + b, 0);
      expect(gets).toBe(requests);

      // The plan finds every body in the cache, the two partial ones included: nothing to fetch.
      const plan = await planCrawl(crawlConfig(api.url, storage, first.target), memoryLogger().log);
      expect(plan.total).toMatchObject({ serve: requests, fetch: 0, revalidate: 0, unknownChildren: 0 });

      const rebuilt = await crawl(
        crawlConfig(api.url, storage, second.target, { cache: 'only' }, { maxRetries: RETRIES }),
      );
      expect([...api.gets.values()].reduce((a, b) => a + b, 0)).toBe(gets);
      expect(rebuilt.outcome).toBe('failures');
      expect(LABELS.map((l) => rebuilt.requests[l].cacheHits)).toEqual(
        LABELS.map((l) => crawled.requests[l].succeeded),
      );
      expect([rebuilt.requests.series.repaired, rebuilt.requests.seasons.quarantined]).toEqual([1, 1]);
      expect(problems(rebuilt.lines)).toEqual(problems(crawled.lines));
      expect(await snapshot(second.target)).toEqual(await snapshot(first.target));
      const quarantine = await quarantineOf(second.target);
      expect(quarantine).toEqual(await quarantineOf(first.target));
      expect(quarantine).toEqual([
        expect.objectContaining({ target_key: `seasons-${seriesOf(tree)[1]!.uuid}`, pointer: '/0', open: true }),
      ]);
    },
  );

  it('req 4: one URL answering 429 with Retry-After 3600 on every ' +
    'attempt spends its own attempts; the crawl never pauses for it', async () => {
    const tree = syntheticTree(TREE);
    const hostage = apiPath.seasons(seriesOf(tree)[1]!.uuid);
    const started = Date.now();
    // Each retry waits what was asked, up to retryMaxMs (30 s by default; 1 s keeps this quick).
    const run = await crawlHostile(
      tree,
      { [hostage]: { kind: 'retry-after', seconds: 3600, times: Infinity } },
      {},
      { retryMaxMs: 1_000 },
    );
    expect(run.summary.outcome).toBe('failures');
    expect(run.summary.failures).toEqual([
      expect.objectContaining({
        kind: 'request',
        url: `${run.api.url}${hostage}`,
        error: 'HTTP 429 (Retry-After 3600 s)',
        attempts: RETRIES + 1,
      }),
    ]);
    expect(run.api.gets.get(hostage)).toBe(RETRIES + 1);
    expect(run.summary.lines.join('\n')).not.toMatch(/crawl paused|circuit open/);
    // Two retries, each waiting the 1 s ceiling: seconds, never the cap of a crawl-wide pause (10 min).
    expect(run.summary.seconds).toBeGreaterThan(RETRIES * 1 - 0.2);
    expect((Date.now() - started) / 1000).toBeLessThan(60);
    expect(run.counts).toEqual(expectedWithout({ [hostage]: noSeasons }));
  }, 120_000);

  it('req 4: Retry-After from several distinct requests pauses the ' +
    'whole crawl, says until when and why, and progress goes on', async () => {
    const tree = syntheticTree(TREE);
    const asked = seriesOf(tree).map((s) => apiPath.seasons(s.uuid));
    expect(asked).toHaveLength(3);
    const run = await crawlHostile(
      tree,
      Object.fromEntries(asked.map((path) => [path, { kind: 'retry-after', seconds: 7, times: 1 }])),
      {},
      { retryMaxMs: 1_000 },
    );
    expect(run.summary.outcome).toBe('complete');
    const pauses = run.summary.lines.filter((line) => line.includes('crawl paused'));
    expect(pauses).toEqual([
      expect.stringMatching(
        new RegExp(
          '^WARN API asked to slow down \\(HTTP 429 with Retry-After for 3 distinct requests ' +
            'within 60 s\\): crawl paused until \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ \\(7 s\\)$',
        ),
      ),
    ]);
    const until = /until (\S+Z)/.exec(pauses[0]!)![1]!;
    // The progress line (every 5 s) goes on through the pause, and says it.
    const ticks = run.summary.lines.filter((line) => /^\d+\/\d+ requests · .* · paused until /.test(line));
    expect(ticks.length).toBeGreaterThan(0);
    for (const tick of ticks) expect(tick).toMatch(new RegExp(` · paused until ${until}$`));
    expect(run.summary.seconds).toBeGreaterThan(6.5);
    expect(run.counts).toEqual(expectedCounts(tree).rows);
  }, 120_000);

  it(
    'an ETag with bytes outside ASCII is kept and sent ' + 'back byte for byte, so a revalidation gets its 304',
    async () => {
      const tree = syntheticTree(TREE);
      // `"café` in UTF-8, a lone 0xFF, `"`: bytes ≥ 0x80, one of them not even UTF-8.
      const etag = [0x22, 0x63, 0x61, 0x66, 0xc3, 0xa9, 0xff, 0x22];
      const paths = [apiPath.series(), apiPath.seasons(seriesOf(tree)[0]!.uuid)];
      const api = await startHostileServer({
        tree,
        hostile: Object.fromEntries(paths.map((p) => [p, { kind: 'etag', bytes: etag }])),
      });
      servers.push(api);
      const database = await createTestDatabase(KIND);
      databases.push(database);
      const storage = tempDir();
      const first = await crawl(crawlConfig(api.url, storage, database.target, {}, { maxRetries: RETRIES }));
      expect(first.outcome).toBe('complete');
      // Two days on, past --max-age: both are asked for with their validator, and are not modified.
      const again = await crawl({
        ...crawlConfig(api.url, storage, database.target, {}, { maxRetries: RETRIES }),
        nowMs: Date.now() + 2 * 86_400_000,
      });
      expect(again.outcome).toBe('complete');
      for (const path of paths) {
        expect(api.ifNoneMatch.get(path)).toEqual([Buffer.from(etag).toString('hex')]);
        expect(api.notModified.get(path)).toBe(1);
      }
      expect([again.requests.series.revalidated, again.requests.seasons.revalidated]).toEqual([1, 1]);
      // A third time, from the validators the 304 left: the same bytes again.
      await crawl({
        ...crawlConfig(api.url, storage, database.target, {}, { maxRetries: RETRIES }),
        nowMs: Date.now() + 4 * 86_400_000,
      });
      for (const path of paths) expect(api.notModified.get(path)).toBe(2);
    },
  );

  it('a validator that is no valid header value is never kept nor sent: the request goes unconditional', async () => {
    const tree = syntheticTree(TREE);
    const [served, kept] = [apiPath.series(), apiPath.seasons(seriesOf(tree)[0]!.uuid)];
    // `"<NUL>x"`: the API sends it; Node's client reads it, and would refuse to send it back.
    const api = await startHostileServer({
      tree,
      hostile: { [served]: { kind: 'etag', bytes: [0x22, 0, 0x78, 0x22] } },
    });
    servers.push(api);
    const database = await createTestDatabase(KIND);
    databases.push(database);
    const storage = tempDir();
    const first = await crawl(crawlConfig(api.url, storage, database.target, {}, { maxRetries: RETRIES }));
    expect(first.outcome).toBe('complete');
    const servedFile = cacheRecordFile(storage, 'series-all');
    expect(readCacheRecord(servedFile).header).not.toHaveProperty('etag');
    // A record already holding such validators (as an earlier version kept them) is read without them.
    const keptFile = cacheRecordFile(storage, `seasons-${seriesOf(tree)[0]!.uuid}`);
    rewriteCacheHeader(keptFile, { etag: '"\u0000y"', lastModified: 'Tue, 01 Dec 2026\r\nX-Evil: 1' });
    const again = await crawl({
      ...crawlConfig(api.url, storage, database.target, {}, { maxRetries: RETRIES }),
      nowMs: Date.now() + 2 * 86_400_000,
    });
    expect(again.outcome).toBe('complete');
    expect(again.failures).toEqual([]);
    for (const path of [served, kept]) {
      expect(api.gets.get(path)).toBe(2);
      expect(api.ifNoneMatch.get(path)).toBeUndefined();
      expect(api.lastHeaders.get(path)).not.toHaveProperty('if-modified-since');
    }
    expect(readCacheRecord(keptFile).header).not.toHaveProperty('etag');
    expect(readCacheRecord(keptFile).header).not.toHaveProperty('lastModified');
  });

  it(
    `rows 1-4 at once (${KIND}): one trickling endpoint fails ` +
      `in about timeout × attempts; everything else is stored`,
    async () => {
      const tree = syntheticTree(TREE);
      const seasonA = seasonsOf(tree, 2)[0]!.uuid;
      const [trickle, cut] = sessionsWithResults(tree, seasonA).map(apiPath.classification) as [string, string];
      const toForeign = apiPath.seasons(seriesOf(tree)[0]!.uuid);
      const run = await crawlHostile(
        tree,
        {
          [trickle]: { kind: 'trickle' },
          [cut]: { kind: 'cut-chunked', times: 1 },
          [toForeign]: { kind: 'redirect-foreign' },
          [apiPath.series()]: { kind: 'invalid-utf8-name', item: 2 },
        },
        { timeout: '2s' },
      );
      expect(run.summary.outcome).toBe('failures');
      expect(run.summary.failures.map((f) => f.url.slice(run.api.url.length)).sort()).toEqual(
        [toForeign, trickle].sort(),
      );
      expect(failureAt(run.summary.failures, trickle)).toMatchObject({
        error: 'timed out after 2 s',
        attempts: RETRIES + 1,
      });
      expect(run.api.gets.get(trickle)).toBe(RETRIES + 1);
      // One URL failing again and again is not an outage: the breaker stays shut, no attempt is given back.
      expect(run.summary.lines.join('\n')).not.toMatch(/circuit open/);
      // 3 attempts × 2 s plus backoff; loose above for a loaded machine, never the minutes of old.
      expect(run.summary.seconds).toBeGreaterThan(3 * 2 - 0.5);
      expect(run.summary.seconds).toBeLessThan(40);
      expect(run.summary.requests.series.repaired).toBe(1);
      expect(run.foreign.gets.size).toBe(0);
      expect(run.counts).toEqual(expectedWithout({ [toForeign]: noSeasons, [trickle]: noResults }));
    },
  );

  it(
    `issue 10, done when: rows 1-4 and 9 at once on several endpoints store every valid ` +
      `row exactly, fail exactly the bad requests, within the bound, exit 2 (${KIND})`,
    async () => {
      const tree = syntheticTree(TREE);
      const [s0, s1, s2] = seriesOf(tree).map((s) => s.uuid) as [string, string, string];
      const season = (series: number, i: number) => seasonsOf(tree, series)[i]!.uuid;
      const [trickle, recovers] = sessionsWithResults(tree, season(2, 0)).map(apiPath.classification) as [
        string,
        string,
      ];
      const [cutForever, duplicateCar, htmlOnce] = sessionsWithResults(tree, season(2, 1)).map(
        apiPath.classification,
      ) as [string, string, string];
      expect([trickle, recovers, cutForever, duplicateCar, htmlOnce].every(Boolean)).toBe(true);
      const paths = {
        offOrigin: [apiPath.seasons(s0), apiPath.calendar(season(1, 0))],
        badByte: [apiPath.series(), apiPath.seasons(s2)],
        cutCalendar: apiPath.calendar(season(1, 1)),
        recoversCalendar: apiPath.calendar(season(2, 0)),
      };
      // Row 9: a differing copy of a season, of an event, of a car; the first of each stands.
      const served = {
        series: seriesOf(tree),
        seasonsOfS2: seasonsOf(tree, 2),
      };
      tree.mutate<SeasonItem[]>(apiPath.seasons(s1), (list) => [
        ...list,
        { ...list[0]!, name: `${list[0]!.name ?? ''} (other)` },
      ]);
      tree.mutate<Calendar>(apiPath.calendar(season(2, 1)), (c) => ({
        ...c,
        events: [...c.events, { ...c.events[0]!, name: `${c.events[0]!.name ?? ''} (other)` }],
      }));
      tree.mutate<Classification>(duplicateCar, (c) => ({
        ...c,
        details: [...c.details, { ...c.details[0]!, laps: (c.details[0]!.laps ?? 0) + 1 }],
      }));

      const run = await crawlHostile(
        tree,
        {
          [paths.offOrigin[0]!]: { kind: 'redirect-foreign' },
          [paths.offOrigin[1]!]: { kind: 'redirect-foreign' },
          [paths.badByte[0]!]: { kind: 'invalid-utf8-name', item: 1 },
          [paths.badByte[1]!]: { kind: 'invalid-utf8-name', item: 0 },
          [paths.cutCalendar]: { kind: 'cut-length', times: Infinity },
          [paths.recoversCalendar]: { kind: 'cut-chunked', times: 1 },
          [cutForever]: { kind: 'cut-chunked', times: Infinity },
          [recovers]: { kind: 'cut-length', times: 2 },
          [htmlOnce]: { kind: 'html', times: 1 },
          [trickle]: { kind: 'trickle' },
        },
        { timeout: '1s' },
      );

      // Exactly the bad requests failed, each with its reason; the duplicates are quarantined.
      const failed = run.summary.failures.filter((f) => f.kind === 'request').map((f) => f as FailedRequest);
      const reasons = Object.fromEntries(
        failed.map((f) => [f.url.slice(run.api.url.length), [f.error.replace(/\(.*$/, '(…'), f.attempts]]),
      );
      expect(reasons).toEqual({
        [paths.offOrigin[0]!]: [
          `redirected off the API's origin to ${run.foreign.url}${paths.offOrigin[0]}: not followed`,
          1,
        ],
        [paths.offOrigin[1]!]: [
          `redirected off the API's origin to ${run.foreign.url}${paths.offOrigin[1]}: not followed`,
          1,
        ],
        [paths.cutCalendar]: ['body is not JSON (…', RETRIES + 1],
        [cutForever]: ['body is not JSON (…', RETRIES + 1],
        [trickle]: ['timed out after 1 s', RETRIES + 1],
      });
      const quarantined = run.summary.failures
        .filter((f) => f.kind === 'quarantine')
        .map((f) => f.url.slice(run.api.url.length))
        .sort();
      expect(quarantined).toEqual([apiPath.seasons(s1), apiPath.calendar(season(2, 1)), duplicateCar].sort());
      expect([run.summary.requests.series.repaired, run.summary.requests.seasons.repaired]).toEqual([1, 1]);
      expect(run.foreign.gets.size).toBe(0);
      expect(exitCodeOf(run.summary.outcome)).toBe(2);
      // Within the bound of req 4: 3 attempts × 1 s for the trickle plus a little backoff, never minutes.
      expect(run.summary.seconds).toBeGreaterThan(3 * 1 - 0.5);
      expect(run.summary.seconds).toBeLessThan(30);

      // Every valid row exactly as served: the same as a clean crawl of what a correct crawl keeps
      // (the failed requests' payloads emptied, U+FFFD where the bad bytes were, the first of each duplicate).
      const oracle = syntheticTree(TREE);
      oracle.mutate<SeriesItem[]>(apiPath.series(), () =>
        served.series.map((s, i) => (i === 1 ? { ...s, name: `${s.name}\ufffd` } : s)),
      );
      oracle.mutate<SeasonItem[]>(apiPath.seasons(s2), () =>
        served.seasonsOfS2.map((s, i) => (i === 0 ? { ...s, name: `${s.name ?? ''}\ufffd` } : s)),
      );
      oracle.mutate(paths.offOrigin[0]!, noSeasons);
      for (const path of [paths.offOrigin[1]!, paths.cutCalendar]) oracle.mutate(path, noEvents);
      for (const path of [cutForever, trickle]) oracle.mutate(path, noResults);
      const clean = await startHostileServer({ tree: oracle });
      servers.push(clean);
      const reference = await createTestDatabase(KIND);
      databases.push(reference);
      const referenceRun = await crawl(
        crawlConfig(clean.url, tempDir(), reference.target, { concurrency: 4 }, { maxRetries: RETRIES }),
      );
      expect(referenceRun.outcome).toBe('complete');
      expect(run.counts).toEqual(expectedCounts(oracle).rows);
      expect(await snapshot(run.database.target)).toEqual(await snapshot(reference.target));
    },
  );
});
