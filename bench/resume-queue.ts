/**
 * A half-done crawl queue for the resume measurement: `total` classification requests, the first
 * `handled` of them handled, in a storage dir laid out as src/crawl/storage-dir.ts and
 * src/crawl/queue.ts make it: the crawl-state record of an unfinished crawl, and queue "crawl"
 * written through Crawlee's RequestQueue (so through the crawl's own storage client).
 */
import { Request, RequestQueue } from '@crawlee/core';
import { STATE_KEY } from '../src/crawl/crawl-state.js';
import { toRequest } from '../src/crawl/crawl-request.js';
import { QUEUE_NAME } from '../src/crawl/storage-client.js';
import { openStorageDir } from '../src/crawl/storage-dir.js';
import { uuidFor } from '../test/replica/seeded.js';

/** The session UUIDs of a synthetic tree with `seed`, in tree order, as many as asked. */
export function sessionUuids(
  seed: number,
  shape: { series: number; seasonsPerSeries: number; eventsPerSeason: number; sessionsPerEvent: number },
  count: number,
): string[] {
  const out: string[] = [];
  for (let i = 0; i < shape.series; i++)
    for (let j = 0; j < shape.seasonsPerSeries; j++)
      for (let k = 0; k < shape.eventsPerSeason; k++)
        for (let l = 0; l < shape.sessionsPerEvent; l++) {
          if (out.length === count) return out;
          out.push(uuidFor(seed, `session:${i}:${j}:${k}:${l}`));
        }
  if (out.length < count) throw new Error(`the tree has ${out.length} sessions, ${count} wanted`);
  return out;
}

export async function buildQueue(
  dir: string,
  baseUrl: string,
  uuids: readonly string[],
  handled: number,
): Promise<void> {
  const handledAt = new Date().toISOString();
  const storage = await openStorageDir(dir);
  try {
    // The record that makes a queue "an unfinished crawl" (scope: no filters, as the bench crawls).
    await storage.records.setValue(STATE_KEY, { startedAt: handledAt, scope: { series: [] }, baseUrl });
    const queue = await RequestQueue.open(QUEUE_NAME, { config: storage.config });
    for (let start = 0; start < uuids.length; start += 1000) {
      const chunk = uuids.slice(start, start + 1000).map((uuid, i) => {
        const request = new Request(toRequest(baseUrl, { label: 'classification', uuid }, { historic: false }));
        if (start + i < handled) request.handledAt = handledAt;
        return request;
      });
      await queue.addRequests(chunk);
    }
  } finally {
    await storage.close();
  }
}
