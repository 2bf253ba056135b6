/**
 * The ingest reference: rows COPYed into their tables, history triggers on, in one transaction,
 * on the server (COPY FROM STDIN) or on PGlite (COPY FROM '/dev/blob'), through src/store/copy.ts.
 * Given rows are taken as they are: no hashing, no upsert, no soft deletes, the fastest way
 * PostgreSQL has to take them.
 */
import { cursorPages } from '../../src/export/cursor.js';
import { copyInto } from '../../src/store/copy.js';
import { openDb, type Db } from '../../src/store/db.js';
import { migrateLatest } from '../../src/store/migrate.js';
import { TABLE_ORDER, columnsOf, type Cell } from '../../src/store/tables.js';
import { createDatabase } from '../harness.js';

export interface CopyTable {
  readonly table: string;
  /** The columns `rows` hold, in their order. */
  readonly columns: readonly string[];
  readonly rows: readonly (readonly Cell[])[];
}

/**
 * COPYs every table's rows, in the order given (parents first), in one transaction; returns rows/s
 * over all of them, encoding and commit included. Throws if a table took fewer rows than given.
 */
export async function copyRows(db: Db, tables: readonly CopyTable[]): Promise<number> {
  const total = tables.reduce((n, t) => n + t.rows.length, 0);
  const started = performance.now();
  await db.transaction(async (trx) => {
    for (const { table, columns, rows } of tables) {
      const copied = await copyInto(trx, table, columns, rows);
      if (copied !== rows.length) throw new Error(`COPY ${table}: ${copied} rows copied, ${rows.length} given`);
    }
  });
  return total / ((performance.now() - started) / 1000);
}

/**
 * A raw COPY of every row of the database at `sourceUrl` into a new, migrated database on the same
 * server, table by table in foreign-key order, in one transaction (`copyRows` for rows read page by
 * page): rows/s of the COPY statements and the commit only, reading the source not included. Each
 * value is read as its text (`::text`), which is what COPY's text format takes back.
 */
export async function copySameRows(sourceUrl: string, adminUrl: string): Promise<{ rows: number; rowsPerSec: number }> {
  const target = await createDatabase(adminUrl);
  const source = await openDb({ kind: 'postgres', url: sourceUrl });
  const into = await openDb({ kind: 'postgres', url: target.url });
  try {
    await migrateLatest(into);
    let rows = 0;
    let seconds = 0;
    const timed = async <T>(run: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      try {
        return await run();
      } finally {
        seconds += (performance.now() - started) / 1000;
      }
    };
    const trx = await into.transaction();
    await source.transaction(async (read) => {
      for (const table of TABLE_ORDER) {
        const columns = [...columnsOf(table), 'hash'];
        const query = { text: `SELECT ${columns.map((c) => `${c}::text`).join(', ')} FROM ${table}`, bindings: [] };
        for await (const page of cursorPages(read, query, COPY_PAGE_ROWS)) {
          const values = page.map((row) => columns.map((c) => row[c] as Cell));
          const copied = await timed(() => copyInto(trx, table, columns, values));
          if (copied !== values.length) throw new Error(`COPY ${table}: ${copied} rows copied, ${values.length} given`);
          rows += copied;
        }
      }
    });
    await timed(() => trx.commit());
    return { rows, rowsPerSec: rows / seconds };
  } finally {
    await source.destroy();
    await into.destroy();
    await target.drop();
  }
}

/** Rows read and COPYed at a time: bounds the bench's memory at live size. */
const COPY_PAGE_ROWS = 50_000;
