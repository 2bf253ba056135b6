/**
 * What a storage dir takes on disk, by part: the response cache, the crawl queue, the embedded
 * database (when it lives there, or wherever --db put it), and the rest (crawl state, failure
 * records, locks). Sizes are disk usage as du counts it (allocated blocks), not file lengths: a
 * cache of 10⁵ small records takes whole blocks each.
 */
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { DbTarget } from '../config.js';
import { cacheStoreLabel } from './cache.js';

export interface StorageUsage {
  readonly cacheBytes: number;
  readonly queueBytes: number;
  /** The embedded database's data dir; undefined for a PostgreSQL server. */
  readonly databaseBytes: number | undefined;
  /** Everything else in the storage dir. */
  readonly otherBytes: number;
  /** The storage dir as a whole (with the embedded database when it is inside it). */
  readonly totalBytes: number;
}

export async function storageUsage(storageDir: string, db: DbTarget): Promise<StorageUsage> {
  const root = path.resolve(storageDir);
  const dbDir = db.kind === 'embedded' ? path.resolve(db.dir) : undefined;
  const dbInside = dbDir !== undefined && isInside(dbDir, root);
  let cacheBytes = 0;
  let queueBytes = 0;
  let databaseBytes = 0;
  // The folder's own entry, as du counts it.
  let otherBytes = ((await lstat(root).catch(() => undefined))?.blocks ?? 0) * 512;
  const stores = path.join(root, 'key_value_stores');
  const queues = path.join(root, 'request_queues');
  for (const entry of await entries(root)) {
    const full = path.join(root, entry);
    if (full === dbDir) databaseBytes += await usage(full);
    else if (full === queues) queueBytes += await usage(full);
    else if (full === stores) {
      otherBytes += ((await lstat(stores).catch(() => undefined))?.blocks ?? 0) * 512;
      for (const store of await entries(stores)) {
        const bytes = await usage(path.join(stores, store));
        if (cacheStoreLabel(store) !== undefined) cacheBytes += bytes;
        else otherBytes += bytes;
      }
    } else if (dbInside && isInside(dbDir, full)) {
      // The database further down (a --db of <storage>/x/db): counted as the database, the rest as other.
      const all = await usage(full);
      const own = await usage(dbDir);
      databaseBytes += own;
      otherBytes += all - own;
    } else otherBytes += await usage(full);
  }
  if (dbDir !== undefined && !dbInside) databaseBytes = await usage(dbDir);
  const inStorage = cacheBytes + queueBytes + otherBytes + (dbInside ? databaseBytes : 0);
  return {
    cacheBytes,
    queueBytes,
    databaseBytes: dbDir === undefined ? undefined : databaseBytes,
    otherBytes,
    totalBytes: inStorage,
  };
}

function isInside(child: string, parent: string): boolean {
  const relative = path.relative(parent, child);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}

async function entries(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

/**
 * Disk usage of a file or a folder and everything in it (files that vanish meanwhile count as 0).
 * A folder's entries are looked at together: a cache store holds one file per request (10⁵ at
 * live size), and one lstat after another would take seconds.
 */
async function usage(file: string): Promise<number> {
  const stats = await lstat(file).catch(() => undefined);
  if (!stats) return 0;
  let bytes = stats.blocks * 512;
  if (!stats.isDirectory()) return bytes;
  const names = await entries(file);
  // In slices: 10⁵ lstat calls at once would hold 10⁵ pending promises and stats objects.
  for (let at = 0; at < names.length; at += USAGE_SLICE) {
    const sizes = await Promise.all(names.slice(at, at + USAGE_SLICE).map((name) => usage(path.join(file, name))));
    for (const size of sizes) bytes += size;
  }
  return bytes;
}

/** Entries of one folder looked at together: enough to keep libuv's four threads busy. */
const USAGE_SLICE = 256;
