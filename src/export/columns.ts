/**
 * Table columns as exported: camelCase keys, and dates and times turned into text by the database
 * itself so that PGlite and PostgreSQL give the same bytes (their drivers map them to JS types
 * differently, and a JS Date would shift a `date` by the local time zone). Each column also says
 * what kind of value it holds, which decides how lines.ts writes it as JSON and as CSV.
 */
import { TABLES, columnTypes, type SqlType, type TableName } from '../store/tables.js';
import { raw, type Sql } from '../store/sql.js';

/**
 * - `text`: any text, escaped in JSON, quoted in CSV when it must be;
 * - `plain`: text that never needs either (uuids, formatted dates and times);
 * - `integer`, `float`, `boolean`: JSON's numbers and booleans;
 * - `json`: compact JSON text, written as it is (a nested value).
 */
export type ValueKind = 'text' | 'plain' | 'integer' | 'float' | 'boolean' | 'json';

export interface ExportedColumn {
  /** The key in JSON, the header in CSV. */
  readonly name: string;
  /** The SQL expression of its value. */
  readonly value: Sql;
  readonly kind: ValueKind;
}

export function exportedAs(name: string, value: Sql, kind: ValueKind): ExportedColumn {
  return { name, value, kind };
}

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

const KIND_OF_TYPE: { readonly [T in SqlType]: ValueKind } = {
  uuid: 'plain',
  text: 'text',
  integer: 'integer',
  'double precision': 'float',
  boolean: 'boolean',
  date: 'plain',
  timestamptz: 'plain',
  timestamp: 'plain',
};

/** `alias.column` of `table`, formatted and named in camelCase, with an optional prefix (`team` → `teamName`). */
export function exportedColumn(table: TableName, alias: string, column: string, prefix = ''): ExportedColumn {
  const type = columnTypes(table)[column];
  if (!type) throw new Error(`${table} has no column ${column}`);
  const name = prefix ? prefix + camelCase(`_${column}`) : camelCase(column);
  return exportedAs(name, raw(exportedValue(`${alias}.${column}`, type)), KIND_OF_TYPE[type]);
}

/** Every stored column of `table` (from its spec, in spec order) but `except`, exported. */
export function exportedColumns(table: TableName, alias: string, except: readonly string[] = []): ExportedColumn[] {
  return Object.keys(TABLES[table].columns)
    .filter((column) => !except.includes(column))
    .map((column) => exportedColumn(table, alias, column));
}
