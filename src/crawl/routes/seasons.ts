import type { EndpointSpec } from '../../api/endpoints.js';
import { byUuid, items } from '../../api/duplicates.js';
import {
  follow,
  followEach,
  selectsSeries,
  uuidsOf,
  type Edge,
  type SeriesNode,
  type StoredChildren,
} from '../tree.js';
import { calendarEdge } from './calendar.js';
import type { Route } from './types.js';

/** A series' season list is fetched for each series the filters select. */
export const seasonsEdge = {
  child: 'seasons',
  parent: 'series',
  selects: selectsSeries,
  // A series' season list changes as seasons are added: never historic.
  meta: () => ({ historic: false }),
} satisfies Edge<'seasons', SeriesNode>;

/** A series' seasons: all stored; the calendars of those within --from-year/--to-year fetched. */
export const seasonsRoute: Route<'seasons'> = ({ payload, parentUuid, scope, meta }) => ({
  rows: {
    seasons: payload.map((s) => ({
      uuid: s.uuid,
      series_uuid: parentUuid,
      name: s.name,
      year: s.year,
      end_year: s.endYear,
      status: s.status,
    })),
  },
  complete: [{ table: 'seasons', where: { series_uuid: parentUuid } }],
  children: follow(calendarEdge, payload, scope, meta),
});

/** For the sweep: the calendars the live season rows of these series lead to. */
const storedChildren: StoredChildren = async (db, parents, scope) => {
  const rows = await db('seasons')
    .whereNull('deleted_at')
    .whereIn('series_uuid', uuidsOf(parents))
    .select<{ uuid: string; series_uuid: string; year: number | null; status: string | null }[]>(
      'uuid',
      'series_uuid',
      'year',
      'status',
    );
  return followEach(
    calendarEdge,
    parents,
    rows.map((s) => ({ parent: s.series_uuid, uuid: s.uuid, year: s.year, status: s.status })),
    scope,
  );
};

export const seasonsEndpoint: EndpointSpec<'seasons'> = {
  label: 'seasons',
  path: (seriesUuid) => `/series/${seriesUuid}/seasons`,
  itemLists: [''],
  keyedLists: (data, skip) => [items(data, '', skip).map(byUuid)],
  route: seasonsRoute,
  // Its items name their seasons, never their series.
  namesParent: undefined,
  edge: seasonsEdge,
  storedChildren,
};
