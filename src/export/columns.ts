/**
 * Table columns as exported: camelCase keys, and dates and times turned into text by the database
 * itself so that PGlite and PostgreSQL give the same bytes (their drivers map them to JS types
 * differently, and a JS Date would shift a `date` by the local time zone).
 */
import { TABLES, columnTypes, type SqlType, type TableName } from '../store/tables.js';
import { join, raw, type Sql } from '../store/sql.js';

function camelCase(column: string): string {
  return column.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

/**
 * A column's value as JSON should hold it. Times have whole seconds: the API sends epoch seconds
 * (integers in schemas/), so the formats drop no fraction.
 */
function exportedValue(expression: string, type: SqlType): string {
  switch (type) {
    case 'date':
      return `to_char(${expression}, 'YYYY-MM-DD')`;
    case 'timestamptz':
      return `to_char(${expression} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`;
    case 'timestamp':
      // Local wall-clock time: no zone, because none is known.
      return `to_char(${expression}, 'YYYY-MM-DD"T"HH24:MI:SS')`;
    default:
      return expression;
  }
}

/** `alias.column` of `table`, formatted and named in camelCase, with an optional prefix (`team` → `teamName`). */
export function exportedColumn(table: TableName, alias: string, column: string, prefix = ''): Sql {
  const type = columnTypes(table)[column];
  if (!type) throw new Error(`${table} has no column ${column}`);
  const name = prefix ? prefix + camelCase(`_${column}`) : camelCase(column);
  return raw(`${exportedValue(`${alias}.${column}`, type)} AS "${name}"`);
}

/** Every stored column of `table` (from its spec, in spec order) but `except`, exported. */
export function exportedColumns(table: TableName, alias: string, except: readonly string[] = []): Sql {
  const columns = Object.keys(TABLES[table].columns).filter((column) => !except.includes(column));
  return join(
    columns.map((column) => exportedColumn(table, alias, column)),
    ', ',
  );
}
