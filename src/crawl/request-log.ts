/**
 * --verbose: one debug line per request the crawler handles: label, URL path, HTTP status or
 * `cache`, body bytes, milliseconds from the start of the fetch to the body in hand, attempt.
 * (A failed attempt has its own line: the crawler's `retrying …` or `failed …`.)
 */
import type { HttpCrawlingContext } from '@crawlee/http';
import type { Request } from '@crawlee/core';
import type { Logger } from '../log.js';

export class RequestLog {
  /** When each request's current attempt started fetching. */
  private readonly startedAt = new WeakMap<Request, number>();

  constructor(private readonly log: Logger) {}

  /** Called as the request's handling starts, before the cache step. */
  started(request: Request): void {
    if (this.log.enabled('debug')) this.startedAt.set(request, Date.now());
  }

  /** The handler, preceded by the request's line. */
  around(label: string, handler: (context: HttpCrawlingContext) => Promise<void>): (context: HttpCrawlingContext) => Promise<void> {
    return async (context) => {
      if (this.log.enabled('debug')) {
        const { request, response, body } = context;
        // A request served from the cache skips navigation: it has no response of its own.
        const started = this.startedAt.get(request);
        this.log.debug(`${label} ${new URL(request.url).pathname}`, {
          status: request.skipNavigation ? 'cache' : response?.statusCode,
          bytes: body === undefined ? undefined : typeof body === 'string' ? Buffer.byteLength(body) : body.length,
          ms: started === undefined ? undefined : Date.now() - started,
          attempt: request.retryCount + 1,
        });
      }
      return handler(context);
    };
  }
}
