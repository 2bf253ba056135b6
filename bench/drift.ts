/**
 * Drift over a long crawl: the request rate over the last tenth of its requests against the rate
 * over the first tenth, from the times the requests arrived (the replica's log of GETs). Tenths
 * are counted in requests, not in seconds, so a crawl that slows down gets a longer last tenth
 * rather than fewer requests in it.
 */

export interface TenthRates {
  /** Requests in each tenth (the same for both). */
  readonly requests: number;
  /** Requests per second over the first tenth: from the first arrival to the (requests+1)-th. */
  readonly firstPerSec: number;
  /** Requests per second over the last tenth: from the (requests+1)-th from the end to the last. */
  readonly lastPerSec: number;
  /** lastPerSec ÷ firstPerSec: 1 is no drift, below 1 the crawl got slower. */
  readonly ratio: number;
}

/**
 * `times`: arrival times in ms, in arrival order (not checked: a log appends them so). A tenth of
 * n times holds floor(n / 10) intervals; fewer than 20 times give no figure (undefined).
 */
export function tenthRates(times: readonly number[]): TenthRates | undefined {
  const n = times.length;
  const k = Math.floor(n / 10);
  if (k < 2) return undefined;
  const rate = (from: number, to: number) => {
    const seconds = (times[to]! - times[from]!) / 1000;
    // Every request of the tenth in the same millisecond: no measurable duration.
    return seconds > 0 ? k / seconds : Number.POSITIVE_INFINITY;
  };
  const firstPerSec = rate(0, k);
  const lastPerSec = rate(n - 1 - k, n - 1);
  return { requests: k, firstPerSec, lastPerSec, ratio: lastPerSec / firstPerSec };
}
