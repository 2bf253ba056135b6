import type { Label } from '../../api/endpoints.js';
import { calendarRoute } from './calendar.js';
import { classificationRoute } from './classification.js';
import { seasonsRoute } from './seasons.js';
import { seriesRoute } from './series.js';
import type { Route } from './types.js';

/** One route per label. */
export const ROUTES: { readonly [L in Label]: Route<L> } = {
  series: seriesRoute,
  seasons: seasonsRoute,
  calendar: calendarRoute,
  classification: classificationRoute,
};

/**
 * Labels whose route never yields children or warnings (the leaves of the tree): a body already
 * stored needs not even be parsed.
 */
export const LEAF_LABELS: ReadonlySet<Label> = new Set(['classification']);
