/**
 * Measurement 5: the sink alone. Classification-shaped rows into the migrated schema on
 * PostgreSQL or PGlite (history triggers included), against the reference: the same rows, hashes
 * precomputed, as plain multi-row INSERTs (the driver's own $n placeholders, 65,535 parameters per
 * statement, one transaction). The sink is driven as the crawl drives it: 48 concurrent writers,
 * one write per session.
 *
 *   raw            the reference
 *   copy           the same rows by COPY (copy.ts): the fastest ingest PostgreSQL has, triggers on
 *   raw-no-history the same with the table's user triggers (the history versioning) disabled:
 *                  what the history tables cost every writer, sink or not
 *   sink-upsert    writes without complete sets: hashing, group commit, upsert
 *   sink-crawl     writes as the classification route sends them, with its complete sets
 *                  of each of its tables that holds rows here (`classifications` by session): the
 *                  soft-delete statement per payload included
 *   sink-unchanged the same writes again: every row unchanged (a warm or refresh crawl's case)
 */
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { DEFAULTS, type DbTarget } from '../../src/config.js';
import { openDb, type Db } from '../../src/store/db.js';
import { migrateLatest } from '../../src/store/migrate.js';
import { hashRow, Sink, type SinkBatch } from '../../src/store/sink.js';
import { cellOf, columnsOf, type Cell, type ClassificationRow } from '../../src/store/tables.js';
import { createDatabase, log, removeDir, tempDir } from '../harness.js';
import { copyRows } from './copy.js';

export const SINK_VARIANTS = ['raw', 'copy', 'raw-no-history', 'sink-upsert', 'sink-crawl', 'sink-unchanged'] as const;
export type SinkVariant = (typeof SINK_VARIANTS)[number];

export interface SinkResult {
  readonly database: DbTarget['kind'];
  readonly rows: number;
  readonly sessions: number;
  readonly writers: number;
  readonly seconds: Record<SinkVariant, number>;
  readonly rowsPerSec: Record<SinkVariant, number>;
  readonly problems: readonly string[];
}

const CARS = 32;

/** Deterministic uuid-shaped strings from a counter. */
function uuid(kind: number, n: number): string {
  const hex = (kind * 0x1000000 + n).toString(16).padStart(12, '0');
  return `00000000-0000-4000-8000-${hex}`;
}

function sessionRows(s: number, countries: number): ClassificationRow[] {
  return Array.from({ length: CARS }, (_, c): ClassificationRow => {
    const x = (s * 31 + c * 17) % 97;
    return {
      session_uuid: uuid(5, s),
      car_number: String(c + 1),
      nationality_uuid: uuid(3, (s + c) % countries),
      finish_position: c + 1,
      grid_position: ((c * 7) % CARS) + 1,
      laps: 50 - (x % 3),
      points: c < 10 ? 25 - c * 2 : 0,
      time_ms: 5_400_000 + x * 1234,
      classified_status: x < 90 ? 'CLA' : 'DNF',
      avg_lap_speed: 180 + x / 7,
      fastest_lap_time_ms: 90_000 + x * 11,
      gap_time_to_lead_ms: c * 1500,
      gap_time_to_next_ms: 1500,
      gap_laps_to_lead: 0,
      gap_laps_to_next: 0,
      best_lap: 1 + (x % 50),
      best_time_ms: 90_000 + x * 11,
      best_fastest: c === 0,
      best_speed: null,
    };
  });
}

/** Series, season, venue, countries, events, sessions, teams and entries the rows refer to. */
async function seedParents(db: Db, sessions: number, countries: number): Promise<void> {
  const h = { hash: 'seed' };
  await db('series').insert({ uuid: uuid(1, 0), name: 'Bench', ...h });
  await db('seasons').insert({ uuid: uuid(2, 0), series_uuid: uuid(1, 0), name: 'Bench 2025', year: 2025, ...h });
  await db('venues').insert({ uuid: uuid(4, 0), name: 'Bench Park', ...h });
  await db.batchInsert(
    'countries',
    Array.from({ length: countries }, (_, i) => ({ uuid: uuid(3, i), name: `Country ${i}`, ...h })),
    1000,
  );
  const events = Math.ceil(sessions / 4);
  await db.batchInsert(
    'events',
    Array.from({ length: events }, (_, e) => ({
      uuid: uuid(6, e),
      season_uuid: uuid(2, 0),
      venue_uuid: uuid(4, 0),
      country_uuid: uuid(3, 0),
      name: `Event ${e}`,
      ...h,
    })),
    1000,
  );
  await db.batchInsert(
    'sessions',
    Array.from({ length: sessions }, (_, s) => ({
      uuid: uuid(5, s),
      event_uuid: uuid(6, Math.floor(s / 4)),
      name: 'Race',
      ...h,
    })),
    1000,
  );
  await db('teams').insert({ uuid: uuid(7, 0), ...h });
  const entries = Array.from({ length: sessions * CARS }, (_, i) => ({
    session_uuid: uuid(5, Math.floor(i / CARS)),
    car_number: String((i % CARS) + 1),
    team_uuid: uuid(7, 0),
    ...h,
  }));
  await db.batchInsert('entries', entries, 5000);
}

async function truncate(db: Db): Promise<void> {
  await db.raw('TRUNCATE classifications, classifications_history');
}

const RAW_COLUMNS = [...columnsOf('classifications'), 'hash'];

/** The rows' values in RAW_COLUMNS order, hashes included, as the reference variants take them. */
function rawValues(rows: readonly ClassificationRow[]): Cell[][] {
  return rows.map((row) => {
    const values = columnsOf('classifications').map((c) => cellOf(row, c));
    return [...values, hashRow(values)];
  });
}

async function rawInsert(db: Db, prepared: readonly Cell[][]): Promise<number> {
  const perStatement = Math.floor(65_535 / RAW_COLUMNS.length);
  const started = performance.now();
  await db.transaction(async (trx) => {
    // The driver's own connection and placeholders: knex's `?` rewriting is not the reference.
    const connection: unknown = await trx.client.acquireConnection();
    const query = (text: string, params: Cell[]): Promise<unknown> => {
      if (connection instanceof PGlite) return connection.query(text, params);
      if (connection instanceof pg.Client) return connection.query(text, params);
      throw new Error('raw insert: the connection is neither a pg client nor PGlite');
    };
    for (let start = 0; start < prepared.length; start += perStatement) {
      const chunk = prepared.slice(start, start + perStatement);
      const params: Cell[] = [];
      const tuples = chunk.map((values) => {
        const first = params.length;
        params.push(...values);
        return `(${values.map((_, i) => `$${first + i + 1}`).join(', ')})`;
      });
      await query(`INSERT INTO classifications (${RAW_COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`, params);
    }
  });
  return (performance.now() - started) / 1000;
}

async function countRows(db: Db): Promise<number> {
  const [{ n } = { n: 0 }] = (await db.raw<{ rows: { n: number }[] }>('SELECT count(*)::int AS n FROM classifications'))
    .rows;
  return n;
}

/** `writers` handlers, each writing one session's batch after another, as the crawl's handlers do. */
async function sinkWrites(
  db: Db,
  kind: DbTarget['kind'],
  batches: readonly SinkBatch[],
  writers: number,
): Promise<{ seconds: number; sink: Sink }> {
  // The transactions in flight the crawl allows (commands/crawl.ts).
  const sink = new Sink(db, { maxConcurrentFlushes: kind === 'postgres' ? DEFAULTS.sinkServerFlushes : 1 });
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (next < batches.length) await sink.write(batches[next++]!);
    }),
  );
  await sink.idle();
  return { seconds: (performance.now() - started) / 1000, sink };
}

/** `afterMigrate` lets an experiment change the schema before anything is measured (not used by the CLI). */
export async function sinkRun(
  adminUrl: string,
  rowCount: number,
  writers: number,
  afterMigrate?: (db: Db) => Promise<void>,
  kind: DbTarget['kind'] = 'postgres',
): Promise<SinkResult> {
  const database = kind === 'postgres' ? await createDatabase(adminUrl) : undefined;
  const dir = kind === 'embedded' ? tempDir('sink') : undefined;
  const target: DbTarget = database ? { kind: 'postgres', url: database.url } : { kind: 'embedded', dir: `${dir}/db` };
  const db = await openDb(target);
  try {
    await migrateLatest(db);
    await afterMigrate?.(db);
    const sessions = Math.ceil(rowCount / CARS);
    const countries = 40;
    log(`sink: seeding ${sessions} sessions and ${sessions * CARS} entries`);
    await seedParents(db, sessions, countries);
    const perSession = Array.from({ length: sessions }, (_, s) => sessionRows(s, countries));
    const rows = perSession.flat();
    const prepared = rawValues(rows);
    const problems: string[] = [];
    const seconds = {} as Record<SinkVariant, number>;

    await db.raw('ALTER TABLE classifications DISABLE TRIGGER USER');
    seconds['raw-no-history'] = await rawInsert(db, prepared);
    await db.raw('ALTER TABLE classifications ENABLE TRIGGER USER');
    await truncate(db);

    seconds.raw = await rawInsert(db, prepared);
    const rawCount = await countRows(db);
    if (rawCount !== rows.length) problems.push(`raw inserted ${rawCount} rows, want ${rows.length}`);
    await truncate(db);

    seconds.copy =
      rows.length / (await copyRows(db, [{ table: 'classifications', columns: RAW_COLUMNS, rows: prepared }]));
    const copyHistory = (
      await db.raw<{ rows: { n: number }[] }>('SELECT count(*)::int AS n FROM classifications_history')
    ).rows[0]?.n;
    if (copyHistory !== rows.length) problems.push(`copy left ${copyHistory} history rows, want ${rows.length}`);
    await truncate(db);

    const upsert = await sinkWrites(
      db,
      kind,
      perSession.map((r) => ({ rows: { classifications: r }, complete: [] })),
      writers,
    );
    seconds['sink-upsert'] = upsert.seconds;
    if (upsert.sink.counts.classifications.inserted !== rows.length)
      problems.push(`sink-upsert inserted ${upsert.sink.counts.classifications.inserted}, want ${rows.length}`);
    await truncate(db);

    const crawlShape = perSession.map(
      (r, s): SinkBatch => ({
        rows: { classifications: r },
        complete: [{ table: 'classifications', where: { session_uuid: uuid(5, s) } }],
      }),
    );
    const crawl = await sinkWrites(db, kind, crawlShape, writers);
    seconds['sink-crawl'] = crawl.seconds;
    if (crawl.sink.counts.classifications.inserted !== rows.length)
      problems.push(`sink-crawl inserted ${crawl.sink.counts.classifications.inserted}, want ${rows.length}`);

    const again = await sinkWrites(db, kind, crawlShape, writers);
    seconds['sink-unchanged'] = again.seconds;
    const c = again.sink.counts.classifications;
    if (c.unchanged !== rows.length || c.inserted + c.updated + c.deleted)
      problems.push(`sink-unchanged: ${JSON.stringify(c)}`);

    const rowsPerSec = Object.fromEntries(Object.entries(seconds).map(([k, s]) => [k, rows.length / s])) as Record<
      SinkVariant,
      number
    >;
    return { database: kind, rows: rows.length, sessions, writers, seconds, rowsPerSec, problems };
  } finally {
    await db.destroy();
    await database?.drop();
    if (dir) removeDir(dir);
  }
}
