/**
 * Incomplete scopes and duplicates, through real crawls of a faulty replica into each database:
 * the quarantine rows written with the payload's rows, the `incomplete` fields and the manifest's
 * list in an export (now and as of an instant), status' counts, and a later clean payload closing
 * them. Duplicates: an exact repeat collapses silently; a differing one is quarantined, the first
 * standing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveCommonConfig, type DbTarget } from '../../src/config.js';
import { formatStatus, runStatus } from '../../src/commands/status.js';
import { openDb } from '../../src/store/db.js';
import {
  apiPath,
  expectedCounts,
  startReplica,
  syntheticTree,
  type Calendar,
  type Classification,
  type FaultOptions,
  type ReplicaTree,
  type SeasonItem,
  type SeriesItem,
} from '../replica/index.js';
import { crawl, crawlConfig, memoryLogger } from '../support/crawl.js';
import { DATABASE_KINDS, createTestDatabase, liveCountsOf, tempDir, type TestDatabase } from '../support/db.js';
import { exportDb, readDataset, type Row } from '../support/export.js';

const TREE = { seed: 11, series: 2, seasonsPerSeries: 2, eventsPerSeason: 3, sessionsPerEvent: 2, carsPerSession: 4 };

const body = <T>(tree: ReplicaTree, path: string): T => JSON.parse(tree.body(path)!) as T;
const seriesOf = (tree: ReplicaTree) => body<SeriesItem[]>(tree, apiPath.series());
const seasonsOf = (tree: ReplicaTree, series: string) => body<SeasonItem[]>(tree, apiPath.seasons(series));
const calendarOf = (tree: ReplicaTree, season: string) => body<Calendar>(tree, apiPath.calendar(season));
const sessionsWithResults = (tree: ReplicaTree, season: string) =>
  calendarOf(tree, season)
    .events.flatMap((e) => e.sessions)
    .filter((s) => s.hasResults)
    .map((s) => s.uuid);

interface QuarantineRow {
  target_key: string;
  label: string;
  parent_uuid: string | null;
  url: string;
  pointer: string;
  item_id: string | null;
  reason: string;
  open: boolean;
}

async function quarantineRows(target: DbTarget): Promise<QuarantineRow[]> {
  const db = await openDb(target);
  try {
    const { rows } = await db.raw<{ rows: QuarantineRow[] }>(
      `SELECT target_key, label, parent_uuid, url, pointer, item_id, reason, cleared_at IS ` +
        `NULL AS open FROM quarantine ORDER BY target_key COLLATE "C", pointer COLLATE "C", id`,
    );
    return rows;
  } finally {
    await db.destroy();
  }
}

async function crawlThrough(
  tree: ReplicaTree,
  faults: FaultOptions | undefined,
  storage: string,
  db: DbTarget,
  refresh = false,
) {
  const replica = await startReplica({ tree, faults });
  try {
    return await crawl(crawlConfig(replica.url, storage, db, refresh ? { cache: 'refresh' } : {}));
  } finally {
    await replica.close();
  }
}

const flagged = (dir: string, name: 'series' | 'seasons' | 'sessions') =>
  readDataset(dir, name)
    .filter((row) => row.incomplete === true)
    .map((row) => row.uuid);

describe.each(DATABASE_KINDS)('incomplete scopes (%s)', (kind) => {
  let database: TestDatabase;
  let storage: string;
  const tree = syntheticTree(TREE);
  const status = () =>
    runStatus(
      resolveCommonConfig(
        { storage, db: database.target.kind === 'embedded' ? database.target.dir : database.target.url },
        {},
      ),
      memoryLogger(),
    );
  beforeAll(async () => {
    database = await createTestDatabase(kind);
    storage = tempDir();
  });
  afterAll(async () => database?.drop());

  it(
    'are recorded with the rows, exported on the rows and in the ' +
      'manifest, counted by status, and cleared by a later clean payload',
    async () => {
      const [s0, s1] = seriesOf(tree);
      const [lostSeason, keptSeason] = seasonsOf(tree, s0!.uuid);
      const raceSeason = seasonsOf(tree, s1!.uuid)[0]!;
      const race = sessionsWithResults(tree, raceSeason.uuid)[0]!;
      expect(race).toBeDefined();
      const classificationPath = apiPath.classification(race);
      const lostCar = body<Classification>(tree, classificationPath).details[0]!.carNumber;
      const seriesCount = seriesOf(tree).length;
      const faults: FaultOptions = {
        perPath: {
          [apiPath.series()]: 'duplicate-item', // a differing copy of the first series at the end
          [apiPath.seasons(s0!.uuid)]: 'drift-type', // the first season's name is a number
          [apiPath.calendar(keptSeason!.uuid)]: 'drift-missing', // the first event has no uuid
          [classificationPath]: 'bad-id', // the first car's driver uuid is a path traversal
        },
      };

      const first = await crawlThrough(tree, faults, storage, database.target);
      expect(first.outcome).toBe('failures');
      expect(first.failures.map((f) => [f.kind, f.label]).sort()).toEqual([
        ['quarantine', 'calendar'],
        ['quarantine', 'classification'],
        ['quarantine', 'seasons'],
        ['quarantine', 'series'],
      ]);
      const rows = await quarantineRows(database.target);
      expect(rows.map((r) => [r.target_key, r.label, r.parent_uuid, r.pointer, r.item_id, r.open])).toEqual([
        [`calendar-${keptSeason!.uuid}`, 'calendar', keptSeason!.uuid, '/events/0', null, true],
        [`classification-${race}`, 'classification', race, '/details/0', `car ${lostCar}`, true],
        [`seasons-${s0!.uuid}`, 'seasons', s0!.uuid, '/0', lostSeason!.uuid, true],
        ['series-all', 'series', null, `/${seriesCount}`, s0!.uuid, true],
      ]);
      expect(rows.map((r) => new URL(r.url).pathname)).toEqual([
        apiPath.calendar(keptSeason!.uuid),
        classificationPath,
        apiPath.seasons(s0!.uuid),
        apiPath.series(),
      ]);
      expect(rows[0]!.reason).toMatch(/uuid/);
      expect(rows[1]!.reason).toMatch(/drivers\/0\/uuid/);
      expect(rows[2]!.reason).toMatch(/\/0\/name must be/);
      expect(rows[3]!.reason).toBe(`/${seriesCount} duplicate of /0 (same uuid, different content): the first stands`);

      const now = await exportDb(database.target);
      expect(flagged(now.dir, 'series')).toEqual([s0!.uuid]);
      expect(flagged(now.dir, 'seasons')).toEqual([keptSeason!.uuid]);
      expect(flagged(now.dir, 'sessions')).toEqual([race]);
      for (const name of ['series', 'seasons', 'sessions'] as const) {
        for (const row of readDataset(now.dir, name))
          expect(typeof row.incomplete, `${name} ${String(row.uuid)}`).toBe('boolean');
      }
      const results = readDataset(now.dir, 'results');
      expect(results.filter((r) => r.sessionUuid === race).length).toBeGreaterThan(0);
      for (const r of results) expect(r.sessionIncomplete).toBe(r.sessionUuid === race);
      expect(
        now.manifest.incomplete.map((s) => [s.label, s.parentUuid, s.items.map((i) => [i.pointer, i.itemId])]),
      ).toEqual([
        ['series', null, [[`/${seriesCount}`, s0!.uuid]]],
        ['seasons', s0!.uuid, [['/0', lostSeason!.uuid]]],
        ['calendar', keptSeason!.uuid, [['/events/0', null]]],
        ['classification', race, [['/details/0', `car ${lostCar}`]]],
      ]);

      const during = await status();
      expect(during.database.state === 'ready' && during.database.incomplete).toEqual({
        scopes: { series: 1, seasons: 1, calendar: 1, classification: 1 },
        items: { series: 1, seasons: 1, calendar: 1, classification: 1 },
      });
      expect(formatStatus(during)).toContain(
        'Incomplete scopes: 4, 4 items quarantined: series 1 (1 item), ' +
          'seasons 1 (1 item), calendar 1 (1 item), classification 1 (1 item)',
      );

      const between = new Date().toISOString();
      await new Promise((r) => setTimeout(r, 20));
      const second = await crawlThrough(tree, undefined, storage, database.target, true);
      expect(second.outcome).toBe('complete');
      expect((await quarantineRows(database.target)).map((r) => [r.target_key, r.open])).toEqual(
        rows.map((r) => [r.target_key, false]),
      );
      expect(await liveCountsOf(database)).toEqual(expectedCounts(tree).rows);

      const healed = await exportDb(database.target, { out: now.dir });
      expect(healed.manifest.incomplete).toEqual([]);
      for (const name of ['series', 'seasons', 'sessions'] as const) expect(flagged(healed.dir, name)).toEqual([]);
      expect(readDataset(healed.dir, 'results').every((r) => r.sessionIncomplete === false)).toBe(true);
      const after = await status();
      expect(after.database.state === 'ready' && after.database.incomplete.scopes).toEqual({
        series: 0,
        seasons: 0,
        calendar: 0,
        classification: 0,
      });
      expect(formatStatus(after)).toContain('Incomplete scopes: none');

      // As of before the clean crawl, the scopes were incomplete: the quarantine rows are intervals.
      const then = await exportDb(database.target, { asOf: between });
      expect(then.manifest.incomplete.map((s) => s.label)).toEqual(['series', 'seasons', 'calendar', 'classification']);
      expect(flagged(then.dir, 'sessions')).toEqual([race]);
    },
  );

  it(
    'are recorded again when a payload applied whole before comes ' +
      'back partial, and cleared when the same whole bytes return',
    async () => {
      // The database holds the whole classification (applied by the previous test's clean crawl).
      const race = sessionsWithResults(tree, seasonsOf(tree, seriesOf(tree)[1]!.uuid)[0]!.uuid)[0]!;
      const path = apiPath.classification(race);
      await crawlThrough(tree, { perPath: { [path]: 'drift-type' } }, storage, database.target, true);
      expect(
        (await quarantineRows(database.target)).filter((r) => r.open).map((r) => [r.target_key, r.pointer]),
      ).toEqual([[`classification-${race}`, '/details/0']]);
      // The very bytes applied two crawls ago: they must be applied again, or the quarantine would stay.
      const healed = await crawlThrough(tree, undefined, storage, database.target, true);
      expect(healed.outcome).toBe('complete');
      expect((await quarantineRows(database.target)).filter((r) => r.open)).toEqual([]);
    },
  );
});

describe.each(DATABASE_KINDS)('duplicates inside one list (%s)', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
  });
  afterAll(async () => database?.drop());

  it(
    'collapse silently when exact; the first stands and the ' +
      'others are quarantined with a warning when they differ',
    async () => {
      const tree = syntheticTree(TREE);
      const expected = expectedCounts(syntheticTree(TREE)).rows;
      const [s0, s1] = seriesOf(tree);
      const [s0a, s0b] = seasonsOf(tree, s0!.uuid);
      const [s1a, s1b] = seasonsOf(tree, s1!.uuid);
      const originalSeason = seasonsOf(tree, s0!.uuid)[0]!;
      const race = sessionsWithResults(tree, s1a!.uuid)[0]!;
      const originalCar = body<Classification>(tree, apiPath.classification(race)).details[0]!;
      // A session listed again under another event (differs: its event), and one repeated in its own event (exact).
      const moved = calendarOf(tree, s1b!.uuid);
      const movedSession = moved.events[0]!.sessions[0]!;
      expect(moved.events[1]!.sessions.length).toBeGreaterThan(0);
      tree.mutate<Calendar>(apiPath.calendar(s1b!.uuid), (c) => ({
        ...c,
        events: c.events.map((e, i) => (i === 1 ? { ...e, sessions: [...e.sessions, c.events[0]!.sessions[0]!] } : e)),
      }));
      tree.mutate<Calendar>(apiPath.calendar(s0b!.uuid), (c) => ({
        ...c,
        events: c.events.map((e, i) => (i === 0 ? { ...e, sessions: [...e.sessions, e.sessions[0]!] } : e)),
      }));
      // Two retirements of one car that disagree on the reason.
      const retiredRace = [s0a!, s0b!, s1a!, s1b!]
        .flatMap((s) => sessionsWithResults(tree, s.uuid))
        .find((uuid) => body<Classification>(tree, apiPath.classification(uuid)).retirements.length > 0)!;
      const retirement = body<Classification>(tree, apiPath.classification(retiredRace)).retirements[0]!;
      expect(retiredRace).not.toBe(race);
      tree.mutate<Classification>(apiPath.classification(retiredRace), (c) => ({
        ...c,
        retirements: [...c.retirements, { ...retirement, reason: `${retirement.reason ?? ''} (other)` }],
      }));
      const retirementCount = body<Classification>(tree, apiPath.classification(retiredRace)).retirements.length;
      const movedEventSessions = calendarOf(tree, s1b!.uuid).events[1]!.sessions.length;

      const faults: FaultOptions = {
        perPath: {
          [apiPath.series()]: { kind: 'duplicate-item', identical: true },
          [apiPath.seasons(s0!.uuid)]: 'duplicate-item',
          [apiPath.classification(race)]: 'duplicate-item',
        },
      };
      const summary = await crawlThrough(tree, faults, tempDir(), database.target);

      // The exact repeats (a series, a session in its own event) leave no trace.
      const rows = await quarantineRows(database.target);
      expect(rows.map((r) => [r.target_key, r.pointer, r.item_id])).toEqual([
        [`calendar-${s1b!.uuid}`, `/events/1/sessions/${movedEventSessions - 1}`, movedSession.uuid],
        [
          `classification-${race}`,
          `/details/${body<Classification>(tree, apiPath.classification(race)).details.length}`,
          `car ${originalCar.carNumber}`,
        ],
        [`classification-${retiredRace}`, `/retirements/${retirementCount - 1}`, `car ${retirement.carNumber}`],
        [`seasons-${s0!.uuid}`, `/${seasonsOf(tree, s0!.uuid).length}`, originalSeason.uuid],
      ]);
      for (const r of rows)
        expect(r.reason).toMatch(/duplicate of \/\S+ \(same (uuid|car number), different content\): the first stands$/);
      const warnings = summary.lines.filter((line) => /quarantined \//.test(line));
      expect(warnings).toHaveLength(4);
      expect(warnings.join('\n')).toContain(`duplicate of /events/0/sessions/0`);
      expect(summary.failures.map((f) => f.kind)).toEqual(['quarantine', 'quarantine', 'quarantine', 'quarantine']);

      // The first of each key stands, and nothing is stored twice.
      expect(await liveCountsOf(database)).toEqual(expected);
      const { dir } = await exportDb(database.target);
      const byUuid = (name: 'seasons' | 'sessions') =>
        new Map(readDataset(dir, name).map((row: Row) => [row.uuid, row]));
      expect(byUuid('seasons').get(originalSeason.uuid)?.name).toBe(originalSeason.name);
      expect(byUuid('sessions').get(movedSession.uuid)?.eventUuid).toBe(moved.events[0]!.uuid);
      const car = readDataset(dir, 'classifications').find(
        (c) => c.sessionUuid === race && c.carNumber === originalCar.carNumber,
      );
      expect(car?.laps).toBe(originalCar.laps);
      const retired = readDataset(dir, 'retirements').find(
        (r) => r.sessionUuid === retiredRace && r.carNumber === retirement.carNumber,
      );
      expect(retired?.reason).toBe(retirement.reason);
      expect(flagged(dir, 'series')).toEqual([s0!.uuid]);
      expect(flagged(dir, 'seasons')).toEqual([s1b!.uuid]);
      expect(flagged(dir, 'sessions').sort()).toEqual([race, retiredRace].sort());
    },
  );

  it(
    'collapse silently when the only difference is the ' + 'letter case of a uuid (uuids are stored in lower case)',
    async () => {
      const tree = syntheticTree(TREE);
      const expected = expectedCounts(syntheticTree(TREE)).rows;
      const [s0] = seriesOf(tree);
      const season = seasonsOf(tree, s0!.uuid)[0]!;
      const race = sessionsWithResults(tree, season.uuid)[0]!;
      const upper = <T extends { uuid: string }>(item: T): T => ({ ...item, uuid: item.uuid.toUpperCase() });
      tree.mutate<SeriesItem[]>(apiPath.series(), (list) => [...list, upper(list[0]!)]);
      tree.mutate<SeasonItem[]>(apiPath.seasons(s0!.uuid), (list) => [...list, upper(list[0]!)]);
      // A car repeated with its drivers' uuids in upper case: the same rows.
      tree.mutate<Classification>(apiPath.classification(race), (c) => ({
        ...c,
        details: [...c.details, { ...c.details[0]!, drivers: c.details[0]!.drivers.map(upper) }],
      }));
      expect(season.uuid).not.toBe(season.uuid.toUpperCase());
      // A database of its own: the previous test's quarantine rows are not this one's.
      const own = await createTestDatabase(kind);
      try {
        const summary = await crawlThrough(tree, undefined, tempDir(), own.target);
        expect(summary.outcome).toBe('complete');
        expect(summary.failures).toEqual([]);
        expect(summary.lines.filter((line) => line.includes('quarantined'))).toEqual([]);
        expect(await quarantineRows(own.target)).toEqual([]);
        expect(await liveCountsOf(own)).toEqual(expected);
        const db = await openDb(own.target);
        const stored: string[] = await db('seasons')
          .where({ series_uuid: s0!.uuid })
          .pluck('uuid')
          .finally(() => db.destroy());
        expect(stored).toContain(season.uuid.toLowerCase());
        expect(stored.every((uuid) => uuid === uuid.toLowerCase())).toBe(true);
      } finally {
        await own.drop();
      }
    },
  );
});

describe.each(DATABASE_KINDS)('values no column can hold (%s)', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
  });
  afterAll(async () => database?.drop());

  it('quarantine only their car: laps beyond int4, a NUL in a team name; the other cars are stored', async () => {
    const tree = syntheticTree(TREE);
    const race = sessionsWithResults(tree, seasonsOf(tree, seriesOf(tree)[0]!.uuid)[0]!.uuid)[0]!;
    const path = apiPath.classification(race);
    const cars = body<Classification>(tree, path).details.map((d) => d.carNumber);
    expect(cars.length).toBeGreaterThan(2);
    tree.mutate<Classification>(path, (c) => ({
      ...c,
      details: c.details.map((d, i) =>
        i === 0 ? { ...d, laps: 2 ** 31 } : i === 1 ? { ...d, team: { ...d.team, name: 'Te\u0000am' } } : d,
      ),
    }));
    // A correct crawl stores what this classification holds without its first two cars.
    const oracle = syntheticTree(TREE);
    oracle.mutate<Classification>(path, (c) => ({ ...c, details: c.details.slice(2) }));

    const summary = await crawlThrough(tree, undefined, tempDir(), database.target);
    expect(summary.outcome).toBe('failures');
    expect(summary.failures.map((f) => [f.kind, f.label])).toEqual([
      ['quarantine', 'classification'],
      ['quarantine', 'classification'],
    ]);
    expect(summary.requests.classification.quarantined).toBe(2);
    expect((await quarantineRows(database.target)).map((r) => [r.target_key, r.pointer, r.item_id, r.reason])).toEqual([
      [`classification-${race}`, '/details/0', `car ${cars[0]}`, '/details/0/laps must be <= 2147483647'],
      [
        `classification-${race}`,
        '/details/1',
        `car ${cars[1]}`,
        '/details/1/team/name must not hold a NUL character (\\u0000)',
      ],
    ]);
    const db = await openDb(database.target);
    const stored: string[] = await db('classifications')
      .where({ session_uuid: race })
      .pluck('car_number')
      .finally(() => db.destroy());
    expect(stored.sort()).toEqual(cars.slice(2).sort());
    expect(await liveCountsOf(database)).toEqual(expectedCounts(oracle).rows);
  });
});
