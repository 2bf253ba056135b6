/** The crawl's RequestQueue (Crawlee's, with a smaller dedup cache) over the crawl's own storage. */
import { Request } from '@crawlee/core';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config.js';
import { RequestQueue } from '../../src/crawl/crawl-queue.js';
import { openStorageDir } from '../../src/crawl/storage-dir.js';
import { tempDir } from '../support/db.js';

const request = (n: number) => new Request({ url: `http://replica/r/${n}`, uniqueKey: `/r/${n}` });

describe('the crawl queue', () => {
  it('opens on the crawl storage and still knows every request added, in batches and again', async () => {
    const storage = await openStorageDir(tempDir('crawl-queue-'));
    try {
      const queue = await RequestQueue.open('crawl', { config: storage.config });
      expect(queue).toBeInstanceOf(RequestQueue);
      const many = Array.from({ length: 3000 }, (_, n) => request(n));
      const first = await queue.addRequests(many);
      expect(first.processedRequests.filter((r) => r.wasAlreadyPresent)).toHaveLength(0);
      const again = await queue.addRequests(many);
      expect(again.processedRequests.every((r) => r.wasAlreadyPresent)).toBe(true);
      expect(await queue.getInfo()).toMatchObject({ totalRequestCount: 3000, pendingRequestCount: 3000 });
    } finally {
      await storage.close();
    }
  });

  it('hands out, dedups and marks handled requests its bounded request cache has forgotten', async () => {
    const storage = await openStorageDir(tempDir('crawl-queue-'));
    try {
      const queue = await RequestQueue.open('crawl', { config: storage.config });
      const total = DEFAULTS.queueRequestCacheSize + 500;
      await queue.addRequests(Array.from({ length: total }, (_, n) => request(n)));
      // The first requests added are the ones the cache forgot first.
      const first = await queue.fetchNextRequest();
      expect(first?.uniqueKey).toBe('/r/0');
      await queue.markRequestHandled(first!);
      // /r/400 is not in the queue's head: only the storage still knows it.
      const again = await queue.addRequests([request(0), request(400), request(total)]);
      expect(again.processedRequests.map((r) => r.wasAlreadyPresent)).toEqual([true, true, false]);
      expect((await queue.fetchNextRequest())?.uniqueKey).toBe('/r/1');
      expect(await queue.getInfo()).toMatchObject({ totalRequestCount: total + 1, handledRequestCount: 1 });
    } finally {
      await storage.close();
    }
  });
});
