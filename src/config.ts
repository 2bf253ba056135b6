/**
 * Every flag and environment variable, validated once into a frozen config before any request or
 * query. No other module reads process.env. Precedence: flag, then environment variable, then the
 * default in DEFAULTS. A bad value is a UserError naming the flag and the value.
 */
import path from 'node:path';
import { UserError } from './errors.js';
import { refuseFileInTheWay } from './ensure-dir.js';
import type { ApiArgs, DatabaseArgs, LoggingArgs, ScopeArgs } from './commands/options.js';
import type { LogFormat, LogLevel } from './log.js';

export const LOG_FORMATS = ['text', 'json'] as const satisfies readonly LogFormat[];

export const CACHE_MODES = ['prefer', 'refresh', 'only'] as const;
export type CacheMode = (typeof CACHE_MODES)[number];

/** Where a crawl's request queue lives: the storage dir's journal, or the PostgreSQL server (shared by workers). */
export const QUEUE_KINDS = ['local', 'postgres'] as const;
export type QueueKind = (typeof QUEUE_KINDS)[number];

/** Where rows go: the embedded PGlite data dir, or a PostgreSQL server. */
export type DbTarget =
  /** `from`: the flag or variable the dir came from, for messages (--db when absent). */
  | { readonly kind: 'embedded'; readonly dir: string; readonly from?: string }
  | { readonly kind: 'postgres'; readonly url: string };

/**
 * Every tunable, with why it has its value. The flags' defaults come from here, and so do the
 * knobs no flag sets (handler pool, breaker, backoff, sink batches, export pages).
 */
export const DEFAULTS = {
  /** The public API the widgets of motorsportstats.com read. */
  baseUrl: 'https://api.motorsportstats.com',
  /** The crawl's queue, cache and lock, in the folder the command runs in. */
  storage: './storage',
  /** Requests in flight to the API: a few, as a polite client of someone else's API. */
  concurrency: 4,
  /** Two requests a second: polite, and a full crawl still fits in a night. */
  maxRpm: 120,
  /** The cache answers what is still fresh; only the rest goes to the API. */
  cache: 'prefer' satisfies CacheMode,
  /** One process, the queue in the storage dir: no server needed. */
  queue: 'local' satisfies QueueKind,
  /**
   * --queue postgres: a worker whose heartbeat is older than this is dead, and any other worker
   * returns the requests it held to the queue. The heartbeat is renewed every third of it, and
   * dead workers are looked for as often, so a worker killed with kill -9 loses its leases
   * within 4/3 of it (40 s). MSC_LEASE_TIMEOUT shortens it for tests.
   */
  leaseTimeoutMs: 30_000,
  /**
   * --queue postgres: how often an idle worker asks the shared queue for work while other workers
   * still hold requests (Crawlee's pool polls its queue every 20 ms).
   */
  sharedQueuePollMs: 250,
  /**
   * --queue postgres: a worker holds at most this many leases per request it may have in flight
   * (--concurrency). Crawlee's pool would otherwise lease dozens at a time: one slow worker would
   * sit on requests the others could take, and a worker killed would lose them all.
   */
  sharedLeasesPerSlot: 2,
  /** Results change for a day or so after a session (penalties); a day-old copy is good enough. */
  maxAge: '24h',
  /** Results of a session this long past its end are taken as final (protests and penalties settle within days). */
  settleAfter: '14d',
  /**
   * How long a settled body (classification, calendar, seasons list)
   * is trusted before it is revalidated anyway (±20 % per uuid).
   */
  settledMaxAge: '30d',
  /** Retries of a failed request: with the backoff below, about a minute of trying. */
  maxRetries: 5,
  /** First retry's backoff; doubles per retry, with jitter (src/retry.ts). */
  retryBaseMs: 1000,
  /**
   * Longest wait before a request's retry: the backoff's ceiling, and the most a Retry-After asked
   * of one request is honoured (a longer trouble is an outage, the breaker's to handle; a longer
   * Retry-After pauses the whole crawl only when several distinct requests are asked, crawl/gate.ts).
   */
  retryMaxMs: 30_000,
  /** First pause of an open circuit before its probe: a hiccup is over in seconds. */
  breakerCoolDownMs: 5_000,
  /** Longest pause of an open circuit, as failed probes double it: a returning API is noticed within a minute. */
  breakerMaxCoolDownMs: 60_000,
  /** Distinct requests whose latest outcome the breaker weighs: enough to tell an outage from one bad endpoint. */
  breakerWindow: 20,
  /** Failing distinct requests (besides most of the window) that open the circuit: a few bad URLs are no outage. */
  breakerFailuresToOpen: 4,
  /** While the circuit is half-open, how often the others look whether the probe has answered. */
  breakerProbePollMs: 100,
  /**
   * Longest crawl-wide pause a Retry-After may impose: a server
   * asking for hours (or years) must not stall the crawl silently.
   */
  maxPauseMs: 10 * 60_000,
  /** What a 429 that names no Retry-After asks for: the API asked to slow down, without saying how much. */
  rateLimitPauseMs: 5_000,
  /**
   * Distinct requests asked to wait (Retry-After) within pauseWindowMs before the whole crawl
   * pauses: an API rate-limiting everyone answers every request so within seconds; one URL asking
   * again and again (or two) is that request's trouble, not a reason to stall the crawl.
   */
  pauseQuorum: 3,
  /** How recent those asks must be: a rate limit shows within a minute even at one request in flight. */
  pauseWindowMs: 60_000,
  /** How long the API may stay unreachable (circuit open) before the crawl stops. */
  maxOutageMs: 15 * 60_000,
  /**
   * Handlers running at once (cache hits, decoding, waiting for the sink's commit); network
   * requests are further limited by `concurrency` at the gate. Enough waiting handlers to keep
   * the sink's group commits full (see the bench).
   */
  handlerConcurrency: 48,
  /** How often Crawlee's pool looks for work: 20 ms keeps it from idling between cache hits that take a millisecond. */
  poolIntervalSecs: 0.02,
  /** A handler only decodes, routes and waits for the sink: one still running after 15 min is stuck. */
  requestHandlerTimeoutSecs: 900,
  /**
   * Attempts without any answer from the API, before its first answer in a run, that
   * make it unreachable (reachability.ts): one dropped connection must not stop a crawl.
   */
  reachabilityAttempts: 3,
  /** Rows per INSERT statement: big enough to amortise a round trip, small enough for the drivers' array binds. */
  sinkRowsPerStatement: 10_000,
  /** Rows one transaction gathers at most: bounds the memory and the WAL of a flush. */
  sinkRowsPerFlush: 50_000,
  /** Attempts of a flush that met a deadlock or serialization failure (the other transaction soon commits). */
  sinkFlushAttempts: 5,
  /** First wait before such a flush is tried again: a competing transaction commits in milliseconds. */
  sinkRetryBaseMs: 20,
  /**
   * Transactions in flight at once on a PostgreSQL server: a flush is a dozen
   * round trips, so a few overlap well (the embedded database has one connection).
   */
  sinkServerFlushes: 3,
  /**
   * Rows written into a table since its last ANALYZE before the sink analyzes it again, at least;
   * past that, as many rows as it held then (see store/planner-statistics.ts).
   */
  plannerStatisticsMinRows: 1_000,
  /** Rows an export fetches per round trip: large enough to amortise it, small enough to keep memory flat. */
  exportPageSize: 2000,
  /**
   * V8's heap growth during a crawl, in percent (see boundHeapGrowth in
   * commands/crawl.ts): 1.25×, ~15 MB off a crawl's peak for ~2 % more CPU.
   */
  crawlHeapGrowingPercent: 25,
  /**
   * Each young-generation semi-space of a crawl into a PostgreSQL server may grow to this many MiB
   * (see tuneHeap in commands/crawl.ts; held at 1 otherwise): ~20 % less of the crawler's CPU than
   * 1 MiB for ~15 MB of peak RSS.
   */
  serverCrawlSemiSpaceMiB: 8,
  /**
   * Slots of the request queue's dedup cache (see src/crawl/crawl-queue.ts; Crawlee's is 1,000,000,
   * 15 MiB): 131,072 is 2 MiB, and a collision costs one lookup in the queue's storage.
   */
  queueSeenCacheSlots: 131_072,
  /**
   * Requests the request queue remembers (see src/crawl/crawl-queue.ts; Crawlee's 2,000,000 is every
   * request of a crawl, ~300 bytes each): one forgotten is asked of the queue's storage instead.
   */
  queueRequestCacheSize: 10_000,
  /**
   * Bodies shorter than this are cached as they came, not compressed (see
   * src/crawl/record-codec.ts): a record this small takes one 4 KiB file system block either way.
   */
  cacheCompressMinBytes: 2048,
  /**
   * Compressed cache records whose body is at most this long are inflated on the event loop (about
   * 3 ms for 1 MiB), longer ones on libuv's thread pool (see src/crawl/record-codec.ts).
   */
  syncInflateMaxBytes: 1024 * 1024,
  /** One deadline per attempt, headers and whole body: a slow endpoint spends its own attempts. */
  requestTimeoutSecs: 30,
  /** Far above any payload the API serves: it only stops a runaway or hostile body from filling memory. */
  maxBodyBytes: 20 * 1024 * 1024,
  /**
   * How long a command may take to stop after the first Ctrl-C / SIGTERM before the process exits
   * 130 anyway. Requests in flight and the sink's commit take well under a second; one still running
   * after this is stuck (a server that never answers, a database that does not commit). Exiting
   * then loses nothing committed: a request is marked handled only after its commit, the rest is
   * fetched again on resume.
   */
  interruptGraceMs: 5_000,
  /**
   * An empty pid lock file younger than this is a lock being taken (create and write are two
   * system calls); older, it is what a crash between the two left behind. Taking a lock takes
   * well under a millisecond, so a few seconds is a wide margin on a loaded machine.
   */
  lockEmptyGraceMs: 5_000,
  /**
   * Free space the embedded database must have to be opened and before each flush (see
   * src/store/disk-space.ts), plus freeDiskBytesPerRow for each row of the flush: two WAL segments
   * of 16 MiB (one the flush may have to create, one for the checkpoint at close; PostgreSQL
   * PANICs when it cannot create one, a state PGlite never leaves) and 8 MiB for the cache and
   * queue writes made meanwhile.
   */
  minFreeDiskBytes: 40 * 1024 * 1024,
  /**
   * Disk a flush may take per row it writes. Measured on the bench tree (214,960 rows into
   * PGlite): 225 MiB of WAL (PGlite does not recycle segments during a crawl; the largest flush,
   * 4,084 rows, wrote 2.4 MB, ~590 B a row) and 157 MiB of tables, indexes and history (~730 B a
   * row). 3 KiB is 1.6 times the two together.
   */
  freeDiskBytesPerRow: 3 * 1024,
  // status: bounded work at live size (10⁵ cache files, tens of millions of rows); --exact lifts both bounds.
  /**
   * Cache files `status` looks at one by one (lstat) to sum the cache's size on disk: 10⁵ took 3–4 s
   * on a loaded 2-core machine. Above this, it looks at statusSampleCacheFiles of them and scales up.
   */
  statusExactCacheFiles: 20_000,
  /**
   * Cache files sampled above that, spread over every store in proportion (record sizes differ by
   * endpoint, and little within one): on 102,571 files the estimate was 0.06 % under du's figure.
   */
  statusSampleCacheFiles: 5_000,
  /**
   * Table bytes (a table and its history, as the server stores them) that `status` counts row by
   * row, smallest tables first: count(*) reads every page (1.4–1.9 s for a 1.2 GB table on the
   * loaded test server). Each larger table is estimated from a sample of its pages (src/store/row-counts.ts).
   */
  statusExactTableBytes: 128 * 1024 * 1024,
  /** Runs of pages sampled per large table (and per history): evenly spaced, so every part of it is seen. */
  statusSampleRuns: 64,
  /**
   * Consecutive pages per run: 64 × 16 pages are 8 MiB read per table (and history) at 8 KiB a page.
   * On tables of 4.9 million rows (0.7–1.7 GB each) the estimates were within 0.02 % of count(*).
   */
  statusSamplePagesPerRun: 16,
  // The operator commands: export, changes, canary.
  /** Exports go beside the storage dir, in the folder the command runs in. */
  out: './exports',
  /** One JSON array per dataset: what most tools read. */
  format: 'json' satisfies ExportFormat,
  /** Examples listed per table and kind of change by `changes`. */
  examples: 3,
  /** Series the canary samples, one per category first. */
  sampleSeries: 4,
  /** Classifications the canary checks per sampled series. */
  sampleClassifications: 2,
  /** Retries of a canary request: a canary that waits minutes on a dead API is no use. */
  canaryRetries: 2,
  /**
   * PostgreSQL settings of the embedded database (PGlite runs it inside the crawl's process, so its
   * memory is the crawl's; see src/store/embedded.ts for what each costs):
   * - shared_buffers: PostgreSQL's 128 MB is resident from the start; 16 MB holds a flush's index
   *   paths, and the operating system caches the files as for any PostgreSQL.
   * - maintenance_work_mem: 64 MB by default, used by CREATE INDEX in migrations; 16 MB sorts
   *   the indexes of a live-sized table in a few passes more.
   * - max_wal_size / min_wal_size: PGlite's single backend checkpoints only when the WAL reaches
   *   max_wal_size (1 GB by default), so WAL segments piled up on disk for a whole crawl; 64 MB
   *   keeps the WAL a few segments long (a checkpoint writes at most shared_buffers of pages).
   * - wal_init_zero: PostgreSQL fills each new 16 MB WAL segment with zeros before using it, which
   *   PGlite's file layer does with a fresh 1 MB buffer per write: 16 MB of malloc'd buffers each
   *   time, which malloc's heap keeps (the first re-crawl after a crawl creates one: `[heap]` 26
   *   against 9 MB). Off, PostgreSQL writes only the segment's last byte, as it does for
   *   copy-on-write file systems; WAL records are read by their own headers and CRCs either way.
   */
  embeddedDbSettings: {
    shared_buffers: '16MB',
    maintenance_work_mem: '16MB',
    max_wal_size: '64MB',
    min_wal_size: '32MB',
    wal_init_zero: 'off',
  } satisfies Readonly<Record<string, string>>,
} as const;

/** Environment variables, by the option they set. */
export const ENV_VARS = {
  baseUrl: 'MSC_BASE_URL',
  db: 'DATABASE_URL',
  storage: 'CRAWLEE_STORAGE_DIR',
  series: 'MSC_SERIES',
  fromYear: 'MSC_FROM_YEAR',
  toYear: 'MSC_TO_YEAR',
  concurrency: 'MSC_CONCURRENCY',
  maxRpm: 'MSC_MAX_RPM',
  maxRequests: 'MSC_MAX_REQUESTS',
  cache: 'MSC_CACHE',
  queue: 'MSC_QUEUE',
  /** A testing aid: --queue postgres's lease timeout (a duration). */
  leaseTimeout: 'MSC_LEASE_TIMEOUT',
  maxAge: 'MSC_MAX_AGE',
  timeout: 'MSC_TIMEOUT',
  settleAfter: 'MSC_SETTLE_AFTER',
  settledMaxAge: 'MSC_SETTLED_MAX_AGE',
  /** A testing aid: the instant every freshness decision takes as "now". */
  now: 'MSC_NOW',
  /**
   * A testing aid: the empty cluster new embedded databases are unpacked from (a file), or `none`
   * to create them with initdb as for a PGlite version the package ships none for.
   */
  clusterTemplate: 'MSC_CLUSTER_TEMPLATE',
  logFormat: 'MSC_LOG_FORMAT',
} as const;

export type Env = Readonly<Record<string, string | undefined>>;

export interface CommonConfig {
  readonly storageDir: string;
  /** `--storage`, or `CRAWLEE_STORAGE_DIR` when the storage dir came from there: for messages. */
  readonly storageName: string;
  readonly db: DbTarget;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
}

/** Which part of the tree to walk. Empty `series` means every series. */
export interface CrawlScope {
  readonly series: readonly string[];
  readonly fromYear: number | undefined;
  readonly toYear: number | undefined;
}

export interface CrawlConfig extends CommonConfig {
  readonly baseUrl: string;
  readonly scope: CrawlScope;
  /** Requests in flight to the API at once; cache hits are not counted. */
  readonly concurrency: number;
  /** Network requests per minute; Infinity when lifted. */
  readonly maxRpm: number;
  readonly maxRequests: number | undefined;
  readonly cache: CacheMode;
  /** Where the request queue lives; `postgres` needs a PostgreSQL --db. */
  readonly queue: QueueKind;
  /** --queue postgres: how long a silent worker keeps its leases (see DEFAULTS.leaseTimeoutMs). */
  readonly leaseTimeoutMs: number;
  readonly maxAgeMs: number;
  /** A session (a season, a series) this long past its end is settled (see crawl/freshness.ts). */
  readonly settleAfterMs: number;
  /** How long a settled body stays fresh, before the ±20 % spread per uuid (see crawl/freshness.ts). */
  readonly settledMaxAgeMs: number;
  /** MSC_NOW: the fixed instant freshness decisions take as now; undefined: the clock. */
  readonly nowMs: number | undefined;
  /** Print what the crawl would do now, without making any request. */
  readonly plan: boolean;
  readonly fresh: boolean;
  readonly retryFailed: boolean;
  readonly maxRetries: number;
  /** First retry's backoff; doubles per attempt, with jitter. */
  readonly retryBaseMs: number;
  /** Ceiling of a retry's wait, backoff or one request's Retry-After. */
  readonly retryMaxMs: number;
  /** First pause of the circuit breaker before it probes the API again. */
  readonly breakerCoolDownMs: number;
  /** How long the API may stay unreachable (circuit open) before the crawl stops. */
  readonly maxOutageMs: number;
  readonly requestTimeoutSecs: number;
  readonly maxBodyBytes: number;
}

/** A value from its flag, else from its environment variable: with the name an error must give. */
export interface Given<T> {
  readonly value: T | string | undefined;
  /** `--from-year`, or `MSC_FROM_YEAR` when the value came from there. */
  readonly name: string;
}

export function flagOrEnv<T>(flag: string, value: T | undefined, env: Env, variable: string | undefined): Given<T> {
  if (value !== undefined) return { value, name: flag };
  const fromEnv = variable === undefined ? undefined : env[variable];
  return fromEnv === undefined || fromEnv === ''
    ? { value: undefined, name: flag }
    : { value: fromEnv, name: variable! };
}

/** MSC_NOW: an ISO 8601 date or instant with a zone (durations, which parseInstant also takes, are refused). */
export function resolveNow(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const refused = new UserError(
    `${ENV_VARS.now}: "${value}" is not an ISO 8601 instant: give a date ` +
      `(2026-06-01, midnight UTC) or a time with Z or an offset (2026-06-01T12:00:00Z)`,
  );
  if (!/^\d{4}-\d{2}-\d{2}/.test(value.trim())) throw refused;
  try {
    return Date.parse(parseInstant(ENV_VARS.now, value));
  } catch (error) {
    // parseInstant's own words offer durations, which MSC_NOW does not take.
    throw error instanceof UserError ? refused : error;
  }
}

/** How a command logs: every command takes --log-format, --quiet and --verbose. */
export function resolveLogging(args: LoggingArgs, env: Env): Pick<CommonConfig, 'logLevel' | 'logFormat'> {
  const format = flagOrEnv('--log-format', args.logFormat, env, ENV_VARS.logFormat);
  if (args.quiet && args.verbose) throw new UserError('--quiet and --verbose cannot be used together');
  return {
    logLevel: args.quiet ? 'warn' : args.verbose ? 'debug' : 'info',
    logFormat: format.value === undefined ? 'text' : oneOf(format.name, format.value, LOG_FORMATS),
  };
}

/** The storage dir and the database, and logging: what every command but canary reads. */
export function resolveCommonConfig(args: DatabaseArgs & LoggingArgs, env: Env): CommonConfig {
  // An empty path resolves to the current folder: the crawl's files would land wherever the command ran.
  refuseEmpty('--storage', args.storage, 'give a folder, or leave it out for ./storage');
  if (args.storage === undefined)
    refuseEmpty(ENV_VARS.storage, env[ENV_VARS.storage], 'give a folder, or unset it for ./storage');
  refuseEmpty('--db', args.db, 'give a postgres:// URL or a folder, or leave it out for <storage>/db');
  const storage = flagOrEnv('--storage', args.storage, env, ENV_VARS.storage);
  const storageDir = path.resolve(storage.value ?? DEFAULTS.storage);
  // A file where a folder must be would fail later with a bare ENOTDIR naming neither flag nor file.
  refuseFileInTheWay(storage.value === undefined ? 'the storage dir' : storage.name, storage.value ?? DEFAULTS.storage);
  const db =
    args.db !== undefined
      ? resolveDbTarget(args.db, storageDir, '--db', storage.name)
      : resolveDbUrlVariable(env[ENV_VARS.db], storageDir, storage.name);
  if (db.kind === 'embedded') {
    refuseFileInTheWay(args.db !== undefined ? '--db' : 'the embedded database dir', args.db ?? db.dir);
    // The database's files and the crawl's would mix, and each would take the other's for its own.
    if (db.dir === storageDir)
      throw new UserError(
        `--db ${args.db} is the storage dir itself (${storage.value === undefined ? 'the default' : storage.name}): ` +
          `give the embedded database a folder of its own, or leave --db out for ${path.join(storageDir, 'db')}`,
      );
  }
  return Object.freeze({ storageDir, storageName: storage.name, db, ...resolveLogging(args, env) });
}

/** A flag or variable given as an empty (or blank) string where it names a place: one line naming it. */
function refuseEmpty(name: string, value: string | undefined, hint: string): void {
  if (value !== undefined && value.trim() === '') throw new UserError(`${name} is empty: ${hint}`);
}

/**
 * `postgres://…` / `postgresql://…` → that server; a path → an embedded data dir there. Something
 * that looks like a URL (`//`, `@`, or a scheme such as `postgresql:` or `pg:`) but is not a valid
 * PostgreSQL URL is refused: `postgresql//me@host/db` must not become a folder of that name.
 */
export function resolveDbTarget(
  value: string | undefined,
  storageDir: string,
  name = '--db',
  storageName = '--storage',
): DbTarget {
  // <storage>/db: a folder the storage dir's flag (or variable) named.
  if (value === undefined || value === '')
    return { kind: 'embedded', dir: path.join(storageDir, 'db'), from: storageName };
  const hint = 'give a postgres://user@host:port/database URL, or a directory path for the embedded database';
  if (/^postgres(ql)?:\/\//i.test(value)) {
    try {
      new URL(value);
    } catch {
      throw new UserError(`${name}: malformed PostgreSQL URL "${redactUrl(value)}"; ${hint}`);
    }
    return { kind: 'postgres', url: value };
  }
  // A scheme is two letters or more: `C:\data` is a Windows path.
  if (value.includes('//') || value.includes('@') || /^[a-z][a-z0-9+.-]+:/i.test(value)) {
    throw new UserError(
      `${name}: "${redactUrl(value)}" looks like a URL but is not a postgres:// or postgresql:// URL; ${hint}`,
    );
  }
  return { kind: 'embedded', dir: path.resolve(value) };
}

/** DATABASE_URL names a URL: a directory there (or a typo) is refused, a directory goes through --db. */
function resolveDbUrlVariable(value: string | undefined, storageDir: string, storageName: string): DbTarget {
  const target = resolveDbTarget(value, storageDir, ENV_VARS.db, storageName);
  if (value !== undefined && value !== '' && target.kind === 'embedded') {
    throw new UserError(
      `${ENV_VARS.db}: "${redactUrl(value)}" is not a postgres:// or ` +
        `postgresql:// URL (for an embedded database in a directory, use --db DIR)`,
    );
  }
  return target;
}

/** A URL for messages: the password replaced by ***. */
export function redactUrl(value: string): string {
  return value.replace(/(\/\/[^:/@]+:)[^@/]*@/, '$1***@');
}

export function describeDb(target: DbTarget): string {
  return target.kind === 'embedded' ? `embedded PostgreSQL at ${target.dir}` : redactUrl(target.url);
}

/** --base-url (or MSC_BASE_URL) as crawl and canary read it: the origin and path, no trailing slash. */
export function resolveBaseUrl(given: Given<string>): string {
  const value = given.value ?? DEFAULTS.baseUrl;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UserError(`${given.name}: malformed URL "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UserError(`${given.name}: "${value}" must be an http:// or https:// URL`);
  }
  // A pasted endpoint URL would double the API's own prefix, and every request would be a 404.
  if (/(^|\/)widgets(\/|$)/.test(url.pathname)) {
    throw new UserError(
      `${given.name}: "${value}" includes the API's /widgets path, which the crawler adds itself; give the root: ` +
        `${url.origin}`,
    );
  }
  return url.origin + url.pathname.replace(/\/+$/, '');
}

export function oneOf<const T extends readonly string[]>(name: string, value: string, allowed: T): T[number] {
  const known = allowed.find((choice) => choice === value);
  if (known === undefined) throw new UserError(`${name}: "${value}" is not one of ${allowed.join(', ')}`);
  return known;
}

/**
 * A whole number from min to max, or undefined when not given. The value is what was typed (see
 * wholeNumberOption) or a number from code; an error echoes it and names the flag or variable.
 */
export function wholeNumber(given: Given<number | string>, min: number, max: number): number | undefined {
  const { value, name } = given;
  if (value === undefined) return undefined;
  const text = String(value).trim();
  const n = typeof value === 'number' ? value : /^[+-]?\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
    throw new UserError(`${name}: "${value}" is not a whole number ${range}`);
  }
  return n;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "30m", "24h", "7d", or a bare number of seconds. */
export function parseDuration(flag: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([smhd]?)$/.exec(value.trim());
  if (!match) throw new UserError(`${flag}: "${value}" is not a duration like 90s, 30m, 24h or 7d`);
  return Number(match[1]) * UNIT_MS[match[2] || 's']!;
}

// ─────────────────────────────────────────────────────────────────────────────────────────────────
// The operator commands: export, status, changes, canary.
// ─────────────────────────────────────────────────────────────────────────────────────────────────

export const EXPORT_FORMATS = ['json', 'ndjson', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportConfig extends CommonConfig {
  readonly outDir: string;
  readonly format: ExportFormat;
  /** The same filters as crawl's, meaning the same. */
  readonly scope: CrawlScope;
  /** ISO 8601 instant to export the data as it was then (from the history tables); undefined: now. */
  readonly asOf: string | undefined;
  /** Write into a non-empty folder that holds no export of ours. */
  readonly force: boolean;
}

export interface ChangesConfig extends CommonConfig {
  /** ISO 8601 instant: changes made after it are reported. */
  readonly since: string;
  readonly examples: number;
}

/** The canary touches neither the storage dir nor the database: only logging and the API. */
export interface CanaryConfig extends Pick<CommonConfig, 'logLevel' | 'logFormat'> {
  readonly baseUrl: string;
  readonly sampleSeries: number;
  readonly sampleClassifications: number;
  readonly concurrency: number;
  readonly maxRpm: number;
  readonly maxRetries: number;
  readonly retryBaseMs: number;
  readonly requestTimeoutSecs: number;
  readonly maxBodyBytes: number;
}

/** --series, --from-year, --to-year (or their environment variables), as crawl and export read them. */
export function resolveScope(args: ScopeArgs, env: Env): CrawlScope {
  const fromYear = wholeNumber(flagOrEnv('--from-year', args.fromYear, env, ENV_VARS.fromYear), 1800, 3000);
  const toYear = wholeNumber(flagOrEnv('--to-year', args.toYear, env, ENV_VARS.toYear), 1800, 3000);
  if (fromYear !== undefined && toYear !== undefined && fromYear > toYear) {
    throw new UserError(`--from-year ${fromYear} is after --to-year ${toYear}`);
  }
  // `--series F1,WEC` means what MSC_SERIES=F1,WEC means.
  const given = args.series?.length ? args.series.map(String) : [env[ENV_VARS.series] ?? ''];
  const series = given
    .flatMap((value) => value.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  if (args.series?.length && !series.length)
    throw new UserError(`--series: "${args.series.join(',')}" names no series (leave --series out for all)`);
  return Object.freeze({ series: Object.freeze(series), fromYear, toYear });
}

/** --base-url and --max-rpm as crawl and canary read them: a --max-rpm of 10,000 or more lifts the limit. */
export function resolveApi(args: ApiArgs, env: Env): { readonly baseUrl: string; readonly maxRpm: number } {
  const maxRpm =
    wholeNumber(flagOrEnv('--max-rpm', args.maxRpm, env, ENV_VARS.maxRpm), 1, Number.MAX_SAFE_INTEGER) ??
    DEFAULTS.maxRpm;
  return {
    baseUrl: resolveBaseUrl(flagOrEnv('--base-url', args.baseUrl, env, ENV_VARS.baseUrl)),
    maxRpm: maxRpm >= 10_000 ? Infinity : maxRpm,
  };
}

/**
 * An instant for --as-of / --since, as an ISO 8601 string in UTC: a date (midnight UTC), a date
 * and time with Z or an offset, or a duration with its unit meaning that long ago (90m, 24h, 7d).
 * A time without a zone is refused: guessing the zone would shift the instant silently.
 */
export function parseInstant(flag: string, value: string, now: number = Date.now()): string {
  const text = value.trim();
  if (/^\d+(\.\d+)?\s*[smhd]$/.test(text)) return new Date(now - parseDuration(flag, text)).toISOString();
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:([T ])\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.exec(text);
  const [, year, month, day, time, zone] = match ?? [];
  if (match && time && !zone)
    throw new UserError(`${flag}: "${value}" has no time zone: add Z or an offset such as +02:00`);
  const ms = match ? Date.parse(time ? text.toUpperCase().replace(' ', 'T') : `${text}T00:00:00Z`) : NaN;
  // Date.parse rolls 2026-02-30 over into March: the calendar date must survive the round trip.
  const calendar = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  if (Number.isNaN(ms) || calendar.getUTCDate() !== Number(day) || calendar.getUTCMonth() !== Number(month) - 1) {
    throw new UserError(`${flag}: "${value}" is not an ISO 8601 date or time, nor a duration ago like 24h`);
  }
  return new Date(ms).toISOString();
}

/**
 * parseInstant for a flag that looks back (--since, --as-of): a time in the future is refused,
 * because nothing can have changed since then, and nothing was stored as of then yet.
 */
export function parsePastInstant(flag: string, value: string, now: number = Date.now()): string {
  const instant = parseInstant(flag, value, now);
  if (Date.parse(instant) > now) {
    throw new UserError(`${flag}: "${value}" is in the future (it is ${new Date(now).toISOString()} now)`);
  }
  return instant;
}
