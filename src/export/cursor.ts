/**
 * Reads a query's rows page by page through a server-side cursor. knex-pglite's `.stream()` buffers
 * the whole result, and keyset pagination would rescan the unindexed history tables once per page
 * (an --as-of export would be quadratic): a cursor runs the query once and hands over rows as they
 * are fetched, the same way on PGlite and on PostgreSQL. Cursors live in a transaction.
 */
import type { Knex } from 'knex';
import { DEFAULTS } from '../config.js';
import type { Sql } from '../store/sql.js';

export type Row = Record<string, unknown>;

let cursors = 0;

export async function* cursorPages(
  trx: Knex.Transaction,
  query: Sql,
  pageSize: number = DEFAULTS.exportPageSize,
): AsyncGenerator<Row[]> {
  const cursor = `export_cursor_${++cursors}`;
  await trx.raw(`DECLARE ${cursor} NO SCROLL CURSOR FOR ${query.text}`, query.bindings);
  for (;;) {
    const { rows } = await trx.raw<{ rows: Row[] }>(`FETCH ${pageSize} FROM ${cursor}`);
    if (!rows.length) break;
    yield rows;
  }
  // Left open on an error: the transaction's end closes it, and a failed transaction refuses CLOSE.
  await trx.raw(`CLOSE ${cursor}`);
}

/** The text of each row's `column`, a page at a time: a query of lines (see lines.ts). */
export async function* cursorLines(trx: Knex.Transaction, query: Sql, column: string): AsyncGenerator<string[]> {
  // why: a lines query selects one text column, which concat() never leaves NULL.
  for await (const page of cursorPages(trx, query)) yield page.map((row) => row[column] as string);
}
