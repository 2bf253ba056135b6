/**
 * Ajv validators for the four endpoints, compiled once from schemas/*.json. A payload either
 * passes whole, passes with some list items quarantined (each bad item, and each differing
 * duplicate of an earlier item (see duplicates.ts), is dropped and reported; the rest is kept), or
 * fails whole when the problem is outside any item. Exact duplicates are dropped silently.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { PayloadError, type PayloadProblem } from '../errors.js';
import { SCHEMAS_DIR } from '../paths.js';
import { findDuplicates } from './duplicates.js';
import { ENDPOINTS, LABELS, type Label, type PayloadByLabel } from './endpoints.js';
import { isObject, recordOf } from '../record.js';

/** A list item dropped from a payload because it broke the schema. */
export interface QuarantinedItem {
  /** JSON pointer of the item, e.g. `/events/3`. */
  readonly pointer: string;
  /** The item's uuid or carNumber when it has a readable one, to find it upstream. */
  readonly id: string | undefined;
  readonly problems: readonly PayloadProblem[];
}

export interface ValidatedPayload<L extends Label> {
  readonly payload: PayloadByLabel[L];
  /** Empty when the payload passed whole: only then may its absences soft-delete rows. */
  readonly quarantined: readonly QuarantinedItem[];
}

let compiled: { readonly [L in Label]: ValidateFunction } | undefined;

function validators(): { readonly [L in Label]: ValidateFunction } {
  if (!compiled) {
    const ajv = new Ajv({ allErrors: true, strict: true });
    compiled = recordOf(LABELS, (label) => {
      // why: the schema files are JSON objects, checked by Ajv's strict compile itself.
      const schema = JSON.parse(readFileSync(path.join(SCHEMAS_DIR, `${label}.json`), 'utf8')) as object;
      return ajv.compile(schema);
    });
  }
  return compiled;
}

/** Throws PayloadError when the payload cannot be used at all. */
export function validatePayload<L extends Label>(label: L, data: unknown): ValidatedPayload<L> {
  const validate = validators()[label];
  let badItems = new Map<string, PayloadProblem[]>();
  if (!validate(data)) {
    const problems = toProblems(validate.errors ?? []);
    const byItem = groupByItem(problems, ENDPOINTS[label].itemLists);
    if (!byItem) throw new PayloadError('schema mismatch', problems);
    badItems = byItem;
  }
  const duplicates = findDuplicates(ENDPOINTS[label].keyedLists(data, new Set(badItems.keys())));
  // why: Ajv's validate is untyped; the payload types are generated from the very schema it just checked.
  if (!badItems.size && !duplicates.length) return { payload: data as PayloadByLabel[L], quarantined: [] };

  const kept = withoutItems(data, [...badItems.keys(), ...duplicates.map((d) => d.pointer)]);
  if (!validate(kept)) throw new PayloadError('schema mismatch', toProblems(validate.errors ?? []));
  const quarantined: QuarantinedItem[] = [...badItems].map(([pointer, itemProblems]) => ({
    pointer,
    id: readableId(itemAt(data, pointer)),
    problems: itemProblems,
  }));
  for (const { pointer, id, problem } of duplicates)
    if (problem) quarantined.push({ pointer, id: id.slice(0, 80), problems: [problem] });
  // why: as above, checked against the schema again without the dropped items.
  return { payload: kept as PayloadByLabel[L], quarantined };
}

/**
 * Throws PayloadError when the payload names a parent other than the one its request asked for (a
 * calendar whose `season.uuid` is another season's): its rows would be stored under the wrong
 * parent. UUIDs are compared regardless of case, as the database compares them.
 */
export function checkNamedParent<L extends Label>(
  label: L,
  payload: PayloadByLabel[L],
  requested: string | undefined,
): void {
  // why: ENDPOINTS[label] is a union over the labels; TypeScript cannot correlate it with `label`.
  const namesParent = ENDPOINTS[label].namesParent as ((payload: PayloadByLabel[L]) => string) | undefined;
  const named = namesParent?.(payload);
  if (named === undefined || requested === undefined || named.toLowerCase() === requested.toLowerCase()) return;
  throw new PayloadError(`the ${label} of ${named}, not of the requested ${requested}: nothing of it stored`);
}

/** The pattern every free-text string of schemas/*.json carries: PostgreSQL text cannot hold NUL. */
const NO_NUL_PATTERN = '^[^\\u0000]*$';

function toProblems(errors: readonly ErrorObject[]): PayloadProblem[] {
  return errors.map((e) => ({
    instancePath: e.instancePath,
    message:
      e.keyword === 'pattern' && e.params.pattern === NO_NUL_PATTERN
        ? 'must not hold a NUL character (\\u0000)'
        : (e.message ?? e.keyword),
  }));
}

/**
 * Maps each problem to the list item it lies in (`/events/3`), or returns undefined when any
 * problem lies outside every item: then the payload as a whole is broken.
 */
function groupByItem(
  problems: readonly PayloadProblem[],
  lists: readonly string[],
): Map<string, PayloadProblem[]> | undefined {
  const byItem = new Map<string, PayloadProblem[]>();
  for (const problem of problems) {
    const item = lists
      .map((list) => new RegExp(`^${list}/\\d+(?=/|$)`).exec(problem.instancePath)?.[0])
      .find((match) => match !== undefined);
    if (!item) return undefined;
    byItem.set(item, [...(byItem.get(item) ?? []), problem]);
  }
  return byItem;
}

/**
 * A copy of the payload without the items at `pointers` (list items at any depth: `/3`,
 * `/events/3`, `/events/3/sessions/1`). Deeper items go first, and within a list the later ones,
 * so every removal leaves the pointers still to remove valid.
 */
function withoutItems(data: unknown, pointers: readonly string[]): unknown {
  const copy: unknown = structuredClone(data);
  const paths = pointers.map((pointer) => pointer.split('/').slice(1));
  paths.sort((a, b) => b.length - a.length || Number(b.at(-1)) - Number(a.at(-1)));
  for (const parts of paths) {
    const list = itemAt(
      copy,
      parts
        .slice(0, -1)
        .map((p) => `/${p}`)
        .join(''),
    );
    if (Array.isArray(list)) list.splice(Number(parts.at(-1)), 1);
  }
  return copy;
}

function itemAt(data: unknown, pointer: string): unknown {
  return pointer
    .split('/')
    .slice(1)
    .reduce<unknown>((node, part) => (isObject(node) ? node[part] : undefined), data);
}

function readableId(item: unknown): string | undefined {
  if (!isObject(item)) return undefined;
  const { uuid, carNumber } = item;
  const id = typeof uuid === 'string' ? uuid : typeof carNumber === 'string' ? `car ${carNumber}` : undefined;
  return id?.slice(0, 80);
}
