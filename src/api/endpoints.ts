/**
 * The endpoints of the widgets API, each declared once by its route module
 * (src/crawl/routes/<label>.ts: its path, the lists inside its payload whose items are validated,
 * quarantined and de-duplicated one by one, its route, and its place in the crawl tree), and
 * assembled in src/crawl/routes/index.ts.
 * Paths are only ever built from UUIDs that passed UUID_PATTERN, so no payload can steer a request
 * elsewhere.
 */
import type { KeyedLists } from './duplicates.js';
import type { PayloadByLabel } from './payloads.generated.js';
import type { Route } from '../crawl/routes/types.js';
import { ENDPOINTS } from '../crawl/routes/index.js';
import type { ChildLabel, Edge, StoredChildren, TreeNode } from '../crawl/tree.js';
import { keysOf, recordOf } from '../record.js';

/** Each endpoint's payload type, generated from schemas/<label>.json (npm run gen:types). */
export type { PayloadByLabel };
export { ENDPOINTS };

/** The labels, in the order ENDPOINTS lists them: the crawl tree's order, the order every table shows. */
export type Label = keyof typeof ENDPOINTS;
export const LABELS: readonly Label[] = Object.freeze(keysOf(ENDPOINTS));

/** Whether a value read from outside (a queue on disk, a database row) is one of the labels. */
export function isLabel(value: unknown): value is Label {
  return LABELS.some((label) => label === value);
}

/** The same pattern as definitions.uuid in schemas/*.json. */
export const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** An endpoint as its route module declares it. */
export interface EndpointSpec<L extends Label> {
  readonly label: L;
  /** The API path under the API's prefix, for the parent UUID (none for the series list). */
  readonly path: (uuid: string) => string;
  /**
   * JSON pointers of the arrays whose items are independent records: one bad item is quarantined
   * and the rest of the payload is kept. '' is the payload itself.
   */
  readonly itemLists: readonly string[];
  /** The keys those items must not share within one payload (src/api/duplicates.ts). */
  readonly keyedLists: KeyedLists;
  readonly route: Route<L>;
  /**
   * The parent UUID the payload names itself (a calendar's `season.uuid`), checked against the
   * request's before anything of it is stored; undefined when the payload names no parent.
   */
  readonly namesParent: ((payload: PayloadByLabel[L]) => string) | undefined;
  /**
   * Its place in the crawl tree: its parent label, which of the parent's nodes become its requests
   * and their meta (src/crawl/tree.ts has the rules); undefined for the root.
   */
  readonly edge: L extends ChildLabel ? Edge<L, TreeNode> : undefined;
  /** For the completeness sweep: the requests its live stored rows lead to; undefined for a leaf. */
  readonly storedChildren: StoredChildren | undefined;
}

/** Each label's edge to its child label, as the child declares it; undefined for a leaf. */
export const TREE: { readonly [L in Label]: Edge<ChildLabel, TreeNode> | undefined } = Object.freeze(
  recordOf(LABELS, (parent) => LABELS.map((label) => ENDPOINTS[label].edge).find((edge) => edge?.parent === parent)),
);

/**
 * Labels with no child label: their routes yield no children and no warnings, so a body of theirs
 * already stored needs not even be parsed.
 */
export const LEAF_LABELS: ReadonlySet<Label> = new Set(LABELS.filter((label) => TREE[label] === undefined));

const PREFIX = '/widgets/1.0.0';

/** What one request asks for: an endpoint and the UUID of its parent (the series list has none). */
export type ApiTarget =
  | { readonly label: 'series'; readonly uuid?: undefined }
  | { readonly label: Exclude<Label, 'series'>; readonly uuid: string };

/** The API path of a target; throws on anything that is not a UUID. */
export function apiPath(target: ApiTarget): string {
  if (target.label === 'series') return PREFIX + ENDPOINTS.series.path('');
  if (!UUID_PATTERN.test(target.uuid))
    throw new Error(`refusing to build a ${target.label} path from "${target.uuid}": not a UUID`);
  return PREFIX + ENDPOINTS[target.label].path(target.uuid);
}

/** The cache key and queue identity of a target: `<label>-<uuid>`, `series-all` for the list. */
export function targetKey(target: ApiTarget): string {
  return `${target.label}-${target.uuid ?? 'all'}`;
}
