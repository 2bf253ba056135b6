/**
 * Measurement 6: peak RSS of a cold crawl (PostgreSQL, empty cache) at 1× and 4× the tree, from
 * the crawl process itself (process.resourceUsage().maxRSS at exit). The 1× figure is the cold
 * crawl of measurement 2; the 4× tree gets a replica of its own. A crawl of the smallest tree
 * gives the baseline (Node, modules, pools), so growth can be read both in total and above it.
 */
import { startReplicaHost } from '../replica.js';
import { BASELINE_TREE, treeFor } from '../tree.js';
import { coldRun, type CrawlResult, type SuiteContext } from './crawls.js';

export interface MemoryPoint {
  readonly scale: number;
  readonly requests: number;
  readonly rows: number;
  readonly maxRssMb: number | undefined;
  /** Peaks of V8's used heap and of memory outside it (Buffers), sampled every 100 ms. */
  readonly peakHeapUsedMb: number | undefined;
  readonly peakExternalMb: number | undefined;
  readonly seconds: number;
  readonly requestsPerSec: number;
  readonly problems: readonly string[];
}

export function memoryPoint(scale: number, result: CrawlResult): MemoryPoint {
  return {
    scale,
    requests: result.requests,
    rows: result.rowsWritten,
    maxRssMb: result.maxRssMb,
    peakHeapUsedMb: result.usage?.peakMb.heapUsed,
    peakExternalMb: result.usage?.peakMb.external,
    seconds: result.seconds,
    requestsPerSec: result.requestsPerSec,
    problems: result.problems,
  };
}

/** A cold PostgreSQL crawl of another tree, with a replica host of its own. */
export async function coldCrawlOf(
  ctx: SuiteContext,
  tree: ReturnType<typeof treeFor>,
  scale: number,
): Promise<MemoryPoint> {
  const host = await startReplicaHost(tree);
  try {
    const { result, state } = await coldRun({ ...ctx, host }, 'postgres');
    await state.dispose();
    return memoryPoint(scale, result);
  } finally {
    await host.close();
  }
}

export const baselineCrawl = (ctx: SuiteContext) => coldCrawlOf(ctx, BASELINE_TREE, 0);
export const scaledCrawl = (ctx: SuiteContext, baseScale: number, factor: number) =>
  coldCrawlOf(ctx, treeFor(baseScale * factor), factor);
