/**
 * The export's filters, meaning exactly what crawl's mean: the series and seasons they select are
 * those the crawl tree (crawl/tree.ts) leads to from the stored series and seasons, by the same
 * code the routes run, so the two commands cannot drift apart. Everything else follows from the
 * selected seasons: their events, those events' sessions, the entries, results and retirements of
 * those sessions, and the venues, countries, drivers and teams that those rows refer to.
 */
import type { Knex } from 'knex';
import type { CrawlScope } from '../config.js';
import { calendarEdge } from '../crawl/routes/calendar.js';
import { seasonsEdge } from '../crawl/routes/seasons.js';
import { checkSeriesExist, follow, isWholeTree, ROOT } from '../crawl/tree.js';
import type { SeasonRow, SeriesRow, TableName } from '../store/tables.js';
import { liveRows } from '../store/as-of.js';
import { sql, type Sql } from '../store/sql.js';

/** The series and seasons the filters select (uuids). */
export interface Selection {
  readonly series: readonly string[];
  readonly seasons: readonly string[];
}

/** The selection the filters make among the rows live at `asOf`; undefined when there are no filters. */
export async function selectScope(
  db: Knex | Knex.Transaction,
  scope: CrawlScope,
  asOf: string | undefined,
): Promise<Selection | undefined> {
  if (isWholeTree(scope)) return undefined;
  const allSeries = await rowsOf<Pick<SeriesRow, 'uuid' | 'name' | 'short_code'>>(
    db,
    sql`SELECT uuid, name, short_code FROM ${liveRows('series', asOf)} t`,
  );
  const nodes = allSeries.map((s) => ({ uuid: s.uuid, shortCode: s.short_code, name: s.name }));
  // A --series matching nothing would export empty files without a word.
  checkSeriesExist(scope, nodes);
  const series = follow(seasonsEdge, nodes, scope, ROOT.meta).map((r) => r.target.uuid);
  const seasons = await rowsOf<Pick<SeasonRow, 'uuid' | 'year' | 'status'>>(
    db,
    sql`SELECT uuid, year, status FROM ${liveRows('seasons', asOf)} t
      WHERE t.series_uuid = ANY(CAST(${series} AS uuid[]))`,
  );
  const selectedSeasons = follow(calendarEdge, seasons, scope, ROOT.meta).map((r) => r.target.uuid);
  return { series, seasons: selectedSeasons };
}

/** A derived table of the live rows of `table` within the selection (all live rows without one). */
export function rowsWithin(table: TableName, asOf: string | undefined, selection: Selection | undefined): Sql {
  if (!selection) return liveRows(table, asOf);
  const within = (parent: TableName) => rowsWithin(parent, asOf, selection);
  return sql`(SELECT * FROM ${liveRows(table, asOf)} t WHERE ${IN_SCOPE[table](within, selection)})`;
}

type Within = (table: TableName) => Sql;

/** What puts a row (alias `t`) of each table in scope, in terms of the scoped rows of other tables. */
const IN_SCOPE: { readonly [T in TableName]: (within: Within, selection: Selection) => Sql } = {
  series: (_, s) => sql`t.uuid = ANY(CAST(${s.series} AS uuid[]))`,
  seasons: (_, s) => sql`t.uuid = ANY(CAST(${s.seasons} AS uuid[]))`,
  events: (_, s) => sql`t.season_uuid = ANY(CAST(${s.seasons} AS uuid[]))`,
  sessions: (within) => sql`t.event_uuid IN (SELECT uuid FROM ${within('events')} e)`,
  venues: (within) => sql`t.uuid IN (SELECT venue_uuid FROM ${within('events')} e)`,
  countries: (within) =>
    sql`t.uuid IN (SELECT country_uuid FROM ${within('events')} e
      UNION ALL SELECT nationality_uuid FROM ${within('classifications')} c)`,
  drivers: (within) =>
    sql`t.uuid IN (SELECT driver_uuid FROM ${within('entry_drivers')} ed
      UNION ALL SELECT driver_uuid FROM ${within('retirements')} r)`,
  teams: (within) => sql`t.uuid IN (SELECT team_uuid FROM ${within('entries')} e)`,
  entries: inScopeSessions,
  entry_drivers: inScopeSessions,
  classifications: inScopeSessions,
  retirements: inScopeSessions,
};

function inScopeSessions(within: Within): Sql {
  return sql`t.session_uuid IN (SELECT uuid FROM ${within('sessions')} s)`;
}

async function rowsOf<T>(db: Knex | Knex.Transaction, query: Sql): Promise<T[]> {
  return (await db.raw<{ rows: T[] }>(query.text, query.bindings)).rows;
}
