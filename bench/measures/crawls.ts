/**
 * Measurements 1–4: the floor, cold crawls into PostgreSQL and PGlite, the warm re-crawl from the
 * cache and the refresh after 1% of payloads changed. Each crawl is checked against the replica's
 * oracle: a fast crawl that stores the wrong rows measures nothing.
 */
import { TABLE_ORDER } from '../../src/store/tables.js';
import type { Build } from '../build.js';
import { countMismatches, runCrawlCli, type CrawlRun } from '../crawl-child.js';
import type { CrawlerOptions } from '../crawler-options.js';
import { createDatabase, removeDir, runNode, tail, tempDir, type ChildUsage, type ThrowawayDb } from '../harness.js';
import type { ReplicaHost } from '../replica.js';

export interface SuiteContext {
  readonly build: Build;
  readonly host: ReplicaHost;
  readonly adminUrl: string;
  readonly concurrency: number;
  readonly crawler: CrawlerOptions;
  /** Extra node flags for the measured children (profiling). */
  readonly nodeArgs: readonly string[];
}

export interface FloorResult {
  readonly seconds: number;
  readonly requests: number;
  readonly requestsPerSec: number;
  readonly maxRssMb: number | undefined;
  readonly usage: ChildUsage | undefined;
  readonly problems: readonly string[];
}

export interface CrawlResult {
  readonly seconds: number;
  readonly wallSeconds: number;
  readonly requests: number;
  readonly requestsPerSec: number;
  readonly rowsWritten: number;
  readonly rowsUpdated: number;
  readonly rowsPerSec: number;
  readonly cacheHits: number;
  /** Requests of the tree that reached the replica. */
  readonly networkRequests: number;
  readonly maxRssMb: number | undefined;
  /** The crawl process's CPU time (user + system, s): compared with `seconds`, how busy it was. */
  readonly cpuSeconds: number | undefined;
  readonly usage: ChildUsage | undefined;
  readonly rows: Record<string, { inserted: number; updated: number; deleted: number }>;
  readonly problems: readonly string[];
}

export async function floorRun(ctx: SuiteContext): Promise<FloorResult> {
  const storage = tempDir('floor');
  try {
    const before = await ctx.host.requests();
    const result = await runNode(
      ctx.build.floorChild,
      [ctx.host.url, storage, String(ctx.crawler.handlerConcurrency), String(ctx.crawler.maybeRunIntervalSecs)],
      { rssPreload: ctx.build.rssPreload, nodeArgs: ctx.nodeArgs },
    );
    if (result.code !== 0)
      throw new Error(`floor crawler exited ${result.code ?? result.signal}:\n${tail(result.stderr)}`);
    const out = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '') as {
      seconds: number;
      requests: number;
      failed: number;
    };
    const served = (await ctx.host.requests()) - before;
    const problems: string[] = [];
    if (out.failed) problems.push(`${out.failed} requests failed`);
    if (out.requests !== ctx.host.expectedCounts().requests.total)
      problems.push(`handled ${out.requests} requests, want ${ctx.host.expectedCounts().requests.total}`);
    if (served !== out.requests + out.failed)
      problems.push(`replica served ${served} requests for ${out.requests} handled`);
    return {
      seconds: out.seconds,
      requests: out.requests,
      requestsPerSec: out.requests / out.seconds,
      maxRssMb: result.maxRssKb && result.maxRssKb / 1024,
      usage: result.usage,
      problems,
    };
  } finally {
    removeDir(storage);
  }
}

/** A storage dir and database that a cold crawl filled, for the warm and refresh crawls to reuse. */
export interface CrawlState {
  readonly storage: string;
  readonly db: ThrowawayDb | undefined;
  dispose(): Promise<void>;
}

/** Requests the crawl sent to the replica (every one a fetch of the tree: there is no separate reachability check). */
async function measured(
  ctx: SuiteContext,
  state: CrawlState,
  cache: 'prefer' | 'refresh',
): Promise<{ run: CrawlRun; served: number }> {
  const before = await ctx.host.requestsByEndpoint();
  const run = await runCrawlCli(ctx.build, {
    baseUrl: ctx.host.url,
    storage: state.storage,
    ...(state.db ? { db: state.db.url } : {}),
    cache,
    concurrency: ctx.concurrency,
    nodeArgs: ctx.nodeArgs,
  });
  const after = await ctx.host.requestsByEndpoint();
  const delta = (e: keyof typeof after) => after[e] - before[e];
  const served = delta('series') + delta('seasons') + delta('calendar') + delta('classification') + delta('other');
  return { run, served };
}

function toResult(run: CrawlRun, served: number, problems: string[]): CrawlResult {
  const rows = Object.fromEntries(
    TABLE_ORDER.map((t) => [
      t,
      {
        inserted: run.summary.rows[t].inserted,
        updated: run.summary.rows[t].updated,
        deleted: run.summary.rows[t].deleted,
      },
    ]),
  );
  return {
    seconds: run.seconds,
    wallSeconds: run.wallSeconds,
    requests: run.requests,
    requestsPerSec: run.requests / run.seconds,
    rowsWritten: run.rowsWritten,
    rowsUpdated: run.rowsUpdated,
    rowsPerSec: run.rowsWritten / run.seconds,
    cacheHits: run.cacheHits,
    networkRequests: served,
    maxRssMb: run.maxRssMb,
    cpuSeconds: run.usage && (run.usage.userMs + run.usage.systemMs) / 1000,
    usage: run.usage,
    rows,
    problems,
  };
}

/** A crawl with an empty cache into a new database; the state is kept for warm and refresh. */
export async function coldRun(
  ctx: SuiteContext,
  kind: 'postgres' | 'pglite',
): Promise<{ result: CrawlResult; state: CrawlState }> {
  const storage = tempDir(`cold-${kind}`);
  const db = kind === 'postgres' ? await createDatabase(ctx.adminUrl) : undefined;
  const state: CrawlState = {
    storage,
    db,
    dispose: async () => {
      removeDir(storage);
      await db?.drop();
    },
  };
  try {
    const { run, served } = await measured(ctx, state, 'prefer');
    const expected = ctx.host.expectedCounts();
    const inserted = Object.fromEntries(TABLE_ORDER.map((t) => [t, run.summary.rows[t].inserted]));
    const problems = countMismatches(inserted, expected.rows).map((m) => `inserted ${m}`);
    if (run.requests !== expected.requests.total)
      problems.push(`handled ${run.requests} requests, want ${expected.requests.total}`);
    // More is fine (a retried request); fewer means part of the tree was not fetched.
    if (served < expected.requests.total)
      problems.push(`replica served ${served} requests, want ${expected.requests.total}`);
    if (run.rowsWritten !== run.rowsInserted)
      problems.push(`${run.rowsWritten - run.rowsInserted} rows updated or deleted in a new database`);
    return { result: toResult(run, served, problems), state };
  } catch (error) {
    await state.dispose();
    throw error;
  }
}

/** Re-crawl of unchanged data with `--cache prefer`: every body from the cache, nothing written. */
export async function warmRun(ctx: SuiteContext, state: CrawlState): Promise<CrawlResult> {
  const { run, served } = await measured(ctx, state, 'prefer');
  const problems: string[] = [];
  if (served !== 0) problems.push(`${served} requests reached the replica`);
  if (run.cacheHits !== run.requests)
    problems.push(`${run.requests - run.cacheHits} of ${run.requests} requests missed the cache`);
  if (run.rowsWritten !== 0) problems.push(`${run.rowsWritten} rows written`);
  if (run.requests !== ctx.host.expectedCounts().requests.total)
    problems.push(`handled ${run.requests} requests, want ${ctx.host.expectedCounts().requests.total}`);
  return toResult(run, served, problems);
}

/** `--cache refresh` after `share` of the payloads changed upstream: exactly those rows updated. */
export async function refreshRun(
  ctx: SuiteContext,
  state: CrawlState,
  share: number,
): Promise<CrawlResult & { changedPayloads: number }> {
  const { changed, expectedUpdated } = await ctx.host.mutate(share);
  try {
    await ctx.host.warm();
    const { run, served } = await measured(ctx, state, 'refresh');
    const updated = Object.fromEntries(TABLE_ORDER.map((t) => [t, run.summary.rows[t].updated]));
    const problems = countMismatches(updated, expectedUpdated).map((m) => `updated ${m}`);
    if (run.rowsWritten !== run.rowsUpdated)
      problems.push(`${run.rowsWritten - run.rowsUpdated} rows inserted or deleted`);
    if (served < ctx.host.expectedCounts().requests.total)
      problems.push(`replica served ${served} requests, want ${ctx.host.expectedCounts().requests.total}`);
    return { ...toResult(run, served, problems), changedPayloads: changed };
  } finally {
    await ctx.host.unmutate();
    await ctx.host.warm();
  }
}
