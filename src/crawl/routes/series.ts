import type { SeriesItem } from '../../api/payloads.generated.js';
import type { CrawlScope } from '../../config.js';
import type { Route } from './types.js';

/** The series list: every series is stored; the seasons of those the scope selects are fetched. */
export const seriesRoute: Route<'series'> = ({ payload, scope }) => {
  const selected = payload.filter((item) => selectsSeries(scope, item));
  const unmatched = scope.series.filter((wanted) => !payload.some((item) => seriesMatches(wanted, item)));
  return {
    rows: {
      series: payload.map((s) => ({ uuid: s.uuid, name: s.name, short_name: s.shortName, short_code: s.shortCode, category: s.category })),
    },
    complete: [{ table: 'series', where: {} }],
    children: selected.map((s) => ({ target: { label: 'seasons', uuid: s.uuid }, meta: { historic: false } })),
    warnings: unmatched.map((wanted) => `--series "${wanted}" matches no series (by uuid, shortCode or name)`),
  };
};

export function selectsSeries(scope: CrawlScope, item: SeriesItem): boolean {
  return scope.series.length === 0 || scope.series.some((wanted) => seriesMatches(wanted, item));
}

function seriesMatches(wanted: string, item: SeriesItem): boolean {
  const w = wanted.toLowerCase();
  return [item.uuid, item.shortCode, item.name].some((field) => field?.toLowerCase() === w);
}
