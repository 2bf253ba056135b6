/**
 * A dataset's rows as the lines of its file, built by the database: one text per row, the JSON
 * object or the CSV record, which the writer only joins. Building them in SQL spares the export
 * its slowest work (the driver decoding every value into a JS object, JSON.stringify turning it
 * back into text, and the garbage of both), and the database does it next to the data.
 *
 * The text is exactly what JSON.stringify (and csv.ts) write for the row the driver returns
 * (`datasetRows`), which test/export/lines.test.ts checks value by value on both databases:
 * - keys in column order, no spaces; strings escaped as JSON.stringify escapes them (PostgreSQL's
 *   JSON escaping is the same: \" \\ \b \f \n \r \t, other control characters as \u00xx);
 * - numbers as JavaScript prints them (`jsNumber`); null, true, false;
 * - CSV as csv.ts writes it: null an empty field, text quoted when empty or when it holds a comma,
 *   a double quote, CR or LF, its quotes doubled.
 */
import type { ExportFormat } from '../config.js';
import { join, raw, sql, type Sql } from '../store/sql.js';
import type { ExportedColumn, ValueKind } from './columns.js';
import type { DatasetQuery, KeyPart, ParentColumns } from './datasets.js';

/** The name of the one column of the lines query. */
export const LINE_COLUMN = 'line';

/** 2^54: from here up, a double's shortest digits may lie on the edge of its rounding interval (`jsDigits`). */
const TIES_FROM = '18014398509481984';

/**
 * A double precision value's text as JavaScript's Number#toString writes it (and so JSON.stringify,
 * for a finite number). PostgreSQL prints a float8 with the shortest digits that read back as it
 * (extra_float_digits ≥ 1, which the export sets), but not always in the same notation:
 * - PostgreSQL prints -0 as `-0`, JavaScript as `0`;
 * - both use plain decimals from 1e-4 to 1e15 (PostgreSQL's range, inside JavaScript's);
 * - from 1e-6 to 1e-4 and from 1e15 JavaScript still does, PostgreSQL writes `1.5e-05`, `1.2e+20`:
 *   the numeric of that text prints it as a plain decimal, exactly;
 * - below 1e-6 both write an exponent, PostgreSQL with two digits at least (`1e-07`, JavaScript `1e-7`);
 * - from 2^54 the digits themselves may differ (see `jsDigits`), and from 1e21 JavaScript writes an exponent;
 * - NaN and ±Infinity are `nonFinite` (JSON.stringify writes null; String() writes them as PostgreSQL does).
 * The bounds are compared as float8: the same doubles both sides round those decimals to.
 */
function jsNumber(value: Sql, nonFinite: 'null' | 'text'): Sql {
  const v = sql`(${value})`;
  const bound = (decimal: string) => raw(`CAST('${decimal}' AS double precision)`);
  return sql`CASE
    WHEN ${v} = 0 THEN '0'
    WHEN abs(${v}) >= ${bound('1e-4')} AND abs(${v}) < ${bound('1e15')} THEN CAST(${v} AS text)
    WHEN ${v} = 'NaN' OR abs(${v}) = 'Infinity' THEN ${nonFinite === 'null' ? raw(`'null'`) : sql`CAST(${v} AS text)`}
    WHEN abs(${v}) >= ${bound('1e-6')} AND abs(${v}) < ${bound(TIES_FROM)}
      THEN CAST(CAST(CAST(${v} AS text) AS numeric) AS text)
    WHEN abs(${v}) >= ${bound(TIES_FROM)} THEN ${jsDigits(v)}
    ELSE regexp_replace(CAST(${v} AS text), 'e([-+])0', 'e\\1')
  END`;
}

/**
 * A double of at least 2^54 as JavaScript writes it. Its shortest digits can sit exactly on the edge
 * of the interval of decimals that read back as it: JavaScript takes such an edge when the double's
 * significand is even (reading rounds a tie to even), PostgreSQL never does (9.58326e20 is
 * `9.583260000000001e+20` there). So the digits are searched for as JavaScript does: the fewest `p`
 * for which PostgreSQL's decimal, cut to p digits (down or up), reads back as the same double.
 * Written as a plain integer below 1e21, as `d.ddde+N` from there. Values this large are rare
 * (not a time or a speed): the search runs only for them.
 */
function jsDigits(v: Sql): Sql {
  return sql`(SELECT CASE
      WHEN c < 1e21 THEN sign || CAST(trunc(c) AS text)
      ELSE sign || left(digits, 1) || CASE WHEN length(digits) > 1 THEN '.' || substr(digits, 2) ELSE '' END
        || 'e+' || CAST(length(CAST(trunc(c) AS text)) - 1 AS text)
    END
    FROM (SELECT CASE WHEN ${v} < 0 THEN '-' ELSE '' END AS sign, c, rtrim(CAST(trunc(c) AS text), '0') AS digits
      FROM (SELECT abs(CAST(CAST(${v} AS text) AS numeric)) AS pg_decimal) d,
        LATERAL (SELECT length(CAST(trunc(pg_decimal) AS text)) AS places) l,
        LATERAL generate_series(1, 17) AS p,
        LATERAL (SELECT trunc(pg_decimal / 10::numeric ^ (places - p)) * 10::numeric ^ (places - p) AS down,
                        10::numeric ^ (places - p) AS unit) cut,
        LATERAL (VALUES (down), (down + unit)) AS candidate(c)
      WHERE CASE WHEN c >= 2::numeric ^ 1024 THEN false
        ELSE CAST(CASE WHEN ${v} < 0 THEN -c ELSE c END AS double precision) = ${v} END
      ORDER BY p
      LIMIT 1) shortest)`;
}

/** A value as JSON text, never NULL (a SQL NULL is `null`). */
function jsonValue(value: Sql, kind: ValueKind): Sql {
  const v = sql`(${value})`;
  switch (kind) {
    case 'text':
      return sql`coalesce(CAST(to_json(${v}) AS text), 'null')`;
    case 'plain':
      return sql`coalesce('"' || ${v} || '"', 'null')`;
    case 'float':
      return sql`coalesce(${jsNumber(value, 'null')}, 'null')`;
    case 'integer':
    case 'boolean':
    case 'json':
      return sql`coalesce(CAST(${v} AS text), 'null')`;
  }
}

/** A value as a CSV field, never NULL (a SQL NULL is an empty field). */
function csvValue(value: Sql, kind: ValueKind): Sql {
  const v = sql`(${value})`;
  switch (kind) {
    case 'text':
    case 'json':
      return sql`CASE WHEN ${v} IS NULL THEN ''
        WHEN ${v} = '' OR ${v} ~ E'[",\\r\\n]' THEN '"' || replace(${v}, '"', '""') || '"'
        ELSE ${v} END`;
    case 'float':
      return sql`coalesce(${jsNumber(value, 'text')}, '')`;
    case 'plain':
    case 'integer':
    case 'boolean':
      return sql`coalesce(CAST(${v} AS text), '')`;
  }
}

/** A string constant of SQL (the texts here are JSON keys and punctuation). */
function literal(text: string): Sql {
  return raw(`'${text.replaceAll("'", "''")}'`);
}

/**
 * The pieces of a JSON object's text for `columns` (values in `values`), the column at `first` of
 * the whole row being the first here: `{"key":` before the row's first value, `,"key":` before the others.
 */
function jsonPieces(columns: readonly ExportedColumn[], values: readonly Sql[], first: number): Sql[] {
  return columns.flatMap((column, i) => [
    literal(`${first + i ? ',' : '{'}${JSON.stringify(column.name)}:`),
    jsonValue(values[i]!, column.kind),
  ]);
}

/** Text of the leading `columns` of a row, as the line of `format` begins with them. */
function linePart(format: ExportFormat, columns: readonly ExportedColumn[], values: readonly Sql[]): Sql {
  if (format === 'csv')
    return sql`concat_ws(',', ${join(
      columns.map((c, i) => csvValue(values[i]!, c.kind)),
      ', ',
    )})`;
  return sql`concat(${join(jsonPieces(columns, values, 0), ', ')})`;
}

/** The whole line: the parent's part (already text), then `columns` (values in `values`). */
function line(
  format: ExportFormat,
  part: Sql | undefined,
  first: number,
  columns: readonly ExportedColumn[],
  values: readonly Sql[],
): Sql {
  const parts = part ? [part] : [];
  if (format === 'csv')
    return sql`concat_ws(',', ${join([...parts, ...columns.map((c, i) => csvValue(values[i]!, c.kind))], ', ')})`;
  return sql`concat(${join([...parts, ...jsonPieces(columns, values, first), literal('}')], ', ')})`;
}

const PARENT = 'export_parent';
const ROW = 'export_row';

/** The parent's derived table (one row per parent, its key as parent_key) joined to the dataset's rows. */
function parentJoin(parent: ParentColumns, selected: Sql): Sql {
  return sql`JOIN (SELECT ${parent.key} AS parent_key, ${selected} ${parent.from} OFFSET 0) ${raw(PARENT)}
    ON ${raw(PARENT)}.parent_key = ${parent.keyOfRow}`;
}

function keyOrder(key: readonly KeyPart[], value: (part: KeyPart, i: number) => Sql): Sql {
  return join(
    key.map((part, i) => (part.bytewise ? sql`${value(part, i)} COLLATE "C"` : value(part, i))),
    ', ',
  );
}

/**
 * The dataset as lines of `format`, in key order: one text column, LINE_COLUMN. The rows are
 * sorted first and their lines built after, from the sorted values (a sort of the values moves
 * less than one of the lines); the outer ORDER BY is the one the inner query is already in, so
 * PostgreSQL does not sort again, and the order is the query's own, not an accident of its plan.
 */
export function datasetLines(query: DatasetQuery, format: ExportFormat): Sql {
  const { parent, columns, from, key } = query;
  const name = (prefix: string, i: number) => raw(`${ROW}.${prefix}${i}`);
  const inner = join(
    [
      ...(parent ? [raw(`${PARENT}.part AS part`)] : []),
      ...columns.map((column, i) => sql`${column.value} AS ${raw(`v${i}`)}`),
      ...key.map((part, i) => sql`${part.value} AS ${raw(`k${i}`)}`),
    ],
    ', ',
  );
  const joined = parent
    ? sql`${from} ${parentJoin(
        parent,
        sql`${linePart(
          format,
          parent.columns,
          parent.columns.map((c) => c.value),
        )} AS part`,
      )}`
    : from;
  const text = line(
    format,
    parent && raw(`${ROW}.part`),
    parent?.columns.length ?? 0,
    columns,
    columns.map((_, i) => name('v', i)),
  );
  return sql`SELECT ${text} AS ${raw(LINE_COLUMN)}
    FROM (SELECT ${inner} ${joined} ORDER BY ${keyOrder(key, (part) => part.value)} OFFSET 0) ${raw(ROW)}
    ORDER BY ${keyOrder(key, (_, i) => name('k', i))}`;
}

/**
 * The dataset as rows, each column under its name, nested values as json (which the drivers
 * parse): the row whose JSON.stringify each line of `datasetLines` is.
 */
export function datasetRows(query: DatasetQuery): Sql {
  const { parent, columns, from, key } = query;
  const selected = (column: ExportedColumn, value: Sql) =>
    sql`${column.kind === 'json' ? sql`CAST(${value} AS json)` : value} AS ${raw(`"${column.name}"`)}`;
  const joined = parent
    ? sql`${from} ${parentJoin(
        parent,
        join(
          parent.columns.map((c, i) => sql`${c.value} AS ${raw(`p${i}`)}`),
          ', ',
        ),
      )}`
    : from;
  return sql`SELECT ${join(
    [
      ...(parent?.columns ?? []).map((column, i) => selected(column, raw(`${PARENT}.p${i}`))),
      ...columns.map((column) => selected(column, column.value)),
    ],
    ', ',
  )} ${joined} ORDER BY ${keyOrder(key, (part) => part.value)}`;
}
