/**
 * What `status` shows of the shared crawl of `crawl --queue postgres` (shared-queue.ts), read from
 * the database without joining it: the newest crawl, its requests by state, and each worker with
 * its heartbeat and the leases it holds.
 */
import type { CrawlScope } from '../config.js';
import type { Db } from '../store/db.js';
import { BOSS_SCHEMA, countsOf, type QueueCounts } from './shared-queue-counts.js';

export interface SharedWorkerStatus {
  readonly host: string;
  readonly pid: number;
  readonly storageDir: string;
  readonly startedAt: string;
  readonly heartbeatAt: string;
  /** Seconds since its last heartbeat, by the server's clock. */
  readonly silentSeconds: number;
  readonly leases: number;
}

export interface SharedCrawlStatus {
  readonly id: number;
  readonly startedAt: string;
  readonly finishedAt: string | undefined;
  readonly scope: CrawlScope;
  readonly baseUrl: string;
  readonly requests: QueueCounts;
  readonly workers: readonly SharedWorkerStatus[];
}

/** The newest shared crawl, or undefined when none ever ran in this database. */
export async function readSharedCrawl(db: Db): Promise<SharedCrawlStatus | undefined> {
  const crawl = await db('shared_crawls')
    .orderBy('id', 'desc')
    .first<
      | { id: number; queue: string; scope: CrawlScope; base_url: string; started_at: Date; finished_at: Date | null }
      | undefined
    >();
  if (!crawl) return undefined;
  const {
    rows: [installed],
  } = await db.raw<{ rows: { name: string | null }[] }>('SELECT to_regclass(?) AS name', [`${BOSS_SCHEMA}.job`]);
  const { rows: states } = installed?.name
    ? await db.raw<{ rows: { state: string; n: number }[] }>(
        `SELECT state, count(*)::int AS n FROM ${BOSS_SCHEMA}.job WHERE name = ? GROUP BY state`,
        [crawl.queue],
      )
    : { rows: [] };
  const { rows: workers } = await db.raw<{
    rows: {
      host: string;
      pid: number;
      storage_dir: string;
      started_at: Date;
      heartbeat_at: Date;
      silent: number;
      leases: number;
    }[];
  }>(
    `SELECT w.host, w.pid, w.storage_dir, w.started_at, w.heartbeat_at,
            extract(epoch FROM now() - w.heartbeat_at)::float AS silent,
            (SELECT count(*)::int FROM shared_leases l WHERE l.worker_id = w.id) AS leases
     FROM shared_workers w WHERE w.crawl_id = ? ORDER BY w.started_at, w.host, w.pid`,
    [crawl.id],
  );
  return {
    id: crawl.id,
    startedAt: crawl.started_at.toISOString(),
    finishedAt: crawl.finished_at?.toISOString(),
    scope: crawl.scope,
    baseUrl: crawl.base_url,
    requests: countsOf(states),
    workers: workers.map((w) => ({
      host: w.host,
      pid: w.pid,
      storageDir: w.storage_dir,
      startedAt: w.started_at.toISOString(),
      heartbeatAt: w.heartbeat_at.toISOString(),
      silentSeconds: Math.max(0, w.silent),
      leases: w.leases,
    })),
  };
}
