/**
 * Complete sets (see `CompleteSet`) as the sink uses them: prepared from a batch, asked whether the
 * database holds any row of them yet, and their missing rows soft-deleted.
 */
import type { Knex } from 'knex';
import { EmptiedSetError } from '../errors.js';
import {
  cellOf,
  columnsOf,
  columnTypes,
  keyColumns,
  type Cell,
  type RowByTable,
  type RowsByTable,
  type TableName,
} from './tables.js';

/**
 * A complete set: "these rows are all the rows of `table` where `where` holds" (a payload that
 * lists every child of a parent). Rows of that table matching `where` that the batch does not
 * hold have disappeared upstream and are soft-deleted. A batch holding none of a set the
 * database holds live rows of is refused whole (EmptiedSetError), unless the set says it `mayEmpty`:
 * one that upstream empties in earnest (a classification's retirements, an event's sessions).
 */
export type CompleteSet = {
  [T in TableName]: { readonly table: T; readonly where: Partial<RowByTable[T]>; readonly mayEmpty?: boolean };
}[TableName];

export interface PreparedCompleteSet {
  readonly table: TableName;
  readonly where: readonly [column: string, value: Cell][];
  /** The batch holds no row of the set, and the set may not be emptied at once. */
  readonly emptiesGuarded: boolean;
  /** Key columns not fixed by `where`, and the kept rows' values of them, column by column. */
  readonly restKey: readonly string[];
  readonly kept: Cell[][];
}

export function prepareCompleteSet(set: CompleteSet, rows: RowsByTable): PreparedCompleteSet {
  const where = Object.keys(set.where).map((column): [string, Cell] => [column, cellOf(set.where, column)]);
  const restKey = keyColumns(set.table).filter((k) => !(k in set.where));
  const tableRows: readonly RowByTable[TableName][] = rows[set.table] ?? [];
  const matching = tableRows.filter((row) => where.every(([column, value]) => cellOf(row, column) === value));
  return {
    table: set.table,
    where,
    emptiesGuarded: !matching.length && !set.mayEmpty,
    restKey,
    kept: restKey.map((column) => matching.map((row) => cellOf(row, column))),
  };
}

/**
 * The complete sets grouped by table and `where` columns: the sets of one group are soft-deleted
 * by one statement, whatever the number of payloads in the flush.
 */
export function setsByShape(sets: readonly PreparedCompleteSet[]): PreparedCompleteSet[][] {
  const groups = new Map<string, PreparedCompleteSet[]>();
  for (const set of sets) {
    const shape = JSON.stringify([set.table, set.where.map(([column]) => column)]);
    const group = groups.get(shape) ?? groups.set(shape, []).get(shape)!;
    group.push(set);
  }
  return [...groups.values()];
}

/**
 * Soft-deletes, for every complete set given (one table, the same `where` columns), the set's live
 * rows its payload did not hold; returns how many rows. One UPDATE joins the table to the sets'
 * `where` values, numbered, and keeps a row if its own set's kept keys hold it: a row is deleted
 * when any set it falls in does not hold it, as deleting set after set would, each row once.
 * Throws EmptiedSetError (its transaction rolled back, nothing deleted) when that would be all of a
 * guarded set's rows.
 */
export async function softDeleteMissing(trx: Knex.Transaction, sets: readonly PreparedCompleteSet[]): Promise<number> {
  const { table, where, restKey } = sets[0]!;
  const types = columnTypes(table);
  const whereColumns = where.map(([column]) => column);
  const numbers = sets.map((_, i) => i);
  const bindings: Cell[][] = [numbers, ...whereColumns.map((_, c) => sets.map((set) => set.where[c]![1]))];
  const setColumns = ['set_no', ...whereColumns];
  const setArrays = ['?::integer[]', ...whereColumns.map((column) => `?::${types[column]}[]`)];
  const conditions = ['t.deleted_at IS NULL', ...whereColumns.map((column) => `t.${column} = s.${column}`)];
  if (restKey.length) {
    bindings.push(
      sets.flatMap((set, i) => set.kept[0]!.map(() => i)),
      ...restKey.map((_, c) => sets.flatMap((set) => set.kept[c]!)),
    );
    const keptArrays = ['?::integer[]', ...restKey.map((column) => `?::${types[column]}[]`)];
    const sameRow = ['k.set_no = s.set_no', ...restKey.map((column) => `k.${column} = t.${column}`)];
    conditions.push(
      `NOT EXISTS (SELECT 1 FROM unnest(${keptArrays.join(', ')}) AS k(set_no, ${restKey.join(', ')}) ` +
        `WHERE ${sameRow.join(' AND ')})`,
    );
  }
  const result = await trx.raw<{ rows: { set_no: number }[] }>(
    `UPDATE ${table} t SET deleted_at = now(), updated_at = now() ` +
      `FROM unnest(${setArrays.join(', ')}) AS s(${setColumns.join(', ')}) ` +
      `WHERE ${conditions.join(' AND ')} RETURNING s.set_no`,
    // why: as in upsert: the arrays may hold nulls, which knex's binding types do not allow.
    bindings as Knex.RawBinding[],
  );
  sets.forEach((set, i) => {
    if (!set.emptiesGuarded) return;
    const deleted = result.rows.filter((row) => row.set_no === i).length;
    if (deleted) throw new EmptiedSetError(set.table, set.where, deleted);
  });
  return result.rows.length;
}

/** A payload of a flush, as `soleSets` reads it: its sets, and its rows' cells (columns in spec order) by table. */
export interface FlushPayload {
  readonly completeSets: readonly PreparedCompleteSet[];
  readonly rows: ReadonlyMap<TableName, readonly { readonly cells: readonly Cell[] }[]>;
}

/**
 * The sets of a flush that one payload alone speaks for: sets whose `where` columns are all key
 * columns (a row outside such a set cannot share a key with one inside it), declared by one
 * payload of the flush, and holding no row of another payload. Only these may be taken for new
 * (`newSets`): the rows of a set that two payloads write must be merged and soft-deleted as the
 * upsert path does (a row one declaring payload lacks is deleted).
 */
export function soleSets(payloads: readonly FlushPayload[]): PreparedCompleteSet[] {
  const declaredBy = new Map<string, number[]>();
  const shapes = new SetShapes();
  payloads.forEach((payload, i) => {
    for (const set of payload.completeSets) {
      if (!keyedSet(set)) continue;
      const id = setId(set);
      declaredBy.set(id, [...(declaredBy.get(id) ?? []), i]);
      shapes.add(set);
    }
  });
  const heldBy = new Map<string, Set<number>>();
  payloads.forEach((payload, i) => {
    for (const table of shapes.tables())
      for (const row of payload.rows.get(table) ?? [])
        for (const id of shapes.setsOf(table, row.cells)) {
          const holders = heldBy.get(id) ?? heldBy.set(id, new Set()).get(id)!;
          holders.add(i);
        }
  });
  return payloads.flatMap((payload, i) =>
    payload.completeSets.filter((set) => {
      if (!keyedSet(set)) return false;
      const id = setId(set);
      return declaredBy.get(id)!.length === 1 && [...(heldBy.get(id) ?? [])].every((holder) => holder === i);
    }),
  );
}

/**
 * The `where` shapes (columns, in name order) of some sets, by table: which set a row of a table
 * falls in, named as `setId` names the set.
 */
export class SetShapes {
  private readonly byTable = new Map<TableName, Map<string, { columns: string[]; positions: number[] }>>();

  add(set: PreparedCompleteSet): void {
    const columns = set.where.map(([column]) => column).sort();
    const stored: readonly string[] = columnsOf(set.table);
    const shapes = this.byTable.get(set.table) ?? this.byTable.set(set.table, new Map()).get(set.table)!;
    shapes.set(columns.join(), { columns, positions: columns.map((column) => stored.indexOf(column)) });
  }

  tables(): Iterable<TableName> {
    return this.byTable.keys();
  }

  /** The ids of the sets, of every shape added for `table`, that a row with these cells (spec order) falls in. */
  setsOf(table: TableName, cells: readonly Cell[]): string[] {
    return [...(this.byTable.get(table)?.values() ?? [])].map(({ columns, positions }) =>
      JSON.stringify([table, columns, positions.map((at) => cells[at])]),
    );
  }
}

/** Whether the set's `where` columns are all key columns of its table. */
function keyedSet(set: PreparedCompleteSet): boolean {
  return set.where.length > 0 && set.where.every(([column]) => keyColumns(set.table).includes(column));
}

/** The set's table and `where`, columns in name order: the same string for the same set, whoever declares it. */
export function setId(set: PreparedCompleteSet): string {
  const where = [...set.where].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([set.table, where.map(([column]) => column), where.map(([, value]) => value)]);
}

/**
 * Of the sets given (see `soleSets`), those the database holds no row of, live or deleted: their
 * rows are all new keys, so they can be COPYed rather than upserted, and there is nothing of theirs
 * to soft-delete. One statement for every set of the flush, an index probe per set. What the answer
 * says holds for this transaction's snapshot: a concurrent writer COPYing the same keys makes the
 * COPY fail (unique_violation), and the flush is then run again without COPY.
 */
export async function newSets(
  trx: Knex.Transaction,
  sets: readonly PreparedCompleteSet[],
): Promise<Set<PreparedCompleteSet>> {
  if (!sets.length) return new Set();
  const numbers = new Map(sets.map((set, i) => [set, i]));
  const selects: string[] = [];
  const bindings: Cell[][] = [];
  for (const shape of setsByShape(sets)) {
    const { table, where } = shape[0]!;
    const types = columnTypes(table);
    const columns = where.map(([column]) => column);
    const arrays = ['?::integer[]', ...columns.map((column) => `?::${types[column]}[]`)];
    const match = columns.map((column) => `t.${column} = s.${column}`).join(' AND ');
    selects.push(
      `SELECT s.set_no FROM unnest(${arrays.join(', ')}) AS s(set_no, ${columns.join(', ')}) ` +
        `WHERE EXISTS (SELECT 1 FROM ${table} t WHERE ${match})`,
    );
    bindings.push(
      shape.map((set) => numbers.get(set)!),
      ...columns.map((_, c) => shape.map((set) => set.where[c]![1])),
    );
  }
  // why: as in the sink's upserts: the arrays may hold nulls, which knex's binding types do not allow.
  const held = await trx.raw<{ rows: { set_no: number }[] }>(
    selects.join(' UNION ALL '),
    bindings as Knex.RawBinding[],
  );
  const holding = new Set(held.rows.map((row) => row.set_no));
  return new Set(sets.filter((_, i) => !holding.has(i)));
}
