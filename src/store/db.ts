/**
 * Opens the database a DbTarget names: the embedded PostgreSQL (PGlite via knex-pglite) in a data
 * dir, or a PostgreSQL server. Both speak the same SQL to the rest of the code.
 */
import path from 'node:path';
import knex, { type Knex } from 'knex';
import ClientPGLite from 'knex-pglite';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { describeDb, type DbTarget } from '../config.js';
import {
  DatabaseUnavailableError,
  DataValueError,
  IntegrityError,
  RowsRefusedError,
  ResourceError,
  asResourceError,
  describeThrown,
  errorCode,
} from '../errors.js';
import { ensureDir } from '../ensure-dir.js';
import { acquireLock } from '../lockfile.js';
import type { Logger } from '../log.js';
import { isObject, stringField } from '../record.js';
import { ensureFreeSpace } from './disk-space.js';
import { embeddedOptions, ensureCluster, refuseForeignFolder } from './embedded.js';

/**
 * Local dates and wall-clock times ('YYYY-MM-DD', 'YYYY-MM-DD HH:MM:SS') stay strings on both
 * drivers: a JS Date would shift them by the machine's time zone, and the two drivers would
 * disagree. timestamptz values are instants and become Dates.
 */
const TEXT_TYPES = [pg.types.builtins.DATE, pg.types.builtins.TIMESTAMP];
for (const oid of TEXT_TYPES) pg.types.setTypeParser(oid, (value) => value);
const PGLITE_PARSERS = Object.fromEntries(TEXT_TYPES.map((oid) => [oid, (value: string) => value]));

export type Db = Knex;

/**
 * `log`: where knex's own warnings go (a connection lost, a pool that cannot acquire one). knex
 * writes them with console.log, to stdout and with a stack trace, unless given a logger; they
 * are debug lines here, since the crawl reports the outage itself in one line.
 */
export function knexConfig(target: DbTarget, log?: Logger): Knex.Config {
  const common: Knex.Config = {
    log: knexLogger(log),
    // The statement's text without its bindings (which can be arrays of 10,000 values) when a query fails.
    compileSqlOnError: false,
  };
  if (target.kind === 'embedded') {
    return { ...common, client: ClientPGLite, connection: { filename: target.dir } };
  }
  return { ...common, client: 'pg', connection: target.url, pool: { min: 0, max: 4 } };
}

function knexLogger(log: Logger | undefined): Knex.Logger {
  const debug = (message: unknown) =>
    log?.debug(`knex: ${typeof message === 'string' ? message.split('\n')[0] : describeThrown(message)}`);
  return {
    debug,
    warn: debug,
    error: debug,
    deprecate: (method: string, alternative: string) => log?.debug(`knex: ${method} is deprecated, use ${alternative}`),
  };
}

export interface OpenDbOptions {
  /** Receives knex's own messages, at debug level. Silent without one. */
  readonly log?: Logger;
  /** The command's Ctrl-C: stops the creation of a new embedded database (InterruptedError). */
  readonly signal?: AbortSignal;
}

/**
 * Opens and checks the database: an unreachable one is reported here, before any request.
 * The embedded database is locked while open, because two PGlite instances on one data dir
 * corrupt it; closing the knex instance closes PGlite and releases the lock. It is opened only
 * with room to write (see disk-space.ts): PGlite's start-up may itself need a new WAL segment.
 */
export async function openDb(target: DbTarget, options: OpenDbOptions = {}): Promise<Db> {
  if (target.kind === 'embedded') {
    // Before anything else looks at the dir: a path on a pseudo file system must fail in one line.
    // The default <storage>/db: the storage dir first, so a failure names the folder the user gave.
    if (target.from !== undefined) ensureDir(path.dirname(target.dir), target.from);
    ensureDir(target.dir, target.from ?? '--db');
    refuseForeignFolder(target.dir, target.from === undefined ? '--db' : 'the embedded database dir');
    ensureFreeSpace(target.dir);
  }
  const config = knexConfig(target, options.log);
  let db: Db;
  try {
    // why: knex-pglite takes a ready PGlite instance as `connection.pglite`, a field knex's own types do not know.
    db = knex(
      target.kind === 'embedded'
        ? {
            ...config,
            connection: { pglite: await lockedPGlite(target.dir, options.signal) } as Knex.StaticConnectionConfig,
          }
        : config,
    );
  } catch (error) {
    throw asResourceError(error, target.kind === 'embedded' ? target.dir : describeDb(target)) ?? error;
  }
  try {
    await db.raw('select 1');
  } catch (error) {
    await db.destroy().catch(() => undefined);
    const where = target.kind === 'embedded' ? target.dir : describeDb(target);
    throw (
      asResourceError(errnoOf(error), where) ??
      new DatabaseUnavailableError(`database unreachable (${describeDb(target)}): ${describeDbError(error)}`, {
        cause: error,
      })
    );
  }
  return db;
}

/**
 * The embedded database's PGlite, with the settings and the one-time creation of embedded.ts (a
 * new data dir is made by a child process, so its memory is not this process's).
 */
async function lockedPGlite(dir: string, signal?: AbortSignal): Promise<PGlite> {
  const release = acquireLock(`${dir}.lock`, `the embedded database ${dir}`);
  let pglite: PGlite;
  try {
    await ensureCluster(dir, { signal });
    pglite = new PGlite(dir, embeddedOptions(PGLITE_PARSERS));
  } catch (error) {
    release();
    throw error;
  }
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

/**
 * One line for a database error: the server's message and SQLSTATE, without the statement knex
 * prefixes to it (`<sql> - <message>`); an Emscripten ErrnoError from PGlite's file system by its
 * errno name; anything else by describeThrown, never `[object Object]`.
 */
export function describeDbError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length) return describeDbError(error.errors[0]);
  const errno = errnoOf(error);
  if (errno !== error) return `${describeThrown(error)} (${errorCode(errno)})`;
  if (!(error instanceof Error)) return describeThrown(error);
  const code = sqlStateOf(error);
  const message = code ? withoutStatement(error.message) : error.message.split('\n')[0]!;
  const extra = code ?? errorCode(error);
  return extra !== undefined ? `${message} (${extra})` : message;
}

/** The SQLSTATE of a PostgreSQL error (five characters), from PostgreSQL and PGlite alike. */
export function sqlStateOf(error: unknown): string | undefined {
  const code = errorCode(error);
  return code !== undefined && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

function withoutStatement(message: string): string {
  const cut = message.lastIndexOf(' - ');
  return (cut >= 0 ? message.slice(cut + 3) : message).split('\n')[0]!;
}

/** Emscripten's file-system errors carry a WASI errno number; these are the ones a disk causes. */
const EMSCRIPTEN_ERRNO: Readonly<Record<number, string>> = {
  51: 'ENOSPC',
  19: 'EDQUOT',
  2: 'EACCES',
  63: 'EPERM',
  69: 'EROFS',
  29: 'EIO',
};

/** A PGlite file-system error as `{ code: 'ENOSPC' }`; any other value unchanged. */
export function errnoOf(error: unknown): unknown {
  const errno = isObject(error) && error.name === 'ErrnoError' ? error.errno : undefined;
  const code = typeof errno === 'number' ? EMSCRIPTEN_ERRNO[errno] : undefined;
  return code ? { code } : error;
}

const INTEGRITY_KINDS: Readonly<Record<string, string>> = {
  '23502': 'not-null',
  '23503': 'foreign key',
  '23505': 'unique',
  '23514': 'check',
  '23P01': 'exclusion',
};

/**
 * The error a failed write becomes: the connection gone → DatabaseUnavailableError (the crawl
 * stops, resumable); the disk full or failing (SQLSTATE 53100, 58030) → ResourceError; a
 * constraint refused a row (class 23) → IntegrityError naming table and key; a value its column
 * cannot hold (class 22) → DataValueError with the server's message; anything else an
 * Error with the server's message, never the SQL text. `where` names the database in messages.
 */
export function classifyDbError(error: unknown, where: string): Error {
  if (error instanceof DatabaseUnavailableError || error instanceof RowsRefusedError || error instanceof ResourceError)
    return error;
  if (isConnectionError(error))
    return new DatabaseUnavailableError(`database unavailable: ${describeDbError(error)}`, { cause: error });
  const resource = asResourceError(errnoOf(error), where);
  if (resource) return resource;
  const code = sqlStateOf(error);
  const message = describeDbError(error);
  if (code === '53100') return new ResourceError('ENOSPC', where, message, { cause: error });
  if (code === '58030') return new ResourceError('EIO', where, message, { cause: error });
  if (code?.startsWith('23')) {
    const [table, constraint, column, detail] = ['table', 'constraint', 'column', 'detail'].map((field) =>
      stringField(error, field),
    );
    const kind = INTEGRITY_KINDS[code] ?? 'integrity';
    // The detail names the key for foreign-key and unique violations ("Key (a, b)=(x, y) …");
    // for the others it dumps the whole row, which is left out.
    const key =
      typeof detail === 'string' && detail.startsWith('Key (') ? `: ${detail.replace(/\.$/, '').slice(0, 300)}` : '';
    const place = [
      table ? `table ${table}` : undefined,
      column ? `column ${column}` : undefined,
      constraint ? `constraint ${constraint}` : undefined,
    ]
      .filter(Boolean)
      .join(', ');
    return new IntegrityError(code, table, `${kind} violation${place ? ` (${place})` : ''}${key}`, { cause: error });
  }
  if (code?.startsWith('22'))
    return new DataValueError(code, `a value its column cannot hold: ${message}`, { cause: error });
  return new Error(`database error: ${message}`, { cause: error });
}

/** The messages (pg, PGlite, Knex's pool) of a connection that is gone. */
const CONNECTION_GONE = new RegExp(
  [
    'Connection terminated',
    'connection is closed',
    'Client has encountered a connection error',
    'Knex: Timeout acquiring a connection',
    'Unable to acquire a connection',
  ].join('|'),
  'i',
);

/** Errors that mean the connection is gone rather than that one statement was wrong. */
export function isConnectionError(error: unknown): boolean {
  const code = errorCode(error);
  if (code !== undefined && /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|ENOTFOUND|57P0[1-3]|08\d\d\d)$/.test(code))
    return true;
  const message = error instanceof Error ? error.message : '';
  return CONNECTION_GONE.test(message);
}
