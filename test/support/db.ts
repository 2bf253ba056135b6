/**
 * The databases a test runs against: always a new embedded PGlite dir, and a throwaway database
 * on the PostgreSQL server named by TEST_DATABASE_URL when it is set.
 */
import { PGLITE_VERSION } from '../../src/store/cluster-template.js';
import { constants, cpSync, existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import knex from 'knex';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { DbTarget } from '../../src/config.js';
import { openDb, type Db } from '../../src/store/db.js';
import { migrateLatest } from '../../src/store/migrate.js';
import { TABLE_ORDER } from '../../src/store/tables.js';

export interface TestDatabase {
  readonly name: 'pglite' | 'postgres';
  readonly target: DbTarget;
  /** Removes the data dir or drops the database. */
  drop(): Promise<void>;
}

export const POSTGRES_URL = process.env.TEST_DATABASE_URL;

/** The kinds of database available here: pglite always, postgres when TEST_DATABASE_URL is set. */
export const DATABASE_KINDS: readonly TestDatabase['name'][] = POSTGRES_URL ? ['pglite', 'postgres'] : ['pglite'];

export function tempDir(prefix = 'msc-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/**
 * A PGlite data dir as its first open leaves it (initdb run, nothing migrated), made once per
 * machine and PGlite version and copied for each new embedded database: creating a data dir takes
 * seconds of CPU (about 10 s on a loaded machine), copying one a fraction of a second. Built aside
 * and renamed into place, so a process that finds it finds it whole.
 */
async function pgliteTemplate(): Promise<string> {
  const dir = path.join(tmpdir(), `msc-pglite-template-${PGLITE_VERSION}`);
  if (existsSync(dir)) return dir;
  const building = tempDir('msc-pglite-template-building-');
  const pglite = new PGlite(building);
  await pglite.query('select 1');
  await pglite.close();
  try {
    renameSync(building, dir);
  } catch {
    // Another process put its copy in place first.
    rmSync(building, { recursive: true, force: true });
  }
  return dir;
}

/**
 * A new embedded database in `dir` (created if missing): a copy of the initialised, empty PGlite
 * data dir, the same as the first open of an empty dir would make, so the first open of the copy
 * skips initdb. Migrations (and the database's own identity) are still for the crawl or the test.
 */
export async function newEmbeddedDb(dir: string = tempDir('msc-db-')): Promise<string> {
  cpSync(await pgliteTemplate(), dir, { recursive: true, mode: constants.COPYFILE_FICLONE });
  return dir;
}

export async function createTestDatabase(kind: TestDatabase['name']): Promise<TestDatabase> {
  if (kind === 'pglite') {
    const dir = await newEmbeddedDb();
    return {
      name: kind,
      target: { kind: 'embedded', dir },
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  if (!POSTGRES_URL) throw new Error('TEST_DATABASE_URL is not set');
  const name = `msc_t_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = knex({ client: 'pg', connection: POSTGRES_URL, pool: { min: 0, max: 1 } });
  await admin.raw(`CREATE DATABASE ${name}`);
  await admin.destroy();
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    name: kind,
    target: { kind: 'postgres', url: url.toString() },
    drop: async () => {
      const dropper = knex({ client: 'pg', connection: POSTGRES_URL, pool: { min: 0, max: 1 } });
      await dropper.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await dropper.destroy();
    },
  };
}

/** Opens and migrates a test database. */
export async function openMigrated(target: DbTarget): Promise<Db> {
  const db = await openDb(target);
  await migrateLatest(db);
  return db;
}

/** Empties every table and its history, children first. */
export async function truncateAll(db: Db): Promise<void> {
  const tables = [...[...TABLE_ORDER].reverse().flatMap((t) => [t, `${t}_history`]), 'applied_payloads', 'quarantine'];
  await db.raw(`TRUNCATE ${tables.join(', ')}`);
}

/** Live (not soft-deleted) rows per table. */
export async function liveCounts(db: Db): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of TABLE_ORDER) {
    const [row] = await db(table).whereNull('deleted_at').count<{ count: string | number }[]>({ count: '*' });
    counts[table] = Number(row?.count ?? 0);
  }
  return counts;
}

export async function historyCount(db: Db, table: string): Promise<number> {
  const [row] = await db(`${table}_history`).count<{ count: string | number }[]>({ count: '*' });
  return Number(row?.count ?? 0);
}

/** Live rows per table of a database that is not open (an embedded one cannot be open twice). */
export async function liveCountsOf(database: TestDatabase): Promise<Record<string, number>> {
  const db = await openDb(database.target);
  try {
    return await liveCounts(db);
  } finally {
    await db.destroy();
  }
}

/** Empties a database that is not open (see truncateAll): a used one made like new for the next crawl. */
export async function truncateAllOf(database: TestDatabase): Promise<void> {
  const db = await openDb(database.target);
  try {
    await truncateAll(db);
  } finally {
    await db.destroy();
  }
}

/**
 * A migrated database of `kind` for the tests of a describe block, emptied before each test.
 * Returns a getter: the database exists only once beforeAll has run.
 */
export function useEmptiedDatabase(kind: TestDatabase['name']): () => { database: TestDatabase; db: Db } {
  let database: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
    db = await openMigrated(database.target);
  });
  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });
  beforeEach(async () => truncateAll(db));
  return () => ({ database, db });
}
