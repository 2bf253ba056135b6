/**
 * Starting and resuming the crawl's request queue (a named Crawlee RequestQueue in the storage
 * dir, kept by a QueueJournal). An unfinished queue is resumed; a finished one makes room for a
 * new crawl. Which crawl the queue belongs to, and whether it may be resumed, is crawl-state.ts.
 */
import { rmSync } from 'node:fs';
import { Request, type RequestQueue } from '@crawlee/core';
import type { RequestSchema } from '@crawlee/types';
import { DEFAULTS, type CrawlConfig } from '../config.js';
import type { Db } from '../store/db.js';
import {
  checkSameScope,
  isUnfinished,
  newCrawlState,
  readCrawlState,
  wroteToOtherDatabase,
  writeCrawlState,
  type CrawlState,
} from './crawl-state.js';
import { toRequest } from './crawl-request.js';
import { RequestQueue as CrawlQueue } from './crawl-queue.js';
import type { FailureLog, FailedRequest } from './failures.js';
import { QueueJournal } from './queue-journal.js';
import { QUEUE_NAME, requestQueueDir } from './storage-client.js';
import { SharedQueueClient } from './shared-queue-client.js';
import type { Joined, SharedQueue } from './shared-queue.js';
import type { StorageDir } from './storage-dir.js';
import { sweepQueue } from './sweep.js';

/** The database a crawl writes to: its id, and the connection the queue is rebuilt from. */
export interface QueueDatabase {
  readonly id: string;
  readonly db: Db;
}

export interface QueueStart {
  readonly queue: RequestQueue;
  readonly state: CrawlState;
  /** Set when an unfinished crawl was resumed: what it had done and what was left. */
  readonly resumed: { readonly handled: number; readonly pending: number } | undefined;
  /** Requests added to start with (the series list, or the failed requests being retried). */
  readonly seeded: number;
  /**
   * Set when an unfinished crawl was found for another database (deleted, reset, another --db):
   * its queue was replaced by the requests the current database's rows imply, plus the series list.
   */
  readonly rebuilt?: { readonly previousDatabaseId: string; readonly requests: number };
}

/**
 * The unfinished crawl that `crawl` with this config resumes: its state, or undefined when it
 * starts a new one (none there, or --fresh). Throws when one is there with other filters. Asked
 * by startQueue and by `crawl --plan`, so the two agree.
 */
export async function crawlToResume(storage: StorageDir, config: CrawlConfig): Promise<CrawlState | undefined> {
  const previous = await readCrawlState(storage.records);
  if (!isUnfinished(previous) || !QueueJournal.exists(requestQueueDir(storage.dir, QUEUE_NAME)) || config.fresh)
    return undefined;
  checkSameScope(previous, config.scope, storage.dir);
  return previous;
}

export async function startQueue(
  storage: StorageDir,
  config: CrawlConfig,
  failures: FailureLog,
  database: QueueDatabase,
): Promise<QueueStart> {
  const queueDir = requestQueueDir(storage.dir, QUEUE_NAME);
  const previous = await crawlToResume(storage, config);

  if (previous) {
    if (wroteToOtherDatabase(previous, database.id)) {
      // Its handled requests were stored in another database: trusting them would write children
      // whose parents this one lacks (a storm of foreign-key failures). What this database
      // holds says what is done; the sweep turns it into requests, the series list does the rest.
      rmSync(queueDir, { recursive: true, force: true });
      const queue = await CrawlQueue.open(QUEUE_NAME, { config: storage.config });
      const state = newCrawlState(config.scope, config.baseUrl, database.id);
      await writeCrawlState(storage.records, state);
      await failures.clear();
      await queue.addRequests([toRequest(config.baseUrl, { label: 'series' }, { historic: false })]);
      const requests = await sweepQueue(database.db, queue, config.scope, config.baseUrl);
      return {
        queue,
        state,
        resumed: undefined,
        seeded: 1 + requests,
        rebuilt: { previousDatabaseId: previous.databaseId, requests },
      };
    }
    // A state written before databases had ids: this database is taken to be its own from now on.
    if (previous.databaseId === undefined)
      await writeCrawlState(storage.records, { ...previous, databaseId: database.id });
    const queue = await CrawlQueue.open(QUEUE_NAME, { config: storage.config });
    const info = await queue.getInfo();
    const seeded = config.retryFailed ? await seedFailures(queue, config, failures) : 0;
    return {
      queue,
      state: previous,
      resumed: { handled: info?.handledRequestCount ?? 0, pending: info?.pendingRequestCount ?? 0 },
      seeded,
    };
  }

  // A new crawl: the old queue goes (never the cache or the database).
  rmSync(queueDir, { recursive: true, force: true });
  const queue = await CrawlQueue.open(QUEUE_NAME, { config: storage.config });
  const state = newCrawlState(config.scope, config.baseUrl, database.id);
  await writeCrawlState(storage.records, state);
  if (config.retryFailed)
    return { queue, state, resumed: undefined, seeded: await seedFailures(queue, config, failures) };
  await failures.clear();
  await queue.addRequests([toRequest(config.baseUrl, { label: 'series' }, { historic: false })]);
  return { queue, state, resumed: undefined, seeded: 1 };
}

/** The record of the crawl-state store naming the shared crawl this storage dir's failure records belong to. */
export const SHARED_KEY = 'SHARED_CRAWL';

/**
 * --queue postgres: joins the crawl running in the database (or starts one, see SharedQueue.join)
 * and opens Crawlee's RequestQueue over it. This storage dir keeps this worker's own failure
 * records and cache; its own journal queue is left alone.
 */
export async function startSharedQueue(
  storage: StorageDir,
  config: CrawlConfig,
  failures: FailureLog,
  shared: SharedQueue,
): Promise<QueueStart & { readonly joined: Joined }> {
  // The series list as Crawlee would store it (the label moved into userData, defaults filled in).
  // why: a Request's JSON is a RequestSchema (JSON.parse types it any).
  const seed = JSON.parse(
    JSON.stringify(new Request(toRequest(config.baseUrl, { label: 'series' }, { historic: false }))),
  ) as RequestSchema;
  const joined = await shared.join({
    scope: config.scope,
    baseUrl: config.baseUrl,
    maxRpm: config.maxRpm,
    fresh: config.fresh,
    retryFailed: config.retryFailed,
    seed,
  });
  storage.shareQueue(
    new SharedQueueClient(QUEUE_NAME, shared, {
      pollMs: DEFAULTS.sharedQueuePollMs,
      maxLeased: DEFAULTS.sharedLeasesPerSlot * config.concurrency,
    }),
  );
  const queue = await CrawlQueue.open(QUEUE_NAME, { config: storage.config });
  // This dir's failure records are of one shared crawl; failed requests being retried are retried.
  const local = await storage.records.getValue<{ crawlId: number }>(SHARED_KEY);
  if (local?.crawlId !== joined.crawl.id || config.retryFailed) await failures.clear();
  await storage.records.setValue(SHARED_KEY, { crawlId: joined.crawl.id });
  const { crawl, counts } = joined;
  return {
    queue,
    state: { startedAt: crawl.startedAt, scope: crawl.scope, baseUrl: crawl.baseUrl },
    resumed:
      joined.how === 'joined'
        ? { handled: counts.done + counts.failed, pending: counts.queued + counts.leased }
        : undefined,
    seeded: joined.how === 'new' ? 1 : joined.retried,
    joined,
  };
}

/** Moves the recorded failed requests back into the queue, under fresh unique keys. */
async function seedFailures(queue: RequestQueue, config: CrawlConfig, failures: FailureLog): Promise<number> {
  const failed = await failedRequests(failures);
  await failures.clear();
  const tag = `retry-${Date.now()}`;
  await queue.addRequests(failed.map((f) => toRequest(config.baseUrl, f.target, f.meta, tag)));
  return failed.length;
}

/** The requests --retry-failed puts back into the queue (quarantined items are not retried). */
export async function failedRequests(failures: FailureLog): Promise<FailedRequest[]> {
  return (await failures.all()).filter((f): f is FailedRequest => f.kind === 'request');
}
