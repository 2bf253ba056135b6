/**
 * Typed records over a known list of keys (labels, tables, kinds of change…): built and walked
 * here, so that callers need no `as Record<…>` cast. TypeScript types Object.fromEntries and
 * Object.keys loosely because an object may carry more keys than its type says; these helpers are
 * used only on records whose keys are exactly the listed ones.
 */

/** `{ [key]: value(key) }` for every key, in the keys' order. */
export function recordOf<const K extends PropertyKey, V>(keys: readonly K[], value: (key: K) => V): Record<K, V> {
  return fromEntries(keys.map((key) => [key, value(key)] as const));
}

/** The keys of a record built from a known key list (by recordOf or a literal of its type), typed as such. */
export function keysOf<T extends object>(record: T): (keyof T & string)[] {
  // why: Object.keys is typed string[]; for these records the keys are exactly T's.
  return Object.keys(record) as (keyof T & string)[];
}

/** `recordOf` for values computed one after another (queries in one transaction). */
export async function recordOfEach<const K extends PropertyKey, V>(
  keys: readonly K[],
  value: (key: K) => Promise<V>,
): Promise<Record<K, V>> {
  const entries: (readonly [K, V])[] = [];
  for (const key of keys) entries.push([key, await value(key)]);
  return fromEntries(entries);
}

/** The record of entries made one per key of K (by the two functions above). */
function fromEntries<K extends PropertyKey, V>(entries: readonly (readonly [K, V])[]): Record<K, V> {
  // why: Object.fromEntries is typed { [k: string]: V }; its callers give exactly one entry per key of K.
  return Object.fromEntries(entries) as Record<K, V>;
}

/** Whether `key` is one of the record's own keys (a label read back from disk or the database): narrows it. */
export function isKeyOf<T extends object>(record: T, key: PropertyKey): key is keyof T {
  return Object.hasOwn(record, key);
}

/** Whether a value read from JSON (or thrown) is an object whose fields may be read; arrays are objects too. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** A string field of a value read from JSON or thrown; undefined when absent or of another type. */
export function stringField(value: unknown, name: string): string | undefined {
  const field = isObject(value) ? value[name] : undefined;
  return typeof field === 'string' ? field : undefined;
}
