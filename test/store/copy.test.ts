/**
 * COPY in text format on both databases: every value comes back as given (escapes, NULL and
 * text that only looks like it, booleans, numbers), the history trigger sees the rows, and a
 * refused row fails the COPY and leaves nothing.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { copyInto } from '../../src/store/copy.js';
import type { Db } from '../../src/store/db.js';
import type { Cell } from '../../src/store/tables.js';
import { DATABASE_KINDS, historyCount, useEmptiedDatabase } from '../support/db.js';

const COLUMNS = ['uuid', 'name', 'first_name', 'last_name', 'short_code', 'colour', 'picture', 'hash'];
const TEXTS = [
  'tab\there',
  'line\nbreak\r\n',
  'back\\slash \\N',
  '\\N',
  'NULL',
  '',
  '"quoted", {braces}',
  'Ünïcødé 🏁',
];

const driver = (n: number, name: Cell): Cell[] => [
  `00000000-0000-4000-9000-${String(n).padStart(12, '0')}`,
  name,
  null,
  'Last',
  'ABC',
  null,
  null,
  `hash-${n}`,
];

describe.each(DATABASE_KINDS)('COPY on %s', (kind) => {
  const current = useEmptiedDatabase(kind);
  let db: Db;
  beforeEach(() => ({ db } = current()));

  it('stores every value exactly as given and fires the history trigger', async () => {
    const rows = [...TEXTS, null].map((name, i) => driver(i, name));
    const copied = await db.transaction((trx) => copyInto(trx, 'drivers', COLUMNS, rows));
    expect(copied).toBe(rows.length);
    const stored = await db('drivers').orderBy('uuid').select('name', 'first_name', 'last_name');
    expect(stored.map((r) => r.name)).toEqual([...TEXTS, null]);
    expect(stored.every((r) => r.first_name === null && r.last_name === 'Last')).toBe(true);
    expect(await historyCount(db, 'drivers')).toBe(rows.length);
  });

  it('copies a set larger than one piece of the stream, and numbers', async () => {
    // 20,000 rows of ~130 bytes: three pieces of 1 MB.
    const rows = Array.from({ length: 20_000 }, (_, i) => driver(i, `Driver ${i} ${'x'.repeat(60)}`));
    await db.transaction((trx) => copyInto(trx, 'drivers', COLUMNS, rows));
    const [{ n }] = (await db.raw<{ rows: [{ n: number }] }>('SELECT count(*)::int AS n FROM drivers')).rows;
    expect(n).toBe(20_000);
    const series = '00000000-0000-4000-8000-000000000001';
    await db.transaction((trx) =>
      copyInto(
        trx,
        'series',
        ['uuid', 'name', 'short_name', 'short_code', 'category', 'hash'],
        [[series, 'F1', null, 'F1', 'Single', 'h']],
      ),
    );
    const season = ['00000000-0000-4000-8000-000000000002', series, 'S', 2024, 2025, 'Historic', 'h'];
    await db.transaction((trx) =>
      copyInto(trx, 'seasons', ['uuid', 'series_uuid', 'name', 'year', 'end_year', 'status', 'hash'], [season]),
    );
    expect(await db('seasons').first('year', 'end_year')).toEqual({ year: 2024, end_year: 2025 });
  });

  it('fails on a refused row and leaves nothing of the COPY', async () => {
    const rows = [driver(1, 'One'), driver(1, 'Same key')];
    await expect(db.transaction((trx) => copyInto(trx, 'drivers', COLUMNS, rows))).rejects.toThrow(/duplicate key/);
    expect(await historyCount(db, 'drivers')).toBe(0);
    await db.transaction((trx) => copyInto(trx, 'drivers', COLUMNS, [driver(2, 'Two')]));
    expect(await db('drivers').pluck('name')).toEqual(['Two']);
  });
});
