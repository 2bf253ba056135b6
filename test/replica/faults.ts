import { Rng } from './seeded.js';

/**
 * Faults acting on one item of a list payload, so a crawler can quarantine it and keep the rest.
 * duplicate-item repeats the first item at the end of its list (see duplicateFirstItem).
 */
export type ItemFaultKind = 'drift-type' | 'drift-missing' | 'bad-id' | 'duplicate-item';
export type PathFaultKind = ItemFaultKind | 'malformed-json' | 'invalid-utf8' | 'oversized' | '404' | '500-always';
/** A fault served on every request of one path. The object forms set the fault's parameter. */
export type PathFault =
  | PathFaultKind
  | { kind: 'oversized'; bytes: number }
  | { kind: 'bad-id'; id: string }
  /** `identical: true` repeats the item exactly; the default changes one field of the copy. */
  | { kind: 'duplicate-item'; identical: boolean };
export type FailureKind = '500' | '503' | '429' | 'reset' | 'truncate';
export type RandomFaultKind = FailureKind | 'slow';
export type FaultKind = RandomFaultKind | PathFaultKind;

/** Ids a bad-id fault can plant: a path traversal and an SQL injection. */
export const BAD_IDS = { traversal: '../../etc', sql: "x'; DROP TABLE series;--" } as const;
export const OVERSIZED_DEFAULT_BYTES = 25 * 1024 * 1024;

export interface FaultOptions {
  seed?: number;
  rate500?: number;
  rate503?: number;
  rate429?: number;
  /** Sent as Retry-After with every 429. Default 1. */
  retryAfterSeconds?: number;
  /** Share of requests whose socket is destroyed before any byte is sent. */
  rateReset?: number;
  /** Share of requests sent with the full Content-Length but cut off halfway through the body. */
  rateTruncate?: number;
  rateSlow?: number;
  /** Delay of a slow response. Default 250. */
  slowMs?: number;
  /**
   * Random faults (slow included) hit one path at most this many requests in a row; the next
   * request of that path is then served clean, so a crawler retrying that often converges.
   * Default 3.
   */
  maxConsecutive?: number;
  perPath?: Readonly<Record<string, PathFault>>;
}

/** What to do to one request. */
export interface FaultPlan {
  delayMs: number;
  failure: FailureKind | undefined;
  pathFault: PathFault | undefined;
}

export function pathFaultKind(fault: PathFault): PathFaultKind {
  return typeof fault === 'string' ? fault : fault.kind;
}

/**
 * Decides which faults hit each request. Decisions are a pure function of the seed, the path and
 * how many requests of that path came before, so a run is reproducible whatever the interleaving
 * of paths.
 */
export class FaultInjector {
  readonly retryAfterSeconds: number;
  readonly #seed: number;
  readonly #failureRates: ReadonlyArray<readonly [FailureKind, number]>;
  readonly #rateSlow: number;
  readonly #slowMs: number;
  readonly #maxConsecutive: number;
  readonly #perPath: ReadonlyMap<string, PathFault>;
  readonly #requests = new Map<string, number>();
  readonly #streaks = new Map<string, number>();

  constructor(options: FaultOptions = {}) {
    this.#seed = options.seed ?? 1;
    this.retryAfterSeconds = options.retryAfterSeconds ?? 1;
    this.#failureRates = [
      ['500', options.rate500 ?? 0],
      ['503', options.rate503 ?? 0],
      ['429', options.rate429 ?? 0],
      ['reset', options.rateReset ?? 0],
      ['truncate', options.rateTruncate ?? 0],
    ];
    this.#rateSlow = options.rateSlow ?? 0;
    this.#slowMs = options.slowMs ?? 250;
    this.#maxConsecutive = options.maxConsecutive ?? 3;
    this.#perPath = new Map(Object.entries(options.perPath ?? {}));
    const rates = [...this.#failureRates.map(([, rate]) => rate), this.#rateSlow];
    if (rates.some((rate) => !(rate >= 0 && rate <= 1))) throw new RangeError('fault rates must be within [0, 1]');
    if (rates.slice(0, -1).reduce((a, b) => a + b, 0) > 1) throw new RangeError('failure rates add up to more than 1');
  }

  plan(path: string): FaultPlan {
    const n = this.#requests.get(path) ?? 0;
    this.#requests.set(path, n + 1);
    const pathFault = this.#perPath.get(path);
    const streak = this.#streaks.get(path) ?? 0;
    if (streak >= this.#maxConsecutive) {
      this.#streaks.set(path, 0);
      return { delayMs: 0, failure: undefined, pathFault };
    }
    const rng = new Rng(this.#seed, `fault:${path}#${n}`);
    const slow = rng.chance(this.#rateSlow);
    const roll = rng.next();
    let failure: FailureKind | undefined;
    let threshold = 0;
    for (const [kind, rate] of this.#failureRates) {
      threshold += rate;
      if (roll < threshold) {
        failure = kind;
        break;
      }
    }
    this.#streaks.set(path, slow || failure !== undefined ? streak + 1 : 0);
    return { delayMs: slow ? this.#slowMs : 0, failure, pathFault };
  }
}

export interface FaultedResponse {
  status: number;
  chunks: readonly Buffer[];
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
export const NOT_FOUND_BODY = json({ message: 'Not found' });
export const FAILURE_BODIES: Readonly<Record<'500' | '503' | '429', Buffer>> = {
  '500': json({ message: 'Internal server error' }),
  '503': json({ message: 'Service unavailable' }),
  '429': json({ message: 'Too many requests' }),
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The item an item-level fault corrupts: the FIRST item of the payload's list, i.e. `[0]` of a
 * series or seasons array, `events[0]` of a calendar, `details[0]` of a classification.
 */
function firstItem(payload: unknown): Record<string, unknown> {
  return firstList(payload)[0] as Record<string, unknown>;
}

/** The payload's list whose first item item-level faults act on (see firstItem). */
function firstList(payload: unknown): unknown[] {
  const list = Array.isArray(payload)
    ? payload
    : isRecord(payload)
      ? [payload.events, payload.details].find(Array.isArray)
      : undefined;
  if (!isRecord(list?.[0])) throw new Error('an item-level fault needs a payload with a non-empty list');
  return list;
}

/**
 * duplicate-item: a copy of the first item appended to its list, so the original comes first. The
 * copy is exact when `identical`, else its `name` gets " (duplicate)" appended (a classification
 * detail, which has no name, gets one more lap): same uuid or car number, different content.
 */
function duplicateFirstItem(payload: unknown, identical: boolean): void {
  const list = firstList(payload);
  const copy = structuredClone(list[0]) as Record<string, unknown>;
  if (!identical) {
    if ('uuid' in copy) copy.name = `${String(copy.name)} (duplicate)`;
    else copy.laps = (typeof copy.laps === 'number' ? copy.laps : 0) + 1;
  }
  list.push(copy);
}

/**
 * Item-level faults, on the first item (see firstItem):
 * - drift-type: `name` becomes the number 42 (`carNumber` for a classification detail);
 * - drift-missing: `uuid` is removed (`carNumber` for a classification detail);
 * - bad-id: `uuid` becomes a hostile id (`drivers[0].uuid` for a classification detail).
 */
function corruptItem(fault: ItemFaultKind, item: Record<string, unknown>, badId: string): void {
  const detail = !('uuid' in item);
  if (fault === 'drift-type') item[detail ? 'carNumber' : 'name'] = 42;
  if (fault === 'drift-missing') delete item[detail ? 'carNumber' : 'uuid'];
  if (fault === 'bad-id') {
    const target: unknown = detail ? (item.drivers as unknown[] | undefined)?.[0] : item;
    if (!isRecord(target)) throw new Error('bad-id found no uuid to replace');
    target.uuid = badId;
  }
}

let padding = Buffer.alloc(0);
function spaces(length: number): Buffer {
  // Kept between calls: tests fetch the same oversized body repeatedly.
  if (padding.length < length) padding = Buffer.alloc(length, 0x20);
  return padding.subarray(0, length);
}

/**
 * The response for a path under a path fault, given the body the tree serves there.
 * - malformed-json: the first half of the body, complete with a matching Content-Length;
 * - invalid-utf8: bytes C3 28 FF inserted at the start of the first `"name"` string value;
 *   a strict decoder rejects the body, a lenient one sees U+FFFD in that name;
 * - oversized: the body padded with trailing spaces (still valid JSON, same data) to `bytes`
 *   (default 25 MiB);
 * - 404 / 500-always: that status, whatever the body.
 * Throws when the body offers nothing to corrupt (an empty list, no name): a test set it up wrong.
 */
export function applyPathFault(fault: PathFault, body: string): FaultedResponse {
  const kind = pathFaultKind(fault);
  switch (kind) {
    case '404':
      return { status: 404, chunks: [NOT_FOUND_BODY] };
    case '500-always':
      return { status: 500, chunks: [FAILURE_BODIES['500']] };
    case 'malformed-json':
      return { status: 200, chunks: [Buffer.from(body.slice(0, Math.max(1, Math.floor(body.length / 2))))] };
    case 'invalid-utf8': {
      const marker = '"name":"';
      const at = body.indexOf(marker);
      if (at < 0) throw new Error('invalid-utf8 found no "name" string to corrupt');
      const cut = at + marker.length;
      const raw = Buffer.from([0xc3, 0x28, 0xff]);
      return { status: 200, chunks: [Buffer.from(body.slice(0, cut)), raw, Buffer.from(body.slice(cut))] };
    }
    case 'oversized': {
      const bytes = typeof fault === 'object' && fault.kind === 'oversized' ? fault.bytes : OVERSIZED_DEFAULT_BYTES;
      const text = Buffer.from(body);
      return { status: 200, chunks: [text, spaces(Math.max(0, bytes - text.length))] };
    }
    case 'duplicate-item': {
      const payload: unknown = JSON.parse(body);
      duplicateFirstItem(payload, typeof fault === 'object' && fault.kind === 'duplicate-item' && fault.identical);
      return { status: 200, chunks: [json(payload)] };
    }
    case 'drift-type':
    case 'drift-missing':
    case 'bad-id': {
      const payload: unknown = JSON.parse(body);
      const badId = typeof fault === 'object' && fault.kind === 'bad-id' ? fault.id : BAD_IDS.traversal;
      corruptItem(kind, firstItem(payload), badId);
      return { status: 200, chunks: [json(payload)] };
    }
  }
}
