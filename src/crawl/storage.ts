/**
 * The Crawlee storage dir a crawl works in: one MemoryStorage persisted to disk, an exclusive
 * lock so two crawls never share a queue, and the small records a crawl keeps besides its queue.
 */
import { accessSync, constants, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Configuration, KeyValueStore } from '@crawlee/core';
import { MemoryStorage } from '@crawlee/memory-storage';
import { UserError } from '../errors.js';
import { acquireLock } from '../lockfile.js';

export interface Storage {
  readonly dir: string;
  readonly config: Configuration;
  /**
   * For the response cache: the same dir, without per-record metadata files, which would double
   * the file writes of every cached body and which nothing reads.
   */
  readonly cacheConfig: Configuration;
  /** Small records: the crawl's state, the last summary. */
  readonly records: KeyValueStore;
  release(): void;
}

export const STATE_STORE = 'crawl-state';

/** Opens the storage dir without locking it (for read-only commands such as `status`). */
export async function openStorage(dir: string): Promise<Omit<Storage, 'release'>> {
  ensureWritable(dir);
  const configFor = (writeMetadata: boolean) =>
    new Configuration({
      storageClient: new MemoryStorage({ localDataDirectory: dir, persistStorage: true, writeMetadata }),
      purgeOnStart: false,
      persistStorage: true,
    });
  // The queue's metadata file holds its handled/pending counts: the crawl's config keeps it.
  const config = configFor(true);
  const records = await KeyValueStore.open(STATE_STORE, { config });
  return { dir, config, cacheConfig: configFor(false), records };
}

/** Opens the storage dir for a crawl: exclusive, released by `release()` or at exit. */
export async function lockStorage(dir: string): Promise<Storage> {
  ensureWritable(dir);
  const release = acquireLock(path.join(dir, 'crawl.lock'), `the storage dir ${dir}`);
  try {
    return { ...(await openStorage(dir)), release };
  } catch (error) {
    release();
    throw error;
  }
}

function ensureWritable(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (error) {
    throw new UserError(`--storage: cannot write to ${dir} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}
