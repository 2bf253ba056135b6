/** The crawl's RequestQueue (Crawlee's, with a smaller dedup cache) over the crawl's own storage. */
import { Request } from '@crawlee/core';
import { describe, expect, it } from 'vitest';
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
});
