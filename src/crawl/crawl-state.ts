/**
 * The crawl state: the small record a crawl keeps in its storage dir beside its queue, saying
 * which crawl the queue belongs to (its filters, its API, its database) and whether it finished.
 * Its keys, the resume rule and the words for a crawl's filters live here, so `crawl` (queue.ts),
 * `crawl --plan` and `status` apply the one rule and read the one record.
 */
import type { KeyValueStore } from '@crawlee/core';
import type { CrawlScope } from '../config.js';
import { UserError } from '../errors.js';
import type { CrawlSummary } from './summary.js';

/** The record of the storage dir's record store that holds the CrawlState. */
export const STATE_KEY = 'CRAWL';
/** The record that holds the last crawl's CrawlSummary. */
export const SUMMARY_KEY = 'SUMMARY';

/**
 * The crawl the queue belongs to. Whether it is unfinished is decided here, not from the queue's
 * own counts, which Crawlee writes in the background and a killed process can leave stale.
 */
export interface CrawlState {
  readonly startedAt: string;
  readonly scope: CrawlScope;
  readonly baseUrl: string;
  /**
   * The id of the database the crawl writes to (src/store/identity.ts). A queue is only true of
   * the database its handled requests were stored in. Unset in states of earlier versions.
   */
  readonly databaseId?: string;
  /** Set once the queue drained; unset means a crawl to resume. */
  readonly finishedAt?: string;
}

export function newCrawlState(scope: CrawlScope, baseUrl: string, databaseId: string): CrawlState {
  return { startedAt: new Date().toISOString(), scope, baseUrl, databaseId };
}

export async function readCrawlState(records: KeyValueStore): Promise<CrawlState | undefined> {
  return (await records.getValue<CrawlState>(STATE_KEY)) ?? undefined;
}

export async function writeCrawlState(records: KeyValueStore, state: CrawlState): Promise<void> {
  await records.setValue(STATE_KEY, state);
}

export async function readSummary(records: KeyValueStore): Promise<CrawlSummary | undefined> {
  return (await records.getValue<CrawlSummary>(SUMMARY_KEY)) ?? undefined;
}

export async function writeSummary(records: KeyValueStore, summary: CrawlSummary): Promise<void> {
  await records.setValue(SUMMARY_KEY, summary);
}

/** The resume rule: a crawl whose state is not marked finished is resumed (given its queue is still there). */
export function isUnfinished(state: CrawlState | undefined): state is CrawlState {
  return state !== undefined && state.finishedAt === undefined;
}

/** Records that the crawl's queue drained: the next crawl starts a new one. */
export async function markFinished(records: KeyValueStore): Promise<void> {
  const state = await readCrawlState(records);
  if (state) await writeCrawlState(records, { ...state, finishedAt: new Date().toISOString() });
}

/**
 * An unfinished crawl resumes only with the same filters: its queue holds the requests they
 * imply. Throws the UserError that says how to go on otherwise.
 */
export function checkSameScope(previous: CrawlState, scope: CrawlScope, storageDir: string): void {
  if (JSON.stringify(previous.scope) === JSON.stringify(scope)) return;
  throw new UserError(
    `an unfinished crawl with other filters (${describeScope(previous.scope)}) is in ${storageDir}: ` +
      'run crawl with the same filters to resume it, or add --fresh to discard it',
  );
}

/**
 * The identity check: the unfinished crawl wrote to another database than `databaseId` (deleted,
 * reset, another --db), so its handled requests say nothing about this one. A state of a version
 * before databases had ids belongs to no other database.
 */
export function wroteToOtherDatabase(
  previous: CrawlState,
  databaseId: string,
): previous is CrawlState & { readonly databaseId: string } {
  return previous.databaseId !== undefined && previous.databaseId !== databaseId;
}

/** A crawl's filters in words, as the flags that give them. */
export function describeScope(scope: CrawlScope): string {
  const parts = [
    scope.series.length ? `--series ${scope.series.join(',')}` : 'all series',
    scope.fromYear !== undefined ? `--from-year ${scope.fromYear}` : '',
    scope.toYear !== undefined ? `--to-year ${scope.toYear}` : '',
  ];
  return parts.filter(Boolean).join(' ');
}
