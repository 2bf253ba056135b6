/**
 * A half-done crawl queue for the resume measurement: `total` classification requests, the first
 * `handled` of them handled, in a storage dir laid out as src/crawl/storage.ts and
 * src/crawl/queue.ts make it (MemoryStorage with metadata, queue "crawl", requests from toRequest).
 *
 * Two ways to build it:
 *   api    through Crawlee's RequestQueue (core addRequests → memory-storage batchAddRequests):
 *          one locked file write per request, about a minute for 100,000 here.
 *   files  the same files written directly in memory-storage's format (request file per request,
 *          queue __metadata__.json): seconds. `checkFilesMatchApi` builds a small queue both ways
 *          and compares them file by file, so the shortcut cannot drift from Crawlee's format.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Request, RequestQueue } from '@crawlee/core';
import { getRequestId } from '@crawlee/core';
import * as queueModule from '../src/crawl/queue.js';
import { QUEUE_NAME, toRequest } from '../src/crawl/queue.js';
import { openStorage } from '../src/crawl/storage.js';
import { uuidFor } from '../test/replica/seeded.js';

export type QueueBuildMode = 'api' | 'files';

/** The session UUIDs of a synthetic tree with `seed`, in tree order, as many as asked. */
export function sessionUuids(seed: number, shape: { series: number; seasonsPerSeries: number; eventsPerSeason: number; sessionsPerEvent: number }, count: number): string[] {
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

function requestsFor(baseUrl: string, uuids: readonly string[], handled: number, handledAt: string): Request[] {
  return uuids.map((uuid, i) => {
    const request = new Request(toRequest(baseUrl, { label: 'classification', uuid }, { historic: false }));
    if (i < handled) request.handledAt = handledAt;
    return request;
  });
}

/** The key of the crawl's state record in src/crawl/queue.ts (not exported there yet). */
const STATE_KEY = ((queueModule as Record<string, unknown>).STATE_KEY as string | undefined) ?? 'CRAWL';

export async function buildQueue(dir: string, baseUrl: string, uuids: readonly string[], handled: number, mode: QueueBuildMode): Promise<void> {
  const handledAt = new Date().toISOString();
  const requests = requestsFor(baseUrl, uuids, handled, handledAt);
  const storage = await openStorage(dir);
  try {
    // The record that makes a queue "an unfinished crawl" (scope: no filters, as the bench crawls).
    await storage.records.setValue(STATE_KEY, { startedAt: handledAt, scope: { series: [] }, baseUrl });
    if (mode === 'api') {
      const queue = await RequestQueue.open(QUEUE_NAME, { config: storage.config });
      for (let start = 0; start < requests.length; start += 1000) await queue.addRequests(requests.slice(start, start + 1000));
      return;
    }
  } finally {
    await storage.close();
  }
  // memory-storage's own layout (fs/request-queue/fs.js, resource-clients/request-queue.js).
  const queueDir = path.join(dir, 'request_queues', QUEUE_NAME);
  mkdirSync(queueDir, { recursive: true });
  const base = Date.now();
  const files = requests.map((request, i) => {
    const id = getRequestId(request.uniqueKey);
    const model = {
      id,
      json: JSON.stringify({ ...request, id }),
      method: request.method,
      // In the past, in queue order: a pending request that nobody holds (a future orderNo is a lock).
      orderNo: request.handledAt ? null : base - requests.length + i,
      retryCount: request.retryCount ?? 0,
      uniqueKey: request.uniqueKey,
      url: request.url,
    };
    return [path.join(queueDir, `${id}.json`), JSON.stringify(model, null, '\t')] as const;
  });
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < files.length) {
        const [file, text] = files[next++]!;
        await writeFile(file, text);
      }
    }),
  );
  const now = new Date().toISOString();
  const metadata = {
    accessedAt: now, createdAt: now, hadMultipleClients: false, handledRequestCount: handled,
    id: randomUUID(), modifiedAt: now, name: QUEUE_NAME, pendingRequestCount: requests.length - handled,
    stats: {}, totalRequestCount: requests.length, userId: '1', forefrontRequestIds: [],
  };
  writeFileSync(path.join(queueDir, '__metadata__.json'), JSON.stringify(metadata, null, '\t'));
}

/** Builds a small queue both ways and lists the differences (timestamps, ids and orderNo values aside). */
export async function checkFilesMatchApi(apiDir: string, filesDir: string, baseUrl: string): Promise<string[]> {
  const uuids = sessionUuids(99, { series: 1, seasonsPerSeries: 1, eventsPerSeason: 2, sessionsPerEvent: 3 }, 6);
  await buildQueue(apiDir, baseUrl, uuids, 3, 'api');
  await buildQueue(filesDir, baseUrl, uuids, 3, 'files');
  const read = (dir: string) => {
    const queueDir = path.join(dir, 'request_queues', QUEUE_NAME);
    return new Map(readdirSync(queueDir).filter((f) => f.endsWith('.json')).map((f) => [f, readFileSync(path.join(queueDir, f), 'utf8')]));
  };
  const normalize = (file: string, text: string): unknown => {
    const value = JSON.parse(text) as Record<string, unknown>;
    if (file === '__metadata__.json') {
      for (const key of ['accessedAt', 'createdAt', 'modifiedAt', 'id']) value[key] = typeof value[key];
      return value;
    }
    // Crawlee's orderNo: null when handled, a time in the past when pending, in the future (or below
    // minus now) while locked. Only that meaning must match.
    const now = Date.now();
    value.orderNo = value.orderNo === null ? null : typeof value.orderNo !== 'number' ? typeof value.orderNo : Math.abs(value.orderNo as number) > now ? 'locked' : 'pending';
    const json = JSON.parse(value.json as string) as Record<string, unknown>;
    if (json.handledAt) json.handledAt = 'set';
    value.json = json;
    return value;
  };
  const a = read(apiDir);
  const b = read(filesDir);
  const problems: string[] = [];
  for (const file of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(file);
    const y = b.get(file);
    if (x === undefined || y === undefined) problems.push(`${file} only in ${x === undefined ? 'files' : 'api'} build`);
    else if (JSON.stringify(normalize(file, x)) !== JSON.stringify(normalize(file, y))) problems.push(`${file} differs:\n api:   ${JSON.stringify(normalize(file, x))}\n files: ${JSON.stringify(normalize(file, y))}`);
    else if (file !== '__metadata__.json' && x.replace(/"orderNo": [\d-]+/, '').replace(/handledAt\\":\\"[^\\]*/, '') !== y.replace(/"orderNo": [\d-]+/, '').replace(/handledAt\\":\\"[^\\]*/, '')) problems.push(`${file} differs in layout`);
  }
  return problems;
}
