import type { Route } from './types.js';

/** A series' seasons: all stored; the calendars of those within --from-year/--to-year fetched. */
export const seasonsRoute: Route<'seasons'> = ({ payload, parentUuid, scope }) => ({
  rows: {
    seasons: payload.map((s) => ({
      uuid: s.uuid, series_uuid: parentUuid, name: s.name, year: s.year, end_year: s.endYear, status: s.status,
    })),
  },
  complete: [{ table: 'seasons', where: { series_uuid: parentUuid } }],
  children: payload
    .filter((s) => inYears(s.year, scope.fromYear, scope.toYear))
    // Status is free text; only an explicit 'Historic' is trusted to mean "will not change".
    .map((s) => ({ target: { label: 'calendar', uuid: s.uuid }, meta: { historic: s.status === 'Historic' } })),
});

function inYears(year: number | null, from: number | undefined, to: number | undefined): boolean {
  if (from === undefined && to === undefined) return true;
  if (year === null) return false;
  return (from === undefined || year >= from) && (to === undefined || year <= to);
}
