/**
 * The crawler's error vocabulary. Each class says how the error ends: a user's mistake ends the
 * command with one line and exit 1; a payload error fails one request without retries; a database
 * outage stops the crawl so the queue is not burnt through.
 */
import { NonRetryableError } from '@crawlee/core';

/** A mistake in what the user asked for (flags, env vars, paths): one line, exit 1, no stack. */
export class UserError extends Error {
  override name = 'UserError';
}

/** The database cannot be reached or went away: stop the crawl, keep the queue for a resume. */
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** One problem found in a payload, with the JSON pointer of where it is. */
export interface PayloadProblem {
  readonly instancePath: string;
  readonly message: string;
}

/**
 * A response body that must not be stored: malformed JSON, invalid UTF-8, too large, or failing its
 * schema. Retrying would fetch the same bytes, so Crawlee is told not to retry.
 */
export class PayloadError extends NonRetryableError {
  override name = 'PayloadError';
  constructor(
    readonly reason: string,
    readonly problems: readonly PayloadProblem[] = [],
  ) {
    super(problems.length ? `${reason}: ${problems.map(formatProblem).join('; ')}` : reason);
  }
}

/** An HTTP answer other than 200 that will not change by asking again (404, 400, …). */
export class HttpStatusError extends NonRetryableError {
  override name = 'HttpStatusError';
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

/** An HTTP answer worth asking again (5xx, 429): Crawlee retries it with backoff. */
export class RetryableHttpError extends Error {
  override name = 'RetryableHttpError';
  constructor(readonly status: number, readonly retryAfterMs: number | undefined) {
    super(`HTTP ${status}${retryAfterMs !== undefined ? ` (Retry-After ${Math.round(retryAfterMs / 1000)} s)` : ''}`);
  }
}

/** `--cache only` asked for a body the cache does not hold. */
export class CacheMissError extends NonRetryableError {
  override name = 'CacheMissError';
  constructor(key: string) {
    super(`not in the cache (${key})`);
  }
}

/** A cached record that fails its check (cut short, or its bytes no longer match its hash). */
export class CacheDamagedError extends NonRetryableError {
  override name = 'CacheDamagedError';
  constructor(key: string, reason: string) {
    super(`cached record corrupt (${key}): ${reason}`);
  }
}

export function formatProblem(problem: PayloadProblem): string {
  return `${problem.instancePath || '/'} ${problem.message}`;
}

/** The one-line description of any thrown value, for logs and failure records. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0] ?? error.name;
  return String(error);
}
