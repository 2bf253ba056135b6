/**
 * Opens the database a DbTarget names: the embedded PostgreSQL (PGlite via knex-pglite) in a data
 * dir, or a PostgreSQL server. Both speak the same SQL to the rest of the code.
 */
import { mkdirSync } from 'node:fs';
import knex, { type Knex } from 'knex';
import ClientPGLite from 'knex-pglite';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { describeDb, type DbTarget } from '../config.js';
import { DatabaseUnavailableError } from '../errors.js';
import { acquireLock } from '../lockfile.js';

/**
 * Local dates and wall-clock times ('YYYY-MM-DD', 'YYYY-MM-DD HH:MM:SS') stay strings on both
 * drivers: a JS Date would shift them by the machine's time zone, and the two drivers would
 * disagree. timestamptz values are instants and become Dates.
 */
const TEXT_TYPES = [pg.types.builtins.DATE, pg.types.builtins.TIMESTAMP];
for (const oid of TEXT_TYPES) pg.types.setTypeParser(oid, (value) => value);
const PGLITE_PARSERS = Object.fromEntries(TEXT_TYPES.map((oid) => [oid, (value: string) => value]));

export type Db = Knex;

export function knexConfig(target: DbTarget): Knex.Config {
  if (target.kind === 'embedded') {
    return { client: ClientPGLite as unknown as typeof knex.Client, connection: { filename: target.dir } as Knex.StaticConnectionConfig };
  }
  return { client: 'pg', connection: target.url, pool: { min: 0, max: 4 } };
}

/**
 * Opens and checks the database: an unreachable one is reported here, before any request.
 * The embedded database is locked while open, because two PGlite instances on one data dir
 * corrupt it; closing the knex instance closes PGlite and releases the lock.
 */
export async function openDb(target: DbTarget): Promise<Db> {
  const db = knex(target.kind === 'embedded' ? { ...knexConfig(target), connection: { pglite: lockedPGlite(target.dir) } as Knex.StaticConnectionConfig } : knexConfig(target));
  try {
    await db.raw('select 1');
  } catch (error) {
    await db.destroy().catch(() => undefined);
    throw new DatabaseUnavailableError(`database unreachable (${describeDb(target)}): ${describeDbError(error)}`, { cause: error });
  }
  return db;
}

function lockedPGlite(dir: string): PGlite {
  mkdirSync(dir, { recursive: true });
  const release = acquireLock(`${dir}.lock`, `the embedded database ${dir}`);
  const pglite = new PGlite(dir, { parsers: PGLITE_PARSERS });
  const close = pglite.close.bind(pglite);
  pglite.close = async () => {
    try {
      await close();
    } finally {
      release();
    }
  };
  return pglite;
}

export function describeDbError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length) return describeDbError(error.errors[0]);
  if (error instanceof Error) return (error as { code?: string }).code ? `${error.message} (${(error as { code?: string }).code})` : error.message;
  return String(error);
}

/** Errors that mean the connection is gone rather than that one statement was wrong. */
export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|ENOTFOUND|57P0[1-3]|08\d\d\d)$/.test(code)) return true;
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|connection is closed|Client has encountered a connection error|Knex: Timeout acquiring a connection|Unable to acquire a connection/i.test(message);
}
