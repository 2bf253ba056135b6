import type { EndpointSpec } from '../../api/endpoints.js';
import { byUuid, items } from '../../api/duplicates.js';
import { checkSeriesExist, follow, TREE } from '../tree.js';
import type { Route } from './types.js';

/**
 * The series list: every series is stored; the seasons of those the filters select are fetched.
 * A --series value matching no series is the user's mistake: it stops the crawl (UserError)
 * before anything is stored or fetched beyond this list.
 */
export const seriesRoute: Route<'series'> = ({ payload, scope, meta }) => {
  checkSeriesExist(scope, payload);
  return {
    rows: {
      series: payload.map((s) => ({
        uuid: s.uuid,
        name: s.name,
        short_name: s.shortName,
        short_code: s.shortCode,
        category: s.category,
      })),
    },
    complete: [{ table: 'series', where: {} }],
    children: follow(TREE.series, payload, scope, meta),
  };
};

export const seriesEndpoint: EndpointSpec<'series'> = {
  label: 'series',
  path: () => '/series',
  itemLists: [''],
  keyedLists: (data, skip) => [items(data, '', skip).map(byUuid)],
  route: seriesRoute,
};
