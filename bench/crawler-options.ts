/**
 * The handler concurrency and pool options of src/crawl/crawler.ts, for the floor to use the same
 * ones. They are read from the module when it exports them (HANDLER_CONCURRENCY,
 * AUTOSCALED_POOL_OPTIONS), else from its source text; a bench that cannot find them stops rather
 * than compare against a different crawler.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './harness.js';

export interface CrawlerOptions {
  readonly handlerConcurrency: number;
  readonly maybeRunIntervalSecs: number;
  /** Where they came from: 'export' or 'source'. */
  readonly from: string;
}

export async function crawlerOptions(): Promise<CrawlerOptions> {
  const mod = (await import('../src/crawl/crawler.js')) as Record<string, unknown>;
  const exported = mod.HANDLER_CONCURRENCY;
  const pool = mod.AUTOSCALED_POOL_OPTIONS as { maybeRunIntervalSecs?: number } | undefined;
  if (typeof exported === 'number' && typeof pool?.maybeRunIntervalSecs === 'number') {
    return { handlerConcurrency: exported, maybeRunIntervalSecs: pool.maybeRunIntervalSecs, from: 'export' };
  }
  const source = readFileSync(path.join(REPO_ROOT, 'src', 'crawl', 'crawler.ts'), 'utf8');
  const concurrency = /HANDLER_CONCURRENCY\s*=\s*(\d+)/.exec(source)?.[1];
  const interval = /maybeRunIntervalSecs:\s*([\d.]+)/.exec(source)?.[1];
  if (!concurrency || !interval) throw new Error('cannot find HANDLER_CONCURRENCY / maybeRunIntervalSecs in src/crawl/crawler.ts: update bench/crawler-options.ts');
  return { handlerConcurrency: Number(concurrency), maybeRunIntervalSecs: Number(interval), from: 'source' };
}
