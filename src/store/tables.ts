/**
 * One spec per table: its name, key, stored columns (in hash order) and SQL types. The sink, the
 * complete sets (soft deletes) and the exporters are driven by these specs; the migrations create the same
 * tables, and test/store/tables.test.ts checks the two agree column for column.
 */
import { keysOf } from '../record.js';

/** A value as the sink binds it: already in the form PostgreSQL stores. */
export type Cell = string | number | boolean | null;

/** SQL types the specs use (for casts of bound arrays). */
export type SqlType =
  | 'uuid'
  | 'text'
  | 'integer'
  | 'double precision'
  | 'boolean'
  | 'date'
  | 'timestamptz'
  | 'timestamp';

export interface SeriesRow {
  uuid: string;
  name: string | null;
  short_name: string | null;
  short_code: string | null;
  category: string | null;
}
export interface SeasonRow {
  uuid: string;
  series_uuid: string;
  name: string | null;
  year: number | null;
  end_year: number | null;
  status: string | null;
}
/** A venue's picture is the circuit layout of one season, so it is stored per event (venue_picture). */
export interface VenueRow {
  uuid: string;
  name: string | null;
  short_name: string | null;
  short_code: string | null;
}
export interface CountryRow {
  uuid: string;
  name: string | null;
  picture: string | null;
}
export interface EventRow {
  uuid: string;
  season_uuid: string;
  venue_uuid: string;
  country_uuid: string;
  name: string | null;
  short_name: string | null;
  short_code: string | null;
  status: string | null;
  venue_picture: string | null;
  start_date: string | null;
  start_time_utc: string | null;
  end_date: string | null;
  end_time_utc: string | null;
}
export interface SessionRow {
  uuid: string;
  event_uuid: string;
  name: string | null;
  short_name: string | null;
  short_code: string | null;
  status: string | null;
  has_results: boolean | null;
  start_time: string | null;
  start_time_utc: string | null;
  end_time: string | null;
  end_time_utc: string | null;
}
export interface DriverRow {
  uuid: string;
  name: string | null;
  first_name: string | null;
  last_name: string | null;
  short_code: string | null;
  colour: string | null;
  picture: string | null;
}
/** A team is only its identity: its name and colours vary per car, so they live on entries. */
export interface TeamRow {
  uuid: string;
}
export interface EntryRow {
  session_uuid: string;
  car_number: string;
  team_uuid: string;
  team_name: string | null;
  team_colour: string | null;
  team_picture: string | null;
  team_car_icon: string | null;
}
export interface EntryDriverRow {
  session_uuid: string;
  car_number: string;
  driver_uuid: string;
  position: number;
}
export interface ClassificationRow {
  session_uuid: string;
  car_number: string;
  nationality_uuid: string;
  finish_position: number | null;
  grid_position: number | null;
  laps: number | null;
  points: number | null;
  time_ms: number | null;
  classified_status: string | null;
  avg_lap_speed: number | null;
  fastest_lap_time_ms: number | null;
  gap_time_to_lead_ms: number | null;
  gap_time_to_next_ms: number | null;
  gap_laps_to_lead: number | null;
  gap_laps_to_next: number | null;
  best_lap: number | null;
  best_time_ms: number | null;
  best_fastest: boolean | null;
  best_speed: number | null;
}
export interface RetirementRow {
  session_uuid: string;
  car_number: string;
  driver_uuid: string;
  reason: string | null;
  type: string | null;
  dns: boolean | null;
  lap: number | null;
  details: string | null;
}

export interface RowByTable {
  series: SeriesRow;
  seasons: SeasonRow;
  venues: VenueRow;
  countries: CountryRow;
  events: EventRow;
  sessions: SessionRow;
  drivers: DriverRow;
  teams: TeamRow;
  entries: EntryRow;
  entry_drivers: EntryDriverRow;
  classifications: ClassificationRow;
  retirements: RetirementRow;
}
export type TableName = keyof RowByTable;

export interface TableSpec<T extends TableName = TableName> {
  readonly name: T;
  readonly key: readonly (keyof RowByTable[T] & string)[];
  /**
   * Rows that many payloads repeat (a driver appears in every session he drives) and that no
   * payload holds completely, so they are never soft-deleted: the sink may skip one it has
   * already committed with the same hash in this process.
   */
  readonly shared?: true;
  /** Every stored column with its type, in the order the hash encodes them. */
  readonly columns: { readonly [C in keyof RowByTable[T] & string]: SqlType };
}

function spec<T extends TableName>(table: TableSpec<T>): TableSpec<T> {
  return Object.freeze(table);
}

/** Rows per table, as a route hands them to the sink. */
export type RowsByTable = { [T in TableName]?: RowByTable[T][] };

/**
 * Declared parents before children (a table after every table its foreign keys reference): this
 * order is TABLE_ORDER, and test/api/endpoint-declarations.test.ts checks it against the foreign
 * keys the migrations create.
 */
export const TABLES: { readonly [T in TableName]: TableSpec<T> } = {
  series: spec({
    name: 'series',
    key: ['uuid'],
    columns: { uuid: 'uuid', name: 'text', short_name: 'text', short_code: 'text', category: 'text' },
  }),
  seasons: spec({
    name: 'seasons',
    key: ['uuid'],
    columns: { uuid: 'uuid', series_uuid: 'uuid', name: 'text', year: 'integer', end_year: 'integer', status: 'text' },
  }),
  venues: spec({
    name: 'venues',
    key: ['uuid'],
    shared: true,
    columns: { uuid: 'uuid', name: 'text', short_name: 'text', short_code: 'text' },
  }),
  countries: spec({
    name: 'countries',
    key: ['uuid'],
    shared: true,
    columns: { uuid: 'uuid', name: 'text', picture: 'text' },
  }),
  events: spec({
    name: 'events',
    key: ['uuid'],
    columns: {
      uuid: 'uuid',
      season_uuid: 'uuid',
      venue_uuid: 'uuid',
      country_uuid: 'uuid',
      name: 'text',
      short_name: 'text',
      short_code: 'text',
      status: 'text',
      venue_picture: 'text',
      start_date: 'date',
      start_time_utc: 'timestamptz',
      end_date: 'date',
      end_time_utc: 'timestamptz',
    },
  }),
  sessions: spec({
    name: 'sessions',
    key: ['uuid'],
    columns: {
      uuid: 'uuid',
      event_uuid: 'uuid',
      name: 'text',
      short_name: 'text',
      short_code: 'text',
      status: 'text',
      has_results: 'boolean',
      start_time: 'timestamp',
      start_time_utc: 'timestamptz',
      end_time: 'timestamp',
      end_time_utc: 'timestamptz',
    },
  }),
  drivers: spec({
    name: 'drivers',
    key: ['uuid'],
    shared: true,
    columns: {
      uuid: 'uuid',
      name: 'text',
      first_name: 'text',
      last_name: 'text',
      short_code: 'text',
      colour: 'text',
      picture: 'text',
    },
  }),
  teams: spec({ name: 'teams', key: ['uuid'], shared: true, columns: { uuid: 'uuid' } }),
  entries: spec({
    name: 'entries',
    key: ['session_uuid', 'car_number'],
    columns: {
      session_uuid: 'uuid',
      car_number: 'text',
      team_uuid: 'uuid',
      team_name: 'text',
      team_colour: 'text',
      team_picture: 'text',
      team_car_icon: 'text',
    },
  }),
  entry_drivers: spec({
    name: 'entry_drivers',
    key: ['session_uuid', 'car_number', 'driver_uuid'],
    columns: { session_uuid: 'uuid', car_number: 'text', driver_uuid: 'uuid', position: 'integer' },
  }),
  classifications: spec({
    name: 'classifications',
    key: ['session_uuid', 'car_number'],
    columns: {
      session_uuid: 'uuid',
      car_number: 'text',
      nationality_uuid: 'uuid',
      finish_position: 'integer',
      grid_position: 'integer',
      laps: 'integer',
      points: 'double precision',
      time_ms: 'double precision',
      classified_status: 'text',
      avg_lap_speed: 'double precision',
      fastest_lap_time_ms: 'double precision',
      gap_time_to_lead_ms: 'double precision',
      gap_time_to_next_ms: 'double precision',
      gap_laps_to_lead: 'integer',
      gap_laps_to_next: 'integer',
      best_lap: 'integer',
      best_time_ms: 'double precision',
      best_fastest: 'boolean',
      best_speed: 'double precision',
    },
  }),
  retirements: spec({
    name: 'retirements',
    key: ['session_uuid', 'car_number'],
    columns: {
      session_uuid: 'uuid',
      car_number: 'text',
      driver_uuid: 'uuid',
      reason: 'text',
      type: 'text',
      dns: 'boolean',
      lap: 'integer',
      details: 'text',
    },
  }),
};

/** Parents before children, as TABLES declares them: the order rows are written in one transaction. */
export const TABLE_ORDER: readonly TableName[] = Object.freeze(keysOf(TABLES));

export function columnsOf<T extends TableName>(table: T): (keyof RowByTable[T] & string)[] {
  return keysOf(TABLES[table].columns);
}

/** A table's key columns by name, for SQL text and for comparing rows column by column. */
export function keyColumns(table: TableName): readonly string[] {
  return TABLES[table].key;
}

/** A table's SQL types by column name. */
export function columnTypes(table: TableName): Readonly<Record<string, SqlType>> {
  return TABLES[table].columns;
}

/** A row's value in one column, by name: the sink binds and compares rows column by column. */
export function cellOf(row: Partial<RowByTable[TableName]>, column: string): Cell {
  // why: row types are interfaces of Cell fields only, which TypeScript does not let a string index.
  return (row as Readonly<Record<string, Cell | undefined>>)[column] ?? null;
}
