/**
 * Keeps PostgreSQL's planner statistics of the mirror's tables current while a crawl fills them,
 * by running ANALYZE on a table (and its `_history` twin) each time it has grown by as many rows as
 * it held at its last ANALYZE (at least DEFAULTS.plannerStatisticsMinRows): a handful of times per
 * table over a whole crawl, each sampling a bounded number of rows.
 *
 * Why the crawler does it itself: statistics come from ANALYZE, which autovacuum runs, and the
 * embedded database has no autovacuum (PGlite is a single backend) while a server may have it
 * turned off. A table never analyzed is planned from default guesses: the sink's soft-delete
 * UPDATE, which joins a table to the flush's few dozen parents, was planned as a sequential scan
 * of the whole table (`deleted_at IS NULL` guessed at 0.5 % of its rows), so every flush read every
 * classification, entry and driver row stored so far, and the crawl slowed as the tables grew: on
 * a 12,000-request live-shaped crawl PostgreSQL's CPU per request tripled by the 7,000th request
 * while the crawler's stayed flat. With statistics it is an index scan per parent (450 → 30 ms at
 * 165,000 rows). The history tables are included for the update trigger, which joins the new
 * versions to the current ones of the same keys.
 */
import { DEFAULTS } from '../config.js';
import type { Db } from './db.js';
import type { SinkCounts } from './sink.js';
import { TABLE_ORDER, type TableName } from './tables.js';

export class PlannerStatistics {
  /** Rows written (inserted, updated or soft-deleted) since each table's last ANALYZE. */
  private readonly writtenSince = new Map<TableName, number>();
  /** Rows each table held at its last ANALYZE, as the catalog says (0 for one never analyzed); read once, lazily. */
  private rowsAtAnalyze: Map<TableName, number> | undefined;

  constructor(
    private readonly db: Db,
    private readonly minRows: number = DEFAULTS.plannerStatisticsMinRows,
  ) {}

  /** Counts a committed flush's writes. */
  note(counts: SinkCounts): void {
    for (const table of TABLE_ORDER) {
      const { inserted, updated, deleted } = counts[table];
      const rows = inserted + updated + deleted;
      if (rows) this.writtenSince.set(table, (this.writtenSince.get(table) ?? 0) + rows);
    }
  }

  /**
   * Analyzes the tables whose writes since their last ANALYZE reached the rows they held then, and
   * returns their names. A table that fails to be analyzed (the database gone: the next flush says
   * so) stays due.
   */
  async refresh(): Promise<TableName[]> {
    if (![...this.writtenSince.values()].some((rows) => rows >= this.minRows)) return [];
    this.rowsAtAnalyze ??= await this.catalogRows();
    const rowsAtAnalyze = this.rowsAtAnalyze;
    const due = TABLE_ORDER.filter(
      (table) => (this.writtenSince.get(table) ?? 0) >= Math.max(this.minRows, rowsAtAnalyze.get(table) ?? 0),
    );
    for (const table of due) {
      const written = this.writtenSince.get(table) ?? 0;
      await this.db.raw(`ANALYZE ${table}, ${table}_history`);
      // Writes committed while ANALYZE ran may or may not be in its sample: counted as not.
      this.writtenSince.set(table, (this.writtenSince.get(table) ?? 0) - written);
      rowsAtAnalyze.set(table, (await this.catalogRows([table])).get(table) ?? 0);
    }
    return due;
  }

  private async catalogRows(tables: readonly TableName[] = TABLE_ORDER): Promise<Map<TableName, number>> {
    const { rows } = await this.db.raw<{ rows: { relname: TableName; reltuples: number }[] }>(
      'SELECT relname, reltuples FROM pg_class ' +
        'WHERE relnamespace = current_schema()::regnamespace AND relname = ANY(?)',
      [tables as string[]],
    );
    // reltuples is -1 for a table never analyzed (PostgreSQL 14 and later).
    return new Map(rows.map((row) => [row.relname, Math.max(0, Number(row.reltuples))]));
  }
}
