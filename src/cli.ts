#!/usr/bin/env node
/**
 * The motorsport-crawler command line. Each command resolves its config once (config.ts), runs,
 * and ends with an exit code: 0 done, 2 done with failures, 130 interrupted, 1 a fatal error
 * reported as one line (a stack trace only with --verbose).
 */
import v8 from 'node:v8';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { DEFAULTS, ENV_VARS, resolveCommonConfig, resolveCrawlConfig, type RawOptions } from './config.js';
import { DatabaseUnavailableError, UserError } from './errors.js';
import { isConnectionError } from './store/db.js';
import { Logger } from './log.js';
import { runCrawl } from './commands/crawl.js';
import { runMigrate } from './commands/migrate.js';
import { exitCodeOf, formatSummary } from './crawl/summary.js';
import { formatPlan, planCrawl } from './crawl/plan.js';
import { EXPORT_FORMATS, OPERATOR_DEFAULTS, resolveCanaryConfig, resolveChangesConfig, resolveExportConfig } from './config.js';
import { canaryExitCode, formatCanary, runCanary } from './commands/canary.js';
import { formatChanges, runChanges } from './commands/changes.js';
import { formatExport, runExport } from './commands/export.js';
import { formatStatus, runStatus } from './commands/status.js';

/**
 * How much V8 lets the old generation grow past what survived the last full GC before it collects
 * again, for a crawl. A crawl keeps little alive (≈45–70 MB, whatever the size of the tree), but
 * nearly everything a request allocates (payload, rows, bodies) outlives a few young-generation
 * collections while its handler waits for the sink's commit, and then dies in the old generation.
 * V8's own factor, with memory to spare and GC this cheap, is up to 4×: the heap filled with about
 * three times its live size of garbage (peak RSS 420–440 MB for ~65 MB live). Doubling at most
 * halves that; the extra full collections (≈10–20 ms each, mostly incremental) are paid back by
 * cheaper scavenges: main-thread GC time measured the same. Skipped when node was given the flag.
 */
const CRAWL_HEAP_GROWING_PERCENT = 100;

function boundHeapGrowth(): void {
  const flag = '--heap-growing-percent';
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((arg) => arg.replaceAll('_', '-').startsWith(flag));
  if (!given) v8.setFlagsFromString(`${flag}=${CRAWL_HEAP_GROWING_PERCENT}`);
}

/** The logger, before the config is validated (a bad value is then reported as text). */
function loggerFor(raw: RawOptions): Logger {
  const format = (raw.logFormat ?? process.env[ENV_VARS.logFormat]) === 'json' ? 'json' : 'text';
  return new Logger({ level: raw.quiet ? 'warn' : raw.verbose ? 'debug' : 'info', format });
}

function commonOptions<T>(y: Argv<T>) {
  return y
    .option('storage', { type: 'string', describe: `Crawlee storage dir: queue, cache, embedded database [env ${ENV_VARS.storage}]`, defaultDescription: DEFAULTS.storage })
    .option('db', { type: 'string', describe: `postgres:// URL of a PostgreSQL server, or a directory for the embedded one [env ${ENV_VARS.db}]`, defaultDescription: '<storage>/db (embedded PGlite)' })
    .option('log-format', { choices: ['text', 'json'] as const, describe: `Log lines for people or for machines [env ${ENV_VARS.logFormat}]`, defaultDescription: 'text' })
    .option('quiet', { type: 'boolean', alias: 'q', describe: 'Only warnings and errors' })
    .option('verbose', { type: 'boolean', alias: 'v', describe: 'Debug logs and stack traces' });
}

/** The filters crawl and export share, with the same meaning. */
function scopeOptions<T>(y: Argv<T>) {
  return y
    .option('series', { type: 'array', string: true, describe: `Only these series: uuid, shortCode or name, case-insensitive; repeatable [env ${ENV_VARS.series}, comma-separated]`, defaultDescription: 'all' })
    .option('from-year', { type: 'number', describe: `Only seasons from this year on [env ${ENV_VARS.fromYear}]` })
    .option('to-year', { type: 'number', describe: `Only seasons up to this year [env ${ENV_VARS.toYear}]` });
}

/**
 * Runs a command body and turns its outcome into an exit code, errors into one line. The process
 * exits when the command is done: a stopped crawl may leave sockets and timers behind (a pool
 * retrying a database that went away), and they must not keep it alive.
 */
async function main(raw: RawOptions, body: (log: Logger) => Promise<number>): Promise<void> {
  const log = loggerFor(raw);
  let code: number;
  try {
    code = await body(log);
  } catch (error) {
    const known = error instanceof UserError || error instanceof DatabaseUnavailableError || isConnectionError(error);
    const message = error instanceof Error ? error.message : String(error);
    log.error(isConnectionError(error) && !(error instanceof DatabaseUnavailableError) ? `database unavailable: ${message}` : message);
    if (!known && raw.verbose && error instanceof Error) log.error(error.stack ?? '');
    if (!known && !raw.verbose) log.error('(run with --verbose for the stack trace)');
    code = 1;
  }
  await Promise.all([process.stdout, process.stderr].map((stream) => new Promise((resolve) => stream.write('', resolve))));
  process.exit(code);
}

/** First Ctrl-C / SIGTERM: a graceful stop. Second: leave at once (the queue and the database stay consistent). */
function interruptSignal(log: Logger): AbortSignal {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) {
      log.warn('second interrupt: exiting now; run the command again to resume');
      process.exit(130);
    }
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return controller.signal;
}

// A closed pipe (`crawl | head`) must not crash a crawl: output is lost, the work is not.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

await yargs(hideBin(process.argv))
  .scriptName('motorsport-crawler')
  .usage('$0 <command> [options]\n\nMirror the motorsportstats widgets API into PostgreSQL.')
  .command(
    'crawl',
    'Walk series → seasons → calendar → classification into the database (resumes an unfinished crawl)',
    (y) =>
      commonOptions(y)
        .option('base-url', { type: 'string', describe: `API origin [env ${ENV_VARS.baseUrl}]`, defaultDescription: DEFAULTS.baseUrl })
        .option('series', { type: 'array', string: true, describe: `Only these series: uuid, shortCode or name, case-insensitive; repeatable [env ${ENV_VARS.series}, comma-separated]`, defaultDescription: 'all' })
        .option('from-year', { type: 'number', describe: `Only seasons from this year on [env ${ENV_VARS.fromYear}]` })
        .option('to-year', { type: 'number', describe: `Only seasons up to this year [env ${ENV_VARS.toYear}]` })
        .option('concurrency', { type: 'number', describe: `Requests in flight to the API at once (cache hits not counted) [env ${ENV_VARS.concurrency}]`, defaultDescription: String(DEFAULTS.concurrency) })
        .option('max-rpm', { type: 'number', describe: `Requests to the API per minute; 10000 or more lifts the limit [env ${ENV_VARS.maxRpm}]`, defaultDescription: String(DEFAULTS.maxRpm) })
        .option('max-requests', { type: 'number', describe: `Stop once this many requests are done (those in flight finish); the next crawl resumes [env ${ENV_VARS.maxRequests}]`, defaultDescription: 'no limit' })
        .option('cache', { choices: ['prefer', 'refresh', 'only'] as const, describe: `prefer: serve fresh cached bodies; refresh: always fetch; only: never touch the network [env ${ENV_VARS.cache}]`, defaultDescription: DEFAULTS.cache })
        .option('max-age', { type: 'string', describe: `How long cached bodies stay fresh (90s, 30m, 24h, 7d); historic seasons never expire [env ${ENV_VARS.maxAge}]`, defaultDescription: DEFAULTS.maxAge })
        .option('settle-after', { type: 'string', describe: `A session this long past its end is settled: its stored results are refetched only after --settled-max-age [env ${ENV_VARS.settleAfter}]`, defaultDescription: DEFAULTS.settleAfter })
        .option('settled-max-age', { type: 'string', describe: `How long a settled session's cached classification stays fresh [env ${ENV_VARS.settledMaxAge}]`, defaultDescription: DEFAULTS.settledMaxAge })
        .option('plan', { type: 'boolean', describe: 'Print per endpoint what the crawl would do now (from cache, revalidate, fetch) and how long it would take, without any request' })
        .option('fresh', { type: 'boolean', describe: 'Discard the unfinished crawl queue and start over (keeps the cache and the database)' })
        .option('retry-failed', { type: 'boolean', describe: 'Retry only the requests that failed in the last crawl' })
        .example('$0 crawl', 'crawl everything politely into ./storage/db')
        .example('$0 crawl --series F1 --from-year 2020', 'one series, recent seasons')
        .example('$0 crawl --db postgres://user@host/db', 'into a PostgreSQL server'),
    (argv) =>
      main(argv, async (log) => {
        const config = resolveCrawlConfig(argv, process.env);
        if (config.plan) {
          const plan = await planCrawl(config, log);
          process.stdout.write(config.logFormat === 'json' ? JSON.stringify(plan) + '\n' : formatPlan(plan) + '\n');
          return 0;
        }
        boundHeapGrowth();
        const summary = await runCrawl(config, { log, signal: interruptSignal(log), tty: process.stderr.isTTY && config.logFormat === 'text' ? process.stderr : undefined });
        process.stdout.write(config.logFormat === 'json' ? JSON.stringify(summary) + '\n' : formatSummary(summary) + '\n');
        return exitCodeOf(summary.outcome);
      }),
  )
  .command(
    'migrate',
    'Apply pending database migrations (crawl does this too)',
    (y) => commonOptions(y),
    (argv) =>
      main(argv, async (log) => {
        await runMigrate(resolveCommonConfig(argv, process.env), log);
        return 0;
      }),
  )
  .command(
    'export',
    'Write every dataset (series … retirements, and the results join) to one JSON file each, plus manifest.json',
    (y) =>
      scopeOptions(commonOptions(y))
        .option('out', { type: 'string', describe: 'Directory to write the files into', defaultDescription: OPERATOR_DEFAULTS.out })
        .option('format', { choices: EXPORT_FORMATS, describe: 'json: one array per file; ndjson: one object per line', defaultDescription: OPERATOR_DEFAULTS.format })
        .option('as-of', { type: 'string', describe: 'Export the data as it was at this time, from the history tables: ISO 8601 with Z or an offset, or a duration ago (24h, 7d)', defaultDescription: 'now' })
        .example('$0 export --out exports', 'everything, as JSON arrays')
        .example('$0 export --format ndjson --series F1 --from-year 2020', 'one series, recent seasons, one object per line')
        .example('$0 export --as-of 2026-11-01T00:00:00Z', 'the data as it was on 1 November'),
    (argv) =>
      main(argv, async (log) => {
        const config = resolveExportConfig(argv, process.env);
        const manifest = await runExport(config, { log });
        process.stdout.write(config.logFormat === 'json' ? JSON.stringify(manifest) + '\n' : formatExport(manifest, config.outDir) + '\n');
        return 0;
      }),
  )
  .command(
    'status',
    'Show the crawl in the storage dir (requests per label, resumable?), the cache, the rows per table and the last crawl',
    (y) => commonOptions(y),
    (argv) =>
      main(argv, async (log) => {
        const config = resolveCommonConfig(argv, process.env);
        const report = await runStatus(config, { log });
        process.stdout.write(config.logFormat === 'json' ? JSON.stringify(report) + '\n' : formatStatus(report) + '\n');
        return 0;
      }),
  )
  .command(
    'changes',
    'What crawls changed since a time, per table: inserted, updated, soft-deleted, with examples (from the history tables)',
    (y) =>
      commonOptions(y)
        .option('since', { type: 'string', demandOption: true, describe: 'ISO 8601 time with Z or an offset, or a duration ago (24h, 7d)' })
        .option('examples', { type: 'number', describe: 'Examples listed per table and kind of change', defaultDescription: String(OPERATOR_DEFAULTS.examples) })
        .example('$0 changes --since 24h', 'what the crawls of the last day changed'),
    (argv) =>
      main(argv, async (log) => {
        const config = resolveChangesConfig(argv, process.env);
        const report = await runChanges(config, { log });
        process.stdout.write(config.logFormat === 'json' ? JSON.stringify(report) + '\n' : formatChanges(report) + '\n');
        return 0;
      }),
  )
  .command(
    'canary',
    'Check a small sample of the live API against schemas/, with no cache and no database: exit 0 match, 2 drift, 1 incomplete',
    (y) =>
      commonOptions(y)
        // The canary reads neither: hidden rather than advertised.
        .hide('storage')
        .hide('db')
        .option('base-url', { type: 'string', describe: `API origin [env ${ENV_VARS.baseUrl}]`, defaultDescription: DEFAULTS.baseUrl })
        .option('max-rpm', { type: 'number', describe: `Requests to the API per minute; 10000 or more lifts the limit [env ${ENV_VARS.maxRpm}]`, defaultDescription: String(DEFAULTS.maxRpm) })
        .option('sample-series', { type: 'number', describe: 'Series to sample, from as many categories as there are', defaultDescription: String(OPERATOR_DEFAULTS.sampleSeries) })
        .option('sample-classifications', { type: 'number', describe: 'Latest classifications checked per sampled series', defaultDescription: String(OPERATOR_DEFAULTS.sampleClassifications) }),
    (argv) =>
      main(argv, async (log) => {
        const config = resolveCanaryConfig(argv, process.env);
        const report = await runCanary(config, { log });
        process.stdout.write(config.logFormat === 'json' ? JSON.stringify(report) + '\n' : formatCanary(report) + '\n');
        return canaryExitCode(report.outcome);
      }),
  )
  .demandCommand(1, 'Name a command: crawl, migrate, export, status, changes or canary (see --help)')
  .strict()
  .recommendCommands()
  .help()
  .alias('h', 'help')
  .version()
  .wrap(Math.min(120, process.stdout.columns || 100))
  .fail((message, error) => {
    if (error) throw error;
    // One line, like every other configuration error.
    process.stderr.write(`${message.replace(/\s*\n\s*/g, ' ')} (see --help)\n`);
    process.exit(1);
  })
  .parseAsync();
