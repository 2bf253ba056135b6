/**
 * The shared queue's requests by state, as pg-boss keeps them (shared-queue.ts): what a worker
 * and `status` count. Apart from shared-queue.ts so that reading them loads none of pg-boss.
 */

/** pg-boss's schema: ours alone, so an application's own pg-boss (of another version) is never touched. */
export const BOSS_SCHEMA = 'crawl_queue';

export interface QueueCounts {
  /** Waiting to be taken (pg-boss: created, retry). */
  readonly queued: number;
  /** Taken by a worker and not finished (pg-boss: active). */
  readonly leased: number;
  readonly done: number;
  /** Failed after all their attempts (pg-boss: failed); `--retry-failed` queues them again. */
  readonly failed: number;
}

/** QueueCounts from pg-boss's jobs counted by state. */
export function countsOf(rows: readonly { state: string; n: number }[]): QueueCounts {
  const n = (...states: string[]) =>
    rows.filter((row) => states.includes(row.state)).reduce((sum, row) => sum + row.n, 0);
  // `cancelled` lives only inside the transaction that puts a job back (requeue): count it as leased.
  return { queued: n('created', 'retry'), leased: n('active', 'cancelled'), done: n('completed'), failed: n('failed') };
}
