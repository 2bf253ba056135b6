/** `crawl`: walk the API tree into the database, resuming an unfinished crawl. */
import v8 from 'node:v8';
import type { HttpCrawler, HttpCrawlingContext } from '@crawlee/http';
import type { Options } from 'yargs';
import {
  CACHE_MODES,
  DEFAULTS,
  QUEUE_KINDS,
  ENV_VARS,
  describeDb,
  flagOrEnv,
  oneOf,
  parseDuration,
  resolveApi,
  resolveCommonConfig,
  resolveNow,
  resolveScope,
  wholeNumber,
  type CrawlConfig,
  type DbTarget,
  type Env,
  type Given,
  type QueueKind,
} from '../config.js';
import { ApiUnreachableError, InterruptedError, UserError, asResourceError, describeError } from '../errors.js';
import { interruptSignal } from '../signals.js';
import {
  API_OPTIONS,
  DATABASE_OPTIONS,
  LOGGING_OPTIONS,
  SCOPE_OPTIONS,
  commandLogger,
  printResult,
  wholeNumberOption,
  type ApiArgs,
  type CommandModule,
  type DatabaseArgs,
  type LoggingArgs,
  type ScopeArgs,
} from './options.js';
import type { Logger } from '../log.js';
import { AppliedPayloads } from '../crawl/applied-payloads.js';
import { ResponseCache } from '../crawl/cache.js';
import { buildCrawler } from '../crawl/crawler.js';
import { FailureLog } from '../crawl/failures.js';
import type { Gate } from '../crawl/gate.js';
import { Progress } from '../crawl/progress.js';
import { describeScope, markFinished, writeSummary } from '../crawl/crawl-state.js';
import { startQueue, startSharedQueue } from '../crawl/queue.js';
import type { SharedQueue } from '../crawl/shared-queue.js';
import { formatPlan, planCrawl } from '../crawl/plan.js';
import { RunBudget } from '../crawl/run-budget.js';
import { CrawlStats } from '../crawl/stats.js';
import { lockStorageDir } from '../crawl/storage-dir.js';
import { sweepLost } from '../crawl/sweep.js';
import { exitCodeOf, formatSummary, type CrawlOutcome, type CrawlSummary } from '../crawl/summary.js';
import { openDb } from '../store/db.js';
import { ensureFreeSpace } from '../store/disk-space.js';
import { databaseId } from '../store/identity.js';
import { migrateLatest } from '../store/migrate.js';
import { Sink } from '../store/sink.js';
import { count } from '../words.js';
import { nodeWasGiven } from '../node-flags.js';
import { allowYoungGenerationGrowth } from '../young-generation.js';

export interface CrawlRunOptions {
  readonly log: Logger;
  /**
   * Aborting it stops the crawl gracefully: no request starts any more (cache hits included), those
   * waiting to be sent go back to the queue, those in flight finish and commit.
   */
  readonly signal?: AbortSignal;
  /** Terminal to draw the progress bar on; log lines otherwise. */
  readonly tty?: NodeJS.WriteStream;
}

export async function runCrawl(config: CrawlConfig, { log, signal, tty }: CrawlRunOptions): Promise<CrawlSummary> {
  const storage = await lockStorageDir(config.storageDir, config.storageName);
  try {
    const db = await openDb(config.db, { log, signal });
    let shared: SharedQueue | undefined;
    try {
      const migrations = await migrateLatest(db);
      if (migrations.length) log.info(`applied migrations: ${migrations.join(', ')}`);
      const failures = await FailureLog.open(storage.config);
      if (config.queue === 'postgres' && config.db.kind === 'postgres') {
        // Imported here, not at the top: pg-boss and rate-limiter-flexible (and what they load:
        // luxon, cron-parser…) are only for a shared queue, and the modules loaded stay in the
        // heap for the whole run (README, *The embedded database's memory*).
        const { SharedQueue } = await import('../crawl/shared-queue.js');
        shared = await SharedQueue.connect({
          url: config.db.url,
          log,
          leaseTimeoutMs: config.leaseTimeoutMs,
          storageDir: storage.dir,
        });
      }
      const sharedStart = shared && (await startSharedQueue(storage, config, failures, shared));
      const start = sharedStart || (await startQueue(storage, config, failures, { id: await databaseId(db), db }));
      const joined = sharedStart ? sharedStart.joined : undefined;
      if (joined) {
        const { crawl, how, otherWorkers, counts } = joined;
        const others = `${count(otherWorkers, 'other worker')} on it`;
        if (how === 'new')
          log.info(
            `new shared crawl of ${describeScope(config.scope)} from ${config.baseUrl} in ` +
              `${describeDb(config.db)} (cache ${config.cache}): start more workers with the same command`,
          );
        else if (how === 'joined')
          log.info(
            `joining the shared crawl started ${crawl.startedAt} (${others}): ` +
              `${counts.done + counts.failed} requests done, ${counts.queued + counts.leased} left`,
          );
        else log.info(`reopening the shared crawl started ${crawl.startedAt} to retry its failed requests (${others})`);
      } else if (start.rebuilt) {
        const { previousDatabaseId, requests } = start.rebuilt;
        log.warn(
          `the unfinished crawl in ${storage.dir} wrote to another database ` +
            `(id ${previousDatabaseId}) than ${describeDb(config.db)} ` +
            `(deleted, reset or replaced since): ` +
            (requests
              ? `rebuilding its queue from the ${count(requests, 'request')} this database's rows imply`
              : 'this database holds nothing, starting afresh from the series list'),
        );
      } else if (start.resumed) {
        const { handled, pending } = start.resumed;
        // Crawlee's counts live in a file a killed process may have cut short; then they are unknown.
        const progress =
          handled + pending > 0
            ? `: ${handled} requests done, ${pending} left`
            : ' (its progress counts were lost with the interrupted process)';
        log.info(`resuming the crawl started ${start.state.startedAt}${progress}`);
      } else {
        log.info(
          `new crawl of ${describeScope(config.scope)} from ${config.baseUrl} ` +
            `into ${describeDb(config.db)} (cache ${config.cache})`,
        );
      }
      if (config.retryFailed) log.info(`retrying ${count(start.seeded, 'failed request')}`);

      if (config.maxRequests !== undefined)
        log.info(`this run starts at most ${count(config.maxRequests, 'request')} (--max-requests)`);
      const stats = new CrawlStats();
      const budget = new RunBudget(config.maxRequests);
      // A server takes a few transactions at once; the embedded database has one connection.
      const embeddedDir = config.db.kind === 'embedded' ? config.db.dir : undefined;
      const sink = new Sink(db, {
        maxConcurrentFlushes: config.db.kind === 'postgres' ? DEFAULTS.sinkServerFlushes : 1,
        // The embedded database must never run out of disk mid-write (see disk-space.ts).
        beforeFlush: embeddedDir ? (rows) => ensureFreeSpace(embeddedDir, rows) : undefined,
        where: embeddedDir ?? describeDb(config.db),
      });
      let fatal: Error | undefined;
      let crawler: HttpCrawler<HttpCrawlingContext> | undefined;
      const cache = new ResponseCache(storage.config, storage.dir, config.baseUrl);
      let gate: Gate;
      ({ crawler, gate } = buildCrawler({
        config,
        log,
        stats,
        sink,
        failures,
        applied: await AppliedPayloads.load(db),
        cache,
        queue: start.queue,
        storageConfig: storage.config,
        budget,
        crawlWide: shared?.rateLimit(config.maxRpm),
        onFatal: (error) => {
          if (fatal) return;
          fatal = error;
          if (!(error instanceof UserError)) log.error(`${error.message}: stopping the crawl`);
          budget.stop();
          void crawler?.autoscaledPool?.abort();
        },
      }));
      const stop = () => budget.stop();
      if (signal?.aborted) stop();
      signal?.addEventListener('abort', stop, { once: true });
      const progress = new Progress({
        stats,
        queue: start.queue,
        log,
        handledBefore: start.resumed?.handled ?? 0,
        tty,
        pausedUntil: () => gate.pausedUntilMs,
        waitingForRetryAfter: () => gate.waitingForRetryAfter,
      });
      progress.start();
      try {
        // The queue drained: make sure nothing this crawl's payloads name was lost, then finish.
        // (Not for --retry-failed, whose queue holds only the failed requests.)
        while (budget.open) {
          try {
            await crawler.run();
          } catch (error) {
            // Crawlee stops itself when writing to its queue fails (a full disk): that is fatal, resumable.
            const resource = asResourceError(error, storage.dir);
            if (!resource) throw error;
            fatal ??= resource;
            log.error(`${resource.message}: stopping the crawl`);
          }
          if (fatal || signal?.aborted || config.retryFailed || !(await start.queue.isFinished())) break;
          // The shared queue loses nothing to a kill: a request's children are jobs before it is done,
          // and a dead worker's leased requests go back to the queue (its ids are job ids, too).
          if (shared) break;
          const missing = await sweepLost(start.queue, cache, failures, config);
          if (!missing) break;
          log.warn(
            `${count(missing, 'request')} named by payloads this crawl handled ${missing === 1 ? 'was' : 'were'} ` +
              `missing from the queue (lost by an interrupted run): fetching ${missing === 1 ? 'it' : 'them'} now`,
          );
        }
      } finally {
        progress.stop();
        signal?.removeEventListener('abort', stop);
        log.summariseRepeated('see the failures list');
      }
      if (!fatal) await sink.idle();
      if (fatal instanceof ApiUnreachableError) throw fatal; // the queue stays for the next run
      if (fatal instanceof UserError) {
        // Nothing but the series list was fetched, and nothing stored: no crawl to resume.
        await (shared ? shared.markFinished() : markFinished(storage.records));
        throw fatal;
      }

      const finished = !fatal && (await start.queue.isFinished());
      // After a fatal error the queue is not asked again: its journal may be on the disk that failed.
      const left = finished || fatal ? 0 : Math.max(1, (await start.queue.getInfo())?.pendingRequestCount ?? 0);
      // The whole crawl's failures, not only this run's: a resumed crawl still owes what failed before.
      const failureRecords = await failures.all();
      const outcome: CrawlOutcome = fatal
        ? 'fatal'
        : !finished
          ? budget.exhausted && !signal?.aborted
            ? 'limit'
            : 'interrupted'
          : failureRecords.length
            ? 'failures'
            : 'complete';
      if (finished) await (shared ? shared.markFinished() : markFinished(storage.records));
      // Stopped at --max-requests before the retries of requests whose attempt failed: not a clean stop.
      const retrying = outcome === 'limit' ? [...stats.retrying.values()] : [];
      const failedAttempts = retrying.length ? { requests: retrying.length, reason: retrying[0]! } : undefined;
      if (failedAttempts)
        log.warn(
          `--max-requests stopped the run before the retries of ${count(failedAttempts.requests, 'request')} ` +
            `whose attempt failed (${failedAttempts.reason})`,
        );
      const summary: CrawlSummary = {
        outcome,
        startedAt: new Date(stats.startedAt).toISOString(),
        finishedAt: new Date().toISOString(),
        seconds: (Date.now() - stats.startedAt) / 1000,
        requests: stats.byLabel,
        rows: sink.counts,
        failures: failureRecords,
        ...(failedAttempts ? { failedAttempts } : {}),
        message: messageFor(outcome, left, fatal, failedAttempts),
      };
      try {
        await writeSummary(storage.records, summary);
      } catch (error) {
        // A crawl stopped by a full disk cannot record its summary either; the one line said why.
        if (!fatal) throw asResourceError(error, storage.dir) ?? error;
        log.debug(`the summary could not be recorded: ${describeError(error)}`);
      }
      return summary;
    } finally {
      // What this worker still holds goes back to the shared queue
      // (a worker killed outright loses it by its lease timeout).
      await shared
        ?.close()
        .catch((error: unknown) =>
          log.warn(
            `could not give this worker's requests back to the shared queue (${describeError(error)}): ` +
              `other workers take them over after ${Math.round(config.leaseTimeoutMs / 1000)} s`,
          ),
        );
      await db.destroy();
    }
  } finally {
    await storage.close();
  }
}

function messageFor(
  outcome: CrawlOutcome,
  left: number,
  fatal: Error | undefined,
  failedAttempts: CrawlSummary['failedAttempts'],
): string | undefined {
  const resume = 'Run the same crawl command again to resume (add --fresh to start over).';
  switch (outcome) {
    case 'interrupted':
      return `Interrupted with ${count(left, 'request')} left. ${resume}`;
    case 'limit':
      return failedAttempts
        ? `Stopped at --max-requests: ${count(left, 'request')} left, ${failedAttempts.requests} of them after ` +
            `a failed attempt (${failedAttempts.reason}${failedAttempts.requests > 1 ? ', and others' : ''}); ` +
            'run the same crawl command again to retry them and continue.'
        : `Stopped at --max-requests: ${count(left, 'request')} left; run the same crawl command again to continue.`;
    case 'fatal':
      return `${fatal?.message ?? 'fatal error'}. Nothing stored was lost. ${resume}`;
    default:
      return undefined;
  }
}

// ─── The `crawl` command: its flags, their resolution into a CrawlConfig, and its handler ───

export const CRAWL_OPTIONS = {
  ...LOGGING_OPTIONS,
  ...DATABASE_OPTIONS,
  ...API_OPTIONS,
  ...SCOPE_OPTIONS,
  concurrency: wholeNumberOption(
    `Requests in flight to the API at once (cache hits not counted) [env ${ENV_VARS.concurrency}]`,
    { defaultDescription: String(DEFAULTS.concurrency) },
  ),
  'max-requests': wholeNumberOption(
    `Requests this run starts at most (cache hits too); run again to go on [env ${ENV_VARS.maxRequests}]`,
    { defaultDescription: 'no limit' },
  ),
  queue: {
    choices: QUEUE_KINDS,
    requiresArg: true,
    describe:
      `local: the queue in the storage dir (one process); postgres: in the --db ` +
      `server, shared by every crawl started with it [env ${ENV_VARS.queue}]`,
    defaultDescription: DEFAULTS.queue,
  },
  cache: {
    choices: CACHE_MODES,
    requiresArg: true,
    describe:
      `prefer: serve fresh cached bodies; refresh: always fetch; ` +
      `only: never touch the network [env ${ENV_VARS.cache}]`,
    defaultDescription: DEFAULTS.cache,
  },
  'max-age': {
    type: 'string',
    requiresArg: true,
    describe:
      `How long cached bodies stay fresh (90s, 30m, 24h, 7d); ` +
      `historic seasons never expire [env ${ENV_VARS.maxAge}]`,
    defaultDescription: DEFAULTS.maxAge,
  },
  'settle-after': {
    type: 'string',
    requiresArg: true,
    describe:
      `A session (a season, a series) this long past its end is settled: its cached ` +
      `body is refetched only after --settled-max-age [env ${ENV_VARS.settleAfter}]`,
    defaultDescription: DEFAULTS.settleAfter,
  },
  'settled-max-age': {
    type: 'string',
    requiresArg: true,
    describe:
      `How long a settled body (classification, calendar, seasons ` +
      `list) stays fresh, ±20 % per uuid [env ${ENV_VARS.settledMaxAge}]`,
    defaultDescription: DEFAULTS.settledMaxAge,
  },
  plan: {
    type: 'boolean',
    describe:
      'Print how many requests the crawl with these flags would make now (from cache, revalidated, fetched; ' +
      'a resume, --retry-failed, --max-requests included) and how long it would take, without making any',
  },
  timeout: {
    type: 'string',
    requiresArg: true,
    describe: `Deadline of each attempt, headers and whole body: seconds or 30s, 2m [env ${ENV_VARS.timeout}]`,
    defaultDescription: `${DEFAULTS.requestTimeoutSecs}s`,
  },
  fresh: {
    type: 'boolean',
    describe: 'Discard the unfinished crawl queue and start over (keeps the cache and the database)',
  },
  'retry-failed': {
    type: 'boolean',
    describe: 'Retry only the requests that failed in the last crawl, and fetch what hangs from them',
  },
} as const satisfies Record<string, Options>;

export interface CrawlArgs extends LoggingArgs, DatabaseArgs, ApiArgs, ScopeArgs {
  readonly concurrency?: number | string;
  readonly maxRequests?: number | string;
  readonly cache?: string;
  readonly queue?: string;
  readonly maxAge?: string;
  readonly settleAfter?: string;
  readonly settledMaxAge?: string;
  readonly plan?: boolean;
  readonly timeout?: string;
  readonly fresh?: boolean;
  readonly retryFailed?: boolean;
}

/** --timeout: seconds or a duration (30s, 2m), more than 0 and at most an hour. */
function resolveTimeoutSecs(given: Given<string>): number {
  if (given.value === undefined || given.value === '') return DEFAULTS.requestTimeoutSecs;
  const ms = parseDuration(given.name, String(given.value));
  if (!(ms > 0 && ms <= 3_600_000))
    throw new UserError(`${given.name}: "${given.value}" must be more than 0 s and at most 1 h`);
  return ms / 1000;
}

/** --queue: postgres needs a PostgreSQL server, which every worker can reach. */
function resolveQueue(given: Given<string>, db: DbTarget, plan: boolean): QueueKind {
  const queue = given.value === undefined ? DEFAULTS.queue : oneOf(given.name, given.value, QUEUE_KINDS);
  if (queue === 'postgres' && db.kind === 'embedded') {
    throw new UserError(
      `${given.name} postgres needs a PostgreSQL server (--db ` +
        `postgres://…): the embedded database can only be opened by one process`,
    );
  }
  // The plan reads the storage dir's queue and failure records; a shared crawl's are in the server.
  if (queue === 'postgres' && plan)
    throw new UserError(
      `--plan does not read the shared queue: leave out ${given.name} postgres to plan a crawl of this storage dir`,
    );
  return queue;
}

/** MSC_LEASE_TIMEOUT, a testing aid: a duration of at least a second. */
function resolveLeaseTimeoutMs(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULTS.leaseTimeoutMs;
  const ms = parseDuration(ENV_VARS.leaseTimeout, value);
  if (ms < 1000) throw new UserError(`${ENV_VARS.leaseTimeout}: "${value}" must be at least 1 s`);
  return ms;
}

export function resolveCrawlConfig(args: CrawlArgs, env: Env): CrawlConfig {
  const common = resolveCommonConfig(args, env);
  const cache = flagOrEnv('--cache', args.cache, env, ENV_VARS.cache);
  const maxAge = flagOrEnv('--max-age', args.maxAge, env, ENV_VARS.maxAge);
  const settleAfter = flagOrEnv('--settle-after', args.settleAfter, env, ENV_VARS.settleAfter);
  const settledMaxAge = flagOrEnv('--settled-max-age', args.settledMaxAge, env, ENV_VARS.settledMaxAge);
  return Object.freeze({
    ...common,
    ...resolveApi(args, env),
    scope: resolveScope(args, env),
    queue: resolveQueue(flagOrEnv('--queue', args.queue, env, ENV_VARS.queue), common.db, args.plan ?? false),
    leaseTimeoutMs: resolveLeaseTimeoutMs(env[ENV_VARS.leaseTimeout]),
    concurrency:
      wholeNumber(flagOrEnv('--concurrency', args.concurrency, env, ENV_VARS.concurrency), 1, 1000) ??
      DEFAULTS.concurrency,
    maxRequests: wholeNumber(
      flagOrEnv('--max-requests', args.maxRequests, env, ENV_VARS.maxRequests),
      1,
      Number.MAX_SAFE_INTEGER,
    ),
    cache: cache.value === undefined ? DEFAULTS.cache : oneOf(cache.name, cache.value, CACHE_MODES),
    maxAgeMs: parseDuration(maxAge.name, maxAge.value ?? DEFAULTS.maxAge),
    settleAfterMs: parseDuration(settleAfter.name, settleAfter.value ?? DEFAULTS.settleAfter),
    settledMaxAgeMs: parseDuration(settledMaxAge.name, settledMaxAge.value ?? DEFAULTS.settledMaxAge),
    nowMs: resolveNow(env[ENV_VARS.now]),
    plan: args.plan ?? false,
    fresh: args.fresh ?? false,
    retryFailed: args.retryFailed ?? false,
    maxRetries: DEFAULTS.maxRetries,
    retryBaseMs: DEFAULTS.retryBaseMs,
    retryMaxMs: DEFAULTS.retryMaxMs,
    breakerCoolDownMs: DEFAULTS.breakerCoolDownMs,
    maxOutageMs: DEFAULTS.maxOutageMs,
    requestTimeoutSecs: resolveTimeoutSecs(flagOrEnv('--timeout', args.timeout, env, ENV_VARS.timeout)),
    maxBodyBytes: DEFAULTS.maxBodyBytes,
  });
}

/**
 * Bounds how much V8 lets the old generation grow past what survived the last full GC before it
 * collects again, for a crawl, to DEFAULTS.crawlHeapGrowingPercent. A crawl keeps little alive (≈45–70 MB, whatever
 * the size of the tree), but nearly everything a request allocates (payload, rows, bodies) outlives a few
 * young-generation collections while its handler waits for the sink's commit, and then dies in the old generation.
 * V8's own factor, with memory to spare and GC this cheap, is up to 4×: the heap filled with about three times its
 * live size of garbage (peak RSS 420–440 MB for ~65 MB live). Doubling at most halves that; the extra full collections
 * (≈10–20 ms each, mostly incremental) are paid back by cheaper scavenges: main-thread GC time measured the same. 1.5×
 * instead of 2× took another 30–45 MB off the peak (cold crawl of the bench tree into the embedded database: 363–371 →
 * 325–333 MB) for ~2 % more CPU time (22.2–22.7 → 22.8–23.5 s); 1.25× instead of 1.5× another ~15 MB (recorded tree,
 * embedded: cold 244–263 → 231–238 MB, warm 197–200 → 185–191 MB) for ~2 % (cold user CPU 13.3–15.0 → 13.6–14.9 s,
 * at load average 5); 1.2× measured no lower. Skipped when node was given the flag.
 */
function boundHeapGrowth(): void {
  if (!nodeWasGiven(/^--heap-growing-percent\b/))
    v8.setFlagsFromString(`--heap-growing-percent=${DEFAULTS.crawlHeapGrowingPercent}`);
}

/**
 * The heap's settings for this crawl: the old generation bounded (above), and the young generation
 * (held at 1 MiB per semi-space from the start, see young-generation.ts) let grow where the
 * crawler's CPU binds rather than its memory. Into a PostgreSQL server, up to
 * DEFAULTS.serverCrawlSemiSpaceMiB: a cold crawl of 2,002 requests took 26.7 s of the crawler's CPU
 * held at 1 MiB, 24.1 s at 4 and 21.7 s at 8, for a peak RSS of 174, 180 and 191 MB. From the
 * cache alone (`--cache only`, a rebuild: no network to wait on), as far as V8 grows it: a rebuild
 * of 21,815 requests took 86 s of the crawler's CPU at 1 MiB against 75 s at V8's 16, for 159
 * against 202 MB. The embedded database stays at 1 MiB: its memory target binds, and PGlite's work
 * on the same thread, not garbage collection, sets its pace.
 */
function tuneHeap(config: CrawlConfig): void {
  boundHeapGrowth();
  if (config.cache === 'only') allowYoungGenerationGrowth();
  else if (config.db.kind === 'postgres') allowYoungGenerationGrowth(DEFAULTS.serverCrawlSemiSpaceMiB);
}

export const crawlCommand: CommandModule<CrawlArgs> = {
  command: 'crawl',
  describe: 'Walk series → seasons → calendar → classification into the database (resumes an unfinished crawl)',
  options: CRAWL_OPTIONS,
  builder: (y) =>
    y
      .options(CRAWL_OPTIONS)
      .example('$0 crawl', 'crawl everything politely into ./storage/db')
      .example('$0 crawl --series F1 --from-year 2020', 'one series, recent seasons')
      .example('$0 crawl --db postgres://user@host/db', 'into a PostgreSQL server')
      .example('$0 crawl --plan', 'what a crawl would fetch now, without fetching'),
  handler: async (args, io) => {
    const config = resolveCrawlConfig(args, io.env);
    const log = commandLogger(config, io);
    if (config.plan) {
      const plan = await planCrawl(config, log);
      printResult(io, config.logFormat, plan, () => formatPlan(plan));
      return 0;
    }
    tuneHeap(config);
    const tty = process.stderr.isTTY && config.logFormat === 'text' ? process.stderr : undefined;
    let summary: CrawlSummary;
    try {
      summary = await runCrawl(config, { log, signal: interruptSignal(log), tty });
    } catch (error) {
      // Stopped before the crawl began (the embedded database being created): nothing to summarise.
      if (!(error instanceof InterruptedError)) throw error;
      log.warn(error.message);
      return exitCodeOf('interrupted');
    }
    printResult(io, config.logFormat, summary, () => formatSummary(summary));
    return exitCodeOf(summary.outcome, summary.failedAttempts?.requests);
  },
};
