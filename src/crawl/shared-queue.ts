/**
 * The request queue of `crawl --queue postgres`: one crawl's requests as pg-boss jobs in the
 * PostgreSQL server given by --db, worked on by any number of `crawl` processes (workers) on any
 * machines. shared-queue-client.ts puts it under Crawlee's RequestQueue.
 *
 * What pg-boss (10.x, in the schema `crawl_queue`) does: store the jobs, take a batch for one
 * worker without handing it to another (`fetch`, SKIP LOCKED), finish them (`complete`, `fail`),
 * put them back (`cancel` + `resume`), and retry failed ones (`retry`). A job's id is derived from
 * the request's unique key, so adding a request twice, from any worker, adds it once.
 *
 * What is ours, because pg-boss 10 has no job heartbeat (its expiry is a fixed time from the
 * start, and only its maintenance applies it):
 * - Leases. A job taken by a worker gets a row in `shared_leases` in the same transaction, and
 *   loses it in the transaction that completes, fails or returns it: a job is active exactly
 *   while it has a lease. A worker finishes a job only while it still holds the lease.
 * - Heartbeats. Each worker renews `shared_workers.heartbeat_at` every third of the lease timeout
 *   and, as often, returns to the queue the jobs of every worker whose heartbeat is older than the
 *   timeout (by the server's clock, so the machines' clocks do not matter).
 * - Retention. pg-boss's maintenance (archiving completed jobs after 12 h, expiring active ones
 *   after 15 min) is never run (`supervise: false`): a completed job must stay for the life of the
 *   crawl, or adding its request again would fetch it again. A new crawl gets a new pg-boss queue
 *   and the previous crawl's queue is deleted whole.
 *
 * "Finished" is read from the jobs themselves: no job queued (created, retry) and none active.
 * A handler enqueues a request's children before the request is completed, so while any job is
 * active, more may come, and no worker stops.
 */
import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import PgBoss from 'pg-boss';
import type { RequestSchema } from '@crawlee/types';
import type { CrawlScope } from '../config.js';
import { UserError, describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { describeScope } from './crawl-state.js';
import { SharedLimit } from './shared-limit.js';
import { count } from '../words.js';
import { BOSS_SCHEMA, countsOf, type QueueCounts } from './shared-queue-counts.js';

/** Ten years: pg-boss's retention of a job (only its maintenance, never run here, would apply it). */
const RETENTION_MINUTES = 10 * 365 * 24 * 60;
/** pg-boss's own expiry of an active job, its longest (under 24 h); likewise only its maintenance applies it. */
const EXPIRE_SECONDS = 23 * 3600;
/** Advisory lock keys: one worker at a time decides which crawl runs; one reaps dead workers. */
const CRAWL_LOCK = 'motorsport-crawler shared crawl';
const REAP_LOCK = 'motorsport-crawler shared reap';

export interface SharedCrawl {
  readonly id: number;
  /** The pg-boss queue holding this crawl's requests. */
  readonly queue: string;
  readonly scope: CrawlScope;
  readonly baseUrl: string;
  /** The --max-rpm of all its workers together (Infinity: no limit); undefined: started before it was kept. */
  readonly maxRpm: number | undefined;
  readonly startedAt: string;
  readonly finishedAt: string | undefined;
}

export interface JoinOptions {
  readonly scope: CrawlScope;
  readonly baseUrl: string;
  /** This worker's --max-rpm (Infinity: no limit): the shared limiter's windows are as long as it makes them. */
  readonly maxRpm: number;
  readonly fresh: boolean;
  readonly retryFailed: boolean;
  /** The request a new crawl starts from (the series list). */
  readonly seed: RequestSchema;
}

export interface Joined {
  readonly crawl: SharedCrawl;
  /** new: this worker started it; joined: it was running; reopened: finished, its failed requests queued again. */
  readonly how: 'new' | 'joined' | 'reopened';
  /** Failed requests queued again (--retry-failed). */
  readonly retried: number;
  /** Other workers with a live heartbeat when this one joined. */
  readonly otherWorkers: number;
  readonly counts: QueueCounts;
}

export interface AddOutcome {
  readonly id: string;
  readonly wasAlreadyPresent: boolean;
  readonly wasAlreadyHandled: boolean;
}

export interface SharedQueueOptions {
  readonly url: string;
  readonly log: Logger;
  readonly leaseTimeoutMs: number;
  /** This worker's storage dir, shown by `status`. */
  readonly storageDir: string;
}

/** A request's job id: a UUID (version 8, RFC 9562) from the SHA-256 of its unique key. */
export function jobIdOf(uniqueKey: string): string {
  const hex = createHash('sha256').update(uniqueKey).digest('hex');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return (
    `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-` +
    `${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`
  );
}

type Tx = { readonly client: pg.PoolClient; readonly db: PgBoss.Db };

interface CrawlRow {
  id: number;
  queue: string;
  scope: CrawlScope;
  base_url: string;
  max_rpm: number | null;
  started_at: Date;
  finished_at: Date | null;
}

export class SharedQueue {
  private crawlValue: SharedCrawl | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private beating: Promise<void> = Promise.resolve();
  private closed = false;
  /** Requests waiting for the next finishing transaction, and that transaction. */
  private readonly finishing: {
    id: string;
    error: string | undefined;
    resolve: (held: boolean) => void;
    reject: (error: unknown) => void;
  }[] = [];
  private flushing: Promise<void> | undefined;
  /** Told the ids of this worker's leases when another worker returned them (this one was taken for dead). */
  onLeasesLost: () => void = () => undefined;

  private constructor(
    private readonly pool: pg.Pool,
    /** The heartbeat's own connection: requests finishing by the dozen must never hold it up. */
    private readonly heartbeatPool: pg.Pool,
    private readonly boss: PgBoss,
    readonly workerId: string,
    private readonly options: SharedQueueOptions,
  ) {}

  /** Connects, and installs or upgrades pg-boss's schema (pg-boss serialises concurrent starts). */
  static async connect(options: SharedQueueOptions): Promise<SharedQueue> {
    const pool = new pg.Pool({ connectionString: options.url, max: 4, application_name: 'motorsport-crawler worker' });
    const heartbeatPool = new pg.Pool({
      connectionString: options.url,
      max: 1,
      application_name: 'motorsport-crawler heartbeat',
    });
    for (const p of [pool, heartbeatPool])
      p.on('error', (error) => options.log.debug(`shared queue: idle connection error: ${error.message}`));
    const boss = new PgBoss({
      connectionString: options.url,
      schema: BOSS_SCHEMA,
      max: 2,
      application_name: 'motorsport-crawler pg-boss',
      supervise: false,
      schedule: false,
      migrate: true,
    });
    boss.on('error', (error) => options.log.debug(`pg-boss: ${error.message}`));
    try {
      await boss.start();
    } catch (error) {
      await pool.end().catch(() => undefined);
      await heartbeatPool.end().catch(() => undefined);
      throw error;
    }
    return new SharedQueue(pool, heartbeatPool, boss, randomUUID(), options);
  }

  get crawl(): SharedCrawl {
    if (!this.crawlValue) throw new Error('the shared queue has not joined a crawl');
    return this.crawlValue;
  }

  /**
   * Joins the running crawl, or starts one: the newest crawl if unfinished (its filters must be
   * these), else a new one seeded with `seed` — or, with --retry-failed, the finished one reopened
   * with its failed requests queued again. Registers this worker and starts its heartbeat.
   */
  async join(options: JoinOptions): Promise<Joined> {
    const joined = await this.transaction(async (tx) => {
      await tx.client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [CRAWL_LOCK]);
      const latestRow = (await tx.client.query<CrawlRow>('SELECT * FROM shared_crawls ORDER BY id DESC LIMIT 1'))
        .rows[0];
      let latest = latestRow && crawlOf(latestRow);
      const otherWorkers = latest ? await this.liveWorkers(tx, latest.id) : 0;
      if (latest && latest.finishedAt === undefined && options.fresh) {
        if (otherWorkers > 0) {
          throw new UserError(
            `--fresh: ${count(otherWorkers, 'other worker')} ${otherWorkers === 1 ? 'is' : 'are'} ` +
              `working on the crawl started ` +
              `${latest.startedAt}; stop them first, or leave --fresh out to join it`,
          );
        }
        await tx.client.query('UPDATE shared_crawls SET finished_at = now() WHERE id = $1', [latest.id]);
        latest = { ...latest, finishedAt: new Date().toISOString() };
      }
      if (latest && latest.finishedAt === undefined) {
        if (JSON.stringify(latest.scope) !== JSON.stringify(options.scope)) {
          throw new UserError(
            `the crawl running in this database has other filters (${describeScope(latest.scope)}): ` +
              'start every worker with the same filters, or add --fresh once no worker is running',
          );
        }
        if (latest.baseUrl !== options.baseUrl) throw otherBaseUrl(latest.baseUrl);
        if (latest.maxRpm !== undefined && latest.maxRpm !== options.maxRpm) throw otherMaxRpm(latest.maxRpm);
        const retried = options.retryFailed ? await this.retryFailedJobs(tx, latest.queue) : 0;
        await this.register(tx, latest.id);
        return { crawl: latest, how: 'joined' as const, retried, otherWorkers };
      }
      if (latest && options.retryFailed) {
        // Its requests keep their URLs: they are retried at the origin they failed at.
        if (latest.baseUrl !== options.baseUrl) throw otherBaseUrl(latest.baseUrl);
        // Its filters and rate are those of the workers reopening it; the later ones must match these.
        await tx.client.query('UPDATE shared_crawls SET finished_at = NULL, scope = $2, max_rpm = $3 WHERE id = $1', [
          latest.id,
          JSON.stringify(options.scope),
          options.maxRpm,
        ]);
        const retried = await this.retryFailedJobs(tx, latest.queue);
        await this.register(tx, latest.id);
        return {
          crawl: { ...latest, scope: options.scope, maxRpm: options.maxRpm, finishedAt: undefined },
          how: 'reopened' as const,
          retried,
          otherWorkers,
        };
      }
      const { rows } = await tx.client.query<CrawlRow>(
        `INSERT INTO shared_crawls (queue, scope, base_url, max_rpm) VALUES ('', $1, $2, $3) RETURNING *`,
        [JSON.stringify(options.scope), options.baseUrl, options.maxRpm],
      );
      const queue = `crawl-${rows[0]!.id}`;
      await tx.client.query('UPDATE shared_crawls SET queue = $2 WHERE id = $1', [rows[0]!.id, queue]);
      // On pg-boss's own connection; the advisory lock held here keeps other workers waiting meanwhile.
      await this.boss.createQueue(queue, {
        name: queue,
        policy: 'standard',
        retryLimit: 0,
        retentionMinutes: RETENTION_MINUTES,
        expireInSeconds: EXPIRE_SECONDS,
      });
      await this.insert(tx.db, queue, [options.seed]);
      await this.register(tx, rows[0]!.id);
      return {
        crawl: { ...crawlOf(rows[0]!), queue },
        how: 'new' as const,
        retried: 0,
        otherWorkers: 0,
        previous: latest?.queue,
      };
    });
    this.crawlValue = joined.crawl;
    if ('previous' in joined && joined.previous) await this.dropQueue(joined.previous);
    this.startHeartbeat();
    return {
      crawl: joined.crawl,
      how: joined.how,
      retried: joined.retried,
      otherWorkers: joined.otherWorkers,
      counts: await this.counts(),
    };
  }

  /** Adds the requests the queue does not hold yet (by job id); says which it held already. */
  async add(requests: readonly RequestSchema[]): Promise<AddOutcome[]> {
    const queue = this.crawl.queue;
    const ids = requests.map((r) => jobIdOf(r.uniqueKey));
    const { rows } = await this.pool.query<{ id: string; state: string }>(
      `SELECT id, state FROM ${BOSS_SCHEMA}.job WHERE name = $1 AND id = ANY($2::uuid[])`,
      [queue, ids],
    );
    const known = new Map(rows.map((row) => [row.id, row.state]));
    const fresh = new Map<string, RequestSchema>();
    requests.forEach((request, i) => {
      if (!known.has(ids[i]!)) fresh.set(ids[i]!, request);
    });
    if (fresh.size) await this.insert(this.bossDb(this.pool), queue, [...fresh.values()]);
    return ids.map((id) => {
      const state = known.get(id);
      return {
        id,
        wasAlreadyPresent: state !== undefined,
        wasAlreadyHandled: state === 'completed' || state === 'failed',
      };
    });
  }

  /** Takes up to `limit` queued requests and leases them to this worker. */
  async lease(limit: number): Promise<(RequestSchema & { id: string })[]> {
    const queue = this.crawl.queue;
    return this.transaction(async (tx) => {
      const jobs = await this.boss.fetch<RequestSchema>(queue, { batchSize: limit, db: tx.db });
      // Run even when nothing came: pg-boss's fetch swallows errors, and this statement then
      // fails on the aborted transaction instead of an outage passing for an empty queue.
      await tx.client.query('INSERT INTO shared_leases (queue, job_id, worker_id) SELECT $1, unnest($2::uuid[]), $3', [
        queue,
        jobs.map((job) => job.id),
        this.workerId,
      ]);
      return jobs.map((job) => ({ ...job.data, id: job.id }));
    });
  }

  /**
   * Finishes a leased request: done, or failed with `error`. False when this worker no longer held
   * the lease (it was taken for dead and the request went back to the queue): then nothing changes.
   * The requests finishing while one transaction commits go together in the next one.
   */
  finish(id: string, error?: string): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.finishing.push({ id, error, resolve, reject });
      if (!this.flushing) this.flushing = this.flushFinished();
    });
  }

  private async flushFinished(): Promise<void> {
    while (this.finishing.length) {
      const batch = this.finishing.splice(0);
      const queue = this.crawl.queue;
      try {
        const held = await this.transaction(async (tx) => {
          const { rows } = await tx.client.query<{ job_id: string }>(
            'DELETE FROM shared_leases WHERE queue = $1 AND job_id ' +
              '= ANY($2::uuid[]) AND worker_id = $3 RETURNING job_id',
            [queue, batch.map((f) => f.id), this.workerId],
          );
          const held = new Set(rows.map((row) => row.job_id));
          const done = batch.filter((f) => held.has(f.id) && f.error === undefined).map((f) => f.id);
          if (done.length) await completing(this.boss).complete(queue, done, { worker: this.workerId }, { db: tx.db });
          for (const f of batch) {
            if (held.has(f.id) && f.error !== undefined)
              await this.boss.fail(queue, f.id, { worker: this.workerId, error: f.error }, { db: tx.db });
          }
          return held;
        });
        for (const f of batch) f.resolve(held.has(f.id));
      } catch (error) {
        for (const f of batch) f.reject(error);
      }
    }
    this.flushing = undefined;
  }

  /** Gives leased requests back to the queue, for any worker to take. */
  async release(ids: readonly string[]): Promise<void> {
    if (!ids.length) return;
    await this.transaction(async (tx) => {
      const { rows } = await tx.client.query<{ job_id: string }>(
        'DELETE FROM shared_leases WHERE queue = $1 AND job_id = ANY($2::uuid[]) AND worker_id = $3 RETURNING job_id',
        [this.crawl.queue, ids, this.workerId],
      );
      await this.requeue(
        tx,
        this.crawl.queue,
        rows.map((row) => row.job_id),
      );
    });
  }

  /** The stored request of a job, `handledAt` set once done or failed; undefined if unknown. */
  async get(id: string): Promise<RequestSchema | undefined> {
    const job = await this.boss.getJobById<RequestSchema>(this.crawl.queue, id);
    if (!job) return undefined;
    const handled = job.state === 'completed' || job.state === 'failed';
    return { ...job.data, id, ...(handled ? { handledAt: (job.completedOn ?? new Date()).toISOString() } : {}) };
  }

  async counts(): Promise<QueueCounts> {
    return countJobs(this.pool, this.crawl.queue);
  }

  /** No request queued and none leased, by any worker. */
  async isDrained(): Promise<boolean> {
    // States before `completed`: created, retry, active.
    return (await this.boss.getQueueSize(this.crawl.queue, { before: 'completed' })) === 0;
  }

  /** The politeness limit of this crawl's workers together (shared-limit.ts). */
  rateLimit(maxRpm: number): SharedLimit {
    return new SharedLimit(this.pool, this.crawl.id, maxRpm);
  }

  /** Records that the crawl finished: the next worker started starts a new one. */
  async markFinished(): Promise<void> {
    await this.pool.query('UPDATE shared_crawls SET finished_at = now() WHERE id = $1 AND finished_at IS NULL', [
      this.crawl.id,
    ]);
  }

  /** Gives back every request this worker holds, leaves the crawl, and disconnects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    await this.beating;
    try {
      if (this.crawlValue) {
        await this.transaction(async (tx) => {
          const { rows } = await tx.client.query<{ queue: string; job_id: string }>(
            'DELETE FROM shared_leases WHERE worker_id = $1 RETURNING queue, job_id',
            [this.workerId],
          );
          for (const [queue, ids] of byQueue(rows)) await this.requeue(tx, queue, ids);
          await tx.client.query('DELETE FROM shared_workers WHERE id = $1', [this.workerId]);
        });
      }
    } finally {
      await this.boss.stop({ graceful: false, wait: true }).catch(() => undefined);
      await this.pool.end().catch(() => undefined);
      await this.heartbeatPool.end().catch(() => undefined);
    }
  }

  /**
   * Deletes the previous crawl's queue and its jobs: they are no use to a new crawl. pg-boss 10's
   * deleteQueue refuses a queue that still has jobs (timgit/pg-boss#514), so they go first.
   */
  private async dropQueue(queue: string): Promise<void> {
    try {
      for (;;) {
        const { rows } = await this.pool.query<{ id: string }>(
          `SELECT id FROM ${BOSS_SCHEMA}.job WHERE name = $1 LIMIT 10000`,
          [queue],
        );
        if (!rows.length) break;
        await this.boss.deleteJob(
          queue,
          rows.map((row) => row.id),
        );
      }
      await this.boss.deleteQueue(queue);
    } catch (error) {
      this.options.log.warn(
        `could not delete the previous crawl's queue ${queue} ` +
          `(${describeError(error)}); it is left in the database`,
      );
    }
  }

  private startHeartbeat(): void {
    const every = Math.max(100, Math.round(this.options.leaseTimeoutMs / 3));
    this.heartbeat = setInterval(() => {
      this.beating = this.beating
        .then(() => this.beat())
        .catch((error: unknown) => {
          this.options.log.debug(`shared queue heartbeat failed: ${describeError(error)}`);
        });
    }, every);
  }

  /** Renews this worker's heartbeat, then returns the leases of workers gone silent. */
  private async beat(): Promise<void> {
    if (this.closed) return;
    const { rowCount } = await this.heartbeatPool.query(
      'UPDATE shared_workers SET heartbeat_at = now() WHERE id = $1',
      [this.workerId],
    );
    if (!rowCount) {
      // Taken for dead (silent longer than the lease timeout): what it held went back to the queue.
      this.options.log.warn(
        `this worker was silent for more than ${Math.round(this.options.leaseTimeoutMs / 1000)} ` +
          `s and its requests went to other workers; carrying on`,
      );
      this.onLeasesLost();
      await this.transaction((tx) => this.register(tx, this.crawl.id), this.heartbeatPool);
    }
    await this.reap();
  }

  private async reap(): Promise<void> {
    const reaped = await this.transaction(async (tx) => {
      const {
        rows: [lock],
      } = await tx.client.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked', [
        REAP_LOCK,
      ]);
      if (!lock?.locked) return [];
      const { rows: dead } = await tx.client.query<{ id: string; host: string; pid: number }>(
        `DELETE FROM shared_workers WHERE id <> $1 AND heartbeat_at < ` +
          `now() - $2 * interval '1 millisecond' RETURNING id, host, pid`,
        [this.workerId, this.options.leaseTimeoutMs],
      );
      if (!dead.length) return [];
      const { rows } = await tx.client.query<{ queue: string; job_id: string; worker_id: string }>(
        'DELETE FROM shared_leases WHERE worker_id = ANY($1::uuid[]) RETURNING queue, job_id, worker_id',
        [dead.map((worker) => worker.id)],
      );
      for (const [queue, ids] of byQueue(rows)) await this.requeue(tx, queue, ids);
      return dead.map((worker) => ({ ...worker, leases: rows.filter((row) => row.worker_id === worker.id).length }));
    }, this.heartbeatPool);
    for (const worker of reaped) {
      this.options.log.warn(
        `worker ${worker.host} pid ${worker.pid} has been silent for over ` +
          `${Math.round(this.options.leaseTimeoutMs / 1000)} s: ` +
          `${worker.leases === 1 ? 'its request goes' : `its ${worker.leases} requests go`} back to the queue`,
      );
    }
  }

  private async register(tx: Tx, crawlId: number): Promise<void> {
    await tx.client.query(
      'INSERT INTO shared_workers (id, crawl_id, host, pid, storage_dir) VALUES ($1, $2, $3, $4, $5)',
      [this.workerId, crawlId, hostname(), process.pid, this.options.storageDir],
    );
  }

  private async liveWorkers(tx: Tx, crawlId: number): Promise<number> {
    const { rows } = await tx.client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM shared_workers WHERE crawl_id ` +
        `= $1 AND heartbeat_at >= now() - $2 * interval '1 millisecond'`,
      [crawlId, this.options.leaseTimeoutMs],
    );
    return rows[0]?.n ?? 0;
  }

  /** Queues the crawl's failed requests again (pg-boss `retry`); how many. */
  private async retryFailedJobs(tx: Tx, queue: string): Promise<number> {
    const { rows } = await tx.client.query<{ id: string }>(
      `SELECT id FROM ${BOSS_SCHEMA}.job WHERE name = $1 AND state = 'failed'`,
      [queue],
    );
    if (rows.length)
      await this.boss.retry(
        queue,
        rows.map((row) => row.id),
        { db: tx.db },
      );
    return rows.length;
  }

  /** Active jobs back to queued: pg-boss's way is cancel, then resume (cancelled → created). */
  private async requeue(tx: Tx, queue: string, ids: readonly string[]): Promise<void> {
    if (!ids.length) return;
    await this.boss.cancel(queue, [...ids], { db: tx.db });
    await this.boss.resume(queue, [...ids], { db: tx.db });
  }

  private async insert(db: PgBoss.Db, queue: string, requests: readonly RequestSchema[]): Promise<void> {
    await this.boss.insert(
      requests.map((request) => {
        const id = jobIdOf(request.uniqueKey);
        return { id, name: queue, data: { ...request, id }, retryLimit: 0 };
      }),
      { db },
    );
  }

  private bossDb(client: pg.Pool | pg.PoolClient): PgBoss.Db {
    return { executeSql: (text, values) => client.query(text, values) };
  }

  private async transaction<T>(fn: (tx: Tx) => Promise<T>, pool: pg.Pool = this.pool): Promise<T> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn({ client, db: this.bossDb(client) });
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}

/** Requests of a crawl's queue by state. */
export async function countJobs(pool: Pick<pg.Pool, 'query'>, queue: string): Promise<QueueCounts> {
  const { rows } = await pool.query<{ state: string; n: number }>(
    `SELECT state, count(*)::int AS n FROM ${BOSS_SCHEMA}.job WHERE name = $1 GROUP BY state`,
    [queue],
  );
  return countsOf(rows);
}

/**
 * pg-boss 10's complete() as it runs: it takes an array of ids with output data, a form its
 * typings leave out (they offer ids with options only, which it would read as data).
 */
interface Completing {
  complete(name: string, ids: string | string[], data: object, options: PgBoss.ConnectionOptions): Promise<unknown>;
}

function completing(boss: Completing): Completing {
  return boss;
}

function otherBaseUrl(baseUrl: string): UserError {
  return new UserError(
    `the crawl in this database fetches from ${baseUrl}: start every worker ` +
      `with --base-url ${baseUrl}, or add --fresh once no worker is running`,
  );
}

function otherMaxRpm(maxRpm: number): UserError {
  const rate = Number.isFinite(maxRpm) ? String(maxRpm) : '10000 (no limit)';
  return new UserError(
    `the crawl running in this database runs at ${describeRate(maxRpm)} for all its workers together: ` +
      `start every worker with --max-rpm ${rate}, or add --fresh once no worker is running`,
  );
}

/** A shared crawl's --max-rpm in words. */
export function describeRate(maxRpm: number): string {
  return Number.isFinite(maxRpm) ? `--max-rpm ${maxRpm}` : 'no --max-rpm limit';
}

function crawlOf(row: CrawlRow): SharedCrawl {
  return {
    id: row.id,
    queue: row.queue,
    scope: row.scope,
    baseUrl: row.base_url,
    maxRpm: row.max_rpm ?? undefined,
    startedAt: row.started_at.toISOString(),
    finishedAt: row.finished_at ? row.finished_at.toISOString() : undefined,
  };
}

function byQueue(rows: readonly { queue: string; job_id: string }[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const row of rows) out.set(row.queue, [...(out.get(row.queue) ?? []), row.job_id]);
  return out;
}
