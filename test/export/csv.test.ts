/**
 * `export --format csv` of a real crawl, read back by a small RFC 4180 reader written here and
 * compared field by field with the JSON export of the same data: same datasets, columns, order and
 * values (null an empty field, "" a quoted empty one, nested values as JSON text), awkward strings
 * (commas, quotes, CR LF, emoji) intact, CRLF line ends, no byte order mark.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATASETS } from '../../src/export/datasets.js';
import { apiPath, startReplica, syntheticTree, type SeriesItem } from '../replica/index.js';
import { crawl, crawlConfig } from '../support/crawl.js';
import { DATABASE_KINDS, createTestDatabase, tempDir, type TestDatabase } from '../support/db.js';
import { exportDb, readDataset } from '../support/export.js';

const AWKWARD = 'Le "Mans", 24 Hours\r\nsecond line, 🏁 and "quotes"';
const TRAILING_QUOTE = 'ends with a quote"';

interface Cell {
  readonly text: string;
  /** Written between double quotes: how "" (an empty string) differs from an empty field (null). */
  readonly quoted: boolean;
}

/** RFC 4180, strictly: records end with CRLF, a quote only opens a field or doubles inside one. */
function parseCsv(text: string): Cell[][] {
  const records: Cell[][] = [];
  let record: Cell[] = [];
  let field = '';
  let quoted = false;
  let inQuotes = false;
  let atFieldStart = true;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inQuotes) {
      if (c !== '"') field += c;
      else if (text[i + 1] === '"') {
        field += '"';
        i++;
      } else {
        inQuotes = false;
        if (![',', '\r', undefined].includes(text[i + 1])) throw new Error(`text after a closing quote at ${i}`);
      }
      continue;
    }
    if (c === '"') {
      if (!atFieldStart) throw new Error(`bare quote at ${i}`);
      inQuotes = quoted = true;
      atFieldStart = false;
    } else if (c === ',') {
      record.push({ text: field, quoted });
      field = '';
      quoted = false;
      atFieldStart = true;
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push({ text: field, quoted });
      records.push(record);
      record = [];
      field = '';
      quoted = false;
      atFieldStart = true;
      i++;
    } else if (c === '\r' || c === '\n') {
      throw new Error(`bare ${JSON.stringify(c)} outside quotes at ${i}`);
    } else {
      field += c;
      atFieldStart = false;
    }
  }
  if (inQuotes || field !== '' || record.length) throw new Error('the last record does not end with CRLF');
  return records;
}

/** A JSON value as the CSV must hold it. */
function expectedCell(value: unknown): Cell {
  if (value === null) return { text: '', quoted: false };
  if (typeof value === 'string') return { text: value, quoted: value === '' || /[",\r\n]/.test(value) };
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return { text, quoted: /[",\r\n]/.test(text) };
}

describe('the RFC 4180 reader of this test', () => {
  it('reads quoted fields, doubled quotes and CRLF inside quotes, and refuses bare quotes and bare LF', () => {
    expect(parseCsv('a,"b,""c""\r\nd",,""\r\n')).toEqual([
      [
        { text: 'a', quoted: false },
        { text: 'b,"c"\r\nd', quoted: true },
        { text: '', quoted: false },
        { text: '', quoted: true },
      ],
    ]);
    expect(() => parseCsv('a"b\r\n')).toThrow(/bare quote/);
    expect(() => parseCsv('a\nb\r\n')).toThrow(/bare/);
    expect(() => parseCsv('a,b')).toThrow(/CRLF/);
  });
});

describe.each(DATABASE_KINDS)('export --format csv (%s)', (kind) => {
  let database: TestDatabase;
  let json: string;
  let csv: { dir: string; manifest: Awaited<ReturnType<typeof exportDb>>['manifest'] };
  let awkwardUuid: string;

  beforeAll(async () => {
    const tree = syntheticTree({
      seed: 5,
      series: 2,
      seasonsPerSeries: 1,
      eventsPerSeason: 2,
      sessionsPerEvent: 2,
      carsPerSession: 3,
    });
    tree.mutate<SeriesItem[]>(apiPath.series(), (list) =>
      list.map((s, i) =>
        i === 0
          ? { ...s, name: AWKWARD, shortName: '', shortCode: null }
          : i === 1
            ? { ...s, name: TRAILING_QUOTE }
            : s,
      ),
    );
    awkwardUuid = (JSON.parse(tree.body(apiPath.series())!) as SeriesItem[])[0]!.uuid;
    const replica = await startReplica({ tree });
    database = await createTestDatabase(kind);
    try {
      const summary = await crawl(crawlConfig(replica.url, tempDir(), database.target));
      expect(summary.outcome).toBe('complete');
    } finally {
      await replica.close();
    }
    json = (await exportDb(database.target)).dir;
    csv = await exportDb(database.target, { format: 'csv' });
  });
  afterAll(async () => database?.drop());

  it('writes one .csv per dataset and a manifest saying csv', () => {
    expect(readdirSync(csv.dir).sort()).toEqual([...DATASETS.map((d) => `${d.name}.csv`), 'manifest.json'].sort());
    expect(csv.manifest.format).toBe('csv');
    for (const { name } of DATASETS)
      expect(csv.manifest.datasets[name]).toEqual({ file: `${name}.csv`, rows: readDataset(json, name).length });
  });

  it('holds exactly the JSON export: header, columns, order and every value', () => {
    for (const { name } of DATASETS) {
      const bytes = readFileSync(path.join(csv.dir, `${name}.csv`));
      expect(bytes.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf])), `${name}: no BOM`).toBe(false);
      const [header, ...records] = parseCsv(bytes.toString('utf8'));
      const rows = readDataset(json, name);
      expect(rows.length, name).toBeGreaterThan(0);
      const columns = Object.keys(rows[0]!);
      expect(
        header!.map((cell) => cell.text),
        name,
      ).toEqual(columns);
      expect(records, name).toHaveLength(rows.length);
      rows.forEach((row, i) => {
        expect(records[i], `${name} row ${i}`).toEqual(columns.map((column) => expectedCell(row[column])));
      });
    }
  });

  it('keeps commas, quotes, line breaks and emoji intact, and an empty string apart from null', () => {
    const [header, ...records] = parseCsv(readFileSync(path.join(csv.dir, 'series.csv'), 'utf8'));
    const column = (name: string) => header!.findIndex((cell) => cell.text === name);
    const awkward = records.find((r) => r[column('uuid')]!.text === awkwardUuid)!;
    expect(awkward[column('name')]).toEqual({ text: AWKWARD, quoted: true });
    expect(awkward[column('shortName')]).toEqual({ text: '', quoted: true });
    expect(awkward[column('shortCode')]).toEqual({ text: '', quoted: false });
    expect(records.some((r) => r[column('name')]!.text === TRAILING_QUOTE)).toBe(true);
    // Nested values are JSON text: a team's names, a result's drivers.
    const [teamsHeader, firstTeam] = parseCsv(readFileSync(path.join(csv.dir, 'teams.csv'), 'utf8'));
    expect(JSON.parse(firstTeam![teamsHeader!.findIndex((c) => c.text === 'names')]!.text)).toEqual(
      readDataset(json, 'teams')[0]!.names,
    );
  });
});
