/** The table specs the sink writes by must match the tables the migration creates. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TABLES, TABLE_ORDER, columnsOf } from '../../src/store/tables.js';
import type { Db } from '../../src/store/db.js';
import { createTestDatabase, openMigrated, type TestDatabase } from '../support/db.js';

const BOOKKEEPING = ['hash', 'created_at', 'updated_at', 'deleted_at'];
const PG_TYPES: Record<string, string> = {
  uuid: 'uuid',
  text: 'text',
  integer: 'integer',
  'double precision': 'double precision',
  boolean: 'boolean',
  date: 'date',
  timestamptz: 'timestamp with time zone',
  timestamp: 'timestamp without time zone',
};

describe('table specs', () => {
  let database: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    db = await openMigrated(database.target);
  });
  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  it.each(TABLE_ORDER)('%s: spec columns and types equal the migrated table', async (table) => {
    const { rows } = await db.raw<{ rows: { column_name: string; data_type: string }[] }>(
      `SELECT column_name, data_type FROM information_schema.columns WHERE ` +
        `table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position`,
      [table],
    );
    const spec = TABLES[table].columns as Record<string, string>;
    expect(rows.map((r) => r.column_name)).toEqual([...columnsOf(table), ...BOOKKEEPING]);
    for (const r of rows)
      if (spec[r.column_name])
        expect(`${r.column_name} ${r.data_type}`).toBe(`${r.column_name} ${PG_TYPES[spec[r.column_name]!]}`);
  });

  it.each(TABLE_ORDER)('%s: primary key is the spec key; history has the same columns plus validity', async (table) => {
    const { rows } = await db.raw<{ rows: { column_name: string }[] }>(
      `SELECT a.attname AS column_name FROM pg_index i
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
       WHERE i.indrelid = ?::regclass AND i.indisprimary`,
      [table],
    );
    expect(rows.map((r) => r.column_name).sort()).toEqual([...TABLES[table].key].sort());
    const history = await db.raw<{ rows: { column_name: string }[] }>(
      `SELECT column_name FROM information_schema.columns WHERE table_schema ` +
        `= current_schema() AND table_name = ? ORDER BY ordinal_position`,
      [`${table}_history`],
    );
    expect(history.rows.map((r) => r.column_name)).toEqual([
      ...columnsOf(table),
      ...BOOKKEEPING,
      'valid_from',
      'valid_to',
      'version_id',
    ]);
  });

  it('history trigger functions plan each call for its own rows (no cached generic plan)', async () => {
    const { rows } = await db.raw<{ rows: { proname: string; proconfig: string[] | null }[] }>(
      `SELECT proname, proconfig FROM pg_proc WHERE proname LIKE '%\\_versioning\\_%' ORDER BY proname`,
    );
    expect(rows).toHaveLength(TABLE_ORDER.length * 2);
    for (const r of rows)
      expect(`${r.proname} ${String(r.proconfig)}`).toBe(`${r.proname} plan_cache_mode=force_custom_plan`);
  });
});
