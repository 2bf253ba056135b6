/**
 * The export's lines are built by the database (src/export/lines.ts) and read over COPY on
 * PostgreSQL, through a cursor on PGlite (line-pages.ts). Each file must hold exactly what the
 * export wrote when it turned every row the driver returns into text itself: JSON.stringify of the
 * row, csvRecord of its values. A crawl of a synthetic tree made awkward on purpose (text that
 * JSON escapes and CSV quotes, nested values, floats at every edge of their notation, a quarantined
 * item) is exported in each format, now, as of an instant and filtered, and every file is compared
 * byte for byte with that text, built here from the same dataset's rows.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveExportConfig, type ExportArgs } from '../../src/commands/export.js';
import type { ExportFormat } from '../../src/config.js';
import { csvRecord } from '../../src/export/csv.js';
import { DATASETS, columnNames, type View } from '../../src/export/datasets.js';
import { incompleteExpression } from '../../src/export/incomplete.js';
import { datasetRows } from '../../src/export/lines.js';
import { rowsWithin, selectScope } from '../../src/export/scope.js';
import { liveRows } from '../../src/store/as-of.js';
import { openDb } from '../../src/store/db.js';
import {
  apiPath,
  startReplica,
  syntheticTree,
  type Calendar,
  type Classification,
  type ClassificationDetail,
  type ReplicaTree,
  type SeasonItem,
  type SeriesItem,
} from '../replica/index.js';
import { crawl, crawlConfig } from '../support/crawl.js';
import { DATABASE_KINDS, createTestDatabase, tempDir, type TestDatabase } from '../support/db.js';
import { exportDb } from '../support/export.js';

/** Text JSON escapes or CSV quotes: quotes, backslashes, control characters, separators, line breaks, non-ASCII. */
const AWKWARD = [
  'Le "Mans", 24 Hours\r\nsecond line',
  'back\\slash \\"quoted\\" \\u0041',
  'controls \u0001\u0008\u0009\u000b\u000c\u001f\u007f end',
  'line\u2028and paragraph\u2029 separators',
  '🏁 emoji, N\uFFFDrburgring, café, 東京',
  '',
  ',',
  '"',
  'ends with a quote"',
  '=1+1',
  '</script>',
];

/** The double next to `x`, above it (+1) or below it (-1), for a positive `x`. */
function neighbour(x: number, direction: 1 | -1): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  view.setBigUint64(0, view.getBigUint64(0) + BigInt(direction));
  return view.getFloat64(0);
}

/** The bounds where JavaScript's and PostgreSQL's notations change (see jsNumber in src/export/lines.ts). */
const BOUNDS = [1e-7, 1e-6, 1e-4, 1e15, 2 ** 53, 2 ** 54, 1e21];

/** Doubles at the edges of both notations (JavaScript's and PostgreSQL's), and ordinary ones. */
const EDGE_FLOATS = [
  ...BOUNDS.flatMap((bound) => [bound, neighbour(bound, -1), neighbour(bound, 1)]),
  ...[0, 1, 0.1, 0.2, 0.30000000000000004, 1 / 3, 123.456, 149.371, 2379929, 86_400_000.5].flatMap((x) => [x, -x]),
  1.5e-5,
  1.5e-7,
  1e-10,
  1e-100,
  5e-324,
  2.2250738585072014e-308,
  999999999999999.9,
  123456789012345680,
  1e16,
  1.2345678901234568e20,
  1e20,
  958326000000000000000,
  1.5e21,
  -1e21,
  1e100,
  1.7976931348623157e308,
  -1.7976931348623157e308,
];

/** A seeded generator (mulberry32): the same doubles on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Finite doubles of every magnitude: random bit patterns, and decimals of a few digits (as timings are). */
function randomFloats(count: number): number[] {
  const next = random(14);
  const view = new DataView(new ArrayBuffer(8));
  const floats: number[] = [];
  while (floats.length < count) {
    if (floats.length % 2) {
      view.setUint32(0, Math.floor(next() * 2 ** 32));
      view.setUint32(4, Math.floor(next() * 2 ** 32));
      const bits = view.getFloat64(0);
      if (Number.isFinite(bits)) floats.push(bits);
    } else {
      const digits = Math.floor(next() * 1e6) * (next() < 0.5 ? -1 : 1);
      floats.push(Number(`${digits}e${Math.floor(next() * 60) - 33}`));
    }
  }
  return floats;
}

const FLOATS = [...EDGE_FLOATS, ...randomFloats(3000)];
/** The float fields of a classification: each car takes this many of FLOATS. */
const FLOAT_FIELDS = 8;

const payload = <T>(tree: ReplicaTree, at: string): T => JSON.parse(tree.body(at)!) as T;

function firstSessionWithResults(tree: ReplicaTree): string {
  const [series] = payload<SeriesItem[]>(tree, apiPath.series());
  const [season] = payload<SeasonItem[]>(tree, apiPath.seasons(series!.uuid));
  const events = payload<Calendar>(tree, apiPath.calendar(season!.uuid)).events;
  return events.flatMap((e) => e.sessions).find((s) => s.hasResults)!.uuid;
}

/** A uuid made of `n`, so the added drivers and teams are new rows. */
const uuidOf = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

/**
 * Cars added to a classification: every float field takes the next of FLOATS, the text fields the
 * awkward strings (null among them), one car in three has two or three drivers.
 */
function addedCars(template: ClassificationDetail): ClassificationDetail[] {
  const cars = Math.ceil(FLOATS.length / FLOAT_FIELDS);
  const float = (car: number, field: number) => FLOATS[(car * FLOAT_FIELDS + field) % FLOATS.length]!;
  const text = (n: number) => (n % (AWKWARD.length + 1) === AWKWARD.length ? null : AWKWARD[n % AWKWARD.length]!);
  return Array.from({ length: cars }, (_, car) => ({
    ...template,
    carNumber: `${car}${car % 7 === 0 ? AWKWARD[car % AWKWARD.length] : ''}`,
    finishPosition: car % 5 === 0 ? null : [-2147483648, 2147483647, 0, car][car % 4]!,
    points: float(car, 0),
    time: float(car, 1),
    avgLapSpeed: float(car, 2),
    fastestLapTime: float(car, 3),
    classifiedStatus: text(car),
    gap: { timeToLead: float(car, 4), timeToNext: float(car, 5), lapsToLead: car, lapsToNext: null },
    best: { lap: car, time: float(car, 6), fastest: [true, false, null][car % 3]!, speed: float(car, 7) },
    team: { ...template.team, uuid: uuidOf(1_000_000 + (car % 9)), name: text(car + 3) },
    drivers: Array.from({ length: 1 + (car % 3 === 0 ? 1 + (car % 2) : 0) }, (_, d) => ({
      ...template.drivers[0]!,
      uuid: uuidOf(car * 4 + d + 1),
      name: text(car + d),
      shortCode: text(car + d + 5),
    })),
  }));
}

/** The tree, awkward: its series names, and one classification of many cars, one of them invalid (quarantined). */
function awkwardTree(): { tree: ReplicaTree; secondSeries: string } {
  const tree = syntheticTree({
    seed: 14,
    series: 2,
    seasonsPerSeries: 1,
    eventsPerSeason: 2,
    sessionsPerEvent: 2,
    carsPerSession: 3,
  });
  tree.mutate<SeriesItem[]>(apiPath.series(), (list) =>
    list.map((s, i) => ({ ...s, name: AWKWARD[i]!, shortName: AWKWARD[i + 2]!, shortCode: i ? null : s.shortCode })),
  );
  tree.mutate<Classification>(apiPath.classification(firstSessionWithResults(tree)), (classification) => ({
    ...classification,
    details: [
      ...classification.details,
      ...addedCars(classification.details[0]!),
      { ...classification.details[0]!, carNumber: 'invalid', finishPosition: 'first' as unknown as number },
    ],
  }));
  return { tree, secondSeries: payload<SeriesItem[]>(tree, apiPath.series())[1]!.uuid };
}

/**
 * A dataset's file as the export wrote it before the database built its lines: the rows as the
 * driver returns them, through JSON.stringify or csvRecord, framed as each format frames them.
 */
async function expectedFiles(
  target: TestDatabase['target'],
  format: ExportFormat,
  args: ExportArgs,
): Promise<Record<string, string>> {
  const config = resolveExportConfig({ ...args, db: target.kind === 'embedded' ? target.dir : target.url }, {});
  const db = await openDb(target);
  try {
    return await db.transaction(async (trx) => {
      const selection = await selectScope(trx, config.scope, config.asOf);
      const view: View = {
        live: (table) => liveRows(table, config.asOf),
        within: (table) => rowsWithin(table, config.asOf, selection),
        incomplete: (label, parent) => incompleteExpression(label, parent, config.asOf),
      };
      const files: Record<string, string> = {};
      for (const dataset of DATASETS) {
        const query = dataset.query(view);
        const { text, bindings } = datasetRows(query);
        const { rows } = await trx.raw<{ rows: Record<string, unknown>[] }>(text, bindings);
        const columns = columnNames(query);
        const json = rows.map((row) => JSON.stringify(row));
        files[`${dataset.name}.${format}`] =
          format === 'csv'
            ? [columns, ...rows.map((row) => columns.map((column) => row[column]))].map(csvRecord).join('')
            : format === 'ndjson'
              ? json.map((line) => `${line}\n`).join('')
              : json.length
                ? `[\n${json.join(',\n')}\n]\n`
                : '[]\n';
      }
      return files;
    });
  } finally {
    await db.destroy();
  }
}

/** The first line of `written` unlike the same line of `expected`, with it; undefined when the texts are equal. */
function firstDifference(
  written: string,
  expected: string,
): { line: number; written?: string; expected?: string } | undefined {
  if (written === expected) return undefined;
  const [a, b] = [written.split('\n'), expected.split('\n')];
  const line = a.findIndex((text, i) => text !== b[i]);
  return { line: line + 1, written: a[line], expected: b[line] };
}

describe.each(DATABASE_KINDS)('the lines the database builds (%s)', (kind) => {
  let database: TestDatabase;
  let crawledAt: string;
  let secondSeries: string;

  beforeAll(async () => {
    const awkward = awkwardTree();
    secondSeries = awkward.secondSeries;
    const replica = await startReplica({ tree: awkward.tree });
    database = await createTestDatabase(kind);
    try {
      const summary = await crawl(crawlConfig(replica.url, tempDir(), database.target));
      // The invalid car, quarantined: the crawl ends with that one failure, everything else stored.
      expect(summary.failures.map((failure) => failure.kind)).toEqual(['quarantine']);
    } finally {
      await replica.close();
    }
    crawledAt = new Date().toISOString();
  });
  afterAll(async () => database?.drop());

  const cases: [string, ExportFormat, () => ExportArgs][] = [
    ['json', 'json', () => ({})],
    ['ndjson', 'ndjson', () => ({})],
    ['csv', 'csv', () => ({})],
    ['ndjson --as-of', 'ndjson', () => ({ asOf: crawledAt })],
    ['csv --as-of', 'csv', () => ({ asOf: crawledAt })],
    ['json filtered to one series', 'json', () => ({ series: [secondSeries] })],
  ];

  it.each(cases)('%s: every file byte for byte as the rows turned into text by JavaScript', async (_, format, args) => {
    const { dir, manifest } = await exportDb(database.target, { ...args(), format });
    const expected = await expectedFiles(database.target, format, args());
    for (const [file, text] of Object.entries(expected)) {
      const written = readFileSync(path.join(dir, file), 'utf8');
      // A failure shows the first line that differs, not the whole file.
      if (written !== text) expect(firstDifference(written, text), file).toBeUndefined();
    }
    expect(manifest.datasets.classifications.rows).toBeGreaterThan(args().series ? 0 : FLOATS.length / FLOAT_FIELDS);
  });

  it('holds what the test put in: every float, the awkward names, nested drivers, the quarantine mark', async () => {
    const { dir } = await exportDb(database.target, { format: 'ndjson' });
    const read = (name: string) =>
      readFileSync(path.join(dir, `${name}.ndjson`), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    const floatKeys = ['points', 'timeMs', 'avgLapSpeed', 'fastestLapTimeMs', 'gapTimeToLeadMs', 'gapTimeToNextMs'];
    const exportedFloats = new Set(
      read('classifications').flatMap((row) => [...floatKeys, 'bestTimeMs', 'bestSpeed'].map((key) => row[key])),
    );
    expect(EDGE_FLOATS.filter((f) => !exportedFloats.has(f))).toEqual([]);
    expect(read('series').map((s) => s.name)).toEqual(expect.arrayContaining([AWKWARD[0], AWKWARD[1]]));
    const results = read('results');
    expect(results.some((r) => (r.drivers as unknown[]).length === 3)).toBe(true);
    expect(results.some((r) => r.sessionIncomplete === true)).toBe(true);
    expect(read('sessions').some((s) => s.incomplete === true)).toBe(true);
  });
});
