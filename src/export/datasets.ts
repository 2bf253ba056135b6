/**
 * The exported datasets: one per table (its stored columns in camelCase, in key order) and
 * `results`, the join someone analysing results wants: one row per classified car with the names
 * of its series, season, event and session, its drivers, the team as shown for that car and every
 * result field. Each dataset is a query over a View, so the same definitions serve the current
 * data and the data as of an instant, filtered or not.
 */
import type { Label } from '../api/endpoints.js';
import { TABLE_ORDER, columnTypes, keyColumns, type TableName } from '../store/tables.js';
import { exportedAs, exportedColumn, exportedColumns, type ExportedColumn } from './columns.js';
import { raw, sql, type Sql } from '../store/sql.js';

export type DatasetName = TableName | 'results';

export interface View {
  /** Derived table of the live rows of `table` (now, or as of the export's instant). */
  live(table: TableName): Sql;
  /** The same, restricted to the rows within the filters. */
  within(table: TableName): Sql;
  /**
   * Boolean expression: the `label` payload of the parent `parent`
   * (an SQL uuid expression) lost items (see incomplete.ts).
   */
  incomplete(label: Label, parent: string): Sql;
}

/** A column of a dataset's key. Text compares bytewise (COLLATE "C"), so that every server sorts alike. */
export interface KeyPart {
  readonly value: Sql;
  readonly bytewise: boolean;
}

/**
 * Leading columns that every row of one parent row shares (results: its session's, series to
 * session), read from a derived table of one row per parent: lines.ts builds their text once per
 * parent, not once per row.
 */
export interface ParentColumns {
  readonly columns: readonly ExportedColumn[];
  /** FROM and the joins of the parents' rows. */
  readonly from: Sql;
  /** The parent's key in `from`… */
  readonly key: Sql;
  /** …which the dataset's rows are (inner) joined on: a row without its parent is not in the dataset. */
  readonly keyOfRow: Sql;
}

/** A dataset's query in parts, which lines.ts puts together as rows or as lines of text. */
export interface DatasetQuery {
  /** Columns before `columns`, built once per parent row. */
  readonly parent?: ParentColumns;
  /** The exported columns (after the parent's), with camelCase names. */
  readonly columns: readonly ExportedColumn[];
  /** FROM and the joins: every row of the dataset, in no order. */
  readonly from: Sql;
  /** The dataset's key: its rows in this order. */
  readonly key: readonly KeyPart[];
}

/** The exported names of a dataset's columns, in order. */
export function columnNames(query: DatasetQuery): string[] {
  return [...(query.parent?.columns ?? []), ...query.columns].map((column) => column.name);
}

/** The key of `table`, its columns under `alias`. */
function tableKey(table: TableName, alias: string): KeyPart[] {
  const types = columnTypes(table);
  return keyColumns(table).map((column) => ({ value: raw(`${alias}.${column}`), bytewise: types[column] === 'text' }));
}

export interface Dataset {
  readonly name: DatasetName;
  /** Every row of the dataset, ordered by its key. */
  query(view: View): DatasetQuery;
}

/** The rows that are the parents of a list payload, and that payload's label: they carry `incomplete`. */
const LIST_OF: Partial<Record<TableName, Label>> = {
  series: 'seasons',
  seasons: 'calendar',
  sessions: 'classification',
};

function tableDataset(table: TableName): Dataset {
  const list = LIST_OF[table];
  return {
    name: table,
    query: (view) => ({
      columns: [
        ...exportedColumns(table, 't'),
        ...(list ? [exportedAs('incomplete', view.incomplete(list, 't.uuid'), 'boolean')] : []),
      ],
      from: sql`FROM ${view.within(table)} t`,
      key: tableKey(table, 't'),
    }),
  };
}

/** A JSON array of JSON texts, as compact JSON text: what JSON.stringify writes for the same array. */
function jsonArray(elements: string, order: string): string {
  return `'[' || string_agg(${elements}, ',' ORDER BY ${order}) || ']'`;
}

/**
 * A team row holds only its uuid; its names live on entries (they vary per car), so they are added.
 * Nested values are built as compact JSON text (json_agg would put spaces after its commas).
 */
const teams: Dataset = {
  name: 'teams',
  query: (view) => ({
    columns: [...exportedColumns('teams', 't'), exportedAs('names', raw(`coalesce(n.names, '[]')`), 'json')],
    from: sql`
    FROM ${view.within('teams')} t
    LEFT JOIN (
      SELECT team_uuid, ${raw(jsonArray('to_json(team_name)::text', 'team_name COLLATE "C"'))} AS names
      FROM (SELECT DISTINCT team_uuid, team_name FROM ${view.within('entries')} e
            WHERE team_name IS NOT NULL) distinct_names
      GROUP BY team_uuid
    ) n ON n.team_uuid = t.uuid`,
    key: tableKey('teams', 't'),
  }),
};

/** A driver of a car as a JSON object, `{"uuid":…,"name":…}`. */
const DRIVER =
  `'{"uuid":' || to_json(ed.driver_uuid)::text` + ` || ',"name":' || coalesce(to_json(d.name)::text, 'null') || '}'`;

/**
 * A classification row with everything it hangs from, by name. The chain up to the series is an
 * inner join: a result whose session (or event…) is no longer live has left the tree. That chain is
 * the same for every car of a session: it is the parent part, one row per session. The team as
 * shown for the car comes from its entry; the drivers, in their order in the car, from entry_drivers.
 */
const results: Dataset = {
  name: 'results',
  query: (view) => ({
    parent: {
      columns: [
        exportedColumn('series', 'sr', 'uuid', 'series'),
        exportedColumn('series', 'sr', 'name', 'series'),
        exportedColumn('seasons', 'se', 'uuid', 'season'),
        exportedColumn('seasons', 'se', 'name', 'season'),
        exportedColumn('seasons', 'se', 'year', 'season'),
        exportedColumn('events', 'ev', 'uuid', 'event'),
        exportedColumn('events', 'ev', 'name', 'event'),
        exportedColumn('events', 'ev', 'start_date', 'event'),
        exportedColumn('venues', 'v', 'name', 'venue'),
        exportedColumn('sessions', 's', 'uuid', 'session'),
        exportedColumn('sessions', 's', 'name', 'session'),
        exportedColumn('sessions', 's', 'start_time', 'session'),
        exportedColumn('sessions', 's', 'start_time_utc', 'session'),
      ],
      from: sql`
      FROM ${view.live('sessions')} s
      JOIN ${view.live('events')} ev ON ev.uuid = s.event_uuid
      JOIN ${view.live('seasons')} se ON se.uuid = ev.season_uuid
      JOIN ${view.live('series')} sr ON sr.uuid = se.series_uuid
      LEFT JOIN ${view.live('venues')} v ON v.uuid = ev.venue_uuid`,
      key: raw('s.uuid'),
      keyOfRow: raw('c.session_uuid'),
    },
    columns: [
      exportedColumn('classifications', 'c', 'car_number'),
      exportedAs('drivers', raw(`coalesce(dr.drivers, '[]')`), 'json'),
      exportedColumn('entries', 'e', 'team_uuid'),
      exportedColumn('entries', 'e', 'team_name'),
      exportedColumn('entries', 'e', 'team_colour'),
      exportedColumn('classifications', 'c', 'nationality_uuid'),
      exportedColumn('countries', 'n', 'name', 'nationality'),
      ...exportedColumns('classifications', 'c', ['session_uuid', 'car_number', 'nationality_uuid']),
      exportedAs('sessionIncomplete', view.incomplete('classification', 'c.session_uuid'), 'boolean'),
    ],
    from: sql`
    FROM ${view.within('classifications')} c
    LEFT JOIN ${view.live('entries')} e ON e.session_uuid = c.session_uuid AND e.car_number = c.car_number
    LEFT JOIN ${view.live('countries')} n ON n.uuid = c.nationality_uuid
    LEFT JOIN (
      SELECT ed.session_uuid, ed.car_number, ${raw(jsonArray(DRIVER, 'ed.position'))} AS drivers
      FROM ${view.live('entry_drivers')} ed LEFT JOIN ${view.live('drivers')} d ON d.uuid = ed.driver_uuid
      GROUP BY ed.session_uuid, ed.car_number
    ) dr ON dr.session_uuid = c.session_uuid AND dr.car_number = c.car_number`,
    key: tableKey('classifications', 'c'),
  }),
};

/** Every dataset, parents before children, `results` last. */
export const DATASETS: readonly Dataset[] = [
  ...TABLE_ORDER.map((table) => (table === 'teams' ? teams : tableDataset(table))),
  results,
];
