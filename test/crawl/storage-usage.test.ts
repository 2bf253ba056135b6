/**
 * The storage dir's size by part against du, on real files: a cache of two endpoints' stores
 * (records of one size per store, as a store holds one endpoint's records), the queue's journal
 * and the crawl's records. Above the limit the cache is sized from a sample, scaled up store by
 * store: exact here, since each store's records are alike, and said to be a sample.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { storageUsage } from '../../src/crawl/storage-usage.js';
import { tempDir } from '../support/db.js';

const du = (...paths: string[]): number =>
  Number(
    execFileSync('du', ['-s', '-c', '-B1', ...paths], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .at(-1)!
      .split('\t')[0],
  );

describe('storageUsage', () => {
  let storage: string;
  let stores: string[];
  const noDb = { kind: 'postgres', url: 'postgres://unused' } as const;

  beforeAll(() => {
    storage = tempDir('storage-usage-');
    const root = path.join(storage, 'key_value_stores');
    stores = [
      path.join(root, 'responses-classification-0a@http-127.0.0.1-80'),
      path.join(root, 'responses-calendar-0b@http-127.0.0.1-80'),
    ];
    const sizes = [100, 20_000];
    const counts = [600, 50];
    stores.forEach((store, i) => {
      mkdirSync(store, { recursive: true });
      for (let n = 0; n < counts[i]!; n += 1)
        writeFileSync(path.join(store, `${n}.bin`), Buffer.alloc(sizes[i]! + (n % 7), 'x'));
    });
    mkdirSync(path.join(root, 'crawl-state'));
    writeFileSync(path.join(root, 'crawl-state', 'CRAWL.json'), '{}');
    mkdirSync(path.join(storage, 'request_queues', 'crawl'), { recursive: true });
    writeFileSync(path.join(storage, 'request_queues', 'crawl', 'journal.ndjson'), 'x'.repeat(10_000));
  });

  it('looks at every file up to the limit: every figure as du counts it', async () => {
    const usage = await storageUsage(storage, noDb, { exactCacheFiles: 650 });
    expect(usage.cacheSample).toBeUndefined();
    expect(usage.cacheRecords).toEqual({ classification: 600, calendar: 50 });
    expect(usage.cacheBytes).toBe(du(...stores));
    expect(usage.queueBytes).toBe(du(path.join(storage, 'request_queues')));
    expect(usage.totalBytes).toBe(du(storage));
  });

  it('above it, sizes the cache from a sample spread over every store, and says so', async () => {
    const usage = await storageUsage(storage, noDb, { exactCacheFiles: 649, sampleCacheFiles: 65 });
    // In proportion: 60 of the 600 files of one store, 5 of the 50 of the other.
    expect(usage.cacheSample).toEqual({ sampled: 65, files: 650 });
    expect(usage.cacheRecords).toEqual({ classification: 600, calendar: 50 });
    expect(usage.cacheBytes).toBe(du(...stores));
    expect(usage.totalBytes).toBe(du(storage));
    // A store of a few files is sampled too, with at least one.
    const few = await storageUsage(storage, noDb, { exactCacheFiles: 0, sampleCacheFiles: 2 });
    expect(few.cacheSample).toEqual({ sampled: 3, files: 650 });
    expect(few.cacheBytes).toBe(du(...stores));
  });

  it('exact looks at every file whatever the limit', async () => {
    const usage = await storageUsage(storage, noDb, { exact: true, exactCacheFiles: 0, sampleCacheFiles: 1 });
    expect(usage.cacheSample).toBeUndefined();
    expect(usage.cacheBytes).toBe(du(...stores));
  });
});
