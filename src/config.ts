/**
 * Every flag and environment variable, validated once into a frozen config before any request or
 * query. No other module reads process.env. Precedence: flag, then environment variable, then the
 * default in DEFAULTS. A bad value is a UserError naming the flag and the value.
 */
import path from 'node:path';
import { UserError } from './errors.js';
import type { LogFormat, LogLevel } from './log.js';

export const CACHE_MODES = ['prefer', 'refresh', 'only'] as const;
export type CacheMode = (typeof CACHE_MODES)[number];

/** Where rows go: the embedded PGlite data dir, or a PostgreSQL server. */
export type DbTarget =
  | { readonly kind: 'embedded'; readonly dir: string }
  | { readonly kind: 'postgres'; readonly url: string };

export const DEFAULTS = {
  baseUrl: 'https://api.motorsportstats.com',
  storage: './storage',
  concurrency: 4,
  maxRpm: 120,
  cache: 'prefer' as CacheMode,
  maxAge: '24h',
  /** Results of a session this long past its end are taken as final (protests and penalties settle within days). */
  settleAfter: '14d',
  /** How long a settled session's stored classification is trusted before it is revalidated anyway. */
  settledMaxAge: '30d',
  maxRetries: 5,
  retryBaseMs: 1000,
  breakerCoolDownMs: 5_000,
  maxOutageMs: 15 * 60_000,
  requestTimeoutSecs: 30,
  maxBodyBytes: 20 * 1024 * 1024,
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
  maxAge: 'MSC_MAX_AGE',
  settleAfter: 'MSC_SETTLE_AFTER',
  settledMaxAge: 'MSC_SETTLED_MAX_AGE',
  /** A testing aid: the instant every freshness decision takes as "now". */
  now: 'MSC_NOW',
  logFormat: 'MSC_LOG_FORMAT',
} as const;

export type Env = Readonly<Record<string, string | undefined>>;

export interface CommonConfig {
  readonly storageDir: string;
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
  readonly maxAgeMs: number;
  /** A session this long past its end is settled (see crawl/freshness.ts). */
  readonly settleAfterMs: number;
  /** How long a settled session's cached classification stays fresh. */
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
  /** First pause of the circuit breaker before it probes the API again. */
  readonly breakerCoolDownMs: number;
  /** How long the API may stay unreachable (circuit open) before the crawl stops. */
  readonly maxOutageMs: number;
  readonly requestTimeoutSecs: number;
  readonly maxBodyBytes: number;
}

/** Raw option values as yargs hands them over (undefined when not given on the command line). */
export interface RawOptions {
  readonly storage?: string;
  readonly db?: string;
  readonly logFormat?: string;
  readonly quiet?: boolean;
  readonly verbose?: boolean;
  readonly baseUrl?: string;
  readonly series?: readonly (string | number)[];
  readonly fromYear?: number;
  readonly toYear?: number;
  readonly concurrency?: number;
  readonly maxRpm?: number;
  readonly maxRequests?: number;
  readonly cache?: string;
  readonly maxAge?: string;
  readonly settleAfter?: string;
  readonly settledMaxAge?: string;
  readonly plan?: boolean;
  readonly fresh?: boolean;
  readonly retryFailed?: boolean;
}

export function resolveCommonConfig(raw: RawOptions, env: Env): CommonConfig {
  const storageDir = path.resolve(raw.storage ?? env[ENV_VARS.storage] ?? DEFAULTS.storage);
  const logFormat = oneOf('--log-format', raw.logFormat ?? env[ENV_VARS.logFormat] ?? 'text', ['text', 'json'] as const);
  if (raw.quiet && raw.verbose) throw new UserError('--quiet and --verbose cannot be used together');
  return Object.freeze({
    storageDir,
    db: resolveDbTarget(raw.db ?? env[ENV_VARS.db], storageDir),
    logLevel: raw.quiet ? 'warn' : raw.verbose ? 'debug' : 'info',
    logFormat,
  });
}

export function resolveCrawlConfig(raw: RawOptions, env: Env): CrawlConfig {
  return Object.freeze({
    ...resolveCommonConfig(raw, env),
    baseUrl: resolveBaseUrl(raw.baseUrl ?? env[ENV_VARS.baseUrl] ?? DEFAULTS.baseUrl),
    scope: resolveScope(raw, env),
    concurrency: optionalInt('--concurrency', raw.concurrency ?? env[ENV_VARS.concurrency], 1, 1000) ?? DEFAULTS.concurrency,
    maxRpm: resolveMaxRpm(raw, env),
    maxRequests: optionalInt('--max-requests', raw.maxRequests ?? env[ENV_VARS.maxRequests], 1, Number.MAX_SAFE_INTEGER),
    cache: oneOf('--cache', raw.cache ?? env[ENV_VARS.cache] ?? DEFAULTS.cache, CACHE_MODES),
    maxAgeMs: parseDuration('--max-age', raw.maxAge ?? env[ENV_VARS.maxAge] ?? DEFAULTS.maxAge),
    settleAfterMs: parseDuration('--settle-after', raw.settleAfter ?? env[ENV_VARS.settleAfter] ?? DEFAULTS.settleAfter),
    settledMaxAgeMs: parseDuration('--settled-max-age', raw.settledMaxAge ?? env[ENV_VARS.settledMaxAge] ?? DEFAULTS.settledMaxAge),
    nowMs: resolveNow(env[ENV_VARS.now]),
    plan: raw.plan ?? false,
    fresh: raw.fresh ?? false,
    retryFailed: raw.retryFailed ?? false,
    maxRetries: DEFAULTS.maxRetries,
    retryBaseMs: DEFAULTS.retryBaseMs,
    breakerCoolDownMs: DEFAULTS.breakerCoolDownMs,
    maxOutageMs: DEFAULTS.maxOutageMs,
    requestTimeoutSecs: DEFAULTS.requestTimeoutSecs,
    maxBodyBytes: DEFAULTS.maxBodyBytes,
  });
}

/** MSC_NOW: an ISO 8601 date or instant with a zone (durations, which parseInstant also takes, are refused). */
function resolveNow(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d{4}-\d{2}-\d{2}/.test(value.trim())) throw new UserError(`${ENV_VARS.now}: "${value}" is not an ISO 8601 instant like 2026-06-01T12:00:00Z`);
  return Date.parse(parseInstant(ENV_VARS.now, value));
}

/** `postgres://…` → that server; anything else that is not a URL → an embedded data dir. */
export function resolveDbTarget(value: string | undefined, storageDir: string): DbTarget {
  if (value === undefined || value === '') return { kind: 'embedded', dir: path.join(storageDir, 'db') };
  if (/^postgres(ql)?:\/\//i.test(value)) {
    try {
      new URL(value);
    } catch {
      throw new UserError(`--db: malformed PostgreSQL URL ${redactUrl(value)}`);
    }
    return { kind: 'postgres', url: value };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    throw new UserError(`--db: ${redactUrl(value)} is neither a postgres:// URL nor a directory for the embedded database`);
  }
  return { kind: 'embedded', dir: path.resolve(value) };
}

/** A URL for messages: the password replaced by ***. */
export function redactUrl(value: string): string {
  return value.replace(/(\/\/[^:/@]+:)[^@/]*@/, '$1***@');
}

export function describeDb(target: DbTarget): string {
  return target.kind === 'embedded' ? `embedded PostgreSQL at ${target.dir}` : redactUrl(target.url);
}

function resolveBaseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UserError(`--base-url: malformed URL "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UserError(`--base-url: "${value}" must be an http:// or https:// URL`);
  }
  return url.origin + url.pathname.replace(/\/+$/, '');
}

function oneOf<const T extends readonly string[]>(flag: string, value: string, allowed: T): T[number] {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UserError(`${flag}: "${value}" is not one of ${allowed.join(', ')}`);
  }
  return value as T[number];
}

function optionalInt(flag: string, value: number | string | undefined, min: number, max: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UserError(`${flag}: "${value}" is not a whole number from ${min} to ${max}`);
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

export const EXPORT_FORMATS = ['json', 'ndjson'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const OPERATOR_DEFAULTS = {
  out: './exports',
  format: 'json' as ExportFormat,
  /** Examples listed per table and kind of change by `changes`. */
  examples: 3,
  /** Series the canary samples, one per category first. */
  sampleSeries: 4,
  /** Classifications the canary checks per sampled series. */
  sampleClassifications: 2,
  /** Retries of a canary request: a canary that waits minutes on a dead API is no use. */
  canaryRetries: 2,
} as const;

/** RawOptions continued (interface merging keeps one type for main()): the operator commands' flags. */
export interface RawOptions {
  readonly out?: string;
  readonly format?: string;
  readonly asOf?: string;
  readonly since?: string;
  readonly examples?: number;
  readonly sampleSeries?: number;
  readonly sampleClassifications?: number;
}

export interface ExportConfig extends CommonConfig {
  readonly outDir: string;
  readonly format: ExportFormat;
  /** The same filters as crawl's, meaning the same. */
  readonly scope: CrawlScope;
  /** ISO 8601 instant to export the data as it was then (from the history tables); undefined: now. */
  readonly asOf: string | undefined;
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

export function resolveExportConfig(raw: RawOptions, env: Env): ExportConfig {
  return Object.freeze({
    ...resolveCommonConfig(raw, env),
    outDir: path.resolve(raw.out ?? OPERATOR_DEFAULTS.out),
    format: oneOf('--format', raw.format ?? OPERATOR_DEFAULTS.format, EXPORT_FORMATS),
    scope: resolveScope(raw, env),
    asOf: raw.asOf === undefined ? undefined : parseInstant('--as-of', raw.asOf),
  });
}

export function resolveChangesConfig(raw: RawOptions, env: Env): ChangesConfig {
  if (raw.since === undefined) throw new UserError('--since is required: an ISO 8601 time (2026-11-21T08:00:00Z) or a duration ago (24h)');
  return Object.freeze({
    ...resolveCommonConfig(raw, env),
    since: parseInstant('--since', raw.since),
    examples: optionalInt('--examples', raw.examples, 0, 1000) ?? OPERATOR_DEFAULTS.examples,
  });
}

export function resolveCanaryConfig(raw: RawOptions, env: Env): CanaryConfig {
  const { logLevel, logFormat } = resolveCommonConfig(raw, env);
  return Object.freeze({
    logLevel,
    logFormat,
    baseUrl: resolveBaseUrl(raw.baseUrl ?? env[ENV_VARS.baseUrl] ?? DEFAULTS.baseUrl),
    sampleSeries: optionalInt('--sample-series', raw.sampleSeries, 1, 100) ?? OPERATOR_DEFAULTS.sampleSeries,
    sampleClassifications: optionalInt('--sample-classifications', raw.sampleClassifications, 0, 100) ?? OPERATOR_DEFAULTS.sampleClassifications,
    concurrency: DEFAULTS.concurrency,
    maxRpm: resolveMaxRpm(raw, env),
    maxRetries: OPERATOR_DEFAULTS.canaryRetries,
    retryBaseMs: DEFAULTS.retryBaseMs,
    breakerCoolDownMs: DEFAULTS.breakerCoolDownMs,
    maxOutageMs: DEFAULTS.maxOutageMs,
    requestTimeoutSecs: DEFAULTS.requestTimeoutSecs,
    maxBodyBytes: DEFAULTS.maxBodyBytes,
  });
}

/** --series, --from-year, --to-year (or their environment variables), as crawl reads them. */
export function resolveScope(raw: RawOptions, env: Env): CrawlScope {
  const fromYear = optionalInt('--from-year', raw.fromYear ?? env[ENV_VARS.fromYear], 1800, 3000);
  const toYear = optionalInt('--to-year', raw.toYear ?? env[ENV_VARS.toYear], 1800, 3000);
  if (fromYear !== undefined && toYear !== undefined && fromYear > toYear) {
    throw new UserError(`--from-year ${fromYear} is after --to-year ${toYear}`);
  }
  const seriesFromEnv = env[ENV_VARS.series]?.split(',').map((s) => s.trim()).filter(Boolean);
  return Object.freeze({
    series: Object.freeze((raw.series?.length ? raw.series.map(String) : seriesFromEnv ?? []).map((s) => s.trim())),
    fromYear,
    toYear,
  });
}

/** --max-rpm as crawl reads it: 10,000 or more lifts the limit. */
export function resolveMaxRpm(raw: RawOptions, env: Env): number {
  const maxRpm = optionalInt('--max-rpm', raw.maxRpm ?? env[ENV_VARS.maxRpm], 1, Number.MAX_SAFE_INTEGER) ?? DEFAULTS.maxRpm;
  return maxRpm >= 10_000 ? Infinity : maxRpm;
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
  if (match && time && !zone) throw new UserError(`${flag}: "${value}" has no time zone: add Z or an offset such as +02:00`);
  const ms = match ? Date.parse(time ? text.toUpperCase().replace(' ', 'T') : `${text}T00:00:00Z`) : NaN;
  // Date.parse rolls 2026-02-30 over into March: the calendar date must survive the round trip.
  const calendar = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  if (Number.isNaN(ms) || calendar.getUTCDate() !== Number(day) || calendar.getUTCMonth() !== Number(month) - 1) {
    throw new UserError(`${flag}: "${value}" is not an ISO 8601 date or time, nor a duration ago like 24h`);
  }
  return new Date(ms).toISOString();
}
