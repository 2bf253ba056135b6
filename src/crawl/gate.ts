/**
 * The politeness gate every network request passes (cache hits never do): at most `concurrency`
 * requests in flight, at most `maxRpm` started per minute, a crawl-wide pause when the API asks
 * for one (429/503 with Retry-After from several distinct requests), and a circuit breaker that
 * stops sending when the API as a whole is failing and lets a single probe through after a
 * cool-down.
 *
 * A Retry-After is a crawl-wide pause only when `pauseQuorum` distinct requests were asked to
 * wait within `pauseWindowMs`: one URL answering 429 with `Retry-After: 3600` on every attempt is
 * that request's own trouble (it waits its own retry delay, capped, and spends its attempts),
 * never a stall of the whole crawl. The asks that armed a pause are forgotten, so every pause
 * needs fresh evidence.
 *
 * The breaker judges by distinct requests, not by attempts: it remembers the latest outcome of
 * each of the last `windowSize` request keys (URLs) and opens only when most of them, and at
 * least `failuresToOpen`, failed. One endpoint failing again and again (a trickling body, a
 * proxy page) therefore spends its own retries and never pauses the crawl, nor earns its
 * attempts back.
 */
import { DEFAULTS } from '../config.js';
import { RequestNotStartedError, describeError } from '../errors.js';
import type { Logger } from '../log.js';

export interface GateOptions {
  /** Requests in flight at once. */
  readonly concurrency: number;
  /** Requests started per minute; Infinity for no limit. */
  readonly maxRpm: number;
  /** Distinct requests whose latest outcome the breaker weighs. Default DEFAULTS.breakerWindow. */
  readonly windowSize?: number;
  /**
   * Distinct failing requests needed (besides most of the window)
   * to open the circuit. Default DEFAULTS.breakerFailuresToOpen.
   */
  readonly failuresToOpen?: number;
  /**
   * First cool-down of an open circuit; doubles while probes fail, up to
   * DEFAULTS.breakerMaxCoolDownMs. Default DEFAULTS.breakerCoolDownMs.
   */
  readonly coolDownMs?: number;
  /**
   * Longest crawl-wide pause a Retry-After may impose. Default DEFAULTS.maxPauseMs: a server asking
   * for hours (or a hostile one asking for years) must not stall the crawl; the request's own
   * retries still wait their backoff, and a persisting 429 fails it.
   */
  readonly maxPauseMs?: number;
  /** Distinct requests that must be asked to wait (Retry-After) before the whole crawl pauses. Default 3. */
  readonly pauseQuorum?: number;
  /** How recent those asks must be. Default 60 s. */
  readonly pauseWindowMs?: number;
  /**
   * Longest a request asked alone waits before its retry (the crawler's retry delay cap). Default
   * DEFAULTS.retryMaxMs. Only what the progress line shows.
   */
  readonly requestWaitCapMs?: number;
  readonly log?: Logger;
  /**
   * Aborted when the crawl stops (Ctrl-C): from then on no request passes, and those waiting here
   * (for a slot, the rate limit, an open circuit) give up at once with RequestNotStartedError.
   */
  readonly stop?: AbortSignal;
  /**
   * A shared crawl's crawl-wide limit (shared-limit.ts), waited for once this gate lets a request
   * through: --max-rpm then holds for all workers together, and a Retry-After pause for everyone.
   */
  readonly crawlWide?: CrawlWideLimit;
}

export interface CrawlWideLimit {
  /** Resolves when one more request may start anywhere (or at once when `stop` aborts). */
  take(stop?: AbortSignal): Promise<void>;
  /** No request of any worker starts for `ms`. */
  pause(ms: number): Promise<void>;
}

type Circuit =
  | { state: 'closed' }
  | { state: 'open'; until: number; coolDownMs: number }
  | { state: 'probing'; coolDownMs: number };

export class Gate {
  private inFlight = 0;
  private readonly waiters: (() => void)[] = [];
  private nextStartAt = 0;
  private pausedUntil = 0;
  /** Request key → when the API last asked it to wait, oldest first; cleared when a pause is armed. */
  private readonly asks = new Map<string, number>();
  /** Request key → until when it sleeps out a Retry-After asked of it alone (for the progress line). */
  private readonly waitingAlone = new Map<string, number>();
  /** Request key → whether its latest attempt failed, oldest first. */
  private readonly recent = new Map<string, boolean>();
  private circuit: Circuit = { state: 'closed' };
  private outageSince: number | undefined;
  /** What the latest failure the breaker counted said, for the messages of an outage. */
  private lastFailure: string | undefined;
  /** Why the circuit opened, while an outage lasts. */
  private openedBecause: string | undefined;
  private readonly intervalMs: number;
  private readonly windowSize: number;
  private readonly failuresToOpen: number;
  private readonly baseCoolDownMs: number;
  private readonly maxPauseMs: number;
  private readonly pauseQuorum: number;
  private readonly pauseWindowMs: number;

  constructor(private readonly options: GateOptions) {
    this.intervalMs = Number.isFinite(options.maxRpm) ? 60_000 / options.maxRpm : 0;
    this.windowSize = options.windowSize ?? DEFAULTS.breakerWindow;
    this.failuresToOpen = options.failuresToOpen ?? DEFAULTS.breakerFailuresToOpen;
    this.baseCoolDownMs = options.coolDownMs ?? DEFAULTS.breakerCoolDownMs;
    this.maxPauseMs = options.maxPauseMs ?? DEFAULTS.maxPauseMs;
    this.pauseQuorum = options.pauseQuorum ?? DEFAULTS.pauseQuorum;
    this.pauseWindowMs = options.pauseWindowMs ?? DEFAULTS.pauseWindowMs;
    options.stop?.addEventListener(
      'abort',
      () => {
        for (const wake of this.waiters.splice(0)) wake();
      },
      { once: true },
    );
  }

  /**
   * Runs `fn` once the gate lets a request through; reports its outcome, under `key` (the URL),
   * to the breaker. Time spent waiting here is not part of `fn`'s own deadline.
   */
  async run<T>(key: string, fn: () => Promise<T>, isFailure: (error: unknown) => boolean): Promise<T> {
    const probe = await this.acquire();
    this.waitingAlone.delete(key);
    try {
      const result = await fn();
      this.record(key, false, probe);
      return result;
    } catch (error) {
      const failed = isFailure(error);
      if (failed) this.lastFailure = describeError(error);
      this.record(key, failed, probe);
      throw error;
    } finally {
      this.release();
    }
  }

  /**
   * The API asked the request `key` to wait `ms` (a 429 or 503 with Retry-After; `status` says
   * which). Once `pauseQuorum` distinct requests asked within `pauseWindowMs`, no request starts
   * for `ms` (at most `maxPauseMs`), and one line says until when and why. Before that, only the
   * request asked waits (its retry delay, see crawler.ts).
   */
  askedToWait(key: string, ms: number, status: number): void {
    const now = Date.now();
    for (const [asked, at] of this.asks) {
      if (at >= now - this.pauseWindowMs) break;
      this.asks.delete(asked);
    }
    this.asks.delete(key);
    this.asks.set(key, now);
    if (this.asks.size < this.pauseQuorum) {
      this.waitingAlone.delete(key);
      this.waitingAlone.set(key, now + Math.min(ms, this.options.requestWaitCapMs ?? DEFAULTS.retryMaxMs));
      this.options.log?.debug(
        `HTTP ${status} with Retry-After ${Math.ceil(ms / 1000)} s for ${key}: that request alone waits`,
      );
      return;
    }
    const distinct = this.asks.size;
    this.asks.clear();
    const pause = Math.min(ms, this.maxPauseMs);
    const until = now + pause;
    if (until <= this.pausedUntil) return;
    this.pausedUntil = until;
    const capped = pause < ms ? `, capped from ${Math.ceil(ms / 1000)} s` : '';
    this.options.log?.warn(
      `API asked to slow down (HTTP ${status} with Retry-After for ${distinct} ` +
        `distinct requests within ${Math.round(this.pauseWindowMs / 1000)} s): ` +
        `crawl paused until ${instant(until)} (${Math.ceil(pause / 1000)} s${capped})`,
    );
    // With --queue postgres the pause holds every worker (the shared limit's pause key).
    this.options.crawlWide?.pause(pause).catch((error: unknown) => {
      this.options.log?.warn(`could not pass the pause on to the other workers: ${describeError(error)}`);
    });
  }

  /** Until when no request starts (a Retry-After pause or an open circuit); undefined when none is under way. */
  get pausedUntilMs(): number | undefined {
    const circuit = this.circuit;
    const until = Math.max(this.pausedUntil, circuit.state === 'open' ? circuit.until : 0);
    return until > Date.now() ? until : undefined;
  }

  /**
   * Requests sleeping out a Retry-After asked of them alone (not a crawl-wide pause), and until
   * when the last of them sleeps; undefined when none is.
   */
  get waitingForRetryAfter(): { readonly requests: number; readonly until: number } | undefined {
    const now = Date.now();
    for (const [key, until] of this.waitingAlone) if (until <= now) this.waitingAlone.delete(key);
    if (!this.waitingAlone.size) return undefined;
    return { requests: this.waitingAlone.size, until: Math.max(...this.waitingAlone.values()) };
  }

  get circuitState(): Circuit['state'] {
    return this.circuit.state;
  }

  /**
   * What the outage under way looks like: why the circuit opened and what the latest failure it
   * counted said (`4 of the last 7 distinct requests failed; the latest: HTTP 503`); undefined
   * while closed.
   */
  get outageReason(): string | undefined {
    if (this.outageSince === undefined) return undefined;
    const latest = this.lastFailure === undefined ? '' : `; the latest: ${this.lastFailure}`;
    return `${this.openedBecause ?? 'requests failed'}${latest}`;
  }

  /** How long the circuit has been open or probing without a success; 0 while closed. */
  get outageMs(): number {
    return this.outageSince === undefined ? 0 : Date.now() - this.outageSince;
  }

  /** Waits for a slot and a start time; true when this request is the circuit's probe. */
  private async acquire(): Promise<boolean> {
    const stop = this.options.stop;
    if (this.inFlight >= this.options.concurrency && !stop?.aborted)
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    if (stop?.aborted) throw new RequestNotStartedError();
    this.inFlight += 1;
    let probe = false;
    for (;;) {
      const now = Date.now();
      const circuit = this.circuit;
      if (circuit.state === 'open' && now >= circuit.until) {
        // One probe goes out; everyone else waits for its answer.
        this.circuit = { state: 'probing', coolDownMs: circuit.coolDownMs };
        this.options.log?.info('circuit half-open: sending one probe request');
        probe = true;
        break;
      }
      const waitUntil = Math.max(this.pausedUntil, this.nextStartAt, circuit.state === 'open' ? circuit.until : 0);
      if (circuit.state === 'closed' && waitUntil <= now) break;
      await sleep(circuit.state === 'probing' ? DEFAULTS.breakerProbePollMs : Math.max(1, waitUntil - now), stop);
      if (stop?.aborted) {
        this.release();
        throw new RequestNotStartedError();
      }
    }
    if (this.options.crawlWide) {
      try {
        await this.options.crawlWide.take(stop);
      } catch (error) {
        this.release();
        throw error;
      }
      if (stop?.aborted) {
        this.release();
        throw new RequestNotStartedError();
      }
    }
    this.nextStartAt = Math.max(Date.now(), this.nextStartAt) + this.intervalMs;
    return probe;
  }

  private release(): void {
    this.inFlight -= 1;
    this.waiters.shift()?.();
  }

  private record(key: string, failed: boolean, probe: boolean): void {
    this.recent.delete(key);
    this.recent.set(key, failed);
    if (this.recent.size > this.windowSize) this.recent.delete(this.recent.keys().next().value!);
    const circuit = this.circuit;
    if (!failed) {
      if (circuit.state !== 'closed') {
        this.options.log?.info('circuit closed: the API answers again');
        this.circuit = { state: 'closed' };
        this.outageSince = undefined;
        this.openedBecause = undefined;
        // The failures that opened it are history: judge afresh from here.
        this.recent.clear();
      }
      return;
    }
    // Only the probe's own answer decides a half-open circuit, not a straggler sent before it opened.
    if (circuit.state === 'probing' && probe) {
      this.open(Math.min(DEFAULTS.breakerMaxCoolDownMs, circuit.coolDownMs * 2), 'the probe failed');
    } else if (circuit.state === 'closed') {
      const failing = [...this.recent.values()].filter(Boolean).length;
      if (failing >= this.failuresToOpen && failing * 2 > this.recent.size) {
        this.open(this.baseCoolDownMs, `${failing} of the last ${this.recent.size} distinct requests failed`);
      }
    }
  }

  private open(coolDownMs: number, why: string): void {
    if (this.outageSince === undefined) this.openedBecause = why;
    this.outageSince ??= Date.now();
    const until = Date.now() + coolDownMs;
    this.circuit = { state: 'open', until, coolDownMs };
    this.options.log?.warn(
      `circuit open (${why}${this.lastFailure === undefined ? '' : `; the latest: ${this.lastFailure}`}): ` +
        `crawl paused until ${instant(until)} ` +
        `(${Math.round(coolDownMs / 1000)} s), then one probe request`,
    );
  }
}

/** `2026-12-01T10:20:30Z`: an instant in messages, to the second. */
export function instant(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Resolves after `ms`, or as soon as `stop` aborts. Built on the global setTimeout rather than
 * node:timers/promises so that the gate's unit tests can drive it with fake timers.
 */
export function sleep(ms: number, stop?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (stop?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      stop?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    stop?.addEventListener('abort', done, { once: true });
  });
}
