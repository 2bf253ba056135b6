/**
 * --verbose: one debug line per request the crawler handles: label, URL path, HTTP status or
 * `cache`, body bytes, milliseconds from the start of the fetch to the body in hand, attempt.
 * A failed attempt has a line of the same shape, with the HTTP status (or `error`) and the reason.
 *
 * Attempts count from 1 and go up by one with every attempt this run makes, retries included. They
 * are counted here rather than read from Crawlee's retryCount, which is 0 while the first attempt's
 * failure is handled, and goes down again when the circuit breaker gives an attempt back.
 */
import type { HttpCrawlingContext } from '@crawlee/http';
import type { Request } from '@crawlee/core';
import { HttpStatusError, RetryableHttpError, describeError } from '../errors.js';
import type { Logger } from '../log.js';

export class RequestLog {
  /** When each request's current attempt started fetching. */
  private readonly startedAt = new WeakMap<Request, number>();
  /** The attempt each unfinished request is at, by unique key (a retry may come as another Request object). */
  private readonly attempts = new Map<string, number>();

  constructor(private readonly log: Logger) {}

  /** Called as each attempt of a request starts, before the cache step. */
  started(request: Request): void {
    if (!this.log.enabled('debug')) return;
    this.startedAt.set(request, Date.now());
    // A request first seen in this run may have spent attempts in an earlier one.
    this.attempts.set(request.uniqueKey, (this.attempts.get(request.uniqueKey) ?? request.retryCount) + 1);
  }

  /** The attempt `request` is at (1 for the first). */
  attemptOf(request: Request): number {
    return this.attempts.get(request.uniqueKey) ?? request.retryCount + 1;
  }

  /** The attempt was never sent (the crawl is stopping): it does not count. */
  notStarted(request: Request): void {
    const attempt = this.attempts.get(request.uniqueKey);
    if (attempt !== undefined) this.attempts.set(request.uniqueKey, attempt - 1);
  }

  /** The request is done, handled or failed for good. */
  finished(request: Request): void {
    this.attempts.delete(request.uniqueKey);
  }

  /** A failed attempt's line: the request's fields, with the error in place of the body. */
  failedAttempt(label: string, request: Request, error: unknown): void {
    if (!this.log.enabled('debug')) return;
    const started = this.startedAt.get(request);
    const status = error instanceof HttpStatusError || error instanceof RetryableHttpError ? error.status : 'error';
    this.log.debug(`${label} ${new URL(request.url).pathname}`, {
      status,
      ms: started === undefined ? undefined : Date.now() - started,
      attempt: this.attemptOf(request),
      error: describeError(error),
    });
  }

  /** The handler, preceded by the request's line. */
  around(
    label: string,
    handler: (context: HttpCrawlingContext) => Promise<void>,
  ): (context: HttpCrawlingContext) => Promise<void> {
    return async (context) => {
      const { request } = context;
      if (this.log.enabled('debug')) {
        const { response, body } = context;
        // A request served from the cache skips navigation: it has no response of its own.
        const started = this.startedAt.get(request);
        this.log.debug(`${label} ${new URL(request.url).pathname}`, {
          status: request.skipNavigation ? 'cache' : response?.statusCode,
          bytes: body === undefined ? undefined : typeof body === 'string' ? Buffer.byteLength(body) : body.length,
          ms: started === undefined ? undefined : Date.now() - started,
          attempt: this.attemptOf(request),
        });
      }
      await handler(context);
      this.finished(request);
    };
  }
}
