/**
 * The four endpoints of the widgets API: their labels, their paths, and the lists inside their
 * payloads whose items are validated (and quarantined) one by one. Paths are only ever built from
 * UUIDs that passed UUID_PATTERN, so no payload can steer a request elsewhere.
 */
import type { PayloadByLabel } from './payloads.generated.js';

/** Each endpoint's payload type, generated from schemas/<label>.json (npm run gen:types). */
export type { PayloadByLabel };

export const LABELS = ['series', 'seasons', 'calendar', 'classification'] as const;
export type Label = (typeof LABELS)[number];

/** Whether a value read from outside (a queue on disk, a database row) is one of the labels. */
export function isLabel(value: unknown): value is Label {
  return LABELS.some((label) => label === value);
}

/** The same pattern as definitions.uuid in schemas/*.json. */
export const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export interface EndpointSpec {
  readonly label: Label;
  /** The API path for the parent UUID (none for the series list). */
  readonly path: (uuid: string) => string;
  /**
   * JSON pointers of the arrays whose items are independent records: one bad item is quarantined
   * and the rest of the payload is kept. '' is the payload itself.
   */
  readonly itemLists: readonly string[];
}

const PREFIX = '/widgets/1.0.0';

export const ENDPOINTS: { readonly [L in Label]: EndpointSpec } = {
  series: { label: 'series', path: () => `${PREFIX}/series`, itemLists: [''] },
  seasons: { label: 'seasons', path: (uuid) => `${PREFIX}/series/${uuid}/seasons`, itemLists: [''] },
  calendar: { label: 'calendar', path: (uuid) => `${PREFIX}/seasons/${uuid}/calendar`, itemLists: ['/events'] },
  classification: {
    label: 'classification',
    path: (uuid) => `${PREFIX}/sessions/${uuid}/classification`,
    itemLists: ['/details', '/retirements'],
  },
};

/** What one request asks for: an endpoint and the UUID of its parent (the series list has none). */
export type ApiTarget =
  | { readonly label: 'series'; readonly uuid?: undefined }
  | { readonly label: Exclude<Label, 'series'>; readonly uuid: string };

/** The API path of a target; throws on anything that is not a UUID. */
export function apiPath(target: ApiTarget): string {
  if (target.label === 'series') return ENDPOINTS.series.path('');
  if (!UUID_PATTERN.test(target.uuid)) throw new Error(`refusing to build a ${target.label} path from "${target.uuid}": not a UUID`);
  return ENDPOINTS[target.label].path(target.uuid);
}

/** The cache key and queue identity of a target: `<label>-<uuid>`, `series-all` for the list. */
export function targetKey(target: ApiTarget): string {
  return `${target.label}-${target.uuid ?? 'all'}`;
}
