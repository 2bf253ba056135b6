/**
 * The one list of endpoints: each route module declares its endpoint, and this lists them in the
 * crawl tree's order. LABELS, the Label type, paths, item lists, duplicate keys and the crawl
 * tree's edges (TREE, LEAF_LABELS) all come from here (src/api/endpoints.ts). Nothing here is
 * imported back by the route modules at run time.
 */
import { calendarEndpoint } from './calendar.js';
import { classificationEndpoint } from './classification.js';
import { seasonsEndpoint } from './seasons.js';
import { seriesEndpoint } from './series.js';

export const ENDPOINTS = Object.freeze({
  series: seriesEndpoint,
  seasons: seasonsEndpoint,
  calendar: calendarEndpoint,
  classification: classificationEndpoint,
});
