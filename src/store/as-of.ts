/**
 * The rows a read sees: the live rows of a table now, or the rows that were live at an instant,
 * read from `<table>_history`. A soft delete is a history version with deleted_at set, so "live"
 * means the same in both: a row whose current (or then-current) version is not deleted.
 */
import type { TableName } from './tables.js';
import { raw, sql, type Sql } from './sql.js';

/** A derived table (parenthesised, to alias) of the live rows of `table`; `asOf` is an ISO instant. */
export function liveRows(table: TableName, asOf: string | undefined): Sql {
  if (asOf === undefined) return raw(`(SELECT * FROM ${table} WHERE deleted_at IS NULL)`);
  // Versions are [valid_from, valid_to): the trigger closes one and opens the next at one instant.
  return sql`(SELECT * FROM ${raw(`${table}_history`)} WHERE valid_from <= CAST(${asOf} AS timestamptz)
    AND (valid_to IS NULL OR valid_to > CAST(${asOf} AS timestamptz)) AND deleted_at IS NULL)`;
}
