/**
 * The handler concurrency and pool options of src/crawl/crawler.ts, for the floor to use the same
 * ones: both are tunables of the DEFAULTS table (src/config.ts), which the crawler reads.
 */
import { DEFAULTS } from '../src/config.js';

export interface CrawlerOptions {
  readonly handlerConcurrency: number;
  readonly maybeRunIntervalSecs: number;
  /** Where they came from. */
  readonly from: string;
}

export async function crawlerOptions(): Promise<CrawlerOptions> {
  return {
    handlerConcurrency: DEFAULTS.handlerConcurrency,
    maybeRunIntervalSecs: DEFAULTS.poolIntervalSecs,
    from: 'DEFAULTS',
  };
}
