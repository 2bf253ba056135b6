/**
 * Whether the API can be reached at all, judged by the crawl's own first requests. There is no
 * separate request for it: every request a run sends to the API counts against --max-requests,
 * and the crawl's first request serves the purpose as well as any check would. Until the API has
 * answered once in this run (any status: an API that answers with errors is left to retries and
 * the circuit breaker), an attempt that got no answer at all (the name does not resolve, the
 * connection is refused or cannot be made, no headers within --timeout) counts; at the third the
 * crawl stops with one line naming the base URL and the cause, instead of the breaker pausing for
 * minutes on a mistyped --base-url or a machine without network. A run that needs no network (every
 * body fresh in the cache, --cache only) never asks.
 */
import { DEFAULTS } from '../config.js';
import { ApiUnreachableError, errorCode } from '../errors.js';

/** Error codes of a request that reached no server. */
const NO_ANSWER_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ETIMEDOUT',
]);

export class Reachability {
  private answered = false;
  private failures = 0;

  constructor(private readonly baseUrl: string) {}

  /** A response came (headers, any status): from now on failures are the API's, not the way to it. */
  answer(): void {
    this.answered = true;
  }

  /**
   * An attempt failed before any response: `timedOut` when its deadline passed. Throws
   * ApiUnreachableError when this was the last attempt allowed without an answer.
   */
  noAnswer(error: unknown, timedOut: boolean): void {
    if (this.answered) return;
    const code = errorCode(error);
    const reason = timedOut
      ? 'no answer within the timeout'
      : code !== undefined && NO_ANSWER_CODES.has(code)
        ? code
        : undefined;
    if (reason === undefined) return;
    this.failures += 1;
    if (this.failures >= DEFAULTS.reachabilityAttempts) throw new ApiUnreachableError(this.baseUrl, reason);
  }
}
