/** `crawl`: walk the API tree into the database, resuming an unfinished crawl. */
import type { HttpCrawler, HttpCrawlingContext } from '@crawlee/http';
import { describeDb, type CrawlConfig } from '../config.js';
import type { Logger } from '../log.js';
import { AppliedPayloads } from '../crawl/applied-payloads.js';
import { ResponseCache } from '../crawl/cache.js';
import { buildCrawler } from '../crawl/crawler.js';
import { FailureLog } from '../crawl/failures.js';
import { checkApiReachable } from '../crawl/preflight.js';
import { Progress } from '../crawl/progress.js';
import { describeScope, markFinished, startQueue } from '../crawl/queue.js';
import { CrawlStats } from '../crawl/stats.js';
import { lockStorage } from '../crawl/storage.js';
import { sweepQueue } from '../crawl/sweep.js';
import type { CrawlOutcome, CrawlSummary } from '../crawl/summary.js';
import { openDb } from '../store/db.js';
import { migrateLatest } from '../store/migrate.js';
import { Sink } from '../store/sink.js';

export const SUMMARY_KEY = 'SUMMARY';

export interface CrawlRunOptions {
  readonly log: Logger;
  /** Aborting it stops the crawl gracefully: in-flight requests finish, the rest stay queued. */
  readonly signal?: AbortSignal;
  /** Terminal to draw the progress bar on; log lines otherwise. */
  readonly tty?: NodeJS.WriteStream;
}

export async function runCrawl(config: CrawlConfig, { log, signal, tty }: CrawlRunOptions): Promise<CrawlSummary> {
  const storage = await lockStorage(config.storageDir);
  try {
    const db = await openDb(config.db);
    try {
      const migrations = await migrateLatest(db);
      if (migrations.length) log.info(`applied migrations: ${migrations.join(', ')}`);
      if (config.cache !== 'only') await checkApiReachable(config.baseUrl);
      const failures = await FailureLog.open(storage.config);
      const start = await startQueue(storage, config, failures);
      if (start.resumed) {
        const { handled, pending } = start.resumed;
        // Crawlee's counts live in a file a killed process may have cut short; then they are unknown.
        const progress = handled + pending > 0 ? `: ${handled} requests done, ${pending} left` : ' (its progress counts were lost with the interrupted process)';
        log.info(`resuming the crawl started ${start.state.startedAt}${progress}`);
      } else {
        log.info(`new crawl of ${describeScope(config.scope)} from ${config.baseUrl} into ${describeDb(config.db)} (cache ${config.cache})`);
      }
      if (config.retryFailed) log.info(`retrying ${start.seeded} failed request(s)`);

      const stats = new CrawlStats();
      // A server takes a few transactions at once; the embedded database has one connection.
      const sink = new Sink(db, { maxConcurrentFlushes: config.db.kind === 'postgres' ? 3 : 1 });
      let fatal: Error | undefined;
      let crawler: HttpCrawler<HttpCrawlingContext> | undefined;
      ({ crawler } = buildCrawler({
        config, log, stats, sink, failures,
        applied: await AppliedPayloads.load(db),
        cache: new ResponseCache(storage.config, storage.dir, config.baseUrl),
        queue: start.queue,
        storageConfig: storage.config,
        onFatal: (error) => {
          if (fatal) return;
          fatal = error;
          log.error(`${error.message}: stopping the crawl`);
          void crawler?.autoscaledPool?.abort();
        },
      }));
      const stop = () => {
        log.warn('stopping: letting the requests in flight finish (press Ctrl-C again to quit at once)');
        crawler?.stop('interrupted');
      };
      signal?.addEventListener('abort', stop, { once: true });
      const progress = new Progress({ stats, queue: start.queue, log, handledBefore: start.resumed?.handled ?? 0, tty });
      progress.start();
      try {
        // The queue drained: make sure nothing the stored rows imply was lost, then finish.
        // (Not for --retry-failed, whose queue holds only the failed requests.)
        while (!signal?.aborted) {
          await crawler.run();
          if (fatal || signal?.aborted || config.retryFailed || !(await start.queue.isFinished())) break;
          const missing = await sweepQueue(db, start.queue, config.scope, config.baseUrl);
          if (!missing) break;
          log.warn(`${missing} request(s) implied by the stored rows were missing from the queue (lost by an interrupted run): fetching them now`);
        }
      } finally {
        progress.stop();
        signal?.removeEventListener('abort', stop);
      }
      if (!fatal) await sink.idle();

      const finished = !fatal && (await start.queue.isFinished());
      const left = finished ? 0 : Math.max(1, (await start.queue.getInfo())?.pendingRequestCount ?? 0);
      // The whole crawl's failures, not only this run's: a resumed crawl still owes what failed before.
      const failureRecords = await failures.all();
      const outcome: CrawlOutcome = fatal ? 'fatal' : !finished ? (signal?.aborted ? 'interrupted' : 'limit') : failureRecords.length ? 'failures' : 'complete';
      if (finished) await markFinished(storage);
      const summary: CrawlSummary = {
        outcome,
        startedAt: new Date(stats.startedAt).toISOString(),
        finishedAt: new Date().toISOString(),
        seconds: (Date.now() - stats.startedAt) / 1000,
        requests: stats.byLabel,
        rows: sink.counts,
        failures: failureRecords,
        message: messageFor(outcome, left, fatal),
      };
      await storage.records.setValue(SUMMARY_KEY, summary);
      return summary;
    } finally {
      await db.destroy();
    }
  } finally {
    await storage.close();
  }
}

function messageFor(outcome: CrawlOutcome, left: number, fatal: Error | undefined): string | undefined {
  const resume = 'Run the same crawl command again to resume (add --fresh to start over).';
  switch (outcome) {
    case 'interrupted':
      return `Interrupted with ${left} request(s) left. ${resume}`;
    case 'limit':
      return `Stopped at --max-requests with ${left} request(s) left. ${resume}`;
    case 'fatal':
      return `${fatal?.message ?? 'fatal error'}. Nothing stored was lost. ${resume}`;
    default:
      return undefined;
  }
}
