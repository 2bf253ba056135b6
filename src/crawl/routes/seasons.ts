import type { SeasonsPayload } from '../../api/payloads.generated.js';
import { yearEnd } from './calendar.js';
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

/**
 * When a series stopped, in epoch ms, read from its seasons list: the end of its newest season's
 * last year (`endYear`, else `year`), when upstream marks that season `Historic`. Undefined while
 * the newest season is current or unmarked, and for an empty list or a season without a year: the
 * series may be running, or about to.
 */
export function seriesStopped(seasons: SeasonsPayload): number | undefined {
  let newest: { end: number; historic: boolean } | undefined;
  for (const season of seasons) {
    const end = yearEnd(season.endYear ?? season.year);
    if (end === undefined) return undefined;
    if (!newest || end > newest.end || (end === newest.end && season.status !== 'Historic')) newest = { end, historic: season.status === 'Historic' };
  }
  return newest?.historic ? newest.end : undefined;
}
