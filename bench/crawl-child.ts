/**
 * Runs `motorsport-crawler crawl` exactly as a user does (the compiled CLI, plain node, flags
 * only) in a child process, and reads back its JSON summary and peak RSS.
 */
import type { CrawlSummary } from '../src/crawl/summary.js';
import { TABLE_ORDER, type TableName } from '../src/store/tables.js';
import type { Build } from './build.js';
import { runNode, tail, type ChildOptions, type ChildUsage } from './harness.js';

export interface CrawlRunOptions {
  readonly baseUrl: string;
  readonly storage: string;
  /** A postgres:// URL; undefined for the default embedded database in <storage>/db. */
  readonly db?: string;
  readonly cache?: 'prefer' | 'refresh' | 'only';
  readonly concurrency: number;
  /** Extra node flags (profiling). */
  readonly nodeArgs?: readonly string[];
}

export interface CrawlRun {
  readonly summary: CrawlSummary;
  /** The crawl's own seconds (from the summary: queue set up, database open). */
  readonly seconds: number;
  /** From spawning the process to its exit. */
  readonly wallSeconds: number;
  readonly maxRssMb: number | undefined;
  /** CPU time and sampled memory peaks of the crawl process. */
  readonly usage: ChildUsage | undefined;
  readonly requests: number;
  readonly cacheHits: number;
  /** Rows inserted, updated and soft-deleted, all tables. */
  readonly rowsWritten: number;
  readonly rowsInserted: number;
  readonly rowsUpdated: number;
}

export function crawlArgs(o: CrawlRunOptions): string[] {
  return [
    'crawl',
    '--base-url',
    o.baseUrl,
    '--storage',
    o.storage,
    ...(o.db ? ['--db', o.db] : []),
    '--cache',
    o.cache ?? 'prefer',
    '--concurrency',
    String(o.concurrency),
    '--max-rpm',
    '100000',
    '--log-format',
    'json',
    '--quiet',
  ];
}

export async function runCrawlCli(build: Build, o: CrawlRunOptions, child: ChildOptions = {}): Promise<CrawlRun> {
  const result = await runNode(build.cli, crawlArgs(o), {
    ...child,
    nodeArgs: [...(o.nodeArgs ?? []), ...(child.nodeArgs ?? [])],
    rssPreload: build.rssPreload,
  });
  const line = result.stdout.trim().split('\n').at(-1) ?? '';
  let summary: CrawlSummary;
  try {
    summary = JSON.parse(line) as CrawlSummary;
  } catch {
    throw new Error(`crawl exited ${result.code ?? result.signal} without a summary:\n${tail(result.stderr)}`);
  }
  if (summary.outcome !== 'complete')
    throw new Error(`crawl ended "${summary.outcome}": ${summary.message ?? ''}\n${tail(result.stderr)}`);
  const labels = Object.values(summary.requests);
  const sum = (f: (t: TableName) => number) => TABLE_ORDER.reduce((s, t) => s + f(t), 0);
  return {
    summary,
    seconds: summary.seconds,
    wallSeconds: result.wallMs / 1000,
    maxRssMb: result.maxRssKb === undefined ? undefined : result.maxRssKb / 1024,
    usage: result.usage,
    requests: labels.reduce((s, c) => s + c.succeeded, 0),
    cacheHits: labels.reduce((s, c) => s + c.cacheHits, 0),
    rowsWritten: sum((t) => summary.rows[t].inserted + summary.rows[t].updated + summary.rows[t].deleted),
    rowsInserted: sum((t) => summary.rows[t].inserted),
    rowsUpdated: sum((t) => summary.rows[t].updated),
  };
}

/** Tables whose counts differ from the expected ones, as "table: got N, want M" lines. */
export function countMismatches(got: Record<string, number>, want: Record<string, number>): string[] {
  return [...new Set([...Object.keys(got), ...Object.keys(want)])]
    .filter((t) => (got[t] ?? 0) !== (want[t] ?? 0))
    .map((t) => `${t}: got ${got[t] ?? 0}, want ${want[t] ?? 0}`);
}
