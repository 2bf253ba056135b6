/**
 * Rows per table, as `status` shows them: live, soft-deleted, and the versions its history holds.
 *
 * count(*) reads every page of a table: at live size (tens of millions of rows, gigabytes) that
 * is seconds per table. So the tables are counted row by row smallest first, as long as they
 * (with their histories) add up to at most DEFAULTS.statusExactTableBytes; each larger one is
 * estimated from a sample of its pages: DEFAULTS.statusSampleRuns runs of
 * DEFAULTS.statusSamplePagesPerRun consecutive pages, evenly spaced over the table, whose rows are
 * counted (live and deleted apart) and scaled up to the pages the table has now. A run of pages
 * is read by a TID range scan (PostgreSQL 14 and later; the crawler needs 15), so the sample costs
 * its pages only, whatever the table's size.
 *
 * Not the server's statistics (pg_class.reltuples, pg_stats): they are only as fresh as the last
 * ANALYZE, autovacuum may be off (as on the server this was measured on), the embedded database
 * never runs it, and gathering them is a write a read-only role may not make. A sample is as
 * fresh as the table, the same for a table that did not change, and only reads.
 */
import { DEFAULTS } from '../config.js';
import { recordOf } from '../record.js';
import type { Db } from './db.js';
import { TABLE_ORDER, type TableName } from './tables.js';

export interface TableRows {
  live: number;
  deleted: number;
  /** Rows of `<table>_history`: every version ever stored. */
  versions: number;
  /** How the three were found: counted row by row, or estimated from a sample of the table's pages. */
  counted: 'exact' | 'estimated';
}

export interface CountOptions {
  /** Count every table row by row, however large. */
  readonly exact?: boolean;
  /** Testing aids: DEFAULTS.statusExactTableBytes, statusSampleRuns and statusSamplePagesPerRun otherwise. */
  readonly exactBytes?: number;
  readonly sampleRuns?: number;
  readonly samplePagesPerRun?: number;
}

/** The size of a table and of its history now, from the catalog, without reading either. */
interface TableSize {
  readonly name: TableName;
  readonly pages: number;
  readonly historyPages: number;
  readonly bytes: number;
}

export async function countRows(db: Db, options: CountOptions = {}): Promise<Record<TableName, TableRows>> {
  const budget = options.exact ? Infinity : (options.exactBytes ?? DEFAULTS.statusExactTableBytes);
  const sample = {
    runs: options.sampleRuns ?? DEFAULTS.statusSampleRuns,
    pagesPerRun: options.samplePagesPerRun ?? DEFAULTS.statusSamplePagesPerRun,
  };
  const sizes = (await readSizes(db)).sort((a, b) => a.bytes - b.bytes);
  // A table the catalog did not list is counted: its count fails with the server's own words if it is missing.
  const toCount = TABLE_ORDER.filter((table) => !sizes.some((size) => size.name === table));
  const toEstimate: TableSize[] = [];
  let spent = 0;
  for (const size of sizes) {
    if (spent + size.bytes <= budget) {
      spent += size.bytes;
      toCount.push(size.name);
    } else toEstimate.push(size);
  }
  const counts = recordOf(TABLE_ORDER, (): TableRows => ({ live: 0, deleted: 0, versions: 0, counted: 'exact' }));
  // Concurrently: on a server each statement has a connection of its own (the embedded database queues them).
  await Promise.all([
    ...toCount.map(async (table) => {
      counts[table] = { ...(await countTable(db, table)), counted: 'exact' };
    }),
    ...toEstimate.map(async (size) => {
      counts[size.name] = await estimateTable(db, size, sample);
    }),
  ]);
  return counts;
}

async function countTable(db: Db, table: TableName): Promise<Omit<TableRows, 'counted'>> {
  const {
    rows: [row],
  } = await db.raw<{ rows: [Omit<TableRows, 'counted'>] }>(
    `SELECT count(*) FILTER (WHERE deleted_at IS NULL)::int AS live,
            count(*) FILTER (WHERE deleted_at IS NOT NULL)::int AS deleted,
            (SELECT count(*) FROM ${table}_history)::int AS versions
     FROM ${table}`,
  );
  return row;
}

interface Sample {
  readonly runs: number;
  readonly pagesPerRun: number;
}

async function estimateTable(db: Db, size: TableSize, sample: Sample): Promise<TableRows> {
  const [main, history] = await Promise.all([
    sampleSums(db, size.name, size.pages, sample, {
      live: 'count(*) FILTER (WHERE deleted_at IS NULL)',
      deleted: 'count(*) FILTER (WHERE deleted_at IS NOT NULL)',
    }),
    sampleSums(db, `${size.name}_history`, size.historyPages, sample, { versions: 'count(*)' }),
  ]);
  return {
    live: Math.round(main.sums.live! * main.scale),
    deleted: Math.round(main.sums.deleted! * main.scale),
    versions: Math.round(history.sums.versions! * history.scale),
    // A relation no larger than its sample is read whole: its figures are counts.
    counted: main.scale === 1 && history.scale === 1 ? 'exact' : 'estimated',
  };
}

/**
 * The sums of `figures` (SQL aggregates by name) over a sample of a relation's pages, and the
 * factor that scales them to all of its pages (1 when the sample is the whole relation). The runs
 * are the middles of equal stretches of the relation, so every part of it is seen: rows written
 * last (the newest seasons, rows the last crawl soft-deleted) are not missed by a sample of its start.
 */
async function sampleSums<Name extends string>(
  db: Db,
  relation: string,
  pages: number,
  { runs, pagesPerRun }: Sample,
  figures: Record<Name, string>,
): Promise<{ sums: Partial<Record<Name, number>>; scale: number }> {
  const names = Object.keys(figures) as Name[];
  const select = names.map((name) => `${figures[name]}::float8 AS ${name}`).join(', ');
  if (pages <= runs * pagesPerRun) {
    const { rows } = await db.raw<{ rows: [Record<Name, number>] }>(`SELECT ${select} FROM ${relation}`);
    return { sums: rows[0], scale: 1 };
  }
  const ranges = Array.from({ length: runs }, (_, i) => {
    const first = Math.floor(((2 * i + 1) * pages) / (2 * runs) - pagesPerRun / 2);
    const end = first + pagesPerRun;
    return `SELECT ${select} FROM ${relation} WHERE ctid >= '(${first},0)'::tid AND ctid < '(${end},0)'::tid`;
  });
  const { rows } = await db.raw<{ rows: [Record<Name, number>] }>(
    `SELECT ${names.map((name) => `sum(${name})::float8 AS ${name}`).join(', ')} ` +
      `FROM (${ranges.join(' UNION ALL ')}) AS runs`,
  );
  return { sums: rows[0], scale: pages / (runs * pagesPerRun) };
}

async function readSizes(db: Db): Promise<TableSize[]> {
  const { rows } = await db.raw<{ rows: { name: TableName; bytes: number; history_bytes: number; block: number }[] }>(
    `SELECT t.name, pg_relation_size(to_regclass(t.name))::float8 AS bytes,
            pg_relation_size(to_regclass(t.name || '_history'))::float8 AS history_bytes,
            current_setting('block_size')::float8 AS block
     FROM unnest(?::text[]) AS t(name)
     WHERE to_regclass(t.name) IS NOT NULL AND to_regclass(t.name || '_history') IS NOT NULL`,
    [[...TABLE_ORDER]],
  );
  return rows.map((row) => ({
    name: row.name,
    pages: Math.ceil(row.bytes / row.block),
    historyPages: Math.ceil(row.history_bytes / row.block),
    bytes: row.bytes + row.history_bytes,
  }));
}
