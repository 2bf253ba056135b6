/**
 * What the history tables give the operator: `export --as-of` before and after an upstream change,
 * `changes --since` after a re-crawl of a mutated replica, and the export filters (as of an
 * instant too). A small synthetic tree is crawled, changed upstream (a series renamed, a car
 * removed from one classification, a car with a new driver and team added to another) and crawled
 * again; every expectation is computed from the tree and the mutations, not from the output.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveChangesConfig } from '../../src/commands/changes.js';
import { runChanges, type ChangesReport } from '../../src/commands/changes.js';
import { DATASETS } from '../../src/export/datasets.js';
import type { Manifest } from '../../src/export/manifest.js';
import { TABLE_ORDER, type TableName } from '../../src/store/tables.js';
import {
  apiPath,
  expectedCounts,
  startReplica,
  syntheticTree,
  type Calendar,
  type Classification,
  type ClassificationDetail,
  type Replica,
  type ReplicaTree,
  type SeasonItem,
  type SeriesItem,
} from '../replica/index.js';
import { crawl, crawlConfig, memoryLogger } from '../support/crawl.js';
import { DATABASE_KINDS, createTestDatabase, tempDir, type TestDatabase } from '../support/db.js';
import { datasetBytes, exportDb, readDataset } from '../support/export.js';

const TREE = {
  series: 3,
  seasonsPerSeries: 2,
  eventsPerSeason: 2,
  sessionsPerEvent: 2,
  carsPerSession: 6,
  latestYear: 2025,
};

const payload = <T>(tree: ReplicaTree, path: string): T => JSON.parse(tree.body(path)!) as T;

/** Sessions with results, walking the whole tree. */
function sessionsWithResults(tree: ReplicaTree): string[] {
  return payload<SeriesItem[]>(tree, apiPath.series()).flatMap((series) =>
    payload<SeasonItem[]>(tree, apiPath.seasons(series.uuid)).flatMap((season) =>
      payload<Calendar>(tree, apiPath.calendar(season.uuid)).events.flatMap((e) =>
        e.sessions.filter((s) => s.hasResults).map((s) => s.uuid),
      ),
    ),
  );
}

/** Changes expected per table; every other count is 0. */
function changeCounts(
  expected: Partial<Record<TableName, Partial<Record<'inserted' | 'updated' | 'deleted', number>>>>,
) {
  return Object.fromEntries(TABLE_ORDER.map((t) => [t, { inserted: 0, updated: 0, deleted: 0, ...expected[t] }]));
}

describe.each(DATABASE_KINDS)('history of a mutated re-crawl in %s', (kind) => {
  let tree: ReplicaTree;
  let replica: Replica;
  let database: TestDatabase;
  let beforeCrawl: string;
  let beforeChange: string;
  let afterChange: string;
  let exportedThen: { dir: string; manifest: Manifest };
  let renamed: SeriesItem;
  let removed: { session: string; detail: ClassificationDetail; retirements: number };
  let added: { session: string; driver: string; team: string };

  const changesSince = (since: string): Promise<ChangesReport> =>
    runChanges(
      resolveChangesConfig(
        { db: database.target.kind === 'embedded' ? database.target.dir : database.target.url, since, examples: 2 },
        {},
      ),
      memoryLogger(),
    );

  beforeAll(async () => {
    tree = syntheticTree(TREE);
    replica = await startReplica({ tree });
    database = await createTestDatabase(kind);
    const storage = tempDir();
    beforeCrawl = new Date().toISOString();
    await sleep(5); // history instants have microseconds; ISO strings milliseconds
    expect((await crawl(crawlConfig(replica.url, storage, database.target))).outcome).toBe('complete');
    await sleep(5);
    beforeChange = new Date().toISOString();
    exportedThen = await exportDb(database.target);
    await sleep(5);

    renamed = payload<SeriesItem[]>(tree, apiPath.series())[0]!;
    tree.mutate<SeriesItem[]>(apiPath.series(), (list) =>
      list.map((s) => (s.uuid === renamed.uuid ? { ...s, name: 'Renamed Series' } : s)),
    );
    const [first, second] = sessionsWithResults(tree);
    tree.mutate<Classification>(apiPath.classification(first!), (c) => {
      const detail = c.details.at(-1)!;
      const retirements = c.retirements.filter((r) => r.carNumber !== detail.carNumber);
      removed = { session: first!, detail, retirements: c.retirements.length - retirements.length };
      return { details: c.details.slice(0, -1), retirements };
    });
    added = { session: second!, driver: randomUUID(), team: randomUUID() };
    tree.mutate<Classification>(apiPath.classification(second!), (c) => {
      const template = c.details[0]!;
      const driver = { ...template.drivers[0]!, uuid: added.driver, name: 'New Driver' };
      const team = { ...template.team, uuid: added.team, name: 'New Team' };
      return { ...c, details: [...c.details, { ...template, carNumber: '999', drivers: [driver], team }] };
    });
    expect((await crawl(crawlConfig(replica.url, storage, database.target, { cache: 'refresh' }))).outcome).toBe(
      'complete',
    );
    await sleep(5);
    afterChange = new Date().toISOString();
  });
  afterAll(async () => {
    await replica?.close();
    await database?.drop();
  });

  it('exports the data as it was before the change, byte for byte, with --as-of', async () => {
    const asOf = await exportDb(database.target, { asOf: beforeChange });
    expect(asOf.manifest.asOf).toBe(beforeChange);
    expect(asOf.manifest.datasets).toEqual(exportedThen.manifest.datasets);
    expect(datasetBytes(asOf.dir)).toEqual(datasetBytes(exportedThen.dir));
  });

  it('exports nothing as of before the first crawl', async () => {
    const { manifest } = await exportDb(database.target, { asOf: beforeCrawl });
    for (const { name } of DATASETS) expect(manifest.datasets[name].rows, name).toBe(0);
  });

  it('exports the change now and as of after it, leaving the soft-deleted rows out', async () => {
    const { dir, manifest } = await exportDb(database.target);
    expect(datasetBytes((await exportDb(database.target, { asOf: afterChange })).dir)).toEqual(datasetBytes(dir));
    const expected = expectedCounts(tree).rows;
    for (const table of TABLE_ORDER) expect(manifest.datasets[table].rows, table).toBe(expected[table]);
    expect(readDataset(dir, 'series').find((s) => s.uuid === renamed.uuid)?.name).toBe('Renamed Series');
    const results = new Map(
      readDataset(dir, 'results').map((r) => [`${r.sessionUuid as string}/${r.carNumber as string}`, r]),
    );
    expect(results.has(`${removed.session}/${removed.detail.carNumber}`)).toBe(false);
    expect(
      readDataset(dir, 'classifications').some(
        (c) => c.sessionUuid === removed.session && c.carNumber === removed.detail.carNumber,
      ),
    ).toBe(false);
    expect(results.get(`${added.session}/999`)).toMatchObject({
      drivers: [{ uuid: added.driver, name: 'New Driver' }],
      teamUuid: added.team,
      teamName: 'New Team',
    });
    expect(results.size).toBe(expected.classifications);
  });

  it('lists exactly the upstream changes since before them, with examples', async () => {
    const report = await changesSince(beforeChange);
    const counts = Object.fromEntries(TABLE_ORDER.map((t) => [t, report.tables[t].counts]));
    expect(counts).toEqual(
      changeCounts({
        series: { updated: 1 },
        drivers: { inserted: 1 },
        teams: { inserted: 1 },
        entries: { inserted: 1, deleted: 1 },
        entry_drivers: { inserted: 1, deleted: removed.detail.drivers.length },
        classifications: { inserted: 1, deleted: 1 },
        retirements: { deleted: removed.retirements },
      }),
    );
    expect(report.tables.series.examples.updated).toEqual([
      {
        key: { uuid: renamed.uuid },
        label: 'Renamed Series',
        changed: [{ column: 'name', before: renamed.name, after: 'Renamed Series' }],
      },
    ]);
    expect(report.tables.classifications.examples.deleted.map((e) => e.key)).toEqual([
      { session_uuid: removed.session, car_number: removed.detail.carNumber },
    ]);
    expect(report.tables.drivers.examples.inserted).toEqual([
      { key: { uuid: added.driver }, label: 'New Driver', changed: [] },
    ]);
    expect(report.tables.entry_drivers.examples.deleted.length).toBe(Math.min(2, removed.detail.drivers.length));
  });

  it('counts every stored row as inserted since before the first crawl (changes are net)', async () => {
    const report = await changesSince(beforeCrawl);
    const expected = expectedCounts(tree).rows;
    for (const table of TABLE_ORDER)
      expect(report.tables[table].counts, table).toEqual({ inserted: expected[table], updated: 0, deleted: 0 });
  });

  it('filters like crawl: --series by code in any case, the season years; the rest follows', async () => {
    const [, second] = payload<SeriesItem[]>(tree, apiPath.series());
    const cases = [
      { options: { series: [second!.shortCode!.toLowerCase()], fromYear: 2025 }, series: [second!] },
      { options: { fromYear: 2024, toYear: 2024 }, series: payload<SeriesItem[]>(tree, apiPath.series()) },
    ];
    for (const { options, series } of cases) {
      const { dir, manifest } = await exportDb(database.target, options);
      const expected = expectedCounts(tree, options).rows;
      const seasons = series
        .flatMap((s) => payload<SeasonItem[]>(tree, apiPath.seasons(s.uuid)))
        .filter(
          (s) =>
            (options.fromYear === undefined || s.year! >= options.fromYear) &&
            (options.toYear === undefined || s.year! <= options.toYear),
        );
      expect(manifest.filters).toEqual({
        series: options.series ?? [],
        fromYear: options.fromYear ?? null,
        toYear: options.toYear ?? null,
      });
      expect(manifest.datasets.series.rows).toBe(series.length);
      expect(manifest.datasets.seasons.rows).toBe(seasons.length);
      for (const table of TABLE_ORDER.filter((t) => t !== 'series' && t !== 'seasons')) {
        expect(manifest.datasets[table].rows, `${JSON.stringify(options)} ${table}`).toBe(expected[table]);
      }
      expect(manifest.datasets.results.rows).toBe(expected.classifications);
      expectClosed(dir);
    }
  });

  it('applies the filters to the data as of the instant, matching names in any case', async () => {
    // Before the rename no series had that name: a filter matching nothing at that instant is refused.
    await expect(exportDb(database.target, { series: ['renamed SERIES'], asOf: beforeChange })).rejects.toThrow(
      /^--series "renamed SERIES" \(closest: .*\) matches no series/,
    );
    const now = await exportDb(database.target, { series: ['renamed SERIES'] });
    expect(readDataset(now.dir, 'series').map((s) => s.uuid)).toEqual([renamed.uuid]);
  });

  it('reports a change undone by a later crawl as no change since before it (changes are net)', async () => {
    tree.mutate<SeriesItem[]>(apiPath.series(), (list) => list.map((s) => (s.uuid === renamed.uuid ? renamed : s)));
    // Only the series list needs re-reading: a crawl of the renamed series' seasons after 2099 fetches no calendar.
    const undo = await crawl(
      crawlConfig(replica.url, tempDir(), database.target, {
        series: [renamed.uuid],
        fromYear: 2099,
        cache: 'refresh',
      }),
    );
    expect(undo.rows.series.updated).toBe(1);
    expect((await changesSince(beforeChange)).tables.series.counts).toEqual({ inserted: 0, updated: 0, deleted: 0 });
    const sinceRename = await changesSince(afterChange);
    expect(sinceRename.tables.series.examples.updated).toEqual([
      {
        key: { uuid: renamed.uuid },
        label: renamed.name,
        changed: [{ column: 'name', before: 'Renamed Series', after: renamed.name }],
      },
    ]);
  });
});

/** Every reference in an export points at a row of it, and every venue, country, driver and team is referenced. */
function expectClosed(dir: string): void {
  const uuids = (name: TableName) => new Set(readDataset(dir, name).map((r) => r.uuid));
  const [series, seasons, events, sessions] = [uuids('series'), uuids('seasons'), uuids('events'), uuids('sessions')];
  const refs = (name: TableName | 'results', column: string) => new Set(readDataset(dir, name).map((r) => r[column]));
  const within = (inner: Set<unknown>, outer: Set<unknown>) =>
    expect([...inner].filter((x) => !outer.has(x))).toEqual([]);
  within(refs('seasons', 'seriesUuid'), series);
  within(refs('events', 'seasonUuid'), seasons);
  within(refs('sessions', 'eventUuid'), events);
  for (const table of ['entries', 'entry_drivers', 'classifications', 'retirements', 'results'] as const)
    within(refs(table, 'sessionUuid'), sessions);
  expect(uuids('venues')).toEqual(refs('events', 'venueUuid'));
  expect(uuids('countries')).toEqual(
    new Set([...refs('events', 'countryUuid'), ...refs('classifications', 'nationalityUuid')]),
  );
  expect(uuids('drivers')).toEqual(
    new Set([...refs('entry_drivers', 'driverUuid'), ...refs('retirements', 'driverUuid')]),
  );
  expect(uuids('teams')).toEqual(refs('entries', 'teamUuid'));
}
