/**
 * What a storage dir takes on disk, by part: the response cache, the crawl queue, the embedded
 * database (when it lives there, or wherever --db put it), and the rest (crawl state, failure
 * records, locks). Sizes are disk usage as du counts it (allocated blocks), not file lengths: a
 * cache of 10⁵ small records takes whole blocks each.
 *
 * The cache is one file per response: 10⁵ at live size, and looking at each (lstat) takes
 * seconds. Above DEFAULTS.statusExactCacheFiles files, unless `exact` is asked for, the cache's
 * size is estimated from DEFAULTS.statusSampleCacheFiles of them, spread evenly over every store
 * (a store holds one endpoint's records, so each is sampled in proportion to its share), and
 * the result says so. Its records are always counted exactly (listing a folder is cheap; looking
 * at each file is not). Every other part is measured file by file: they are a few files (the
 * queue's journal, the crawl's records) or a database's, whose file sizes vary too much to sample.
 */
import type { Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULTS, type DbTarget } from '../config.js';
import { cacheStoreLabel } from './cache-stores.js';

export interface StorageUsage {
  readonly cacheBytes: number;
  readonly queueBytes: number;
  /** The embedded database's data dir; undefined for a PostgreSQL server. */
  readonly databaseBytes: number | undefined;
  /** Everything else in the storage dir. */
  readonly otherBytes: number;
  /** The storage dir as a whole (with the embedded database when it is inside it). */
  readonly totalBytes: number;
  /** The cache's records per endpoint label (its stores' files, metadata files of earlier versions aside). */
  readonly cacheRecords: Readonly<Record<string, number>>;
  /**
   * Set when cacheBytes (and so totalBytes) is an estimate: the disk usage of `sampled` of the
   * cache's `files` files, scaled up store by store. Undefined when every file was looked at.
   */
  readonly cacheSample: { readonly sampled: number; readonly files: number } | undefined;
}

export interface UsageOptions {
  /** Look at every file of the cache, however many (slow at live size). */
  readonly exact?: boolean;
  /** Cache files up to which every one is looked at anyway. */
  readonly exactCacheFiles?: number;
  /** Cache files looked at above that. */
  readonly sampleCacheFiles?: number;
}

export async function storageUsage(
  storageDir: string,
  db: DbTarget,
  options: UsageOptions = {},
): Promise<StorageUsage> {
  const root = path.resolve(storageDir);
  const dbDir = db.kind === 'embedded' ? path.resolve(db.dir) : undefined;
  const dbInside = dbDir !== undefined && isInside(dbDir, root);
  let cache: CacheUsage = { bytes: 0, records: {}, sample: undefined };
  let queueBytes = 0;
  let databaseBytes = 0;
  // The folder's own entry, as du counts it.
  let otherBytes = await ownBytes(root);
  const stores = path.join(root, 'key_value_stores');
  const queues = path.join(root, 'request_queues');
  for (const entry of await entries(root)) {
    const full = path.join(root, entry);
    if (full === dbDir) databaseBytes += await usage(full);
    else if (full === queues) queueBytes += await usage(full);
    else if (full === stores) {
      otherBytes += await ownBytes(stores);
      const names = await entries(stores);
      cache = await cacheUsage(
        names.filter((store) => cacheStoreLabel(store) !== undefined).map((store) => path.join(stores, store)),
        options,
      );
      for (const store of names)
        if (cacheStoreLabel(store) === undefined) otherBytes += await usage(path.join(stores, store));
    } else if (dbInside && isInside(dbDir, full)) {
      // The database further down (a --db of <storage>/x/db): counted as the database, the rest as other.
      const all = await usage(full);
      const own = await usage(dbDir);
      databaseBytes += own;
      otherBytes += all - own;
    } else otherBytes += await usage(full);
  }
  if (dbDir !== undefined && !dbInside) databaseBytes = await usage(dbDir);
  const inStorage = cache.bytes + queueBytes + otherBytes + (dbInside ? databaseBytes : 0);
  return {
    cacheBytes: cache.bytes,
    queueBytes,
    databaseBytes: dbDir === undefined ? undefined : databaseBytes,
    otherBytes,
    totalBytes: inStorage,
    cacheRecords: cache.records,
    cacheSample: cache.sample,
  };
}

interface CacheUsage {
  readonly bytes: number;
  readonly records: Record<string, number>;
  readonly sample: StorageUsage['cacheSample'];
}

/** The cache stores' disk usage (every file's, or a sample's scaled up) and their records per label. */
async function cacheUsage(storeDirs: readonly string[], options: UsageOptions): Promise<CacheUsage> {
  const exactUpTo = options.exactCacheFiles ?? DEFAULTS.statusExactCacheFiles;
  const wanted = options.sampleCacheFiles ?? DEFAULTS.statusSampleCacheFiles;
  const records: Record<string, number> = {};
  let bytes = 0;
  const listed: { dir: string; files: string[] }[] = [];
  for (const dir of storeDirs) {
    bytes += await ownBytes(dir);
    const files: string[] = [];
    for (const entry of await dirents(dir)) {
      // A store holds files only; anything else is measured whole, never sampled.
      if (entry.isFile()) files.push(entry.name);
      else bytes += await usage(path.join(dir, entry.name));
    }
    const label = cacheStoreLabel(path.basename(dir))!;
    records[label] = (records[label] ?? 0) + files.filter((f) => !f.endsWith('__metadata__.json')).length;
    listed.push({ dir, files });
  }
  const files = listed.reduce((sum, store) => sum + store.files.length, 0);
  if (options.exact || files <= exactUpTo) {
    for (const store of listed) bytes += await sizesOf(store.dir, store.files);
    return { bytes, records, sample: undefined };
  }
  let sampled = 0;
  for (const store of listed) {
    if (!store.files.length) continue;
    // Each store in proportion to its files, at least one: an endpoint's records differ in size from another's.
    const take = Math.min(store.files.length, Math.max(1, Math.round((store.files.length * wanted) / files)));
    const picked = Array.from(
      { length: take },
      (_, i) => store.files[Math.floor(((i + 0.5) * store.files.length) / take)]!,
    );
    bytes += ((await sizesOf(store.dir, picked)) / take) * store.files.length;
    sampled += take;
  }
  return { bytes: Math.round(bytes), records, sample: { sampled, files } };
}

function isInside(child: string, parent: string): boolean {
  const relative = path.relative(parent, child);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}

async function entries(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

async function dirents(dir: string): Promise<Dirent[]> {
  return readdir(dir, { withFileTypes: true }).catch(() => []);
}

/** The disk usage of a file or folder entry alone (0 when it vanished meanwhile). */
async function ownBytes(file: string): Promise<number> {
  return ((await lstat(file).catch(() => undefined))?.blocks ?? 0) * 512;
}

/** The disk usage of files of one folder, looked at together (see usage). */
async function sizesOf(dir: string, names: readonly string[]): Promise<number> {
  let bytes = 0;
  // In slices: 10⁵ lstat calls at once would hold 10⁵ pending promises and stats objects.
  for (let at = 0; at < names.length; at += USAGE_SLICE) {
    const sizes = await Promise.all(names.slice(at, at + USAGE_SLICE).map((name) => usage(path.join(dir, name))));
    for (const size of sizes) bytes += size;
  }
  return bytes;
}

/**
 * Disk usage of a file or a folder and everything in it (files that vanish meanwhile count as 0).
 * A folder's entries are looked at together: one lstat after another would leave libuv's threads idle.
 */
async function usage(file: string): Promise<number> {
  const stats = await lstat(file).catch(() => undefined);
  if (!stats) return 0;
  const bytes = stats.blocks * 512;
  if (!stats.isDirectory()) return bytes;
  return bytes + (await sizesOf(file, await entries(file)));
}

/** Entries of one folder looked at together: enough to keep libuv's four threads busy. */
const USAGE_SLICE = 256;
