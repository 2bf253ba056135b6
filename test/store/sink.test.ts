/**
 * The sink against both databases: insert, unchanged skip, update with one history version,
 * statements split below the parameter limit, foreign-key order, soft delete and resurrection,
 * and two sinks flushing overlapping rows at once.
 */
import { NonRetryableError } from '@crawlee/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { DataValueError, EmptiedSetError, IntegrityError } from '../../src/errors.js';
import { Sink, hashRow, type SinkBatch } from '../../src/store/sink.js';
import { TABLE_ORDER, type DriverRow, type SeasonRow } from '../../src/store/tables.js';
import { openDb, type Db } from '../../src/store/db.js';
import { classificationRoute } from '../../src/crawl/routes/classification.js';
import { DATABASE_KINDS, historyCount, liveCounts, useEmptiedDatabase, type TestDatabase } from '../support/db.js';
import { recorded } from '../support/fixtures.js';

const SERIES = 'a33f8b4a-2b22-41ce-8e7d-0aea08f0e176';
const seriesRow = { uuid: SERIES, name: 'F1', short_name: null, short_code: 'F1', category: 'Single Seater' };
const season = (n: number, name = `Season ${n}`): SeasonRow => ({
  uuid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  series_uuid: SERIES,
  name,
  year: 2000 + n,
  end_year: 2000 + n,
  status: 'Historic',
});
const driver = (n: number, name = `Driver ${n}`): DriverRow => ({
  uuid: `00000000-0000-4000-9000-${String(n).padStart(12, '0')}`,
  name,
  first_name: null,
  last_name: null,
  short_code: null,
  colour: null,
  picture: null,
});
const seasonsBatch = (rows: SeasonRow[]): SinkBatch => ({
  rows: { series: [seriesRow], seasons: rows },
  complete: [{ table: 'seasons', where: { series_uuid: SERIES } }],
});

describe.each(DATABASE_KINDS)('sink on %s', (kind) => {
  const current = useEmptiedDatabase(kind);
  let db: Db;
  let database: TestDatabase;
  beforeEach(() => ({ db, database } = current()));

  it('inserts new rows, each with one open history version', async () => {
    const sink = new Sink(db);
    await sink.write(seasonsBatch([season(1), season(2)]));
    expect(sink.counts.seasons).toEqual({ inserted: 2, updated: 0, unchanged: 0, deleted: 0 });
    const history = await db('seasons_history').select('uuid', 'valid_to', 'hash');
    expect(history).toHaveLength(2);
    expect(history.every((h) => h.valid_to === null)).toBe(true);
  });

  it('records the body the rows came from in their transaction, and nothing when the transaction fails', async () => {
    const sink = new Sink(db);
    await sink.write({ ...seasonsBatch([season(1)]), applied: { key: `seasons-${SERIES}`, fingerprint: 'first' } });
    await sink.write({
      ...seasonsBatch([season(1), season(2)]),
      applied: { key: `seasons-${SERIES}`, fingerprint: 'second' },
    });
    const applied = () => db('applied_payloads').select('target_key', 'body_fingerprint');
    expect(await applied()).toEqual([{ target_key: `seasons-${SERIES}`, body_fingerprint: 'second' }]);
    // A season of a series that is not stored breaks the foreign key: the whole flush rolls back.
    const orphan = { ...season(3), series_uuid: '00000000-0000-4000-8000-000000000000' };
    await expect(
      sink.write({ rows: { seasons: [orphan] }, complete: [], applied: { key: 'seasons-orphan', fingerprint: 'x' } }),
    ).rejects.toThrow();
    expect(await applied()).toEqual([{ target_key: `seasons-${SERIES}`, body_fingerprint: 'second' }]);
  });

  it(
    "writes a payload's quarantined items in its rows' transaction, keeps " +
      'first_seen while they stay, closes them when a payload lacks them',
    async () => {
      const key = `seasons-${SERIES}`;
      const quarantine = (items: { pointer: string; itemId?: string; reason: string }[]) => ({
        key,
        label: 'seasons' as const,
        parentUuid: SERIES,
        url: `http://api/series/${SERIES}/seasons`,
        items: items.map((i) => ({ itemId: undefined, ...i })),
      });
      const rows = () =>
        db('quarantine')
          .select('pointer', 'item_id', 'reason', 'first_seen', db.raw('cleared_at IS NULL AS open'))
          .orderBy('id');
      const sink = new Sink(db);
      // A hostile item: NUL in its id, a reason far too long. Both stored, made storable.
      await sink.write({
        ...seasonsBatch([season(1)]),
        quarantine: quarantine([
          { pointer: '/1', itemId: 'a\u0000b', reason: 'x'.repeat(10_000) },
          { pointer: '/2', reason: 'bad' },
        ]),
      });
      const first = await rows();
      expect(first.map((r) => [r.pointer, r.item_id, r.reason.length, r.open])).toEqual([
        ['/1', 'a\uFFFDb', 2000, true],
        ['/2', null, 3, true],
      ]);
      // The same item again keeps its row and first_seen; the one no longer missing is closed.
      await sink.write({
        ...seasonsBatch([season(1)]),
        quarantine: quarantine([{ pointer: '/1', itemId: 'a', reason: 'still bad' }]),
      });
      const second = await rows();
      expect(second.map((r) => [r.pointer, r.item_id, r.reason, r.open])).toEqual([
        ['/1', 'a', 'still bad', true],
        ['/2', null, 'bad', false],
      ]);
      expect(second[0].first_seen).toEqual(first[0].first_seen);
      // A flush that fails writes no quarantine row either.
      const orphan = { ...season(3), series_uuid: '00000000-0000-4000-8000-000000000000' };
      await expect(
        sink.write({
          rows: { seasons: [orphan] },
          complete: [],
          quarantine: quarantine([{ pointer: '/9', reason: 'lost' }]),
        }),
      ).rejects.toThrow();
      expect(await rows()).toEqual(second);
      // A clean payload closes all; an item missing again later opens a new row.
      await sink.write({ ...seasonsBatch([season(1)]), quarantine: quarantine([]) });
      await sink.write({ ...seasonsBatch([season(1)]), quarantine: quarantine([{ pointer: '/1', reason: 'again' }]) });
      expect((await rows()).map((r) => [r.pointer, r.reason, r.open])).toEqual([
        ['/1', 'still bad', false],
        ['/2', 'bad', false],
        ['/1', 'again', true],
      ]);
    },
  );

  it('leaves unchanged rows alone: no update, no history version, updated_at kept', async () => {
    await new Sink(db).write(seasonsBatch([season(1), season(2)]));
    const before = await db('seasons').select('uuid', 'updated_at').orderBy('uuid');
    const sink = new Sink(db);
    await sink.write(seasonsBatch([season(1), season(2)]));
    expect(sink.counts.seasons).toEqual({ inserted: 0, updated: 0, unchanged: 2, deleted: 0 });
    expect(sink.counts.series).toEqual({ inserted: 0, updated: 0, unchanged: 1, deleted: 0 });
    expect(await historyCount(db, 'seasons')).toBe(2);
    expect(await db('seasons').select('uuid', 'updated_at').orderBy('uuid')).toEqual(before);
  });

  it('updates a changed row and closes its previous version at the new one', async () => {
    await new Sink(db).write(seasonsBatch([season(1), season(2)]));
    const sink = new Sink(db);
    await sink.write(seasonsBatch([season(1, 'Renamed'), season(2)]));
    expect(sink.counts.seasons).toEqual({ inserted: 0, updated: 1, unchanged: 1, deleted: 0 });
    const versions = await db('seasons_history')
      .where({ uuid: season(1).uuid })
      .orderBy('version_id');
    expect(versions.map((v) => v.name)).toEqual(['Season 1', 'Renamed']);
    expect(versions[0].valid_to).toEqual(versions[1].valid_from);
    expect(versions[1].valid_to).toBeNull();
    expect(
      (
        await db('seasons')
          .where({ uuid: season(1).uuid })
          .first()
      ).hash,
    ).toBe(hashRow(Object.values(season(1, 'Renamed'))));
  });

  it('soft-deletes a row missing from a complete payload and brings it back when it reappears', async () => {
    await new Sink(db).write(seasonsBatch([season(1), season(2), season(3)]));
    const dropped = new Sink(db);
    await dropped.write(seasonsBatch([season(1), season(2)]));
    expect(dropped.counts.seasons.deleted).toBe(1);
    const gone = await db('seasons')
      .where({ uuid: season(3).uuid })
      .first();
    expect(gone.deleted_at).not.toBeNull();
    const versions = await db('seasons_history')
      .where({ uuid: season(3).uuid })
      .orderBy('version_id');
    expect(versions).toHaveLength(2);
    expect(versions[0].valid_to).not.toBeNull();
    expect(versions[1].deleted_at).not.toBeNull();

    const again = new Sink(db);
    await again.write(seasonsBatch([season(1), season(2)]));
    expect(again.counts.seasons.deleted).toBe(0); // already deleted: no new version
    expect(await historyCount(db, 'seasons')).toBe(4);

    const back = new Sink(db);
    await back.write(seasonsBatch([season(1), season(2), season(3)]));
    expect(back.counts.seasons).toEqual({ inserted: 0, updated: 1, unchanged: 2, deleted: 0 });
    expect(
      (
        await db('seasons')
          .where({ uuid: season(3).uuid })
          .first()
      ).deleted_at,
    ).toBeNull();
    expect(await historyCount(db, 'seasons')).toBe(5);
  });

  it('soft-deletes the complete sets of a shared transaction in one statement, each by its own rows', async () => {
    const other = { ...seriesRow, uuid: 'b33f8b4a-2b22-41ce-8e7d-0aea08f0e176', name: 'F2' };
    const otherSeason = (n: number): SeasonRow => ({ ...season(n), series_uuid: other.uuid });
    const otherBatch = (rows: SeasonRow[]): SinkBatch => ({
      rows: { series: [other], seasons: rows },
      complete: [{ table: 'seasons', where: { series_uuid: other.uuid } }],
    });
    await new Sink(db).write({
      rows: {
        series: [seriesRow, other],
        seasons: [1, 2, 3, 4].map((n) => season(n)).concat([otherSeason(11), otherSeason(12)]),
      },
      complete: [],
    });
    const sink = new Sink(db);
    const updates: string[] = [];
    db.on('query', (q: { sql: string }) => {
      if (/^UPDATE seasons/i.test(q.sql)) updates.push(q.sql);
    });
    // Written in one tick, so one flush: season 4 is in neither set of F1, 3 and 2 each lack from one.
    await Promise.all([
      sink.write(seasonsBatch([season(1), season(2)])),
      sink.write(otherBatch([otherSeason(11)])),
      sink.write(seasonsBatch([season(1), season(3)])),
    ]);
    db.removeAllListeners('query');
    expect(updates).toHaveLength(1);
    expect(sink.counts.seasons).toEqual({ inserted: 0, updated: 0, unchanged: 4, deleted: 4 });
    const live = await db('seasons').whereNull('deleted_at').orderBy('year').pluck('year');
    expect(live).toEqual([2001, 2011]);
    expect(await historyCount(db, 'seasons')).toBe(6 + 4);
  });

  it(
    'refuses a batch listing none of a set it holds live rows of: nothing deleted or recorded, ' +
      'the other writes of its flush stored; an empty set, or one that may empty, is taken at its word',
    async () => {
      const key = `seasons-${SERIES}`;
      await new Sink(db).write(seasonsBatch([season(1), season(2)]));
      const sink = new Sink(db);
      // Written in the same tick: both land in one flush, which the refusal rolls back.
      const good = sink.write({ rows: { drivers: [driver(1)] }, complete: [] });
      const emptied = sink.write({ ...seasonsBatch([]), applied: { key, fingerprint: 'empty' } }).then(
        () => undefined,
        (e: unknown) => e,
      );
      await expect(good).resolves.toBeUndefined();
      const error = await emptied;
      expect(error).toBeInstanceOf(EmptiedSetError);
      expect((error as Error).message).toBe(
        `refused: the payload lists no seasons of series_uuid ${SERIES} and would soft-delete all 2 stored ` +
          '(a set emptied at once is not trusted)',
      );
      expect(await liveCounts(db)).toMatchObject({ series: 1, seasons: 2, drivers: 1 });
      expect(await historyCount(db, 'seasons')).toBe(2);
      expect(await db('applied_payloads').where({ target_key: key })).toEqual([]);
      await expect(sink.write({ rows: {}, complete: [{ table: 'series', where: {} }] })).rejects.toThrow(
        'refused: the payload lists no series and would soft-delete all 1 stored',
      );

      // One row kept is not an emptied set: the other is soft-deleted as ever.
      await sink.write(seasonsBatch([season(1)]));
      expect((await liveCounts(db)).seasons).toBe(1);
      // A set that may empty is emptied; and once empty, an empty list is no news.
      await sink.write({
        rows: { series: [seriesRow] },
        complete: [{ table: 'seasons', where: { series_uuid: SERIES }, mayEmpty: true }],
      });
      expect((await liveCounts(db)).seasons).toBe(0);
      await expect(sink.write(seasonsBatch([]))).resolves.toBeUndefined();
      expect(sink.counts.seasons.deleted).toBe(2);
    },
  );

  it('soft-deletes nothing for a batch that declares no complete set', async () => {
    await new Sink(db).write(seasonsBatch([season(1), season(2)]));
    const sink = new Sink(db);
    await sink.write({ rows: { series: [seriesRow], seasons: [season(1)] }, complete: [] });
    expect((await liveCounts(db)).seasons).toBe(2);
  });

  it('writes a big batch in a few statements, and a tiny statement size gives the same result', async () => {
    // 25,000 drivers: three statements of the default 10,000 rows (no statement-size limit to hit).
    const many = Array.from({ length: 25_000 }, (_, i) => driver(i));
    const sink = new Sink(db);
    await sink.write({ rows: { drivers: many }, complete: [] });
    expect(sink.counts.drivers.inserted).toBe(25_000);
    expect((await liveCounts(db)).drivers).toBe(25_000);
    const tiny = new Sink(db, { maxRowsPerStatement: 2 });
    await tiny.write({ rows: { drivers: many.slice(0, 25).map((d) => ({ ...d, name: 'x' })) }, complete: [] });
    expect(tiny.counts.drivers).toEqual({ inserted: 0, updated: 25, unchanged: 0, deleted: 0 });
  });

  it('analyzes a table and its history each time it has grown by the rows it held at its last ANALYZE', async () => {
    const plannerRows = async (table: string): Promise<number> =>
      Number(
        (await db.raw<{ rows: { reltuples: number }[] }>(`SELECT reltuples FROM pg_class WHERE relname = ?`, [table]))
          .rows[0]!.reltuples,
      );
    await db.raw('ANALYZE drivers, drivers_history');
    const sink = new Sink(db, { analyzeMinRows: 10 });
    const write = (from: number, to: number) =>
      sink.write({ rows: { drivers: Array.from({ length: to - from }, (_, i) => driver(from + i)) }, complete: [] });
    await write(0, 20);
    await sink.idle();
    expect(await plannerRows('drivers')).toBe(20);
    expect(await plannerRows('drivers_history')).toBe(20);
    await write(20, 35); // 15 more: under the 20 it held at its last ANALYZE
    await sink.idle();
    expect(await plannerRows('drivers')).toBe(20);
    await write(35, 45); // 25 since: due
    await sink.idle();
    expect(await plannerRows('drivers')).toBe(45);
    expect(await plannerRows('drivers_history')).toBe(45);
    expect(await plannerRows('seasons')).not.toBe(45); // a table not written is left alone
  });

  it('stores every text exactly as given, whatever array syntax or NULL-like text it holds', async () => {
    const names = [
      'a,b',
      '{x}',
      '"quoted"',
      'back\\slash',
      'NULL',
      'null',
      '',
      ' padded ',
      'tab\tnew\nline',
      "it's",
      'N\uFFFDrburgring 🏁',
      null,
    ];
    const drivers = names.map((name, i) => driver(i, name as string));
    await new Sink(db).write({ rows: { drivers }, complete: [] });
    const stored = await db('drivers').select('uuid', 'name');
    const byUuid = new Map(stored.map((r) => [r.uuid, r.name]));
    expect(drivers.map((d) => byUuid.get(d.uuid))).toEqual(names);
  });

  it('writes parents before children whatever order the batch lists them in', async () => {
    const { uuid, payload } = recorded('classification')[0]!;
    const result = classificationRoute({
      payload,
      parentUuid: uuid,
      meta: { historic: true },
      scope: { series: [], fromYear: undefined, toYear: undefined },
    });
    // The session the classification hangs from, and its parents.
    await db.raw(`INSERT INTO series (uuid, hash) VALUES (?, 'x')`, [SERIES]);
    await db.raw(`INSERT INTO seasons (uuid, series_uuid, hash) VALUES (?, ?, 'x')`, [season(1).uuid, SERIES]);
    await db.raw(`INSERT INTO venues (uuid, hash) VALUES ('00000000-0000-4000-8000-000000000001', 'x')`);
    await db.raw(`INSERT INTO countries (uuid, hash) VALUES ('00000000-0000-4000-8000-000000000002', 'x')`);
    await db.raw(
      `INSERT INTO events (uuid, season_uuid, venue_uuid, country_uuid, hash) VALUES ` +
        `('00000000-0000-4000-8000-000000000003', ?, ` +
        `'00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002', 'x')`,
      [season(1).uuid],
    );
    await db.raw(
      `INSERT INTO sessions (uuid, event_uuid, hash) VALUES (?, '00000000-0000-4000-8000-000000000003', 'x')`,
      [uuid],
    );
    const reversed = Object.fromEntries(Object.entries(result.rows).reverse());
    const sink = new Sink(db);
    await sink.write({ rows: reversed, complete: result.complete });
    expect((await liveCounts(db)).classifications).toBe(payload.details.length);
    expect((await liveCounts(db)).entry_drivers).toBe(payload.details.reduce((n, d) => n + d.drivers.length, 0));
  });

  it('groups concurrent writes into shared transactions and resolves each after its commit', async () => {
    const sink = new Sink(db);
    let transactions = 0;
    db.on('query', (q: { sql: string }) => {
      if (/^BEGIN/i.test(q.sql)) transactions++;
    });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => sink.write({ rows: { drivers: [driver(i)] }, complete: [] })),
    );
    db.removeAllListeners('query');
    expect(sink.counts.drivers.inserted).toBe(20);
    expect(transactions).toBeLessThan(20);
    expect(transactions).toBeGreaterThan(0);
  });

  it('keeps two sinks writing overlapping rows at once consistent', async () => {
    const other = kind === 'postgres' ? await openDb(database.target) : db;
    try {
      const drivers = Array.from({ length: 400 }, (_, i) => driver(i));
      // Each sink also runs concurrent flushes where the database allows it, as a crawl does.
      const flushes = kind === 'postgres' ? 3 : 1;
      const a = new Sink(db, { maxConcurrentFlushes: flushes });
      const b = new Sink(other, { maxConcurrentFlushes: flushes });
      await Promise.all([
        ...Array.from({ length: 8 }, (_, i) =>
          a.write({ rows: { drivers: drivers.slice(i * 40, i * 40 + 120) }, complete: [] }),
        ),
        ...Array.from({ length: 8 }, (_, i) =>
          b.write({ rows: { drivers: [...drivers].reverse().slice(i * 40, i * 40 + 120) }, complete: [] }),
        ),
      ]);
      expect((await liveCounts(db)).drivers).toBe(400);
      const inserted = TABLE_ORDER.reduce((n, t) => n + a.counts[t].inserted + b.counts[t].inserted, 0);
      expect(inserted).toBe(400);
      const [open] = await db
        .raw(`SELECT count(*)::int AS n FROM drivers_history WHERE valid_to IS NULL`)
        .then((r) => r.rows);
      expect(open.n).toBe(400);
    } finally {
      if (other !== db) await other.destroy();
    }
  });

  it('skips shared rows it already committed unchanged, and still writes them when they change', async () => {
    const sink = new Sink(db);
    await sink.write({ rows: { drivers: [driver(1), driver(2)] }, complete: [] });
    await sink.write({ rows: { drivers: [driver(1), driver(2, 'Renamed')] }, complete: [] });
    await sink.write({ rows: { drivers: [driver(1), driver(2, 'Renamed')] }, complete: [] });
    expect(sink.counts.drivers).toEqual({ inserted: 2, updated: 1, unchanged: 3, deleted: 0 });
    expect(
      (
        await db('drivers')
          .where({ uuid: driver(2).uuid })
          .first()
      ).name,
    ).toBe('Renamed');
    expect(await historyCount(db, 'drivers')).toBe(3);
  });

  it(
    'reports a foreign-key violation as an IntegrityError naming ' +
      'table and key, not the SQL, and fails only the write it came from',
    async () => {
      const sink = new Sink(db);
      const orphan = { ...season(3), series_uuid: '00000000-0000-4000-8000-000000000000' };
      // Written in the same tick: both land in one flush, which the orphan breaks.
      const good = sink.write(seasonsBatch([season(1)]));
      const bad = sink.write({ rows: { seasons: [orphan] }, complete: [] });
      await expect(good).resolves.toBeUndefined();
      const error = await bad.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(IntegrityError);
      const message = (error as Error).message;
      expect(message).toMatch(
        new RegExp(
          '^foreign key violation \\(table seasons, constraint seasons_series_uuid_foreign\\): Key ' +
            '\\(series_uuid\\)=\\(00000000-0000-4000-8000-000000000000\\) is not present in table "series"$',
        ),
      );
      expect(message).not.toMatch(/INSERT|unnest|\$1/);
      expect((await liveCounts(db)).seasons).toBe(1);
    },
  );

  it('reports not-null and check violations with their table and column or constraint', async () => {
    const sink = new Sink(db);
    await sink.write({ rows: { series: [seriesRow] }, complete: [] });
    const nullSeries = { ...season(4), series_uuid: null } as unknown as SeasonRow;
    await expect(sink.write({ rows: { seasons: [nullSeries] }, complete: [] })).rejects.toThrow(
      new RegExp(
        '^not-null violation \\(table seasons, column series_uuid, constraint|' +
          '^not-null violation \\(table seasons, column series_uuid\\)$',
      ),
    );
    await db.raw('ALTER TABLE seasons ADD CONSTRAINT test_year_bound CHECK (year < 2100)');
    try {
      const error = await sink.write(seasonsBatch([{ ...season(5), year: 2200 }])).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(IntegrityError);
      expect((error as Error).message).toBe('check violation (table seasons, constraint test_year_bound)');
    } finally {
      await db.raw('ALTER TABLE seasons DROP CONSTRAINT test_year_bound');
    }
  });

  it(
    'reports a value its column cannot hold (class 22) as a DataValueError, not ' +
      'to be retried, and fails only the write it came from',
    async () => {
      const sink = new Sink(db);
      await sink.write({ rows: { series: [seriesRow] }, complete: [] });
      const outcome = (write: Promise<void>) =>
        write.then(
          () => undefined,
          (e: unknown) => e,
        );
      // Written in the same tick: all three land in one flush, which each bad row breaks.
      const good = sink.write(seasonsBatch([season(1)]));
      const tooBig = outcome(sink.write({ rows: { seasons: [{ ...season(2), year: 2 ** 31 }] }, complete: [] }));
      const nul = outcome(sink.write({ rows: { seasons: [season(3, 'Sea\u0000son')] }, complete: [] }));
      await expect(good).resolves.toBeUndefined();
      const [rangeError, nulError] = [await tooBig, await nul];
      expect(rangeError).toBeInstanceOf(DataValueError);
      expect(rangeError).toBeInstanceOf(NonRetryableError);
      expect(rangeError).toMatchObject({ sqlState: '22003' });
      expect((rangeError as Error).message).toMatch(/^a value its column cannot hold: .*out of range.*\(22003\)$/);
      expect(nulError).toBeInstanceOf(DataValueError);
      expect(nulError).toMatchObject({ sqlState: expect.stringMatching(/^22/) });
      expect(await db('seasons').orderBy('uuid').pluck('uuid')).toEqual([season(1).uuid]);
    },
  );

  it('declares no unique constraint on hash', async () => {
    const { rows } = await db.raw(
      `SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() ` +
        `AND indexdef ILIKE '%UNIQUE%' AND indexdef ILIKE '%(hash%'`,
    );
    expect(rows).toEqual([]);
  });
});
