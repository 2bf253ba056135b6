import type { EndpointSpec } from '../../api/endpoints.js';
import { byUuid, items } from '../../api/duplicates.js';
import { follow, TREE } from '../tree.js';
import type { Route } from './types.js';

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
  children: follow(TREE.seasons, payload, scope, meta),
});

export const seasonsEndpoint: EndpointSpec<'seasons'> = {
  label: 'seasons',
  path: (seriesUuid) => `/series/${seriesUuid}/seasons`,
  itemLists: [''],
  keyedLists: (data, skip) => [items(data, '', skip).map(byUuid)],
  route: seasonsRoute,
};
