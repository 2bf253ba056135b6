/**
 * Measurement 8 (issue 13): the daily refresh. After a full crawl, the same crawl one day later
 * (MSC_NOW moved on by a day, upstream unchanged) of (a) the recorded tree and (b) the bench's
 * synthetic tree (bench/tree.ts, at --scale) whose newest seasons are current around now, like
 * the other measurements' tree but with every series in season. Requests are split by how they were answered:
 * 200 (a full body), 304 (revalidated), none (served from the cache). Target: no full body, at
 * most 10 % of the full crawl's requests, no row written. Each tree is served in this process by
 * the replica (with its validators), the crawls are the compiled CLI in children, into PGlite.
 */
import { recordedTree, startReplica, syntheticTree, type Replica, type ReplicaTree } from '../../test/replica/index.js';
import type { Build } from '../build.js';
import { runCrawlCli } from '../crawl-child.js';
import { removeDir, tempDir } from '../harness.js';
import { treeFor } from '../tree.js';

export interface DailyResult {
  readonly tree: 'recorded' | 'synthetic-current';
  /** Requests of the full crawl (all 200s). */
  readonly fullRequests: number;
  readonly refresh: {
    readonly full: number;
    readonly notModified: number;
    readonly none: number;
    readonly rowsWritten: number;
    readonly seconds: number;
  };
  /** (200 + 304) of the refresh ÷ the full crawl's requests. */
  readonly share: number;
  readonly problems: readonly string[];
}

const DAY = 86_400_000;

export async function dailyRun(
  build: Build,
  which: DailyResult['tree'],
  concurrency: number,
  scale: number,
): Promise<DailyResult> {
  const now = Date.now();
  const tree: ReplicaTree =
    which === 'recorded' ? recordedTree() : syntheticTree({ ...treeFor(scale), currentAround: now });
  const replica = await startReplica({ tree });
  const storage = tempDir(`daily-${which}`);
  try {
    const crawlAt = async (at: number) => {
      const before = { full: replica.stats.fullBodies, notModified: replica.stats.notModified };
      const run = await runCrawlCli(
        build,
        { baseUrl: replica.url, storage, concurrency },
        { env: { MSC_NOW: new Date(at).toISOString() } },
      );
      return {
        run,
        full: replica.stats.fullBodies - before.full,
        notModified: replica.stats.notModified - before.notModified,
      };
    };
    const first = await crawlAt(now);
    // A day and a minute: bodies fetched a day ago are just past the default --max-age of 24 h.
    const refresh = await crawlAt(now + DAY + 60_000);
    const none = refresh.run.requests - refresh.full - refresh.notModified;
    const share = (refresh.full + refresh.notModified) / first.full;
    const problems: string[] = [];
    if (first.full !== first.run.requests)
      problems.push(`full crawl: ${first.full} bodies for ${first.run.requests} requests`);
    if (refresh.full !== 0) problems.push(`refresh transferred ${refresh.full} full bodies`);
    if (refresh.run.rowsWritten !== 0) problems.push(`refresh wrote ${refresh.run.rowsWritten} rows`);
    if (share > 0.1) problems.push(`refresh made ${(share * 100).toFixed(1)} % of the full crawl's requests`);
    return {
      tree: which,
      fullRequests: first.full,
      refresh: {
        full: refresh.full,
        notModified: refresh.notModified,
        none,
        rowsWritten: refresh.run.rowsWritten,
        seconds: refresh.run.seconds,
      },
      share,
      problems,
    };
  } finally {
    await closeQuietly(replica);
    removeDir(storage);
  }
}

async function closeQuietly(replica: Replica): Promise<void> {
  await replica.close().catch(() => undefined);
}
