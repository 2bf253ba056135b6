/**
 * Measurement 9 (issue 15): the shared queue (`crawl --queue postgres`). The bench tree on a
 * replica answering every request after 50 ms, no rate limit, each crawl into a new PostgreSQL
 * database: one process on the local queue, one worker on the shared queue, and three workers
 * started together on the shared queue. Target: one worker no more than 20 % slower than the
 * local queue. Times are wall times, from the first spawn to the last exit (start-up included).
 */
import { startReplica, syntheticTree, type Replica } from '../../test/replica/index.js';
import type { Build } from '../build.js';
import { runCrawlCli, type CrawlRun } from '../crawl-child.js';
import { createDatabase, removeDir, tempDir } from '../harness.js';
import { BASE_TREE } from '../tree.js';

export const WORKERS_LATENCY_MS = 50;

export interface WorkersResult {
  readonly requests: number;
  readonly localSeconds: number;
  readonly oneWorkerSeconds: number;
  readonly threeWorkersSeconds: number;
  /** Requests each of the three workers handled. */
  readonly perWorker: readonly number[];
  /** One worker's time ÷ the local queue's. */
  readonly slowdown: number;
  /** The local queue's time ÷ three workers'. */
  readonly speedup: number;
  readonly problems: readonly string[];
}

export async function workersRun(build: Build, adminUrl: string, concurrency: number): Promise<WorkersResult> {
  const tree = syntheticTree(BASE_TREE);
  // maxConsecutive: every request of a path is slow, not only the first three.
  const replica = await startReplica({
    tree,
    faults: { rateSlow: 1, slowMs: WORKERS_LATENCY_MS, maxConsecutive: 1_000_000 },
  });
  try {
    const local = await crawlWith(build, replica, adminUrl, concurrency, 1, 'local');
    const one = await crawlWith(build, replica, adminUrl, concurrency, 1, 'postgres');
    const three = await crawlWith(build, replica, adminUrl, concurrency, 3, 'postgres');
    const requests = local.runs[0]!.requests;
    const problems: string[] = [];
    for (const [name, r] of [
      ['one worker', one],
      ['three workers', three],
    ] as const) {
      const handled = r.runs.reduce((sum, run) => sum + run.requests, 0);
      if (handled !== requests) problems.push(`${name}: handled ${handled} requests, the local queue ${requests}`);
    }
    return {
      requests,
      localSeconds: local.seconds,
      oneWorkerSeconds: one.seconds,
      threeWorkersSeconds: three.seconds,
      perWorker: three.runs.map((run) => run.requests),
      slowdown: one.seconds / local.seconds,
      speedup: local.seconds / three.seconds,
      problems,
    };
  } finally {
    await replica.close().catch(() => undefined);
  }
}

async function crawlWith(
  build: Build,
  replica: Replica,
  adminUrl: string,
  concurrency: number,
  workers: number,
  queue: 'local' | 'postgres',
): Promise<{ seconds: number; runs: CrawlRun[] }> {
  const db = await createDatabase(adminUrl);
  const storages = Array.from({ length: workers }, (_, i) => tempDir(`workers-${queue}-${i}`));
  try {
    const started = performance.now();
    const runs = await Promise.all(
      storages.map((storage) =>
        runCrawlCli(build, { baseUrl: replica.url, storage, db: db.url, concurrency }, { env: { MSC_QUEUE: queue } }),
      ),
    );
    return { seconds: (performance.now() - started) / 1000, runs };
  } finally {
    for (const storage of storages) removeDir(storage);
    await db.drop();
  }
}
