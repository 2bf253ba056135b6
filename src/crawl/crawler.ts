/**
 * Builds the HttpCrawler from the config: one route per label through the shared pipeline, the
 * cache step (fetch-step.ts) deciding before each navigation whether the request is served from
 * the cache, revalidated or fetched, the politeness-gated network client, retries with
 * exponential backoff and jitter, and failure recording. It knows nothing about motorsport beyond
 * the labels.
 */
import { AsyncResource } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { HttpCrawler, createHttpRouter, type HttpCrawlerOptions, type HttpCrawlingContext } from '@crawlee/http';
import {
  NonRetryableError,
  type BaseHttpClient,
  type Configuration,
  type HttpRequest,
  type HttpResponse,
  type RedirectHandler,
  type Request,
  type ResponseTypes,
  type StreamingHttpResponse,
} from '@crawlee/core';
import { LABELS, targetKey } from '../api/endpoints.js';
import { DEFAULTS } from '../config.js';
import { CacheMissError, PayloadError, RequestNotStartedError, RetryableHttpError, describeError } from '../errors.js';
import { backoffDelay } from '../retry.js';
import { routeCrawleeLog } from './crawlee-log.js';
import { CacheStep } from './fetch-step.js';
import { clockOf } from './freshness.js';
import { Reachability } from './reachability.js';
import { RequestLog } from './request-log.js';
import { Gate, type CrawlWideLimit } from './gate.js';
import { NetworkClient, isOutageSign } from './network-client.js';
import { readRequest } from './crawl-request.js';
import { pipeline, stopTheCrawl, stopsTheCrawl, type PipelineContext } from './pipeline.js';
import type { RunBudget } from './run-budget.js';

/** A week: far beyond any wait the gate allows, and below setTimeout's 24.8-day ceiling even doubled. */
const NAVIGATION_SAFETY_NET_SECS = 7 * 24 * 3600;

export interface CrawlerParts extends PipelineContext {
  readonly storageConfig: Configuration;
  /** What this run may still start (--max-requests, Ctrl-C). */
  readonly budget: RunBudget;
  /** --queue postgres: the limit all workers share (shared-limit.ts). */
  readonly crawlWide?: CrawlWideLimit;
}

export function buildCrawler(parts: CrawlerParts): { crawler: HttpCrawler<HttpCrawlingContext>; gate: Gate } {
  const { config, log } = parts;
  routeCrawleeLog(log);

  const gate = new Gate({
    concurrency: config.concurrency,
    maxRpm: config.maxRpm,
    coolDownMs: config.breakerCoolDownMs,
    requestWaitCapMs: config.retryMaxMs,
    log,
    stop: parts.budget.stopSignal,
    crawlWide: parts.crawlWide,
  });
  const network = new NetworkClient({
    gate,
    timeoutMs: config.requestTimeoutSecs * 1000,
    maxBodyBytes: config.maxBodyBytes,
    origin: new URL(config.baseUrl).origin,
    reachability: new Reachability(config.baseUrl),
  });
  const step = new CacheStep({
    cache: parts.cache,
    rules: config,
    now: clockOf(config),
    onDamaged: (label, key, reason) => {
      parts.stats.byLabel[label].cacheDamaged += 1;
      log.warnRepeated(
        'damaged cache records',
        `cached record ${key} is damaged (${reason}): ${config.cache === 'only' ? 'not served' : 'fetching it again'}`,
      );
    },
  });
  const router = createHttpRouter();
  const requestLog = new RequestLog(log);
  for (const label of LABELS) {
    const handle = requestLog.around(label, pipeline(label, parts, step));
    router.addHandler(label, async (crawling) => {
      await handle(crawling);
      parts.stats.retrying.delete(crawling.request.uniqueKey);
    });
  }
  const concurrency = Math.max(DEFAULTS.handlerConcurrency, config.concurrency);

  const crawler = new CrawlRoomCrawler(
    {
      requestQueue: parts.queue,
      requestHandler: router,
      httpClient: new DetachedClient(network),
      maxRequestRetries: config.maxRetries,
      minConcurrency: concurrency,
      maxConcurrency: concurrency,
      // Never the limit that fires: each attempt has its own deadline (--timeout) in the network
      // client, started once the gate lets it through, and the waits at the gate are bounded by
      // the breaker's maxOutageMs and the gate's cap on Retry-After. Crawlee's navigation timeout
      // would count those waits too, and word any got timeout with its own figure.
      navigationTimeoutSecs: NAVIGATION_SAFETY_NET_SECS,
      requestHandlerTimeoutSecs: DEFAULTS.requestHandlerTimeoutSecs,
      useSessionPool: false,
      persistCookiesPerSession: false,
      // The pipeline judges the bytes itself (decode.ts: BOM, invalid UTF-8, a proxy's HTML page
      // retried as "not JSON"): any Content-Type reaches it, and Crawlee never transcodes a body.
      additionalMimeTypes: ['*/*'],
      forceResponseEncoding: 'utf8',
      autoscaledPoolOptions: { maybeRunIntervalSecs: DEFAULTS.poolIntervalSecs, loggingIntervalSecs: null },
      statusMessageLoggingInterval: 3600,
      preNavigationHooks: [
        // A revalidation carries the cached record's validators (the decision was taken before navigation).
        ({ request }, gotOptions) => {
          gotOptions.headers = { ...gotOptions.headers, ...step.validatorsFor(request) };
        },
      ],
      errorHandler: async ({ request }, error) => {
        if (error instanceof RequestNotStartedError) {
          // Never sent: the attempt is given back (Crawlee counts one after this) and it is requeued.
          request.retryCount -= 1;
          requestLog.notStarted(request);
          return;
        }
        const attempt = requestLog.attemptOf(request);
        requestLog.failedAttempt(request.label ?? 'request', request, error);
        parts.stats.retrying.set(request.uniqueKey, describeError(error));
        // A full disk met reading the cache or writing the queue: stop, and keep the request for the resume.
        if (stopsTheCrawl(error)) await stopTheCrawl(parts, error);
        if (error instanceof NonRetryableError || request.noRetry) return;
        if (gate.circuitState !== 'closed' && isOutageSign(error)) {
          // The API is down, not this request (the breaker opens only when most of the recent
          // distinct requests fail): the attempt is given back, so an outage pauses the crawl
          // instead of failing the queue, for up to maxOutageMs (15 min by default). Only what
          // the breaker counts (no answer, a timeout, a 5xx or 429) is given back: a bad body
          // after a 200, or a database error, is this request's own trouble and spends its attempts.
          request.retryCount = Math.max(0, request.retryCount - 1);
          if (gate.outageMs > config.maxOutageMs) {
            parts.onFatal(
              new Error(
                `the API has been failing for ${Math.round(gate.outageMs / 60_000)} min ` +
                  `(${gate.outageReason ?? 'no answer'})`,
              ),
            );
          }
        }
        // Exponential backoff with jitter before Crawlee puts the request back (Crawlee runs the loop);
        // at least what a Retry-After asked of this request, up to the same ceiling (a longer wait is
        // the gate's crawl-wide pause, when several distinct requests are asked).
        const backoff = backoffDelay(request.retryCount, { baseMs: config.retryBaseMs, capMs: config.retryMaxMs });
        const asked =
          error instanceof RetryableHttpError && error.retryAfterMs !== undefined
            ? Math.min(config.retryMaxMs, error.retryAfterMs)
            : 0;
        const delay = Math.max(backoff, asked);
        log.debug(`retrying ${request.url} in ${Math.round(delay)} ms: ${describeError(error)}`, { attempt });
        // Cut short when the crawl stops: the request then goes back to the queue at once.
        await sleep(delay, undefined, { signal: parts.budget.stopSignal }).catch(() => undefined);
      },
      failedRequestHandler: async ({ request }, error) => {
        // Crawlee calls errorHandler for the attempts it retries, and only this for the last one.
        requestLog.failedAttempt(request.label ?? 'request', request, error);
        parts.stats.retrying.delete(request.uniqueKey);
        // A request at its last retry when the API proved unreachable: kept for the next run, not failed.
        if (stopsTheCrawl(error)) await stopTheCrawl(parts, error);
        let read: ReturnType<typeof readRequest>;
        try {
          read = readRequest(request.userData);
        } catch (unreadable) {
          // A request this crawl cannot read (a damaged queue line) has no target to record: it is only reported.
          log.warn(`failed ${request.url}: ${describeError(error)}; ${describeError(unreadable)}`);
          return;
        }
        const { target, meta } = read;
        const { label } = target;
        parts.stats.byLabel[label].failed += 1;
        requestLog.finished(request);
        log.warnRepeated(
          error instanceof CacheMissError ? 'not in the cache' : 'failed requests',
          `failed ${request.url}: ${describeError(error)}`,
          { label, attempts: request.retryCount + 1 },
        );
        await parts.failures.record(targetKey(target), {
          kind: 'request',
          url: request.url,
          label,
          target,
          meta,
          attempts: request.retryCount + 1,
          error: describeError(error),
          problems: error instanceof PayloadError ? error.problems : [],
          at: new Date().toISOString(),
        });
      },
    },
    parts.storageConfig,
    { budget: parts.budget, step, requestLog },
  );
  return { crawler, gate };
}

/**
 * HttpCrawler with the crawl's two seams of its own.
 *
 * The run's budget: a request is taken from the queue only while it allows, at BasicCrawler's own
 * seams: `_fetchNextRequest` (a task takes its request: the budget is charged here, so at most
 * `limit` requests are ever taken), `_isTaskReadyFunction` (the pool starts no task once the budget
 * is spent or the crawl is stopping) and `_defaultIsFinishedFunction` (the pool, idle, ends the run
 * then, though the queue still holds requests). Crawlee's maxRequestsPerCrawl is not used: it
 * counts the statistics persisted in the storage dir, over the dir's whole life.
 *
 * The cache step before navigation (`_runRequestHandler`): the one place where a request learns
 * whether it is served from the cache (navigation skipped), revalidated or fetched. Crawlee runs
 * pre-navigation hooks only for requests it navigates, so the decision is taken here, just before.
 */
interface CrawlerSeams {
  readonly budget: RunBudget;
  readonly step: CacheStep;
  readonly requestLog: RequestLog;
}

class CrawlRoomCrawler extends HttpCrawler<HttpCrawlingContext> {
  constructor(
    options: HttpCrawlerOptions<HttpCrawlingContext>,
    config: Configuration,
    private readonly seams: CrawlerSeams,
  ) {
    super(options, config);
  }

  /**
   * No proxy is used, so no error is a proxy's. Crawlee takes any message naming ECONNREFUSED,
   * ECONNRESET and the like for one and turns the error into a session rotation, with a retry
   * budget of its own (11 attempts) and "Detected a session error" as the failure's reason.
   */
  override isProxyError(): boolean {
    return false;
  }

  protected override async _fetchNextRequest(): Promise<Request | null> {
    if (!this.seams.budget.take()) return null;
    let request: Request | null = null;
    try {
      request = await super._fetchNextRequest();
    } finally {
      if (!request) this.seams.budget.giveBack();
    }
    return request;
  }

  protected override async _isTaskReadyFunction(): Promise<boolean> {
    return this.seams.budget.open && (await super._isTaskReadyFunction());
  }

  protected override async _defaultIsFinishedFunction(): Promise<boolean> {
    return !this.seams.budget.open || (await super._defaultIsFinishedFunction());
  }

  protected override async _runRequestHandler(crawlingContext: HttpCrawlingContext): Promise<void> {
    const { request } = crawlingContext;
    this.seams.requestLog.started(request);
    const prepared = await this.seams.step.prepare(request);
    request.skipNavigation = prepared.action === 'serve';
    await super._runRequestHandler(crawlingContext);
  }
}

/**
 * Runs the HTTP client outside the async context of the request that calls it. Crawlee runs every
 * request inside AsyncLocalStorage contexts (@apify/timeout) whose stores reach, through their
 * closures, the whole crawling context: request, response and body. Whatever the client creates
 * and keeps beyond the request, a promise cached for later requests (the cache's KeyValueStores)
 * or a keep-alive socket, would carry that store and pin one crawling context each for the rest
 * of the crawl. The client reads nothing from those contexts (no tryCancel, no extendTimeout).
 */
export class DetachedClient implements BaseHttpClient {
  /** Runs a function in the async context this client was built in, not the caller's. */
  private readonly detached: <T>(fn: () => T) => T = AsyncResource.bind(<T>(fn: () => T): T => fn());

  constructor(private readonly inner: BaseHttpClient) {}

  stream(request: HttpRequest, onRedirect?: RedirectHandler): Promise<StreamingHttpResponse> {
    return this.detached(() => this.inner.stream(request, onRedirect));
  }

  sendRequest<T extends keyof ResponseTypes = 'text'>(request: HttpRequest<T>): Promise<HttpResponse<T>> {
    return this.detached(() => this.inner.sendRequest(request));
  }
}
