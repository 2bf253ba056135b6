import type { EndpointSpec } from '../../api/endpoints.js';
import { byUuid, items } from '../../api/duplicates.js';
import { checkSeriesExist, follow, followEach, type StoredChildren } from '../tree.js';
import { seasonsEdge } from './seasons.js';
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
    children: follow(seasonsEdge, payload, scope, meta),
  };
};

/** For the sweep: the season lists the live series rows lead to. */
const storedChildren: StoredChildren = async (db, parents, scope) => {
  const rows = await db('series')
    .whereNull('deleted_at')
    .select<{ uuid: string; short_code: string | null; name: string | null }[]>('uuid', 'short_code', 'name');
  const nodes = rows.map((s) => ({ parent: undefined, uuid: s.uuid, shortCode: s.short_code, name: s.name }));
  return followEach(seasonsEdge, parents, nodes, scope);
};

export const seriesEndpoint: EndpointSpec<'series'> = {
  label: 'series',
  path: () => '/series',
  itemLists: [''],
  keyedLists: (data, skip) => [items(data, '', skip).map(byUuid)],
  route: seriesRoute,
  // The list names no parent.
  namesParent: undefined,
  // The root: it hangs from nothing.
  edge: undefined,
  storedChildren,
};
