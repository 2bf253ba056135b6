/**
 * The crawl's request queue, held in memory and made durable by an append-only journal
 * (`<dir>/journal.ndjson`, one JSON object per line):
 *
 *   {"put":{…request…},"ff":true?}     added, or updated while pending (retries)
 *   {"done":"<id>","key":"…","url":"…","label":"…"}  handled
 *   {"del":"<id>"}                      deleted
 *
 * Why not Crawlee's own file storage: it keeps one file per request, rewritten on every lock,
 * unlock and update (~14 mkdirs and ~50 writes per request), and reads and parses every file
 * when it opens the queue (~25 s for 100k requests). It also persists locks, so the requests a
 * killed process had in flight stay locked for minutes. Here a request costs two appended lines,
 * opening replays one file, and locks live in memory only: a process that died holds nothing.
 *
 * Every append is one write(2) made before the promise that asked for it resolves, so a line
 * that a later one depends on ("done" after the "put"s of the children a handler enqueued) is
 * always on disk first. A kill can cut the last line short; the replay skips any line it cannot
 * parse, and the completeness sweep adds back a request lost that way. Opening the journal
 * rewrites it compactly (state only, via a temp file and a rename), and so does finishing with it.
 *
 * The state in memory is kept small, as it holds every request of the crawl: a pending request as
 * its JSON text (parsed when handed out), a handled one as a single string (see HandledIndex).
 */
import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { getRequestId } from '@crawlee/core';
import type { RequestSchema } from '@crawlee/types';
import { asResourceError } from '../errors.js';
import { isObject, stringField } from '../record.js';

export const JOURNAL_FILE = 'journal.ndjson';

/** A pending request: its Crawlee shape as JSON text, and its lock (its place is PendingOrder's). */
interface PendingEntry {
  readonly id: string;
  /** JSON of the request (RequestSchema with its id): a third of the memory of the parsed object. */
  text: string;
  lockedUntil: number;
}

/** A handled request's identity, as the queue answers for it. */
interface HandledRequest {
  readonly id: string;
  readonly uniqueKey: string;
  readonly url: string;
  readonly label: string | undefined;
}

/** A request the queue holds: pending, or handled (packed by HandledIndex). */
type Entry = PendingEntry | string;

type Line =
  | { put: RequestSchema & { id: string }; ff?: boolean }
  | { done: string; key: string; url: string; label?: string }
  | { del: string };

export interface JournalCounts {
  readonly pending: number;
  readonly handled: number;
}

export interface AddOutcome {
  readonly id: string;
  readonly wasAlreadyPresent: boolean;
  readonly wasAlreadyHandled: boolean;
}

export class QueueJournal {
  private readonly entries = new Map<string, Entry>();
  private readonly handled = new HandledIndex();
  /** Pending ids in the order the queue hands them out. */
  private readonly pending = new PendingOrder();
  private handledCount = 0;
  private fd: number | undefined;
  /** Bytes of whole lines in the journal file: where a write cut short by a full disk is taken back to. */
  private size = 0;
  readonly createdAt: Date;
  modifiedAt: Date;
  /** Lines of the journal that could not be read at open (cut short by a kill). */
  readonly unreadableLines: number;

  private constructor(
    readonly dir: string,
    createdAt: Date,
    unreadableLines: number,
  ) {
    this.createdAt = createdAt;
    this.modifiedAt = createdAt;
    this.unreadableLines = unreadableLines;
  }

  /** Whether `dir` holds a queue (a journal, or the request files of Crawlee's own storage). */
  static exists(dir: string): boolean {
    return existsSync(path.join(dir, JOURNAL_FILE)) || hasRequestFiles(dir);
  }

  /** Opens the queue in `dir`, creating it when absent; replays and compacts its journal. */
  static open(dir: string): QueueJournal {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (error) {
      throw asResourceError(error, dir) ?? error;
    }
    const { journal, imported } = QueueJournal.replay(dir);
    journal.compact();
    // The old files go only once the journal holding them is on disk.
    if (imported)
      for (const name of readdirSync(dir))
        if (name !== JOURNAL_FILE) rmSync(path.join(dir, name), { recursive: true, force: true });
    return journal;
  }

  /**
   * Pending and handled requests by Crawlee label, read without opening the queue for writing:
   * for a look at a queue another process may be working on (`status`). The journal is replayed
   * as apply() does, keeping of each request only its state and label, not the request: at live
   * size (10⁵ requests) that is most of the memory a replay takes and of the time its garbage costs.
   */
  static countByLabel(dir: string): Map<string | undefined, JournalCounts> {
    const file = path.join(dir, JOURNAL_FILE);
    // Each request's label, under its state: no object per request.
    const pending = new Map<string, string | undefined>();
    const handled = new Map<string, string | undefined>();
    const count = (line: Line) => {
      if ('put' in line) {
        if (!handled.has(line.put.id)) pending.set(line.put.id, labelOf(line.put));
      } else if ('done' in line) {
        if (handled.has(line.done)) return;
        pending.delete(line.done);
        handled.set(line.done, line.label);
      } else {
        pending.delete(line.del);
        handled.delete(line.del);
      }
    };
    if (existsSync(file)) forEachLine(file, count);
    else for (const line of importRequestFiles(dir).parsed) count(line);
    const counts = new Map<string | undefined, { pending: number; handled: number }>();
    const countOf = (label: string | undefined) =>
      counts.get(label) ?? counts.set(label, { pending: 0, handled: 0 }).get(label)!;
    for (const label of pending.values()) countOf(label).pending += 1;
    for (const label of handled.values()) countOf(label).handled += 1;
    return counts;
  }

  /**
   * The pending requests in the order the queue hands them out, and the unique keys of every
   * request it knows (pending or handled: one it will not take again), read without opening the
   * queue for writing: for `crawl --plan`.
   */
  static snapshot(dir: string): { pending: RequestSchema[]; knownKeys: Set<string> } {
    const { journal } = QueueJournal.replay(dir);
    const knownKeys = new Set<string>();
    for (const [id, entry] of journal.entries)
      knownKeys.add(
        typeof entry === 'string' ? journal.handled.unpack(id, entry).uniqueKey : requestOf(entry).uniqueKey,
      );
    return { pending: [...journal.pendingInOrder()].map(requestOf), knownKeys };
  }

  /** The state the journal (or, failing one, an old file queue: `imported`) holds. */
  private static replay(dir: string): { journal: QueueJournal; imported: boolean } {
    const file = path.join(dir, JOURNAL_FILE);
    const imported = !existsSync(file);
    const lines = imported ? importRequestFiles(dir) : readLines(file);
    const journal = new QueueJournal(dir, imported ? new Date() : statSync(file).birthtime, lines.unreadable);
    for (const line of lines.parsed) journal.apply(line);
    return { journal, imported };
  }

  counts(): JournalCounts {
    return { pending: this.pending.size, handled: this.handledCount };
  }

  /** Adds requests not yet known (by id); returns what became of each. */
  add(requests: readonly RequestSchema[], forefront: boolean): AddOutcome[] {
    const texts: string[] = [];
    const outcomes = requests.map((request) => {
      const id = idOf(request);
      const known = this.entries.get(id);
      if (known) return { id, wasAlreadyPresent: true, wasAlreadyHandled: typeof known === 'string' };
      texts.push(
        this.applyOwnCopy(request.handledAt ? doneLine({ ...request, id }) : putLine({ ...request, id }, forefront)),
      );
      return { id, wasAlreadyPresent: false, wasAlreadyHandled: false };
    });
    this.append(texts);
    return outcomes;
  }

  /** Replaces a pending request (a retry's new count, or `handledAt` set: handled); adds it if unknown. */
  update(request: RequestSchema & { id: string }, forefront: boolean): AddOutcome {
    const known = this.entries.get(request.id);
    if (!known) return this.add([request], forefront)[0]!;
    const wasAlreadyHandled = typeof known === 'string';
    if (!wasAlreadyHandled) {
      this.append([this.applyOwnCopy(request.handledAt ? doneLine(request) : putLine(request, forefront))]);
    }
    return { id: request.id, wasAlreadyPresent: true, wasAlreadyHandled };
  }

  delete(id: string): void {
    if (!this.entries.has(id)) return;
    this.append([this.applyOwnCopy({ del: id })]);
  }

  get(id: string): RequestSchema | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    if (typeof entry !== 'string') return requestOf(entry);
    const handled = this.handled.unpack(id, entry);
    const userData = handled.label === undefined ? {} : { userData: { label: handled.label } };
    return {
      id,
      uniqueKey: handled.uniqueKey,
      url: handled.url,
      ...userData,
      handledAt: this.modifiedAt.toISOString(),
    };
  }

  /** The first `limit` pending requests in queue order, locked or not. */
  head(limit: number): RequestSchema[] {
    const items: RequestSchema[] = [];
    for (const entry of this.pendingInOrder()) {
      if (items.length === limit) break;
      items.push(requestOf(entry));
    }
    return items;
  }

  /**
   * Locks and returns up to `limit` unlocked pending requests. `othersLocked` tells whether any
   * pending request stayed behind because it is locked (meaningful when fewer than `limit` came).
   */
  lockHead(limit: number, lockMs: number, now = Date.now()): { items: RequestSchema[]; othersLocked: boolean } {
    const items: RequestSchema[] = [];
    let othersLocked = false;
    for (const entry of this.pendingInOrder()) {
      if (items.length === limit) break;
      if (entry.lockedUntil > now) {
        othersLocked = true;
        continue;
      }
      entry.lockedUntil = now + lockMs;
      items.push(requestOf(entry));
    }
    return { items, othersLocked };
  }

  /** Extends a lock; undefined when the request is not pending. */
  prolongLock(id: string, lockMs: number, forefront: boolean, now = Date.now()): Date | undefined {
    const entry = this.pendingEntry(id);
    if (!entry) return undefined;
    entry.lockedUntil = Math.max(entry.lockedUntil, now) + lockMs;
    if (forefront) this.pending.toForefront(id);
    return new Date(entry.lockedUntil);
  }

  /** Releases a lock; false when the request is not pending. */
  unlock(id: string, forefront: boolean): boolean {
    const entry = this.pendingEntry(id);
    if (!entry) return false;
    entry.lockedUntil = 0;
    if (forefront) this.pending.toForefront(id);
    return true;
  }

  /**
   * Rewrites the journal as its state, one line per request, and closes it: a crawl's journal holds
   * every change of every request (~3× the state at live size), and `status` and the next open read
   * the whole file. A rewrite that fails (a full disk) leaves the journal as it was, and closed.
   */
  finish(): void {
    if (this.fd === undefined) return;
    try {
      this.compact();
    } catch {
      // The journal is whole as it was; the next open compacts it.
    }
    this.close();
  }

  /** Closes the journal file. The state stays readable; appends after this throw. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** Closes and removes the queue from disk. */
  drop(): void {
    this.close();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private *pendingInOrder(): Generator<PendingEntry> {
    for (const id of this.pending.inOrder()) yield this.pendingEntry(id)!;
  }

  private pendingEntry(id: string): PendingEntry | undefined {
    const entry = this.entries.get(id);
    return typeof entry === 'object' ? entry : undefined;
  }

  private apply(line: Line): void {
    if ('put' in line) {
      const id = line.put.id;
      const known = this.pendingEntry(id);
      if (typeof this.entries.get(id) === 'string') return;
      if (known) {
        known.text = JSON.stringify(line.put);
        if (line.ff) this.pending.toForefront(id);
        return;
      }
      const entry: PendingEntry = { id, text: JSON.stringify(line.put), lockedUntil: 0 };
      this.entries.set(id, entry);
      this.pending.add(id, !!line.ff);
    } else if ('done' in line) {
      if (typeof this.entries.get(line.done) === 'string') return;
      this.pending.remove(line.done);
      this.entries.set(line.done, this.handled.pack({ uniqueKey: line.key, url: line.url, label: line.label }));
      this.handledCount += 1;
    } else {
      const entry = this.entries.get(line.del);
      if (!entry) return;
      if (typeof entry === 'string') this.handledCount -= 1;
      this.pending.remove(line.del);
      this.entries.delete(line.del);
    }
  }

  /**
   * Applies the line as it will be read back, and returns its text. The queue keeps nothing of
   * the caller's objects: a request from Crawlee shares its userData object (and that object's
   * closures) with the Request, which would otherwise stay alive as long as the request is pending.
   */
  private applyOwnCopy(line: Line): string {
    const text = JSON.stringify(line);
    // why: the text was made from a Line on the line above.
    this.apply(JSON.parse(text) as Line);
    return text;
  }

  /**
   * Appends whole lines or nothing: a write the disk cut short (ENOSPC after part of the bytes)
   * is truncated away, so the journal stays a sequence of whole lines, and the error is thrown as
   * a ResourceError naming the file. The crawl then stops; what the lines said is redone on resume.
   */
  private append(texts: readonly string[]): void {
    if (!texts.length) return;
    if (this.fd === undefined) throw new Error(`the request queue in ${this.dir} is closed`);
    const data = Buffer.from(`${texts.join('\n')}\n`);
    let written = 0;
    try {
      while (written < data.length) written += writeSync(this.fd, data, written);
    } catch (error) {
      if (written > 0) ftruncateSync(this.fd, this.size);
      throw asResourceError(error, path.join(this.dir, JOURNAL_FILE)) ?? error;
    }
    this.size += data.length;
    this.modifiedAt = new Date();
  }

  /** Rewrites the journal as the current state, then keeps appending to it. */
  private compact(): void {
    this.close();
    const file = path.join(this.dir, JOURNAL_FILE);
    let fd: number | undefined;
    let size = 0;
    try {
      // Written a page of lines at a time: at live size the state is tens of megabytes of text.
      fd = openSync(`${file}.tmp`, 'w');
      for (const page of pagesOf(this.stateLines(), 1000)) {
        const data = Buffer.from(`${page.join('\n')}\n`);
        for (let written = 0; written < data.length; ) written += writeSync(fd, data, written);
        size += data.length;
      }
      closeSync(fd);
    } catch (error) {
      // The journal itself is untouched: only the copy that could not be written goes.
      if (fd !== undefined) closeSync(fd);
      rmSync(`${file}.tmp`, { force: true });
      throw asResourceError(error, `${file}.tmp`) ?? error;
    }
    renameSync(`${file}.tmp`, file);
    this.fd = openSync(file, 'a');
    this.size = size;
  }

  /** The state as journal lines: handled requests, then pending ones as the replay must meet them. */
  private *stateLines(): Generator<string> {
    for (const [id, entry] of this.entries) {
      if (typeof entry === 'string') yield JSON.stringify(doneLineOf(this.handled.unpack(id, entry)));
    }
    // Each forefront entry replayed goes on top of the ones before it: written bottom first.
    // The text is the request's JSON: the line is what JSON.stringify(putLine(request, …)) writes.
    for (const id of this.pending.forefrontBottomFirst()) yield `{"put":${this.pendingEntry(id)!.text},"ff":true}`;
    for (const id of this.pending.fifo.keys()) yield `{"put":${this.pendingEntry(id)!.text}}`;
  }
}

/** `items` in arrays of up to `size`. */
function* pagesOf<T>(items: Iterable<T>, size: number): Generator<T[]> {
  let page: T[] = [];
  for (const item of items) {
    page.push(item);
    if (page.length === size) {
      yield page;
      page = [];
    }
  }
  if (page.length) yield page;
}

/**
 * The order the queue hands pending requests out: those put at the forefront first, the latest on
 * top (a stack), then the others in the order they came (a FIFO). The crawl puts each payload's
 * children at the forefront, so it walks the tree depth first and the queue holds one frontier of
 * it (about the concurrency times a list's fan-out), not a whole level of the tree, which at live
 * size is ~10⁵ classification requests waiting as JSON text.
 *
 * Every change is O(1): an id that leaves the stack, or moves to its top again, is not searched
 * for; it counts only at the place `stackAt` records, and the stack is rebuilt once most of it is
 * such stale places.
 */
class PendingOrder {
  /** Pending ids not at the forefront, oldest first (a Map keeps insertion order, deletes in O(1)). */
  readonly fifo = new Map<string, true>();
  /** Forefront ids, bottom first, with stale places among them. */
  private stack: string[] = [];
  /** The place on `stack` where each forefront id counts. */
  private readonly stackAt = new Map<string, number>();

  get size(): number {
    return this.fifo.size + this.stackAt.size;
  }

  /** Adds a new pending id: on top of the stack, or at the end of the FIFO. */
  add(id: string, forefront: boolean): void {
    if (forefront) this.push(id);
    else this.fifo.set(id, true);
  }

  /** Moves a pending id to the top of the stack. */
  toForefront(id: string): void {
    this.fifo.delete(id);
    this.push(id);
  }

  /** The id is no longer pending (handled or deleted). */
  remove(id: string): void {
    if (!this.fifo.delete(id)) this.stackAt.delete(id);
    this.compactStack();
  }

  /** Every pending id, in the order the queue hands them out. */
  *inOrder(): Generator<string> {
    for (let at = this.stack.length - 1; at >= 0; at--) {
      const id = this.stack[at]!;
      if (this.stackAt.get(id) === at) yield id;
    }
    yield* this.fifo.keys();
  }

  /** The forefront ids, bottom of the stack first: pushed back in this order, they stand as they do now. */
  forefrontBottomFirst(): string[] {
    return this.stack.filter((id, at) => this.stackAt.get(id) === at);
  }

  private push(id: string): void {
    this.stackAt.set(id, this.stack.push(id) - 1);
    this.compactStack();
  }

  /** Drops the stale places once they are most of the stack (amortised O(1) per change). */
  private compactStack(): void {
    if (this.stack.length < 1024 || this.stack.length < 2 * this.stackAt.size) return;
    this.stack = this.forefrontBottomFirst();
    for (const [at, id] of this.stack.entries()) this.stackAt.set(id, at);
  }
}

/** The request a pending entry holds, as a new object. */
function requestOf(entry: PendingEntry): RequestSchema & { id: string } {
  // why: the text was written by JSON.stringify of such a request (apply).
  return JSON.parse(entry.text) as RequestSchema & { id: string };
}

/**
 * Handled requests packed into one string each, `<url prefix>:<label>:<unique key>`, the first two
 * as indexes into tables of the few distinct values: a crawl's URLs are its base URL followed by
 * the unique key, and its labels are a handful. A third of the memory of an object with the four
 * fields, over every request of a crawl. The id is the entry's key in the queue's map.
 */
class HandledIndex {
  private readonly prefixes: string[] = [];
  private readonly labels: (string | undefined)[] = [];
  private readonly prefixIndex = new Map<string, number>();
  private readonly labelIndex = new Map<string | undefined, number>();

  pack(request: Omit<HandledRequest, 'id'>): string {
    // A URL that does not end with its unique key is kept whole, as its prefix, marked `!`.
    const endsWithKey = request.url.endsWith(request.uniqueKey);
    const prefix = endsWithKey ? request.url.slice(0, request.url.length - request.uniqueKey.length) : request.url;
    const prefixAt = `${indexIn(this.prefixes, this.prefixIndex, prefix)}${endsWithKey ? '' : '!'}`;
    return `${prefixAt}:${indexIn(this.labels, this.labelIndex, request.label)}:${request.uniqueKey}`;
  }

  unpack(id: string, packed: string): HandledRequest {
    const first = packed.indexOf(':');
    const second = packed.indexOf(':', first + 1);
    const whole = packed[first - 1] === '!';
    const prefix = this.prefixes[Number(packed.slice(0, whole ? first - 1 : first))]!;
    const uniqueKey = packed.slice(second + 1);
    return {
      id,
      uniqueKey,
      url: whole ? prefix : prefix + uniqueKey,
      label: this.labels[Number(packed.slice(first + 1, second))],
    };
  }
}

/** The index of `value` in `table`, added when new. */
function indexIn<T>(table: T[], index: Map<T, number>, value: T): number {
  let at = index.get(value);
  if (at === undefined) {
    at = table.push(value) - 1;
    index.set(value, at);
  }
  return at;
}

function idOf(request: RequestSchema): string {
  const id = getRequestId(request.uniqueKey);
  if (request.id !== undefined && request.id !== id)
    throw new Error(`request id ${request.id} does not match its unique key ${request.uniqueKey}`);
  return id;
}

function putLine(request: RequestSchema & { id: string }, forefront: boolean): Line {
  return forefront ? { put: request, ff: true } : { put: request };
}

function doneLine(request: RequestSchema & { id: string }): Line {
  return doneLineOf({ id: request.id, uniqueKey: request.uniqueKey, url: request.url, label: labelOf(request) });
}

function doneLineOf(entry: { id: string; uniqueKey: string; url: string; label: string | undefined }): Line {
  return entry.label === undefined
    ? { done: entry.id, key: entry.uniqueKey, url: entry.url }
    : { done: entry.id, key: entry.uniqueKey, url: entry.url, label: entry.label };
}

/** Crawlee keeps a request's label in `userData.label`. */
function labelOf(request: RequestSchema): string | undefined {
  return stringField(request.userData, 'label');
}

function readLines(file: string): { parsed: Line[]; unreadable: number } {
  const parsed: Line[] = [];
  const unreadable = forEachLine(file, (line) => void parsed.push(line));
  return { parsed, unreadable };
}

/** Calls `use` with each readable line of the journal, in order; returns how many lines were not readable. */
function forEachLine(file: string, use: (line: Line) => void): number {
  let unreadable = 0;
  for (const text of readFileSync(file, 'utf8').split('\n')) {
    if (!text) continue;
    let line: unknown;
    try {
      line = JSON.parse(text);
    } catch {
      unreadable += 1;
      continue;
    }
    if (isLine(line)) use(line);
    else unreadable += 1;
  }
  return unreadable;
}

function isLine(value: unknown): value is Line {
  if (!isObject(value)) return false;
  const line = value;
  if ('put' in line) {
    const put = line.put;
    return (
      isObject(put) && typeof put.id === 'string' && typeof put.uniqueKey === 'string' && typeof put.url === 'string'
    );
  }
  if ('done' in line)
    return (
      typeof line.done === 'string' &&
      typeof line.key === 'string' &&
      typeof line.url === 'string' &&
      (line.label === undefined || typeof line.label === 'string')
    );
  return typeof line.del === 'string';
}

function hasRequestFiles(dir: string): boolean {
  return existsSync(dir) && readdirSync(dir).some(isRequestFile);
}

function isRequestFile(name: string): boolean {
  return name.endsWith('.json') && name !== '__metadata__.json';
}

/**
 * A queue left by an earlier version, in Crawlee's file storage (one `<id>.json` per request,
 * `orderNo` null once handled): read once into journal lines, so an unfinished crawl resumes.
 */
function importRequestFiles(dir: string): { parsed: Line[]; unreadable: number } {
  const parsed: Line[] = [];
  let unreadable = 0;
  for (const name of readdirSync(dir).filter(isRequestFile).sort()) {
    try {
      // why: files Crawlee's own storage wrote in this shape; a file that is not throws below and counts as unreadable.
      const stored = JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as { json: string; orderNo: number | null };
      // why: the request as Crawlee serialised it, with its id; a
      // malformed one fails in putLine/doneLine and counts as unreadable.
      const request = JSON.parse(stored.json) as RequestSchema & { id: string };
      parsed.push(stored.orderNo === null ? doneLine(request) : putLine(request, stored.orderNo < 0));
    } catch {
      unreadable += 1;
    }
  }
  return { parsed, unreadable };
}
