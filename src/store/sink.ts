/**
 * The group-commit hash-upsert sink. Routes hand it rows; it hashes each row over exactly the
 * columns the row stores, gathers the rows of every handler that writes while a flush is running,
 * and writes them in one transaction: parents before children, a bound array per column,
 * `ON CONFLICT … DO UPDATE … WHERE hash IS DISTINCT FROM` so unchanged rows are not touched.
 * `write()` resolves only once the transaction holding its rows has committed: a request marked
 * handled in the queue is a request whose rows are stored.
 */
import { hash } from 'node:crypto';
import type { Knex } from 'knex';
import { DEFAULTS } from '../config.js';
import { RowsRefusedError } from '../errors.js';
import { withRetries } from '../retry.js';
import {
  newSets,
  prepareCompleteSet,
  SetShapes,
  setId,
  soleSets,
  setsByShape,
  softDeleteMissing,
  type CompleteSet,
  type PreparedCompleteSet,
} from './complete-sets.js';
import { copyInto } from './copy.js';
import { classifyDbError, sqlStateOf, type Db } from './db.js';
import { PlannerStatistics } from './planner-statistics.js';
import { replaceQuarantine, type PayloadQuarantine } from './quarantine.js';
import {
  TABLE_ORDER,
  TABLES,
  cellOf,
  columnTypes,
  columnsOf,
  keyColumns,
  type Cell,
  type RowByTable,
  type RowsByTable,
  type TableName,
} from './tables.js';
import { recordOf } from '../record.js';

export interface SinkBatch {
  readonly rows: RowsByTable;
  readonly complete: readonly CompleteSet[];
  /** The response body these rows come from, recorded as applied in the same transaction. */
  readonly applied?: AppliedBody;
  /** The payload's quarantined items (none for a clean one), replacing its target's in the same transaction. */
  readonly quarantine?: PayloadQuarantine;
}

/** A body's target key and fingerprint (see src/crawl/applied-payloads.ts). */
export interface AppliedBody {
  readonly key: string;
  readonly fingerprint: string;
}

export interface TableCounts {
  inserted: number;
  updated: number;
  unchanged: number;
  deleted: number;
}
export type SinkCounts = Record<TableName, TableCounts>;

export interface SinkOptions {
  /** Rows per INSERT statement. Default DEFAULTS.sinkRowsPerStatement. */
  readonly maxRowsPerStatement?: number;
  /** Rows gathered into one transaction at most. Default DEFAULTS.sinkRowsPerFlush. */
  readonly maxRowsPerFlush?: number;
  /** Attempts of a flush that hit a deadlock or serialization failure. Default DEFAULTS.sinkFlushAttempts. */
  readonly maxAttempts?: number;
  /**
   * Transactions in flight at once. Default 1. A server gains from a few (each flush is a dozen
   * round trips); the embedded database has one connection. Rows are written in key order, so
   * concurrent flushes take their row locks in the same order and do not deadlock.
   */
  readonly maxConcurrentFlushes?: number;
  /**
   * Run before each flush; a throw fails the flush's writes with that error, nothing written.
   * The embedded database's free-space guard (see disk-space.ts).
   */
  readonly beforeFlush?: (rows: number) => void;
  /** Names the database in error messages (a data dir, or the redacted URL). */
  readonly where?: string;
  /** Rows written into a table before it is analyzed again, at least. Default DEFAULTS.plannerStatisticsMinRows. */
  readonly analyzeMinRows?: number;
}

/** A row ready to write: its key as one string, its hash, and its values in spec order followed by the hash. */
interface PreparedRow {
  readonly key: string;
  readonly hash: string;
  /** The columns `[...columnsOf(table), 'hash']`, in that order: what COPY and the upsert's arrays take. */
  readonly cells: Cell[];
}

interface FlushResult {
  readonly counts: SinkCounts;
  /** The shared rows the flush upserted, remembered once it has committed. */
  readonly written: ReadonlyMap<TableName, PreparedRow[]>;
}

interface Pending {
  readonly rows: ReadonlyMap<TableName, PreparedRow[]>;
  readonly completeSets: readonly PreparedCompleteSet[];
  readonly applied: AppliedBody | undefined;
  readonly quarantine: PayloadQuarantine | undefined;
  readonly size: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** SQLSTATEs of a transaction that lost a race (deadlock_detected, serialization_failure), not of bad rows. */
const TRANSIENT_CODES = new Set<string | undefined>(['40P01', '40001']);
const UNIQUE_VIOLATION = '23505';

export function emptyCounts(): SinkCounts {
  return recordOf(TABLE_ORDER, () => ({ inserted: 0, updated: 0, unchanged: 0, deleted: 0 }));
}

/** SHA-256 over the canonical JSON of the row's values, in the order of its spec's columns. */
export function hashRow(values: readonly Cell[]): string {
  // One-shot hash(): the same digest as createHash, without a Hash object per row.
  return hash('sha256', JSON.stringify(values), 'hex');
}

export class Sink {
  readonly counts: SinkCounts = emptyCounts();
  private readonly maxRowsPerStatement: number;
  private readonly maxRowsPerFlush: number;
  private readonly maxAttempts: number;
  private readonly maxConcurrentFlushes: number;
  private readonly beforeFlush: (rows: number) => void;
  private readonly where: string;
  private pending: Pending[] = [];
  private flushing = 0;
  private scheduled = false;
  private idleWaiters: (() => void)[] = [];
  /** Hashes of shared rows (see TableSpec.shared) committed by this sink, by table and key. */
  private readonly committed = new Map<TableName, Map<string, string>>();
  private readonly statistics: PlannerStatistics;
  private analyzing = false;

  constructor(
    private readonly db: Db,
    options: SinkOptions = {},
  ) {
    this.maxRowsPerStatement = options.maxRowsPerStatement ?? DEFAULTS.sinkRowsPerStatement;
    this.maxRowsPerFlush = options.maxRowsPerFlush ?? DEFAULTS.sinkRowsPerFlush;
    this.maxAttempts = options.maxAttempts ?? DEFAULTS.sinkFlushAttempts;
    this.maxConcurrentFlushes = options.maxConcurrentFlushes ?? 1;
    this.beforeFlush = options.beforeFlush ?? (() => undefined);
    this.where = options.where ?? 'the database';
    this.statistics = new PlannerStatistics(db, options.analyzeMinRows);
  }

  /** Resolves once the rows are committed; rejects with the flush's error otherwise. */
  write(batch: SinkBatch): Promise<void> {
    const rows = new Map<TableName, PreparedRow[]>();
    let size = 0;
    for (const table of TABLE_ORDER) {
      const tableRows: readonly RowByTable[TableName][] | undefined = batch.rows[table];
      if (!tableRows?.length) continue;
      rows.set(
        table,
        tableRows.map((row) => prepareRow(table, row)),
      );
      size += tableRows.length;
    }
    const completeSets = batch.complete.map((set) => prepareCompleteSet(set, batch.rows));
    return new Promise((resolve, reject) => {
      this.pending.push({
        rows,
        completeSets,
        applied: batch.applied,
        quarantine: batch.quarantine,
        size,
        resolve,
        reject,
      });
      this.schedule();
    });
  }

  /** Waits until everything written so far is committed (or has failed). */
  idle(): Promise<void> {
    if (!this.flushing && !this.pending.length) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Starts a flush when one may run; setImmediate lets the handlers finishing in the same tick join it. */
  private schedule(): void {
    if (this.scheduled || !this.pending.length || this.flushing >= this.maxConcurrentFlushes) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flushNext();
    });
  }

  private async flushNext(): Promise<void> {
    if (!this.pending.length || this.flushing >= this.maxConcurrentFlushes) return;
    this.flushing += 1;
    const group = this.takeGroup();
    this.schedule();
    try {
      await this.commitGroup(group);
      await this.refreshStatistics();
    } finally {
      this.flushing -= 1;
      this.schedule();
      if (!this.flushing && !this.pending.length) for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  /**
   * Commits a group and settles its writes. Rows refused for what they hold (a constraint, a value
   * their column cannot hold) fail only the write they came from: the group is committed again one
   * write at a time, so the others are stored and the refusal is reported once, for its own request.
   */
  private async commitGroup(group: readonly Pending[]): Promise<void> {
    let result: FlushResult;
    try {
      this.beforeFlush(group.reduce((rows, p) => rows + p.size, 0));
      result = await this.flushWithRetry(group);
    } catch (error) {
      const failure = classifyDbError(error, this.where);
      if (failure instanceof RowsRefusedError && group.length > 1) {
        for (const p of group) await this.commitGroup([p]);
        return;
      }
      for (const p of group) p.reject(failure);
      return;
    }
    addCounts(this.counts, result.counts);
    this.statistics.note(result.counts);
    for (const [table, rows] of result.written) {
      const seen = this.committed.get(table) ?? this.committed.set(table, new Map()).get(table)!;
      for (const row of rows) seen.set(row.key, row.hash);
    }
    for (const p of group) p.resolve();
  }

  /**
   * Analyzes the tables grown enough since their last ANALYZE, in the slot of the flush that grew
   * them (its writes already resolved), one ANALYZE at a time. A failure is not a write's: the
   * tables stay due, and a database gone fails the next flush.
   */
  private async refreshStatistics(): Promise<void> {
    if (this.analyzing) return;
    this.analyzing = true;
    try {
      await this.statistics.refresh();
    } catch {
      // Stays due (see above).
    } finally {
      this.analyzing = false;
    }
  }

  private takeGroup(): Pending[] {
    let rows = 0;
    let taken = 0;
    while (taken < this.pending.length && (taken === 0 || rows + this.pending[taken]!.size <= this.maxRowsPerFlush)) {
      rows += this.pending[taken]!.size;
      taken += 1;
    }
    return this.pending.splice(0, taken);
  }

  /**
   * A deadlock or serialization failure is the other transaction's timing: the flush is tried
   * again. So is a unique violation of a flush that COPYed rows of sets it found new: another writer
   * stored some of those keys in between (see `newSets`), and the flush runs again as upserts only.
   */
  private async flushWithRetry(group: readonly Pending[]): Promise<FlushResult> {
    const attempt = (copyNewSets: boolean) =>
      withRetries(() => this.db.transaction((trx) => this.flush(trx, group, copyNewSets)), {
        retries: this.maxAttempts - 1,
        baseMs: DEFAULTS.sinkRetryBaseMs,
        retryable: (error) => TRANSIENT_CODES.has(sqlStateOf(error)),
      });
    try {
      return await attempt(true);
    } catch (error) {
      if (sqlStateOf(error) !== UNIQUE_VIOLATION) throw error;
      return attempt(false);
    }
  }

  private async flush(trx: Knex.Transaction, group: readonly Pending[], copyNewSets: boolean): Promise<FlushResult> {
    const counts = emptyCounts();
    const written = new Map<TableName, PreparedRow[]>();
    const completeSets = group.flatMap((p) => p.completeSets);
    const fresh = copyNewSets ? new NewRows(await newSets(trx, soleSets(group))) : undefined;
    for (const table of TABLE_ORDER) {
      // The last version of a key wins.
      const byKey = new Map<string, PreparedRow>();
      for (const p of group) for (const row of p.rows.get(table) ?? []) byKey.set(row.key, row);
      if (!byKey.size) continue;
      const seen = this.committed.get(table);
      const rows = [...byKey.values()].filter((row) => seen?.get(row.key) !== row.hash);
      counts[table].unchanged += byKey.size - rows.length;
      if (!rows.length) continue;
      const { copied, upserted } = fresh ? fresh.split(table, rows) : { copied: [], upserted: rows };
      if (copied.length)
        counts[table].inserted += await copyInto(
          trx,
          table,
          [...columnsOf(table), 'hash'],
          copied.map((row) => row.cells),
        );
      // Sorted by key: concurrent crawls take the rows' locks in one order.
      upserted.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      if (upserted.length) {
        const { inserted, updated } = await this.upsert(trx, table, upserted);
        counts[table].inserted += inserted;
        counts[table].updated += updated;
        counts[table].unchanged += upserted.length - inserted - updated;
      }
      if (TABLES[table].shared) written.set(table, rows);
    }
    // A new set has no stored row to soft-delete.
    for (const sets of setsByShape(completeSets.filter((set) => !fresh?.holds(set))))
      counts[sets[0]!.table].deleted += await softDeleteMissing(trx, sets);
    await recordApplied(
      trx,
      group.flatMap((p) => (p.applied ? [p.applied] : [])),
    );
    await replaceQuarantine(
      trx,
      group.flatMap((p) => (p.quarantine ? [p.quarantine] : [])),
    );
    return { counts, written };
  }

  /**
   * One INSERT … SELECT FROM unnest(column arrays) per chunk: a bound array per column rather than
   * a parameter per value, which the driver and the server both handle several times faster.
   */
  private async upsert(
    trx: Knex.Transaction,
    table: TableName,
    rows: readonly PreparedRow[],
  ): Promise<{ inserted: number; updated: number }> {
    const stored = columnsOf(table);
    const columns = [...stored, 'hash'];
    const types = columnTypes(table);
    const arrays = [...stored.map((c) => `?::${types[c]}[]`), '?::text[]'].join(', ');
    const key = keyColumns(table);
    const assignments = columns
      .filter((c) => !key.includes(c))
      .map((c) => `${c} = EXCLUDED.${c}`)
      .concat('updated_at = now()', 'deleted_at = NULL')
      .join(', ');
    // The counts come back as one row, not a row per written row.
    const sql =
      `WITH written AS (INSERT INTO ${table} (${columns.join(', ')}) SELECT * FROM unnest(${arrays}) ` +
      `ON CONFLICT (${key.join(', ')}) DO UPDATE SET ${assignments} ` +
      `WHERE ${table}.hash IS DISTINCT FROM EXCLUDED.hash OR ${table}.deleted_at IS NOT NULL ` +
      `RETURNING (xmax = 0) AS inserted) ` +
      `SELECT count(*) FILTER (WHERE inserted)::integer AS inserted, count(*)::integer AS written FROM written`;
    let inserted = 0;
    let updated = 0;
    for (let start = 0; start < rows.length; start += this.maxRowsPerStatement) {
      const chunk = rows.slice(start, start + this.maxRowsPerStatement);
      const bindings: Cell[][] = columns.map((_, i) => chunk.map((row) => row.cells[i]!));
      // why: knex's binding types know no array holding nulls; both drivers bind each as one PostgreSQL array.
      const result = await trx.raw<{ rows: { inserted: number; written: number }[] }>(
        sql,
        bindings as Knex.RawBinding[],
      );
      const counts = result.rows[0]!;
      inserted += counts.inserted;
      updated += counts.written - counts.inserted;
    }
    return { inserted, updated };
  }
}

function prepareRow(table: TableName, row: RowByTable[TableName]): PreparedRow {
  const cells = columnsOf(table).map((c) => cellOf(row, c));
  const key = JSON.stringify(keyColumns(table).map((c) => cellOf(row, c)));
  const rowHash = hashRow(cells);
  cells.push(rowHash);
  return { key, hash: rowHash, cells };
}

/**
 * The sets of a flush that the database holds no row of (see `newSets`), and which of a table's
 * rows fall in one of them: those rows are new keys, COPYed rather than upserted.
 */
class NewRows {
  private readonly shapes = new SetShapes();
  private readonly ids: ReadonlySet<string>;

  constructor(private readonly sets: ReadonlySet<PreparedCompleteSet>) {
    for (const set of sets) this.shapes.add(set);
    this.ids = new Set([...sets].map(setId));
  }

  holds(set: PreparedCompleteSet): boolean {
    return this.sets.has(set);
  }

  /** The rows in a new set, and the others (in the order given). */
  split(table: TableName, rows: readonly PreparedRow[]): { copied: PreparedRow[]; upserted: PreparedRow[] } {
    const copied: PreparedRow[] = [];
    const upserted: PreparedRow[] = [];
    for (const row of rows)
      (this.shapes.setsOf(table, row.cells).some((id) => this.ids.has(id)) ? copied : upserted).push(row);
    return { copied, upserted };
  }
}

/** Upserts the bodies' fingerprints, one statement, in key order like the rows. */
async function recordApplied(trx: Knex.Transaction, bodies: readonly AppliedBody[]): Promise<void> {
  if (!bodies.length) return;
  const byKey = new Map(bodies.map((b) => [b.key, b.fingerprint]));
  const keys = [...byKey.keys()].sort();
  await trx.raw(
    `INSERT INTO applied_payloads (target_key, body_fingerprint) SELECT * FROM unnest(?::text[], ?::text[]) ` +
      `ON CONFLICT (target_key) DO UPDATE SET body_fingerprint = EXCLUDED.body_fingerprint, applied_at = now()`,
    [keys, keys.map((k) => byKey.get(k)!)],
  );
}

export function addCounts(into: SinkCounts, from: SinkCounts): void {
  for (const table of TABLE_ORDER) {
    const a = into[table];
    const b = from[table];
    a.inserted += b.inserted;
    a.updated += b.updated;
    a.unchanged += b.unchanged;
    a.deleted += b.deleted;
  }
}
