export type Endpoint = 'series' | 'seasons' | 'calendar' | 'classification';

export type Route = { endpoint: 'series' } | { endpoint: Exclude<Endpoint, 'series'>; uuid: string };

const PREFIX = '/widgets/1.0.0';

export const apiPath = {
  series: (): string => `${PREFIX}/series`,
  seasons: (seriesUuid: string): string => `${PREFIX}/series/${seriesUuid}/seasons`,
  calendar: (seasonUuid: string): string => `${PREFIX}/seasons/${seasonUuid}/calendar`,
  classification: (sessionUuid: string): string => `${PREFIX}/sessions/${sessionUuid}/classification`,
};

// The id segment is matched loosely on purpose: deciding whether an id exists is the tree's job,
// and an unknown id must come back as a 404 like any other miss.
const ROUTES: ReadonlyArray<[RegExp, Exclude<Endpoint, 'series'>]> = [
  [/^\/widgets\/1\.0\.0\/series\/([^/]+)\/seasons$/, 'seasons'],
  [/^\/widgets\/1\.0\.0\/seasons\/([^/]+)\/calendar$/, 'calendar'],
  [/^\/widgets\/1\.0\.0\/sessions\/([^/]+)\/classification$/, 'classification'],
];

export function routeOf(path: string): Route | undefined {
  if (path === apiPath.series()) return { endpoint: 'series' };
  for (const [pattern, endpoint] of ROUTES) {
    const uuid = pattern.exec(path)?.[1];
    if (uuid !== undefined) return { endpoint, uuid };
  }
  return undefined;
}

/** What the replica serves: the exact JSON text per request path, plus hooks to change it. */
export interface ReplicaTree {
  /** The exact JSON text served for `path`; `undefined` means 404. */
  body(path: string): string | undefined;
  /**
   * Simulates an upstream change. `fn` gets the payload currently served at `path` (parsed, with
   * earlier mutations applied, `undefined` if the path is a 404; `T` is the caller's assertion of
   * its type) and returns the new payload: it is served as `JSON.stringify(result)` from then on,
   * or as a 404 if `fn` returns `undefined`.
   */
  mutate<T = unknown>(path: string, fn: (payload: T) => unknown): void;
  /** Drops every mutation: the tree serves its original bodies again. */
  unmutateAll(): void;
  /** Changes whenever what `body()` returns may have changed, so caches of it know to drop. */
  readonly revision: number;
}

/** Adds the mutation layer to a tree's unchanging bodies. */
export function withMutations(base: (path: string) => string | undefined): ReplicaTree {
  // A key mapped to undefined is a path mutated into a 404, distinct from an absent key.
  const overrides = new Map<string, string | undefined>();
  let revision = 0;
  const body = (path: string): string | undefined => (overrides.has(path) ? overrides.get(path) : base(path));
  return {
    body,
    mutate<T>(path: string, fn: (payload: T) => unknown): void {
      const current = body(path);
      const next = fn((current === undefined ? undefined : JSON.parse(current)) as T);
      overrides.set(path, next === undefined ? undefined : JSON.stringify(next));
      revision++;
    },
    unmutateAll(): void {
      overrides.clear();
      revision++;
    },
    get revision(): number {
      return revision;
    },
  };
}
