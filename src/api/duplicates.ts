/**
 * Duplicates inside one payload's lists. Each list has a key its items must not share within the
 * payload, the key of the rows they become: a series' or season's uuid, an event's uuid, a
 * session's uuid within the whole calendar (a session is one row whichever event lists it), and a
 * car number within a classification's details and within its retirements. An item repeating an
 * earlier one exactly is dropped silently (it says nothing new); one repeating its key with
 * different content is a contradiction the payload cannot settle: the first stands and the others
 * are quarantined. Left in, the sink would keep whichever came last. Uuids compare regardless of
 * letter case, keys and content alike, as the uuid columns do. Each endpoint names its keyed lists
 * (`keyedLists` of its declaration in src/crawl/routes/<label>.ts), with the helpers below.
 */
import type { PayloadProblem } from '../errors.js';
import { isObject } from '../record.js';

/** An item to drop: quarantined when it contradicts the first of its key, silent when it repeats it. */
export interface Duplicate {
  readonly pointer: string;
  /** The key both share, as the quarantine names items (`<uuid>` or `car <number>`). */
  readonly id: string;
  /** Undefined for an exact repeat. */
  readonly problem: PayloadProblem | undefined;
}

/** One item of a keyed list: where it is, its key, and what else must be equal for a repeat to be exact. */
export interface Keyed {
  readonly pointer: string;
  readonly key: string;
  readonly item: unknown;
  /** Context that is part of the row (the event a session hangs from). */
  readonly context: string;
}

/**
 * A payload's keyed lists, each a key space of its own, from `data` (an object the schema accepted
 * but for the `skip` items, which are ignored along with everything inside them).
 */
export type KeyedLists = (data: unknown, skip: ReadonlySet<string>) => Keyed[][];

/** The duplicates within each of a payload's keyed lists. */
export function findDuplicates(lists: readonly (readonly Keyed[])[]): Duplicate[] {
  return lists.flatMap(duplicatesIn);
}

function duplicatesIn(list: readonly Keyed[]): Duplicate[] {
  const first = new Map<string, Keyed>();
  const found: Duplicate[] = [];
  for (const entry of list) {
    const original = first.get(entry.key);
    if (!original) {
      first.set(entry.key, entry);
      continue;
    }
    const same = original.context === entry.context && canonical(original.item) === canonical(entry.item);
    found.push({
      pointer: entry.pointer,
      id: entry.key,
      problem: same
        ? undefined
        : {
            instancePath: entry.pointer,
            message:
              `duplicate of ${original.pointer} (same ` +
              `${entry.key.startsWith('car ') ? 'car number' : 'uuid'}, different content): the first stands`,
          },
    });
  }
  return found;
}

export interface Located {
  readonly pointer: string;
  readonly item: unknown;
}

/** The items of a list at `pointer` (none when it is not a list), but for the `skip` ones. */
export function items(list: unknown, pointer: string, skip: ReadonlySet<string>): Located[] {
  if (!Array.isArray(list)) return [];
  return list
    .map((item: unknown, i) => ({ pointer: `${pointer}/${i}`, item }))
    .filter((entry) => !skip.has(entry.pointer));
}

export function field(node: unknown, name: string): unknown {
  return isObject(node) ? node[name] : undefined;
}

/**
 * The item as text to compare, every `uuid` lower-cased: the uuid columns store uuids in lower
 * case, so two items differing only in a uuid's letter case become the same rows, an exact repeat.
 */
function canonical(item: unknown): string {
  return JSON.stringify(item, (name, value: unknown) =>
    name === 'uuid' && typeof value === 'string' ? value.toLowerCase() : value,
  );
}

/** Lower-cased: the uuid column compares uuids regardless of case, so `AB…` and `ab…` are one row. */
export function uuidOf(item: unknown): string | undefined {
  const uuid = field(item, 'uuid');
  return typeof uuid === 'string' ? uuid.toLowerCase() : undefined;
}

/** Keyed by its uuid. */
export function byUuid({ pointer, item }: Located): Keyed {
  return { pointer, item, key: uuidOf(item) ?? `(no uuid at ${pointer})`, context: '' };
}

/** Keyed by its car number. */
export function byCar({ pointer, item }: Located): Keyed {
  const car = field(item, 'carNumber');
  return { pointer, item, key: typeof car === 'string' ? `car ${car}` : `(no car number at ${pointer})`, context: '' };
}
