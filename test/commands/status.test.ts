/**
 * `status` on a real storage dir: a crawl of a synthetic replica stopped half way (--max-requests)
 * with one classification answering 404, then resumed to the end. Request counts are checked
 * against the paths the replica served and what the served payloads imply, cache entries against the
 * bodies served whole, rows against the crawl's own counts and the replica's oracle.
 */
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABELS, type Label } from '../../src/api/endpoints.js';
import { resolveCommonConfig } from '../../src/config.js';
import { formatStatus, runStatus, type StatusReport } from '../../src/commands/status.js';
import { lockStorageDir } from '../../src/crawl/storage-dir.js';
import { openDb } from '../../src/store/db.js';
import { TABLE_ORDER } from '../../src/store/tables.js';
import {
  apiPath,
  expectedCounts,
  startReplica,
  syntheticTree,
  type Calendar,
  type Replica,
  type ReplicaTree,
  type SeasonItem,
  type SeriesItem,
} from '../replica/index.js';
import { crawl, crawlConfig, memoryLogger } from '../support/crawl.js';
import { tempDir } from '../support/db.js';

// Enough calendars that a crawl stopped at 8 requests still has
// some in flight, and leaves their classifications pending.
const TREE = { series: 2, seasonsPerSeries: 4, eventsPerSeason: 2, sessionsPerEvent: 2, carsPerSession: 4 };

const labelOf = (p: string): Label =>
  p === apiPath.series()
    ? 'series'
    : p.endsWith('/seasons')
      ? 'seasons'
      : p.endsWith('/calendar')
        ? 'calendar'
        : 'classification';

/** Paths per label that the payloads served so far lead to (the requests a crawl has queued). */
function impliedBy(tree: ReplicaTree, served: ReadonlySet<string>): Record<Label, Set<string>> {
  const implied: Record<Label, Set<string>> = {
    series: new Set([apiPath.series()]),
    seasons: new Set(),
    calendar: new Set(),
    classification: new Set(),
  };
  const body = <T>(p: string) => JSON.parse(tree.body(p)!) as T;
  for (const p of served) {
    if (labelOf(p) === 'series') for (const s of body<SeriesItem[]>(p)) implied.seasons.add(apiPath.seasons(s.uuid));
    if (labelOf(p) === 'seasons') for (const s of body<SeasonItem[]>(p)) implied.calendar.add(apiPath.calendar(s.uuid));
    if (labelOf(p) === 'calendar') {
      for (const e of body<Calendar>(p).events)
        for (const s of e.sessions) if (s.hasResults) implied.classification.add(apiPath.classification(s.uuid));
    }
  }
  return implied;
}

/** Every path a full crawl requests. */
function walk(tree: ReplicaTree): Set<string> {
  let paths = new Set([apiPath.series()]);
  for (;;) {
    const next = new Set([...paths, ...Object.values(impliedBy(tree, paths)).flatMap((set) => [...set])]);
    if (next.size === paths.size) return paths;
    paths = next;
  }
}

describe('status', () => {
  let tree: ReplicaTree;
  let replica: Replica;
  let storage: string;
  let failing: string;
  const status = (dir = storage): Promise<StatusReport> =>
    runStatus(resolveCommonConfig({ storage: dir }, {}), memoryLogger());

  beforeAll(async () => {
    tree = syntheticTree(TREE);
    failing = [...walk(tree)].filter((p) => labelOf(p) === 'classification').sort()[0]!;
    replica = await startReplica({ tree, faults: { perPath: { [failing]: '404' } } });
    storage = tempDir();
  });
  afterAll(async () => {
    await replica?.close();
  });

  it('of a half-done crawl: requests per label, resumable, cache, rows and the last summary', async () => {
    const summary = await crawl(
      crawlConfig(replica.url, storage, { kind: 'embedded', dir: path.join(storage, 'db') }, { maxRequests: 8 }),
    );
    expect(summary.outcome).toBe('limit');
    const report = await status();
    const served = new Set(replica.stats.byPath.keys());
    const implied = impliedBy(tree, served);
    for (const label of LABELS) {
      const servedOfLabel = [...served].filter((p) => labelOf(p) === label);
      expect(report.crawl?.requests[label], label).toMatchObject({
        handled: servedOfLabel.length,
        pending: [...implied[label]].filter((p) => !served.has(p)).length,
      });
      expect(report.cache.entries[label], label).toBe(servedOfLabel.filter((p) => p !== failing).length);
    }
    expect(LABELS.reduce((n, l) => n + report.crawl!.requests[l].pending, 0)).toBeGreaterThan(0);
    expect(report.crawl).toMatchObject({ resumable: true, runningPid: undefined, baseUrl: replica.url });
    expect(Date.parse(report.crawl!.startedAt!)).toBeLessThanOrEqual(Date.now());
    expect(report.cache.bytesOnDisk).toBeGreaterThan(0);
    expect(report.cache.sample).toBeUndefined();
    // The storage dir by part, as du counts it: the cache as
    // above, the queue's journal, the embedded database inside it.
    const { disk } = report;
    expect(disk.cacheBytes).toBe(report.cache.bytesOnDisk);
    expect(disk.queueBytes).toBeGreaterThan(0);
    expect(disk.databaseBytes).toBeGreaterThan(disk.cacheBytes);
    expect(disk.otherBytes).toBeGreaterThan(0);
    expect(disk.totalBytes).toBe(disk.cacheBytes + disk.queueBytes + disk.databaseBytes! + disk.otherBytes);
    expect(Number(execFileSync('du', ['-s', '-B1', storage], { encoding: 'utf8' }).split('\t')[0])).toBe(
      disk.totalBytes,
    );
    expect(report.database.state).toBe('ready');
    if (report.database.state === 'ready') {
      for (const t of TABLE_ORDER)
        expect(report.database.tables[t], t).toEqual({
          live: summary.rows[t].inserted,
          deleted: 0,
          versions: summary.rows[t].inserted,
          // The embedded database runs no autovacuum: no statistics, so every table is counted.
          counted: 'exact',
        });
    }
    expect(report.lastCrawl?.outcome).toBe('limit');
    const text = formatStatus(report);
    const pending = LABELS.reduce((n, l) => n + report.crawl!.requests[l].pending, 0);
    expect(text).toContain(`unfinished: ${pending} ${pending === 1 ? 'request' : 'requests'} left`);
    expect(text).toMatch(/requests\s+handled\s+pending\s+failed\s+quarantined/);
    expect(text).toMatch(
      /^Storage dir: [\d.]+ [KMG]?i?B on disk \(cache [^,]+, queue [^,]+, embedded database [^,]+, other [^)]+\)$/m,
    );
  });

  it('of the same crawl resumed to the end: nothing pending, the failed request, every row', async () => {
    const summary = await crawl(crawlConfig(replica.url, storage, { kind: 'embedded', dir: path.join(storage, 'db') }));
    expect(summary.outcome).toBe('failures');
    const report = await status();
    const expected = expectedCounts(tree);
    // The oracle's rows without the classification that answered 404.
    const stored = expectedCounts({
      body: (p) => (p === failing ? '{"details":[],"retirements":[]}' : tree.body(p)),
    }).rows;
    for (const label of LABELS) {
      expect(report.crawl?.requests[label], label).toEqual({
        handled: expected.requests[label],
        pending: 0,
        failed: label === 'classification' ? 1 : 0,
        quarantined: 0,
      });
      expect(report.cache.entries[label], label).toBe(expected.requests[label] - (label === 'classification' ? 1 : 0));
    }
    expect(report.crawl?.resumable).toBe(false);
    expect(report.lastCrawl?.outcome).toBe('failures');
    const database = report.database;
    expect(
      database.state === 'ready' && Object.fromEntries(TABLE_ORDER.map((t) => [t, database.tables[t].live])),
    ).toEqual(stored);
  });

  it(
    'works beside a running crawl without taking its ' + 'lock, and does not open an embedded database in use',
    async () => {
      const crawlLock = await lockStorageDir(storage);
      const db = await openDb({ kind: 'embedded', dir: path.join(storage, 'db') });
      try {
        const report = await status();
        expect(report.crawl).toMatchObject({ runningPid: process.pid, resumable: false });
        expect(report.database).toMatchObject({ state: 'busy', reason: expect.stringContaining('in use') });
        expect(formatStatus(report)).toContain(`running now (pid ${process.pid})`);
      } finally {
        await db.destroy();
        await crawlLock.close();
      }
    },
  );

  it('of a storage dir with nothing in it creates nothing', async () => {
    const dir = path.join(tempDir(), 'never-crawled');
    const report = await status(dir);
    expect(report).toMatchObject({ crawl: undefined, lastCrawl: undefined, database: { state: 'absent' } });
    expect(Object.values(report.cache.entries)).toEqual([0, 0, 0, 0]);
    expect(existsSync(dir)).toBe(false);
    expect(formatStatus(report)).toContain('no database there yet');
  });
});
