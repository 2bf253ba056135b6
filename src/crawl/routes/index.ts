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
