/**
 * The database as the commands that only read it (export, changes, status) open it: never created
 * by accident (PGlite initialises any empty data dir it is pointed at), never migrated, its schema
 * checked to be current, an embedded one's planner statistics refreshed. openDb's lock keeps an
 * embedded database from being opened by a crawl meanwhile.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describeDb, type DbTarget } from '../config.js';
import { UserError } from '../errors.js';
import { openDb, type Db } from './db.js';
import { migrationSource } from './migrate.js';

/** False only for an embedded data dir that was never initialised. */
export function databaseExists(target: DbTarget): boolean {
  return target.kind === 'postgres' || existsSync(path.join(target.dir, 'PG_VERSION'));
}

export type SchemaState = 'missing' | 'outdated' | 'current';

export async function schemaState(db: Db): Promise<SchemaState> {
  const { rows } = await db.raw<{ rows: { present: boolean }[] }>(
    `SELECT to_regclass('knex_migrations') IS NOT NULL AS present`,
  );
  if (!rows[0]?.present) return 'missing';
  // Only now: migrate.list creates knex's bookkeeping tables when they are missing.
  // why: knex types migrate.list's result as any; it is [completed, pending].
  const [, pending] = (await db.migrate.list({ migrationSource })) as [unknown[], unknown[]];
  return pending.length ? 'outdated' : 'current';
}

/** Opens the database for reading: a UserError when it does not exist or its schema is not current. */
export async function openForReading(target: DbTarget): Promise<Db> {
  if (!databaseExists(target))
    throw new UserError(`no database at ${describeDb(target)}: run crawl first, or point --db at one`);
  const db = await openDb(target);
  try {
    const state = await schemaState(db);
    if (state === 'missing')
      throw new UserError(`${describeDb(target)} holds no crawler tables: run crawl or migrate first`);
    if (state === 'outdated')
      throw new UserError(`${describeDb(target)} has pending migrations: run motorsport-crawler migrate first`);
    // PGlite runs no autovacuum, so nothing else ever refreshes its planner statistics. Without them
    // it takes every table for empty and nests loops, quadratic over the unindexed history tables (an
    // --as-of export of 176k results ran for over ten minutes, not seconds). A server's autovacuum
    // keeps its own statistics, and a read-only role could not ANALYZE there anyway.
    if (target.kind === 'embedded') await db.raw('ANALYZE');
    return db;
  } catch (error) {
    await db.destroy();
    throw error;
  }
}
