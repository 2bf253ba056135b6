/**
 * `status`: what is in the storage dir and the database: the crawl's requests per label, the
 * response cache, the rows per table and the last crawl's summary. Read without changing anything
 * and without taking the crawl lock, so it works whether or not a crawl is running; an embedded
 * database is counted only when no other process has it open (openDb's lock says so).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { LABELS, type Label } from '../api/endpoints.js';
import type { Options } from 'yargs';
import { DEFAULTS, describeDb, resolveCommonConfig, type CommonConfig, type CrawlScope } from '../config.js';
import {
  DATABASE_OPTIONS,
  LOGGING_OPTIONS,
  commandLogger,
  printResult,
  type CommandModule,
  type DatabaseArgs,
  type LoggingArgs,
} from './options.js';
import { UserError } from '../errors.js';
import { FailureLog, type FailureRecord } from '../crawl/failures.js';
import { describeScope, isUnfinished, readCrawlState, readSummary, type CrawlState } from '../crawl/crawl-state.js';
import { QueueJournal } from '../crawl/queue-journal.js';
import { storageUsage, type StorageUsage } from '../crawl/storage-usage.js';
import { QUEUE_NAME, requestQueueDir } from '../crawl/storage-client.js';
import { readSharedCrawl, type SharedCrawlStatus } from '../crawl/shared-status.js';
import { CRAWL_LOCK_FILE, openStorageDir } from '../crawl/storage-dir.js';
import { lockHolder } from '../lockfile.js';
import type { CrawlSummary } from '../crawl/summary.js';
import type { Logger } from '../log.js';
import { openDb, type Db } from '../store/db.js';
import { QUARANTINE_TABLE } from '../store/quarantine.js';
import { countRows, type TableRows } from '../store/row-counts.js';
import { TABLE_ORDER, type TableName } from '../store/tables.js';
import { databaseExists, schemaState } from '../store/read.js';
import { formatTable } from '../text-table.js';
import { isKeyOf, recordOf } from '../record.js';
import { count } from '../words.js';

export interface LabelStatus {
  /** Done, successfully or not (failed requests count as handled). */
  handled: number;
  pending: number;
  failed: number;
  quarantined: number;
}

export interface CrawlStatus {
  readonly startedAt: string | undefined;
  readonly scope: CrawlScope | undefined;
  readonly baseUrl: string | undefined;
  /** The pid of the crawl running in this storage dir now, if any. */
  readonly runningPid: number | undefined;
  readonly requests: Record<Label, LabelStatus>;
  /** Requests are left and no crawl is running: `crawl` with the same filters resumes. */
  readonly resumable: boolean;
}

export interface CacheStatus {
  readonly entries: Record<Label, number>;
  /** Disk usage of the cache's stores and files (as du counts it); an estimate when `sample` is set. */
  readonly bytesOnDisk: number;
  /** The cache files looked at, of all its files, when there were too many to look at each (see storage-usage.ts). */
  readonly sample: StorageUsage['cacheSample'];
}

/** Live, soft-deleted and history rows of a table, counted or (large tables) estimated: see row-counts.ts. */
export type TableStatus = TableRows;

export type DatabaseStatus =
  | { readonly state: 'absent' | 'no-tables' | 'outdated'; readonly description: string }
  /** Another process (a crawl) has the embedded database open; `reason` names it. */
  | { readonly state: 'busy'; readonly description: string; readonly reason: string }
  | {
      readonly state: 'ready';
      readonly description: string;
      readonly tables: Record<TableName, TableStatus>;
      readonly incomplete: IncompleteStatus;
      /** The newest crawl of `crawl --queue postgres` in this database, if one ever ran. */
      readonly shared: SharedCrawlStatus | undefined;
    };

/**
 * Incomplete scopes the database records (the quarantine table): per endpoint, the payloads that
 * lost items (the series list, season lists, calendars, classifications) and the items lost.
 */
export interface IncompleteStatus {
  readonly scopes: Record<Label, number>;
  readonly items: Record<Label, number>;
}

export interface StatusReport {
  readonly storageDir: string;
  /** Undefined when no crawl ever ran in the storage dir. */
  readonly crawl: CrawlStatus | undefined;
  readonly cache: CacheStatus;
  /** The storage dir's size on disk, by part. */
  readonly disk: StorageUsage;
  readonly database: DatabaseStatus;
  readonly lastCrawl: CrawlSummary | undefined;
}

export interface StatusOptions {
  readonly log: Logger;
  /** Look at every cache file and count every row, however long it takes (--exact). */
  readonly exact?: boolean;
}

export async function runStatus(config: CommonConfig, { log, exact = false }: StatusOptions): Promise<StatusReport> {
  let storage: StorageStatus;
  let database: DatabaseStatus;
  if (config.db.kind === 'embedded') {
    // PGlite runs on this thread, so nothing is gained by overlapping; and the storage dir is sized
    // before the database in it is opened (opening and closing it writes to it).
    storage = await storageStatus(config, log, exact);
    database = await databaseStatus(config, exact);
  } else {
    // A server answers while the storage dir is read: its queries wait on the server, the walk on the disk.
    [storage, database] = await Promise.all([storageStatus(config, log, exact), databaseStatus(config, exact)]);
  }
  const { crawl, cache, disk, lastCrawl } = storage;
  return { storageDir: config.storageDir, crawl, cache, disk, database, lastCrawl };
}

type StorageStatus = Pick<StatusReport, 'crawl' | 'cache' | 'disk' | 'lastCrawl'>;

async function storageStatus(config: CommonConfig, log: Logger, exact: boolean): Promise<StorageStatus> {
  const runningPid = lockHolder(path.join(config.storageDir, CRAWL_LOCK_FILE));
  const hasStorage = existsSync(config.storageDir);
  if (!hasStorage) log.info(`no storage dir at ${config.storageDir}: nothing was crawled there`);
  const records = hasStorage ? await readRecords(config.storageDir) : undefined;
  const requests = hasStorage ? countRequests(config.storageDir, records?.failures ?? []) : undefined;
  return {
    crawl: requests && {
      startedAt: records?.state?.startedAt,
      scope: records?.state?.scope,
      baseUrl: records?.state?.baseUrl,
      runningPid,
      requests,
      resumable: runningPid === undefined && isUnfinished(records?.state),
    },
    ...(await diskStatus(config, exact)),
    lastCrawl: records?.summary,
  };
}

interface CrawlRecords {
  readonly state: CrawlState | undefined;
  readonly summary: CrawlSummary | undefined;
  readonly failures: readonly FailureRecord[];
}

async function readRecords(storageDir: string): Promise<CrawlRecords> {
  const storage = await openStorageDir(storageDir, '--storage', { readOnly: true });
  try {
    return {
      state: await readCrawlState(storage.records),
      summary: await readSummary(storage.records),
      failures: await (await FailureLog.open(storage.config)).all(),
    };
  } finally {
    await storage.close();
  }
}

/** Requests per label, read from the queue's journal (without taking it from a running crawl). */
function countRequests(storageDir: string, failures: readonly FailureRecord[]): Record<Label, LabelStatus> | undefined {
  const dir = requestQueueDir(storageDir, QUEUE_NAME);
  if (!QueueJournal.exists(dir)) return undefined;
  const counts = recordOf(LABELS, (): LabelStatus => ({ handled: 0, pending: 0, failed: 0, quarantined: 0 }));
  for (const [label, { pending, handled }] of QueueJournal.countByLabel(dir)) {
    if (label && isKeyOf(counts, label)) Object.assign(counts[label], { pending, handled });
  }
  for (const failure of failures) counts[failure.label][failure.kind === 'request' ? 'failed' : 'quarantined'] += 1;
  return counts;
}

/** The cache's entries, and the storage dir's size by part: one walk of the files, not two. */
async function diskStatus(config: CommonConfig, exact: boolean): Promise<{ cache: CacheStatus; disk: StorageUsage }> {
  const disk = await storageUsage(config.storageDir, config.db, { exact });
  const entries = recordOf(LABELS, (label) => disk.cacheRecords[label] ?? 0);
  return { cache: { entries, bytesOnDisk: disk.cacheBytes, sample: disk.cacheSample }, disk };
}

async function databaseStatus(config: CommonConfig, exact: boolean): Promise<DatabaseStatus> {
  const description = describeDb(config.db);
  if (!databaseExists(config.db)) return { state: 'absent', description };
  let db: Db;
  try {
    db = await openDb(config.db);
  } catch (error) {
    // openDb's lock refuses an embedded database another process has open: that is a state, not a failure.
    if (error instanceof UserError && config.db.kind === 'embedded')
      return { state: 'busy', description, reason: error.message };
    throw error;
  }
  try {
    const state = await schemaState(db);
    if (state !== 'current') return { state: state === 'missing' ? 'no-tables' : 'outdated', description };
    return {
      state: 'ready',
      description,
      tables: await countRows(db, { exact }),
      incomplete: await incompleteStatus(db),
      shared: await readSharedCrawl(db),
    };
  } finally {
    await db.destroy();
  }
}

async function incompleteStatus(db: Db): Promise<IncompleteStatus> {
  const scopes = recordOf(LABELS, () => 0);
  const items = { ...scopes };
  const { rows } = await db.raw<{ rows: { label: string; scopes: number; items: number }[] }>(
    `SELECT label, count(DISTINCT target_key)::int AS scopes, count(*)::int ` +
      `AS items FROM ${QUARANTINE_TABLE} WHERE cleared_at IS NULL GROUP BY label`,
  );
  for (const row of rows) {
    if (!isKeyOf(scopes, row.label)) continue;
    scopes[row.label] = row.scopes;
    items[row.label] = row.items;
  }
  return { scopes, items };
}

export function formatStatus(report: StatusReport): string {
  const lines: string[] = [];
  const { crawl, cache, disk, database, lastCrawl } = report;
  if (!crawl) {
    lines.push(`No crawl in ${report.storageDir}.`);
  } else {
    const total = (field: keyof LabelStatus) => LABELS.reduce((sum, l) => sum + crawl.requests[l][field], 0);
    const state =
      crawl.runningPid !== undefined
        ? `running now (pid ${crawl.runningPid})`
        : crawl.resumable
          ? `unfinished: ${count(total('pending'), 'request')} left; run crawl ` +
            `again${crawl.scope ? ` (${describeScope(crawl.scope)})` : ''} to resume`
          : 'finished';
    lines.push(
      `Crawl in ${report.storageDir}: started ` +
        `${crawl.startedAt ?? 'at an unknown time'}${crawl.baseUrl ? ` from ${crawl.baseUrl}` : ''}, ${state}`,
    );
    lines.push('');
    lines.push(
      formatTable(
        ['requests', 'handled', 'pending', 'failed', 'quarantined'],
        [
          ...LABELS.map((l) => [
            l,
            crawl.requests[l].handled,
            crawl.requests[l].pending,
            crawl.requests[l].failed,
            crawl.requests[l].quarantined,
          ]),
          ['total', total('handled'), total('pending'), total('failed'), total('quarantined')],
        ],
      ),
    );
  }
  const cached = LABELS.reduce((sum, l) => sum + cache.entries[l], 0);
  const cacheSize = `${cache.sample ? '~' : ''}${formatBytes(cache.bytesOnDisk)}`;
  lines.push(
    '',
    `Cache: ${count(cached, 'response')}, ${cacheSize} on ` +
      `disk (${LABELS.map((l) => `${l} ${cache.entries[l]}`).join(', ')})`,
  );
  lines.push(formatDisk(disk));
  if (disk.cacheSample)
    lines.push(
      `  ~ estimated from ${disk.cacheSample.sampled} of the cache's ${count(disk.cacheSample.files, 'file')}, ` +
        `spread over its stores; status --exact looks at every one`,
    );
  lines.push('', `Database: ${database.description}`);
  switch (database.state) {
    case 'absent':
      lines.push('  no database there yet');
      break;
    case 'busy':
      lines.push(`  not read: ${database.reason}`);
      break;
    case 'no-tables':
      lines.push('  no crawler tables: run crawl or migrate');
      break;
    case 'outdated':
      lines.push('  pending migrations: run migrate');
      break;
    case 'ready':
      lines.push(formatTables(database.tables));
      lines.push(formatIncomplete(database.incomplete));
      if (database.shared) lines.push('', ...formatShared(database.shared));
      break;
  }
  if (lastCrawl) {
    const requests = LABELS.reduce((sum, l) => sum + lastCrawl.requests[l].succeeded + lastCrawl.requests[l].failed, 0);
    const failed = LABELS.reduce((sum, l) => sum + lastCrawl.requests[l].failed, 0);
    lines.push(
      '',
      `Last crawl: ${lastCrawl.outcome}, finished ${lastCrawl.finishedAt} after ${lastCrawl.seconds.toFixed(1)} ` +
        `s: ${count(requests, 'request')}, ${failed} failed, ${count(lastCrawl.failures.length, 'failure record')}`,
    );
    if (lastCrawl.message) lines.push(`  ${lastCrawl.message}`);
  }
  return lines.join('\n');
}

function formatShared(shared: SharedCrawlStatus): string[] {
  const { queued, leased, done, failed } = shared.requests;
  // A worker silent past the lease timeout is dead: its leases go back at the next live worker's heartbeat.
  const silent = shared.workers.filter((w) => w.silentSeconds * 1000 > DEFAULTS.leaseTimeoutMs).length;
  const live = shared.workers.length - silent;
  const dead = silent ? `${count(silent, 'worker')} silent for over ${DEFAULTS.leaseTimeoutMs / 1000} s` : '';
  const state = shared.finishedAt
    ? `finished ${shared.finishedAt}`
    : live
      ? `running, ${count(live, 'worker')}${dead ? ` (and ${dead})` : ''}`
      : // Stopped at --max-requests, interrupted, or killed: the crawl waits for a worker.
        `unfinished, no worker on it${dead ? ` (${dead})` : ''}: ${count(queued + leased, 'request')} ` +
        `left; start crawl --queue postgres with the same filters to go on`;
  const lines = [
    `Shared crawl (--queue postgres) of ${describeScope(shared.scope)} ` +
      `from ${shared.baseUrl}: started ${shared.startedAt}, ${state}`,
    `  requests: ${queued} queued, ${leased} leased, ${done} done, ${failed} ` +
      `failed${failed ? ' (crawl --queue postgres --retry-failed queues them again)' : ''}`,
  ];
  if (shared.workers.length) {
    lines.push(
      formatTable(
        ['worker', 'pid', 'started', 'last heartbeat', 'leases', 'storage'],
        shared.workers.map((w) => [
          w.host,
          w.pid,
          w.startedAt,
          `${w.silentSeconds.toFixed(1)} s ago`,
          w.leases,
          w.storageDir,
        ]),
      ),
    );
  }
  return lines;
}

function formatTables(tables: Record<TableName, TableStatus>): string {
  const figure = (table: TableName, field: 'live' | 'deleted' | 'versions') =>
    tables[table].counted === 'exact' ? tables[table][field] : `~${Number(tables[table][field].toPrecision(3))}`;
  const lines = [
    formatTable(
      ['table', 'live', 'deleted', 'versions'],
      TABLE_ORDER.map((t) => [t, figure(t, 'live'), figure(t, 'deleted'), figure(t, 'versions')]),
    ),
  ];
  if (TABLE_ORDER.some((t) => tables[t].counted === 'estimated'))
    lines.push(
      `  ~ estimated from ${SAMPLED_PAGES} pages of the table and of its history, for the tables past ` +
        `the first ${formatBytes(DEFAULTS.statusExactTableBytes)} (smallest first); status --exact counts every row`,
    );
  return lines.join('\n');
}

function formatIncomplete({ scopes, items }: IncompleteStatus): string {
  const total = LABELS.reduce((sum, l) => sum + scopes[l], 0);
  if (!total) return '  Incomplete scopes: none (no payload lost items to quarantine)';
  const lostItems = LABELS.reduce((sum, l) => sum + items[l], 0);
  const parts = LABELS.filter((l) => scopes[l]).map((l) => `${l} ${scopes[l]} (${count(items[l], 'item')})`);
  return (
    `  Incomplete scopes: ${total}, ${count(lostItems, 'item')} quarantined: ` +
    `${parts.join(', ')}; export lists them in manifest.json`
  );
}

function formatDisk(disk: StorageUsage): string {
  const about = disk.cacheSample ? '~' : '';
  const parts = [`cache ${about}${formatBytes(disk.cacheBytes)}`, `queue ${formatBytes(disk.queueBytes)}`];
  if (disk.databaseBytes !== undefined) parts.push(`embedded database ${formatBytes(disk.databaseBytes)}`);
  parts.push(`other ${formatBytes(disk.otherBytes)}`);
  return `Storage dir: ${about}${formatBytes(disk.totalBytes)} on disk (${parts.join(', ')})`;
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit ? value.toFixed(1) : value} ${units[unit]}`;
}

// ─── The `status` command ───

/** Pages of a large table (and of its history) that row-counts.ts counts the rows of. */
const SAMPLED_PAGES = DEFAULTS.statusSampleRuns * DEFAULTS.statusSamplePagesPerRun;

export const STATUS_OPTIONS = {
  ...LOGGING_OPTIONS,
  ...DATABASE_OPTIONS,
  exact: {
    type: 'boolean',
    describe:
      'Size the cache from every one of its files and count every row of every table (seconds or more at live ' +
      `size). Without it, a cache of over ${DEFAULTS.statusExactCacheFiles} files is sized from ` +
      `${DEFAULTS.statusSampleCacheFiles} of them, and the tables past the first ` +
      `${formatBytes(DEFAULTS.statusExactTableBytes)} (smallest first) are estimated from ${SAMPLED_PAGES} of ` +
      'their pages, both marked ~',
  },
} as const satisfies Record<string, Options>;

export type StatusArgs = LoggingArgs & DatabaseArgs & { readonly exact?: boolean };

export const statusCommand: CommandModule<StatusArgs> = {
  command: 'status',
  describe:
    'Show the crawl in the storage dir (requests per label, ' +
    'resumable?), the cache, the rows per table and the last crawl',
  options: STATUS_OPTIONS,
  builder: (y) => y.options(STATUS_OPTIONS),
  handler: async (args, io) => {
    const config = resolveCommonConfig(args, io.env);
    const report = await runStatus(config, { log: commandLogger(config, io), exact: args.exact === true });
    printResult(io, config.logFormat, report, () => formatStatus(report));
    return 0;
  },
};
