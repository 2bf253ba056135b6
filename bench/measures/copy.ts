/**
 * The ingest reference: rows COPYed into their tables, history triggers on, in one transaction,
 * on the server (COPY FROM STDIN) or on PGlite (COPY FROM '/dev/blob'), through src/store/copy.ts.
 * Given rows are taken as they are: no hashing, no upsert, no soft deletes, the fastest way
 * PostgreSQL has to take them.
 */
import type { Db } from '../../src/store/db.js';
import { copyInto } from '../../src/store/copy.js';
import type { Cell } from '../../src/store/tables.js';

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
