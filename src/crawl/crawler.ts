/**
 * Builds the HttpCrawler from the config: one route per label through the shared pipeline, the
 * cache step (fetch-step.ts) deciding before each navigation whether the request is served from
 * the cache, revalidated or fetched, the politeness-gated network client, retries with
 * exponential backoff and jitter, and failure recording. It knows nothing about motorsport beyond
 * the labels.
 */
import { AsyncResource } from 'node:async_hooks';
import { HttpCrawler, createHttpRouter, type HttpCrawlingContext } from '@crawlee/http';
import {
  NonRetryableError, log as crawleeLog, LogLevel, type Request,
  type BaseHttpClient, type Configuration, type HttpRequest, type HttpResponse, type RedirectHandler, type ResponseTypes, type StreamingHttpResponse,
} from '@crawlee/core';
import { LABELS, targetKey, type Label } from '../api/endpoints.js';
import type { CrawlConfig } from '../config.js';
import { PayloadError, describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { CacheStep } from './fetch-step.js';
import { clockOf } from './freshness.js';
import { Gate } from './gate.js';
import { NetworkClient } from './network-client.js';
import { pipeline, targetOf, type PipelineContext } from './pipeline.js';
import type { RequestData } from './queue.js';

/** Handlers running at once. Network requests are further limited by --concurrency at the gate. */
const HANDLER_CONCURRENCY = 48;

export interface CrawlerParts extends PipelineContext {
  readonly storageConfig: Configuration;
}

export function buildCrawler(parts: CrawlerParts): { crawler: HttpCrawler<HttpCrawlingContext>; gate: Gate } {
  const { config, log } = parts;
  crawleeLog.setLevel(log.enabled('debug') ? LogLevel.WARNING : LogLevel.OFF);

  const gate = new Gate({ concurrency: config.concurrency, maxRpm: config.maxRpm, coolDownMs: config.breakerCoolDownMs, log });
  const network = new NetworkClient({ gate, timeoutMs: config.requestTimeoutSecs * 1000, maxBodyBytes: config.maxBodyBytes });
  const step = new CacheStep({
    cache: parts.cache,
    rules: config,
    now: clockOf(config),
    onDamaged: (label, key, reason) => {
      parts.stats.byLabel[label].cacheDamaged += 1;
      log.warn(`cached record ${key} is damaged (${reason}): ${config.cache === 'only' ? 'not served' : 'fetching it again'}`);
    },
  });
  const router = createHttpRouter();
  for (const label of LABELS) router.addHandler(label, pipeline(label, parts, step));
  const concurrency = Math.max(HANDLER_CONCURRENCY, config.concurrency);

  const crawler = new CacheStepCrawler(
    step,
    {
      requestQueue: parts.queue,
      requestHandler: router,
      httpClient: new DetachedClient(network),
      maxRequestRetries: config.maxRetries,
      maxRequestsPerCrawl: config.maxRequests,
      minConcurrency: concurrency,
      maxConcurrency: concurrency,
      // Waiting at the gate (rate limit, Retry-After, open circuit) counts against this; the
      // request's own timeout is set by the network client.
      navigationTimeoutSecs: 900,
      requestHandlerTimeoutSecs: 900,
      useSessionPool: false,
      persistCookiesPerSession: false,
      additionalMimeTypes: ['application/json'],
      autoscaledPoolOptions: { maybeRunIntervalSecs: 0.02, loggingIntervalSecs: null },
      statusMessageLoggingInterval: 3600,
      preNavigationHooks: [
        // A revalidation carries the cached record's validators (the decision was taken before navigation).
        ({ request }, gotOptions) => {
          gotOptions.headers = { ...gotOptions.headers, ...step.validatorsFor(request) };
        },
      ],
      errorHandler: async ({ request }, error) => {
        if (error instanceof NonRetryableError || request.noRetry) return;
        if (gate.circuitState !== 'closed') {
          // The API is down, not this request: the attempt is given back, so an outage pauses the
          // crawl instead of failing the queue, for up to maxOutageMs (15 min by default).
          request.retryCount = Math.max(0, request.retryCount - 1);
          if (gate.outageMs > config.maxOutageMs) {
            parts.onFatal(new Error(`the API has not answered for ${Math.round(gate.outageMs / 60_000)} min`));
          }
        }
        // Exponential backoff with jitter before Crawlee puts the request back.
        const delay = Math.min(30_000, config.retryBaseMs * 2 ** Math.max(0, request.retryCount - 1)) * (0.5 + Math.random());
        log.debug(`retrying ${request.url} in ${Math.round(delay)} ms: ${describeError(error)}`, { attempt: request.retryCount });
        await new Promise((resolve) => setTimeout(resolve, delay));
      },
      failedRequestHandler: async ({ request }, error) => {
        const label = request.label as Label;
        const data = request.userData as RequestData;
        parts.stats.byLabel[label].failed += 1;
        log.warn(`failed ${request.url}: ${describeError(error)}`, { label, attempts: request.retryCount + 1 });
        await parts.failures.record(targetKey(targetOf(label, data)), {
          kind: 'request', url: request.url, label, target: targetOf(label, data),
          meta: data.endsAt === undefined ? { historic: data.historic } : { historic: data.historic, endsAt: data.endsAt },
          attempts: request.retryCount + 1, error: describeError(error),
          problems: error instanceof PayloadError ? error.problems : [], at: new Date().toISOString(),
        });
      },
    },
    parts.storageConfig,
  );
  return { crawler, gate };
}

/**
 * HttpCrawler with the cache step before navigation: the one place where a request learns whether
 * it is served from the cache (navigation skipped), revalidated or fetched. Crawlee runs pre-
 * navigation hooks only for requests it navigates, so the decision is taken here, just before.
 */
class CacheStepCrawler extends HttpCrawler<HttpCrawlingContext> {
  constructor(
    private readonly step: CacheStep,
    ...args: ConstructorParameters<typeof HttpCrawler<HttpCrawlingContext>>
  ) {
    super(...args);
  }

  protected override async _runRequestHandler(crawlingContext: HttpCrawlingContext): Promise<void> {
    const { request } = crawlingContext;
    const prepared = await this.step.prepare(request.label as Label, request as Request<RequestData>);
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
