/**
 * The politeness gate every network request passes (cache hits never do): at most `concurrency`
 * requests in flight, at most `maxRpm` started per minute, a crawl-wide pause when the API asks
 * for one (429/503 with Retry-After), and a circuit breaker that stops sending after a run of
 * consecutive failures and lets a single probe through after a cool-down.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { RequestNotStartedError } from '../errors.js';
import type { Logger } from '../log.js';

export interface GateOptions {
  /** Requests in flight at once. */
  readonly concurrency: number;
  /** Requests started per minute; Infinity for no limit. */
  readonly maxRpm: number;
  /** Consecutive failures that open the circuit. Default 4 (below the retries a request gets). */
  readonly failuresToOpen?: number;
  /** First cool-down of an open circuit; doubles while probes fail, up to 60 s. Default 5 s. */
  readonly coolDownMs?: number;
  readonly log?: Logger;
  /**
   * Aborted when the crawl stops (Ctrl-C): from then on no request passes, and those waiting here
   * (for a slot, the rate limit, an open circuit) give up at once with RequestNotStartedError.
   */
  readonly stop?: AbortSignal;
}

type Circuit = { state: 'closed' } | { state: 'open'; until: number; coolDownMs: number } | { state: 'probing'; coolDownMs: number };

export class Gate {
  private inFlight = 0;
  private readonly waiters: (() => void)[] = [];
  private nextStartAt = 0;
  private pausedUntil = 0;
  private consecutiveFailures = 0;
  private circuit: Circuit = { state: 'closed' };
  private outageSince: number | undefined;
  private readonly intervalMs: number;
  private readonly failuresToOpen: number;
  private readonly baseCoolDownMs: number;

  constructor(private readonly options: GateOptions) {
    this.intervalMs = Number.isFinite(options.maxRpm) ? 60_000 / options.maxRpm : 0;
    this.failuresToOpen = options.failuresToOpen ?? 4;
    this.baseCoolDownMs = options.coolDownMs ?? 5_000;
    options.stop?.addEventListener('abort', () => {
      for (const wake of this.waiters.splice(0)) wake();
    }, { once: true });
  }

  /** Runs `fn` once the gate lets a request through; reports its outcome to the breaker. */
  async run<T>(fn: () => Promise<T>, isFailure: (error: unknown) => boolean): Promise<T> {
    await this.acquire();
    try {
      const result = await fn();
      this.succeeded();
      return result;
    } catch (error) {
      if (isFailure(error)) this.failed();
      else this.succeeded();
      throw error;
    } finally {
      this.release();
    }
  }

  /** The API asked everyone to wait (Retry-After): no request starts before then. */
  pauseFor(ms: number): void {
    const until = Date.now() + ms;
    if (until > this.pausedUntil) {
      this.pausedUntil = until;
      this.options.log?.warn(`API asked to slow down: pausing all requests for ${Math.ceil(ms / 1000)} s`);
    }
  }

  get circuitState(): Circuit['state'] {
    return this.circuit.state;
  }

  /** How long the circuit has been open or probing without a success; 0 while closed. */
  get outageMs(): number {
    return this.outageSince === undefined ? 0 : Date.now() - this.outageSince;
  }

  private async acquire(): Promise<void> {
    const stop = this.options.stop;
    if (this.inFlight >= this.options.concurrency && !stop?.aborted) await new Promise<void>((resolve) => this.waiters.push(resolve));
    if (stop?.aborted) throw new RequestNotStartedError();
    this.inFlight += 1;
    for (;;) {
      const now = Date.now();
      const circuit = this.circuit;
      if (circuit.state === 'open' && now >= circuit.until) {
        // One probe goes out; everyone else waits for its answer.
        this.circuit = { state: 'probing', coolDownMs: circuit.coolDownMs };
        this.options.log?.info('circuit half-open: sending one probe request');
        break;
      }
      const waitUntil = Math.max(this.pausedUntil, this.nextStartAt, circuit.state === 'open' ? circuit.until : 0);
      if (circuit.state !== 'probing' && waitUntil <= now) break;
      await sleep(circuit.state === 'probing' ? 100 : Math.max(1, waitUntil - now), stop);
      if (stop?.aborted) {
        this.release();
        throw new RequestNotStartedError();
      }
    }
    this.nextStartAt = Math.max(Date.now(), this.nextStartAt) + this.intervalMs;
  }

  private release(): void {
    this.inFlight -= 1;
    this.waiters.shift()?.();
  }

  private succeeded(): void {
    this.consecutiveFailures = 0;
    if (this.circuit.state !== 'closed') {
      this.options.log?.info('circuit closed: the API answers again');
      this.circuit = { state: 'closed' };
      this.outageSince = undefined;
    }
  }

  private failed(): void {
    this.consecutiveFailures += 1;
    const circuit = this.circuit;
    if (circuit.state === 'probing') {
      this.open(Math.min(60_000, circuit.coolDownMs * 2));
    } else if (circuit.state === 'closed' && this.consecutiveFailures >= this.failuresToOpen) {
      this.open(this.baseCoolDownMs);
    }
  }

  private open(coolDownMs: number): void {
    this.outageSince ??= Date.now();
    this.circuit = { state: 'open', until: Date.now() + coolDownMs, coolDownMs };
    this.options.log?.warn(`circuit open after ${this.consecutiveFailures} consecutive failures: pausing ${Math.round(coolDownMs / 1000)} s before a probe`);
  }
}

/** Resolves after `ms`, or as soon as `stop` aborts. */
function sleep(ms: number, stop?: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal: stop }).catch(() => undefined);
}
