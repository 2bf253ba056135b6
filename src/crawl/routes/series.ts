import type { SeriesItem } from '../../api/payloads.generated.js';
import type { CrawlScope } from '../../config.js';
import { editDistance } from '../../closest.js';
import { UserError } from '../../errors.js';
import type { Route } from './types.js';

/**
 * The series list: every series is stored; the seasons of those the scope selects are fetched.
 * A --series value matching no series is the user's mistake: it stops the crawl (UserError)
 * before anything is stored or fetched beyond this list.
 */
export const seriesRoute: Route<'series'> = ({ payload, scope }) => {
  checkSeriesExist(scope, payload);
  const selected = payload.filter((item) => selectsSeries(scope, item));
  return {
    rows: {
      series: payload.map((s) => ({ uuid: s.uuid, name: s.name, short_name: s.shortName, short_code: s.shortCode, category: s.category })),
    },
    complete: [{ table: 'series', where: {} }],
    children: selected.map((s) => ({ target: { label: 'seasons', uuid: s.uuid }, meta: { historic: false } })),
  };
};

export function selectsSeries(scope: CrawlScope, item: SeriesItem): boolean {
  return scope.series.length === 0 || scope.series.some((wanted) => seriesMatches(wanted, item));
}

function seriesMatches(wanted: string, item: SeriesItem): boolean {
  const w = wanted.toLowerCase();
  return [item.uuid, item.shortCode, item.name].some((field) => field?.toLowerCase() === w);
}

/** Series the closest matches of a --series value are named from. */
const CLOSEST_NAMED = 3;

/** Throws a UserError naming every --series value that matches no series, with the closest series to each. */
export function checkSeriesExist(scope: CrawlScope, series: readonly SeriesItem[]): void {
  const unmatched = scope.series.filter((wanted) => !series.some((item) => seriesMatches(wanted, item)));
  if (!unmatched.length) return;
  const described = unmatched.map((wanted) => {
    const nearest = closestSeries(wanted, series);
    return `"${wanted}"${nearest.length ? ` (closest: ${nearest.join(', ')})` : ''}`;
  });
  const none = series.length ? '' : ' (the series list is empty)';
  throw new UserError(`--series ${described.join('; ')} ${unmatched.length === 1 ? 'matches' : 'match'} no series by uuid, shortCode or name${none}`);
}

function closestSeries(wanted: string, series: readonly SeriesItem[]): string[] {
  return series
    .map((item) => ({
      item,
      distance: Math.min(...[item.shortCode, item.name].filter((f): f is string => !!f).map((f) => editDistance(wanted, f))),
    }))
    .sort((a, b) => a.distance - b.distance)
    .slice(0, CLOSEST_NAMED)
    .map(({ item }) => (item.shortCode ? `${item.shortCode} "${item.name ?? ''}"` : `"${item.name ?? item.uuid}"`));
}
