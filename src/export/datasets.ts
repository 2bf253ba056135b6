/**
 * The exported datasets: one per table (its stored columns in camelCase, in key order) and
 * `results`, the join someone analysing results wants: one row per classified car with the names
 * of its series, season, event and session, its drivers, the team as shown for that car and every
 * result field. Each dataset is a query over a View, so the same definitions serve the current
 * data and the data as of an instant, filtered or not.
 */
import type { Label } from '../api/endpoints.js';
import { TABLE_ORDER, type TableName } from '../store/tables.js';
import { exportedColumn, exportedColumns } from './columns.js';
import { join, keyOrder, raw, sql, type Sql } from '../store/sql.js';

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

export interface Dataset {
  readonly name: DatasetName;
  /** Every row of the dataset, ordered by its key, with camelCase column names. */
  query(view: View): Sql;
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
    query: (view) => {
      const columns = list
        ? sql`${exportedColumns(table, 't')}, ${view.incomplete(list, 't.uuid')} AS "incomplete"`
        : exportedColumns(table, 't');
      return sql`SELECT ${columns} FROM ${view.within(table)} t ORDER BY ${keyOrder(table, 't')}`;
    },
  };
}

/** A team row holds only its uuid; its names live on entries (they vary per car), so they are added. */
const teams: Dataset = {
  name: 'teams',
  query: (view) => sql`
    SELECT ${exportedColumns('teams', 't')}, coalesce(n.names, '[]'::json) AS "names"
    FROM ${view.within('teams')} t
    LEFT JOIN (
      SELECT team_uuid, json_agg(team_name ORDER BY team_name COLLATE "C") AS names
      FROM (SELECT DISTINCT team_uuid, team_name FROM ${view.within('entries')} e
            WHERE team_name IS NOT NULL) distinct_names
      GROUP BY team_uuid
    ) n ON n.team_uuid = t.uuid
    ORDER BY ${keyOrder('teams', 't')}`,
};

/**
 * A classification row with everything it hangs from, by name. The chain up to the series is an
 * inner join: a result whose session (or event…) is no longer live has left the tree. The team as
 * shown for the car comes from its entry; the drivers, in their order in the car, from entry_drivers.
 */
const results: Dataset = {
  name: 'results',
  query: (view) => sql`
    SELECT ${join(
      [
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
        exportedColumn('classifications', 'c', 'car_number'),
        raw(`coalesce(dr.drivers, '[]'::json) AS "drivers"`),
        exportedColumn('entries', 'e', 'team_uuid'),
        exportedColumn('entries', 'e', 'team_name'),
        exportedColumn('entries', 'e', 'team_colour'),
        exportedColumn('classifications', 'c', 'nationality_uuid'),
        exportedColumn('countries', 'n', 'name', 'nationality'),
        exportedColumns('classifications', 'c', ['session_uuid', 'car_number', 'nationality_uuid']),
        sql`${view.incomplete('classification', 's.uuid')} AS "sessionIncomplete"`,
      ],
      ', ',
    )}
    FROM ${view.within('classifications')} c
    JOIN ${view.live('sessions')} s ON s.uuid = c.session_uuid
    JOIN ${view.live('events')} ev ON ev.uuid = s.event_uuid
    JOIN ${view.live('seasons')} se ON se.uuid = ev.season_uuid
    JOIN ${view.live('series')} sr ON sr.uuid = se.series_uuid
    LEFT JOIN ${view.live('venues')} v ON v.uuid = ev.venue_uuid
    LEFT JOIN ${view.live('entries')} e ON e.session_uuid = c.session_uuid AND e.car_number = c.car_number
    LEFT JOIN ${view.live('countries')} n ON n.uuid = c.nationality_uuid
    LEFT JOIN (
      SELECT ed.session_uuid, ed.car_number, json_agg(json_build_object('uuid', ed.driver_uuid, 'name', d.name)
             ORDER BY ed.position) AS drivers
      FROM ${view.live('entry_drivers')} ed LEFT JOIN ${view.live('drivers')} d ON d.uuid = ed.driver_uuid
      GROUP BY ed.session_uuid, ed.car_number
    ) dr ON dr.session_uuid = c.session_uuid AND dr.car_number = c.car_number
    ORDER BY ${keyOrder('classifications', 'c')}`,
};

/** Every dataset, parents before children, `results` last. */
export const DATASETS: readonly Dataset[] = [
  ...TABLE_ORDER.map((table) => (table === 'teams' ? teams : tableDataset(table))),
  results,
];
