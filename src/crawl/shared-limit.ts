/**
 * The one politeness limit of all the workers of a shared crawl (--queue postgres), kept in
 * PostgreSQL by rate-limiter-flexible's RateLimiterPostgres (table `shared_rate_limits`). Each
 * worker's gate (gate.ts) still spaces its own requests; this adds the crawl-wide rule on top:
 *
 * - --max-rpm: one request per window of 60 s / max-rpm, for all workers together (a window of
 *   one point, so requests are spread evenly, never sent in a burst at the start of a minute):
 *   any minute holds at most max-rpm + 1 starts.
 * - Retry-After: the pause one worker is asked for blocks the key for everyone, so every worker
 *   waits it out. Without --max-rpm a worker reads the key every quarter second instead of
 *   writing it for every request.
 *
 * rate-limiter-flexible times its windows by the clock of the worker writing them: the machines
 * of a shared crawl should keep their clocks in step (NTP), well within one window.
 */
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type pg from 'pg';
import { sleep, type CrawlWideLimit } from './gate.js';

const TABLE = 'shared_rate_limits';
/**
 * Without --max-rpm the key carries only Retry-After pauses: a worker reads it this often, not for
 * every request (a pause reaches the other workers within this long).
 */
const PAUSE_POLL_MS = 250;

export class SharedLimit implements CrawlWideLimit {
  private readonly limiter: RateLimiterPostgres;
  private readonly key: string;
  /** One request of this worker at a time asks PostgreSQL; the others wait here, not in the database. */
  private turn: Promise<void> = Promise.resolve();
  private readonly limited: boolean;
  /** Without --max-rpm: when the key was last read, and the pause it held then. */
  private readAt = 0;
  private pausedUntil = 0;

  /** `crawlId` keys the limit: a crawl starts with a clean slate. `maxRpm` Infinity: pauses only. */
  constructor(pool: pg.Pool, crawlId: number, maxRpm: number) {
    this.limited = Number.isFinite(maxRpm);
    this.limiter = new RateLimiterPostgres({
      storeClient: pool,
      storeType: 'pool',
      tableName: TABLE,
      tableCreated: true,
      clearExpiredByTimeout: false,
      keyPrefix: 'crawl',
      points: 1,
      duration: this.limited ? 60 / maxRpm : 1,
    });
    this.key = String(crawlId);
  }

  /** Waits until the crawl-wide limit lets one more request start (or `stop` aborts). */
  take(stop?: AbortSignal): Promise<void> {
    const mine = this.turn.then(() => (this.limited ? this.consume(stop) : this.waitOutPause(stop)));
    this.turn = mine.catch(() => undefined);
    return mine;
  }

  /** No request of any worker starts for `ms`. */
  async pause(ms: number): Promise<void> {
    await this.limiter.block(this.key, ms / 1000);
  }

  private async waitOutPause(stop?: AbortSignal): Promise<void> {
    while (!stop?.aborted) {
      if (Date.now() - this.readAt >= PAUSE_POLL_MS) {
        const state = await this.limiter.get(this.key);
        this.readAt = Date.now();
        // A blocked key holds more points than the limiter allows (block() sets points + 1).
        this.pausedUntil = state && state.consumedPoints > 1 ? this.readAt + state.msBeforeNext : 0;
      }
      const wait = this.pausedUntil - Date.now();
      if (wait <= 0) return;
      await sleep(wait, stop);
    }
  }

  private async consume(stop?: AbortSignal): Promise<void> {
    while (!stop?.aborted) {
      try {
        await this.limiter.consume(this.key);
        return;
      } catch (rejected) {
        if (!(rejected instanceof RateLimiterRes)) throw rejected;
        await sleep(Math.max(1, rejected.msBeforeNext), stop);
      }
    }
  }
}
