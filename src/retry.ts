/**
 * The one retry rule: exponential backoff with jitter. The crawler's requests (whose loop is
 * Crawlee's: only the delay is asked here), the sink's flushes, canary's requests and the
 * reachability check all wait this way.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface Backoff {
  /** The first retry's delay (on average, with jitter); it doubles with each retry after. */
  readonly baseMs: number;
  /** No delay is longer than this, before jitter. Default: none. */
  readonly capMs?: number;
  /**
   * Spread each delay over 0.5–1.5 times itself, so that retries of requests that failed together
   * do not all come back together. Default true.
   */
  readonly jitter?: boolean;
}

/** The delay before retry number `retry` (1 for the first retry): baseMs · 2^(retry−1), capped, with jitter. */
export function backoffDelay(
  retry: number,
  { baseMs, capMs = Infinity, jitter = true }: Backoff,
  random: () => number = Math.random,
): number {
  const delay = Math.min(capMs, baseMs * 2 ** Math.max(0, retry - 1));
  return jitter ? delay * (0.5 + random()) : delay;
}

export interface RetryPolicy extends Backoff {
  /** Retries after the first attempt; 0 runs it once. */
  readonly retries: number;
  /** Whether a failure is worth another attempt; the others are thrown at once. */
  readonly retryable: (error: unknown) => boolean;
  /** Told before each wait, e.g. to log it. */
  readonly onRetry?: (error: unknown, delayMs: number, retry: number) => void;
}

/**
 * Runs `attempt` until it succeeds, a failure is not retryable, or the retries are spent (the last failure is thrown).
 */
export async function withRetries<T>(attempt: (retry: number) => Promise<T>, policy: RetryPolicy): Promise<T> {
  for (let retry = 0; ; retry++) {
    try {
      return await attempt(retry);
    } catch (error) {
      if (retry >= policy.retries || !policy.retryable(error)) throw error;
      const delay = backoffDelay(retry + 1, policy);
      policy.onRetry?.(error, delay, retry + 1);
      await sleep(delay);
    }
  }
}
