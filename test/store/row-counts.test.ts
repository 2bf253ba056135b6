/**
 * Rows per table as `status` shows them, on each kind of database a real crawl filled, some of
 * its classifications then soft-deleted: counted within the byte budget, estimated past it from a
 * sample of each table's pages (close to the counts; the tables here are tens of pages, so the
 * sample is made small to be one), and counted when the sample would be the whole table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveCommonConfig, type DbTarget } from '../../src/config.js';
import { formatStatus, runStatus } from '../../src/commands/status.js';
import { openDb, type Db } from '../../src/store/db.js';
import { countRows, type TableRows } from '../../src/store/row-counts.js';
import { TABLE_ORDER, type TableName } from '../../src/store/tables.js';
import { expectedCounts, startReplica, syntheticTree, type Replica } from '../replica/index.js';
import { crawl, crawlConfig, memoryLogger } from '../support/crawl.js';
import { DATABASE_KINDS, createTestDatabase, tempDir, type TestDatabase } from '../support/db.js';

const TREE = { series: 2, seasonsPerSeries: 3, eventsPerSeason: 4, sessionsPerEvent: 3, carsPerSession: 20 };
const DELETED = 7;
/** 8 runs of 2 pages: the classifications (~40 pages) are sampled, the smallest tables read whole. */
const SAMPLE = { sampleRuns: 8, samplePagesPerRun: 2 };

const dbFlag = (target: DbTarget) => (target.kind === 'embedded' ? target.dir : target.url);

describe.each(DATABASE_KINDS)('countRows on %s', (kind) => {
  let replica: Replica;
  let database: TestDatabase;
  let db: Db;
  let storage: string;
  let counted: Record<TableName, Omit<TableRows, 'counted'>>;
  let stored: number;

  beforeAll(async () => {
    const tree = syntheticTree(TREE);
    stored = expectedCounts(tree).rows.classifications;
    replica = await startReplica({ tree });
    database = await createTestDatabase(kind);
    storage = tempDir();
    const summary = await crawl(crawlConfig(replica.url, storage, database.target));
    expect(summary.outcome).toBe('complete');
    db = await openDb(database.target);
    await db.raw(
      `UPDATE classifications SET deleted_at = now() WHERE (session_uuid, car_number) IN ` +
        `(SELECT session_uuid, car_number FROM classifications ORDER BY 1, 2 LIMIT ${DELETED})`,
    );
    const entries = await Promise.all(
      TABLE_ORDER.map(async (table) => {
        const { rows } = await db.raw<{ rows: [{ live: number; deleted: number; versions: number }] }>(
          `SELECT (SELECT count(*) FROM ${table} WHERE deleted_at IS NULL)::int AS live,
                  (SELECT count(*) FROM ${table} WHERE deleted_at IS NOT NULL)::int AS deleted,
                  (SELECT count(*) FROM ${table}_history)::int AS versions`,
        );
        return [table, rows[0]] as const;
      }),
    );
    counted = Object.fromEntries(entries) as typeof counted;
    expect(counted.classifications).toMatchObject({
      live: stored - DELETED,
      deleted: DELETED,
      versions: stored + DELETED,
    });
  });
  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
    await replica?.close();
  });

  it('counts every row of the tables within the budget', async () => {
    const rows = await countRows(db, SAMPLE);
    for (const table of TABLE_ORDER) expect(rows[table], table).toEqual({ ...counted[table], counted: 'exact' });
  });

  it('past it, estimates a table from a sample of its pages, and counts one the sample would read whole', async () => {
    const rows = await countRows(db, { ...SAMPLE, exactBytes: 0 });
    for (const table of ['entries', 'entry_drivers', 'classifications'] as const) {
      const { live, deleted, versions, counted: how } = rows[table];
      expect(how, table).toBe('estimated');
      // 16 pages of 40, some part full (the crawl's writes interleave): within a quarter. Without
      // the scaling the figures would be 40 % of the counts; at live size a sample is within 0.1 %.
      expect(Math.abs(live + deleted - (counted[table].live + counted[table].deleted)), table).toBeLessThan(
        (counted[table].live + counted[table].deleted) / 4,
      );
      expect(Math.abs(versions - counted[table].versions), table).toBeLessThan(counted[table].versions / 4);
    }
    // Tables of a few pages are read whole by the sample: counts.
    for (const table of ['series', 'seasons', 'countries'] as const)
      expect(rows[table], table).toEqual({ ...counted[table], counted: 'exact' });
    // --exact counts every table.
    const exact = await countRows(db, { ...SAMPLE, exactBytes: 0, exact: true });
    for (const table of TABLE_ORDER) expect(exact[table], table).toEqual({ ...counted[table], counted: 'exact' });
  });

  it('status marks the estimates and says how to count', async () => {
    const config = resolveCommonConfig({ storage, db: dbFlag(database.target) }, {});
    // An embedded database is open to one process at a time: status opens it itself.
    await db.destroy();
    const report = await runStatus(config, memoryLogger());
    db = await openDb(database.target);
    expect(report.database.state).toBe('ready');
    if (report.database.state !== 'ready') return;
    const tables = await countRows(db, { ...SAMPLE, exactBytes: 0 });
    const text = formatStatus({ ...report, database: { ...report.database, tables } });
    const { live, deleted, versions } = tables.classifications;
    const about = (n: number) => `~${Number(n.toPrecision(3))}`;
    expect(text).toMatch(new RegExp(`^classifications +${about(live)} +${about(deleted)} +${about(versions)}$`, 'm'));
    expect(text).toMatch(new RegExp(`^series +${counted.series.live} +0 +${counted.series.versions}$`, 'm'));
    expect(text).toContain('~ estimated from 1024 pages of the table and of its history');
    expect(text).toContain('status --exact counts every row');
    expect(formatStatus(report)).not.toContain('~');
  });
});
