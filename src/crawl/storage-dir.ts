/**
 * The Crawlee storage dir a crawl works in: one CrawlStorageClient (journaled request queues,
 * file-backed key-value stores), an exclusive lock so two crawls never share a queue, and the
 * small records a crawl keeps besides its queue. (The database is src/store/; this is the files.)
 */
import path from 'node:path';
import { Configuration, KeyValueStore } from '@crawlee/core';
import { ensureDir } from '../ensure-dir.js';
import type { RequestQueueClient } from '@crawlee/types';
import { acquireLock } from '../lockfile.js';
import { CrawlStorageClient } from './storage-client.js';

export interface StorageDir {
  readonly dir: string;
  /** Crawlee's configuration over the dir: for the queue, the crawler and the key-value stores. */
  readonly config: Configuration;
  /** Small records: the crawl's state, the last summary. */
  readonly records: KeyValueStore;
  /** --queue postgres: the crawl's request queue is `client` (shared-queue-client.ts), not this dir's journal. */
  shareQueue(client: RequestQueueClient): void;
  /** Waits for Crawlee's background file writes, then releases the lock. */
  close(): Promise<void>;
}

export const STATE_STORE = 'crawl-state';

/** The pid file that keeps a second crawl out of a storage dir. */
export const CRAWL_LOCK_FILE = 'crawl.lock';

/**
 * Opens the storage dir without locking it. `name`: the flag or variable the dir came from, for
 * the one line saying it cannot be created or written. `readOnly` (`status`): an existing dir,
 * read and never written, so a read-only one (a mount, a snapshot) does as well.
 */
export async function openStorageDir(
  dir: string,
  name = '--storage',
  { readOnly = false }: { readonly readOnly?: boolean } = {},
): Promise<StorageDir> {
  if (!readOnly) ensureDir(dir, name);
  const client = new CrawlStorageClient(dir, { persist: !readOnly });
  // systemInfo events make Crawlee spawn `ps` every second for its autoscaling, which a crawl
  // with a fixed concurrency does not use.
  const config = new Configuration({
    storageClient: client,
    purgeOnStart: false,
    persistStorage: !readOnly,
    systemInfoIntervalMillis: 60_000,
  });
  const records = await KeyValueStore.open(STATE_STORE, { config });
  return {
    dir,
    config,
    records,
    shareQueue: (queueClient) => client.shareQueue(queueClient),
    // Closes the queue journals and waits for background writes: a later open of the same dir must not race them.
    close: () => client.close(),
  };
}

/** Opens the storage dir for a crawl: exclusive, released by `release()` or at exit. */
export async function lockStorageDir(dir: string, name = '--storage'): Promise<StorageDir> {
  ensureDir(dir, name);
  const release = acquireLock(path.join(dir, CRAWL_LOCK_FILE), `the storage dir ${dir}`);
  try {
    const storage = await openStorageDir(dir, name);
    return {
      ...storage,
      close: async () => {
        try {
          await storage.close();
        } finally {
          release();
        }
      },
    };
  } catch (error) {
    release();
    throw error;
  }
}
