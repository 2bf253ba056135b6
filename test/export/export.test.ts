/**
 * `export` of a real crawl of the recorded replica (WEC 2025: a calendar with 67 sessions with
 * results, two of them recorded classifications) into each database, in both formats, checked
 * against the fixtures: counts from the replica's own oracle, keys from the table specs, values
 * from the recorded payloads, and the results join rebuilt from the payloads.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cursorPages } from '../../src/export/cursor.js';
import { DATASETS } from '../../src/export/datasets.js';
import type { Manifest } from '../../src/export/manifest.js';
import { liveRows } from '../../src/store/as-of.js';
import { sql } from '../../src/store/sql.js';
import { openDb } from '../../src/store/db.js';
import { TABLES, TABLE_ORDER } from '../../src/store/tables.js';
import {
  expectedCounts,
  recordedTree,
  startReplica,
  type Calendar,
  type Classification,
  type Replica,
  type ReplicaTree,
  type SeasonItem,
  type SeriesItem,
} from '../replica/index.js';
import { crawl, crawlConfig } from '../support/crawl.js';
import { DATABASE_KINDS, POSTGRES_URL, createTestDatabase, tempDir, type TestDatabase } from '../support/db.js';
import { datasetBytes, exportDb, readDataset } from '../support/export.js';
import { recorded, recordedOne } from '../support/fixtures.js';

const FILTERS = { series: ['WEC'], fromYear: 2025 };
const WEC = '967cd5ab-5562-40dc-a0b0-109738adcd01';
const WEC_2025 = '204926ca-77b0-4a4f-a1e7-352152e4fc25';
const AF_CORSE = 'd50b2af7-6fc6-4c96-b8dd-57efa3a45b93';

/** The export's conventions, written independently of src/export: snake_case → camelCase, times from epoch seconds. */
const camel = (column: string) => column.replace(/_(.)/g, (_, c: string) => c.toUpperCase());
const iso = (s: number | null) => (s === null ? null : new Date(s * 1000).toISOString().replace('.000Z', 'Z'));
const day = (s: number | null) => (s === null ? null : new Date(s * 1000).toISOString().slice(0, 10));
const wallClock = (s: number | null) => (s === null ? null : new Date(s * 1000).toISOString().slice(0, 19));

/** Compares key tuples as the export orders them: uuids and text bytewise. */
function compareKeys(a: readonly unknown[], b: readonly unknown[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = Buffer.from(String(a[i]));
    const y = Buffer.from(String(b[i]));
    const c = Buffer.compare(x, y);
    if (c) return c;
  }
  return 0;
}

const exportsByKind = new Map<string, string>();

describe.each(DATABASE_KINDS)('export of a crawl of the recorded replica from %s', (kind) => {
  let tree: ReplicaTree;
  let replica: Replica;
  let database: TestDatabase;
  let json: { dir: string; manifest: Manifest };
  let ndjson: { dir: string; manifest: Manifest };

  beforeAll(async () => {
    tree = recordedTree();
    replica = await startReplica({ tree });
    database = await createTestDatabase(kind);
    const summary = await crawl(crawlConfig(replica.url, tempDir(), database.target, FILTERS));
    expect(summary.outcome).toBe('complete');
    json = await exportDb(database.target);
    ndjson = await exportDb(database.target, { format: 'ndjson' });
    exportsByKind.set(kind, json.dir);
  });
  afterAll(async () => {
    await replica?.close();
    await database?.drop();
  });

  it('writes one file per dataset, in both formats, with exactly the stored rows, and a manifest', () => {
    const expected = expectedCounts(tree, FILTERS).rows;
    for (const [{ dir, manifest }, format] of [
      [json, 'json'],
      [ndjson, 'ndjson'],
    ] as const) {
      expect(readdirSync(dir).sort()).toEqual([...DATASETS.map((d) => `${d.name}.${format}`), 'manifest.json'].sort());
      for (const table of TABLE_ORDER) {
        expect(manifest.datasets[table], table).toEqual({ file: `${table}.${format}`, rows: expected[table] });
        expect(readDataset(dir, table, format)).toHaveLength(expected[table]);
      }
      expect(manifest.datasets.results.rows).toBe(expected.classifications);
      expect(manifest).toMatchObject({
        asOf: null,
        format,
        filters: { series: [], fromYear: null, toYear: null },
        incomplete: [],
      });
      expect(manifest.database).toContain(database.target.kind === 'embedded' ? database.target.dir : 'postgres://');
      expect(Date.now() - Date.parse(manifest.exportedAt)).toBeLessThan(120_000);
    }
    for (const { name } of DATASETS)
      expect(readDataset(ndjson.dir, name, 'ndjson'), name).toEqual(readDataset(json.dir, name));
  });

  it('uses the camelCase names of the stored columns and orders rows by key, without duplicates', () => {
    for (const table of TABLE_ORDER) {
      const rows = readDataset(json.dir, table);
      const columns = Object.keys(TABLES[table].columns).map(camel);
      // Teams list their names; the parents of a list payload say whether it lost items (incomplete).
      const extra =
        table === 'teams' ? ['names'] : ['series', 'seasons', 'sessions'].includes(table) ? ['incomplete'] : [];
      for (const row of rows) expect(Object.keys(row)).toEqual([...columns, ...extra]);
      const keys = rows.map((row) => (TABLES[table].key as readonly string[]).map((k) => row[camel(k)]));
      for (let i = 1; i < keys.length; i++)
        expect(compareKeys(keys[i - 1]!, keys[i]!), `${table} row ${i}`).toBeLessThan(0);
    }
  });

  it(
    'holds the recorded values: every series, the WEC ' + 'seasons, the 2025 calendar with its venues and countries',
    () => {
      const byUuid = (name: 'series' | 'seasons' | 'events' | 'sessions' | 'venues' | 'countries') =>
        new Map(readDataset(json.dir, name).map((row) => [row.uuid as string, row]));
      const series = byUuid('series');
      for (const s of recordedOne('series', 'all') as SeriesItem[]) {
        expect(series.get(s.uuid)).toEqual({
          uuid: s.uuid,
          name: s.name,
          shortName: s.shortName,
          shortCode: s.shortCode,
          category: s.category,
          incomplete: false,
        });
      }
      // A name that lost its accent upstream is exported as served.
      expect([...series.values()].some((s) => (s.name as string).includes('N\uFFFDrburgring'))).toBe(true);
      const seasons = byUuid('seasons');
      for (const s of recordedOne('seasons', WEC) as SeasonItem[]) {
        expect(seasons.get(s.uuid)).toEqual({
          uuid: s.uuid,
          seriesUuid: WEC,
          name: s.name,
          year: s.year,
          endYear: s.endYear,
          status: s.status,
          incomplete: false,
        });
      }
      const [events, sessions, venues, countries] = [
        byUuid('events'),
        byUuid('sessions'),
        byUuid('venues'),
        byUuid('countries'),
      ];
      for (const e of (recordedOne('calendar', WEC_2025) as Calendar).events) {
        expect(events.get(e.uuid)).toEqual({
          uuid: e.uuid,
          seasonUuid: WEC_2025,
          venueUuid: e.venue.uuid,
          countryUuid: e.country.uuid,
          name: e.name,
          shortName: e.shortName,
          shortCode: e.shortCode,
          status: e.status,
          venuePicture: e.venue.picture,
          startDate: day(e.startDate),
          startTimeUtc: iso(e.startTimeUtc),
          endDate: day(e.endDate),
          endTimeUtc: iso(e.endTimeUtc),
        });
        expect(venues.get(e.venue.uuid)).toEqual({
          uuid: e.venue.uuid,
          name: e.venue.name,
          shortName: e.venue.shortName,
          shortCode: e.venue.shortCode,
        });
        expect(countries.get(e.country.uuid)).toEqual(e.country);
        for (const s of e.sessions) {
          expect(sessions.get(s.uuid)).toEqual({
            uuid: s.uuid,
            eventUuid: e.uuid,
            name: s.name,
            shortName: s.shortName,
            shortCode: s.shortCode,
            status: s.status,
            hasResults: s.hasResults,
            startTime: wallClock(s.startTime),
            startTimeUtc: iso(s.startTimeUtc),
            endTime: wallClock(s.endTime),
            endTimeUtc: iso(s.endTimeUtc),
            incomplete: false,
          });
        }
      }
    },
  );

  it(
    'results: one row per classified car with the names it ' +
      'hangs from, its drivers in car order and the team as shown',
    () => {
      const results = new Map(
        readDataset(json.dir, 'results').map((r) => [`${r.sessionUuid as string}/${r.carNumber as string}`, r]),
      );
      const calendar = recordedOne('calendar', WEC_2025) as Calendar;
      const season = (recordedOne('seasons', WEC) as SeasonItem[]).find((s) => s.uuid === WEC_2025)!;
      const wec = (recordedOne('series', 'all') as SeriesItem[]).find((s) => s.uuid === WEC)!;
      const classified = recorded('classification').filter(({ uuid }) =>
        calendar.events.some((e) => e.sessions.some((s) => s.uuid === uuid)),
      );
      expect(classified).toHaveLength(2);
      for (const { uuid, payload } of classified) {
        const event = calendar.events.find((e) => e.sessions.some((s) => s.uuid === uuid))!;
        const session = event.sessions.find((s) => s.uuid === uuid)!;
        for (const d of (payload as Classification).details) {
          expect(results.get(`${uuid}/${d.carNumber}`)).toEqual({
            seriesUuid: WEC,
            seriesName: wec.name,
            seasonUuid: WEC_2025,
            seasonName: season.name,
            seasonYear: season.year,
            eventUuid: event.uuid,
            eventName: event.name,
            eventStartDate: day(event.startDate),
            venueName: event.venue.name,
            sessionUuid: uuid,
            sessionName: session.name,
            sessionStartTime: wallClock(session.startTime),
            sessionStartTimeUtc: iso(session.startTimeUtc),
            carNumber: d.carNumber,
            drivers: d.drivers.map((driver) => ({ uuid: driver.uuid, name: driver.name })),
            teamUuid: d.team.uuid,
            teamName: d.team.name,
            teamColour: d.team.colour,
            nationalityUuid: d.nationality.uuid,
            nationalityName: d.nationality.name,
            finishPosition: d.finishPosition,
            gridPosition: d.gridPosition,
            laps: d.laps,
            points: d.points,
            timeMs: d.time,
            classifiedStatus: d.classifiedStatus,
            avgLapSpeed: d.avgLapSpeed,
            fastestLapTimeMs: d.fastestLapTime,
            gapTimeToLeadMs: d.gap.timeToLead,
            gapTimeToNextMs: d.gap.timeToNext,
            gapLapsToLead: d.gap.lapsToLead,
            gapLapsToNext: d.gap.lapsToNext,
            bestLap: d.best.lap,
            bestTimeMs: d.best.time,
            bestFastest: d.best.fastest,
            bestSpeed: d.best.speed,
            sessionIncomplete: false,
          });
        }
      }
      expect(results.size).toBe(classified.reduce((n, c) => n + (c.payload as Classification).details.length, 0));
      // One team uuid, two names in one session: each car keeps its own; the team lists both.
      const afCorse = [...results.values()].filter(
        (r) => r.teamUuid === AF_CORSE && r.sessionUuid === classified[0]!.uuid,
      );
      expect(new Set(afCorse.map((r) => r.teamName))).toEqual(new Set(['AF Corse', 'Vista AF Corse']));
      expect(readDataset(json.dir, 'teams').find((t) => t.uuid === AF_CORSE)).toEqual({
        uuid: AF_CORSE,
        names: ['AF Corse', 'Vista AF Corse'],
      });
    },
  );

  it('leaves no manifest and no partial file when it fails', async () => {
    const dir = tempDir('msc-export-');
    await exportDb(database.target, { out: dir });
    // A directory where results.json should go: the last dataset cannot be put in place.
    rmSync(path.join(dir, 'results.json'));
    mkdirSync(path.join(dir, 'results.json', 'in-the-way'), { recursive: true });
    await expect(exportDb(database.target, { out: dir })).rejects.toThrow();
    const files = readdirSync(dir);
    expect(files).not.toContain('manifest.json');
    expect(files.filter((f) => f.endsWith('.partial'))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.json')).sort()).toEqual(DATASETS.map((d) => `${d.name}.json`).sort());
  });

  it('reads rows from the database a page at a time', async () => {
    const db = await openDb(database.target);
    try {
      const pages = await db.transaction(async (trx) => {
        const sizes: number[] = [];
        const query = sql`SELECT uuid FROM ${liveRows('sessions', undefined)} t ORDER BY uuid`;
        for await (const page of cursorPages(trx, query, 7)) sizes.push(page.length);
        return sizes;
      });
      const total = expectedCounts(tree, FILTERS).rows.sessions;
      expect(pages.reduce((a, b) => a + b, 0)).toBe(total);
      expect(pages).toEqual([...Array<number>(Math.floor(total / 7)).fill(7), ...(total % 7 ? [total % 7] : [])]);
    } finally {
      await db.destroy();
    }
  });
});

describe.runIf(POSTGRES_URL)('PGlite and PostgreSQL', () => {
  it('export the same crawl to the same bytes', () => {
    const pglite = datasetBytes(exportsByKind.get('pglite')!);
    const postgres = datasetBytes(exportsByKind.get('postgres')!);
    expect(Object.keys(postgres)).toEqual(Object.keys(pglite));
    for (const file of Object.keys(pglite)) expect(postgres[file] === pglite[file], file).toBe(true);
  });
});
