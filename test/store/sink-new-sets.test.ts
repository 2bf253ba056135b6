/**
 * The sink's path for complete sets the database holds no row of (a first crawl, a rebuild from
 * the cache): their rows are COPYed instead of upserted and nothing of theirs is soft-deleted. What
 * it stores must be what the upsert path stores, on both databases, and a concurrent writer that
 * stores the same keys between the probe and the COPY must not fail the write.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../../src/store/db.js';
import { Sink, hashRow, type SinkBatch } from '../../src/store/sink.js';
import { columnsOf, type RetirementRow } from '../../src/store/tables.js';
import { DATABASE_KINDS, useEmptiedDatabase, type TestDatabase } from '../support/db.js';

const SESSION = '00000000-0000-4000-8000-000000000005';
const DRIVER = '00000000-0000-4000-9000-000000000001';
const details = ['tab\there', 'new\nline', 'back\\slash', '\\N', 'NULL', '', 'cr\rhere', 'N\uFFFDrburgring 🏁', null];

const retirement = (car: number, detail: string | null = `car ${car}`): RetirementRow => ({
  session_uuid: SESSION,
  car_number: String(car),
  driver_uuid: DRIVER,
  reason: car % 2 ? 'Engine' : null,
  type: 'Retired',
  dns: car % 3 === 0,
  lap: car % 4 === 0 ? null : car * 7,
  details: detail,
});

const batch = (rows: RetirementRow[]): SinkBatch => ({
  rows: { retirements: rows },
  complete: [{ table: 'retirements', where: { session_uuid: SESSION }, mayEmpty: true }],
});

/** The session and the driver the retirements hang from, with their parents. */
async function parents(db: Db): Promise<void> {
  const id = (n: number) => `00000000-0000-4000-8000-00000000000${n}`;
  await db.raw(`INSERT INTO series (uuid, hash) VALUES (?, 'x')`, [id(1)]);
  await db.raw(`INSERT INTO seasons (uuid, series_uuid, hash) VALUES (?, ?, 'x')`, [id(2), id(1)]);
  await db.raw(`INSERT INTO venues (uuid, hash) VALUES (?, 'x')`, [id(3)]);
  await db.raw(`INSERT INTO countries (uuid, hash) VALUES (?, 'x')`, [id(4)]);
  await db.raw(`INSERT INTO events (uuid, season_uuid, venue_uuid, country_uuid, hash) VALUES (?, ?, ?, ?, 'x')`, [
    id(6),
    id(2),
    id(3),
    id(4),
  ]);
  await db.raw(`INSERT INTO sessions (uuid, event_uuid, hash) VALUES (?, ?, 'x')`, [SESSION, id(6)]);
  await db.raw(`INSERT INTO drivers (uuid, hash) VALUES (?, 'x')`, [DRIVER]);
}

async function stored(db: Db): Promise<Record<string, unknown>[]> {
  return db('retirements')
    .select([...columnsOf('retirements'), 'hash'])
    .whereNull('deleted_at')
    .orderBy('car_number');
}

describe.each(DATABASE_KINDS)('sink, sets new to the database, on %s', (kind) => {
  const current = useEmptiedDatabase(kind);
  let db: Db;
  let database: TestDatabase;
  beforeEach(async () => {
    ({ db, database } = current());
    await parents(db);
  });

  it('stores the rows of a new set exactly as given, each with one open history version', async () => {
    const rows = details.map((detail, i) => retirement(i + 1, detail));
    const sink = new Sink(db);
    await sink.write(batch(rows));
    expect(sink.counts.retirements).toEqual({ inserted: rows.length, updated: 0, unchanged: 0, deleted: 0 });
    const expected = rows
      .map((row) => ({ ...row, hash: hashRow(columnsOf('retirements').map((c) => row[c])) }))
      .sort((a, b) => (a.car_number < b.car_number ? -1 : 1));
    expect(await stored(db)).toEqual(expected);
    const [history] = await db
      .raw(`SELECT count(*)::int AS n FROM retirements_history WHERE valid_to IS NULL`)
      .then((r) => r.rows);
    expect(history.n).toBe(rows.length);
  });

  it('takes the next payload of a set as before: unchanged left, changed updated, missing deleted', async () => {
    const sink = new Sink(db);
    await sink.write(batch([retirement(1), retirement(2), retirement(3)]));
    await sink.write(batch([retirement(1), retirement(2, 'changed'), retirement(4)]));
    expect(sink.counts.retirements).toEqual({ inserted: 4, updated: 1, unchanged: 1, deleted: 1 });
    expect((await stored(db)).map((r) => [r.car_number, r.details])).toEqual([
      ['1', 'car 1'],
      ['2', 'changed'],
      ['4', 'car 4'],
    ]);
  });

  it('merges two payloads of one new set in the same flush as the upsert path does', async () => {
    const sink = new Sink(db);
    // Written in the same tick, so one flush holds both; a row either payload lacks is soft-deleted.
    await Promise.all([
      sink.write(batch([retirement(1), retirement(2)])),
      sink.write(batch([retirement(2), retirement(3)])),
    ]);
    expect((await stored(db)).map((r) => r.car_number)).toEqual(['2']);
    const deleted = await db('retirements').whereNotNull('deleted_at').orderBy('car_number').pluck('car_number');
    expect(deleted).toEqual(['1', '3']);
  });

  it('soft-deletes a row another payload of the flush writes into a new set its own payload lacks', async () => {
    const sink = new Sink(db);
    await Promise.all([
      sink.write(batch([retirement(1), retirement(2)])),
      sink.write({ rows: { retirements: [retirement(3)] }, complete: [] }),
    ]);
    expect((await stored(db)).map((r) => r.car_number)).toEqual(['1', '2']);
    expect(sink.counts.retirements).toEqual({ inserted: 3, updated: 0, unchanged: 0, deleted: 1 });
  });

  it.runIf(kind === 'postgres')(
    'stores a new set once when another writer stores its keys between the probe and the COPY',
    async () => {
      const rows = [1, 2, 3].map((car) => retirement(car));
      const other = await openDb(database.target);
      const writer = await openDb(database.target);
      try {
        // The other writer's rows, not yet committed: the sink's probe does not see them, its COPY
        // waits on their keys, and fails with a unique violation once they commit.
        const trx = await other.transaction();
        for (const row of rows)
          await trx('retirements').insert({ ...row, hash: hashRow(columnsOf('retirements').map((c) => row[c])) });
        const sink = new Sink(writer);
        const written = sink.write(batch(rows));
        await waitForLockWait(db);
        await trx.commit();
        await written;
        expect(sink.counts.retirements).toEqual({ inserted: 0, updated: 0, unchanged: 3, deleted: 0 });
        expect((await stored(db)).map((r) => r.car_number)).toEqual(['1', '2', '3']);
      } finally {
        await other.destroy();
        await writer.destroy();
      }
    },
  );
});

/** Until a backend of this database waits on a lock (the sink's COPY on the other writer's keys). */
async function waitForLockWait(db: Db): Promise<void> {
  for (let tries = 0; tries < 200; tries++) {
    const { rows } = await db.raw<{ rows: { n: number }[] }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    );
    if (rows[0]!.n > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('no backend came to wait on a lock');
}
