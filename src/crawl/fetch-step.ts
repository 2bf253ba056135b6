/**
 * The cache as a visible step of the crawl. Before a request is navigated, `prepare` reads its
 * cached record and asks the freshness policy (freshness.ts) once what to do with it:
 *
 * - serve: the crawler skips navigation (Crawlee's `request.skipNavigation`), and the handler
 *   takes the cached body from here;
 * - revalidate: the request goes to the API with If-None-Match / If-Modified-Since; a `304`
 *   means the cached body, whose age then restarts;
 * - fetch: an ordinary request;
 * - fail (--cache only without a usable record): the request fails, without retries.
 *
 * `answer` then tells the pipeline which body the handler got and where from, so cache hits,
 * revalidated bodies and network answers go through one pipeline. What was prepared is kept per
 * Request object (a WeakMap: nothing outlives the request, nothing is persisted in the queue).
 */
import type { Request } from '@crawlee/core';
import type { IncomingHttpHeaders } from 'node:http';
import { targetKey, type Label } from '../api/endpoints.js';
import { CacheDamagedError, CacheMissError } from '../errors.js';
import type { CachedBody, RecordMeta, ResponseCache } from './cache.js';
import { conditionalHeaders, decideFreshness, validatorValue, type FreshnessRules } from './freshness.js';
import { readRequest } from './crawl-request.js';

export type Prepared =
  | { readonly action: 'serve'; readonly rule: number; readonly record: CachedBody }
  | { readonly action: 'revalidate'; readonly rule: number; readonly record: CachedBody }
  | { readonly action: 'fetch'; readonly rule: number };

/** Where the body a handler got came from. */
export type AnswerSource = 'cache' | 'revalidated' | 'network';

export interface Answer {
  readonly source: AnswerSource;
  readonly body: Buffer;
  /** What the cache record is to keep when this answer is (re)written: now, and the validators. */
  readonly record: RecordMeta;
}

export interface CacheStepOptions {
  readonly cache: ResponseCache;
  readonly rules: FreshnessRules;
  readonly now: () => number;
  /** Told of each damaged record met (it is then refetched, or in --cache only failed). */
  readonly onDamaged: (label: Label, key: string, reason: string) => void;
}

export class CacheStep {
  private readonly prepared = new WeakMap<Request, Prepared>();

  constructor(private readonly options: CacheStepOptions) {}

  /** Decides what to do with the request, once per attempt; throws when it must fail. */
  async prepare(request: Request): Promise<Prepared> {
    const { cache, rules, now, onDamaged } = this.options;
    const { target, meta } = readRequest(request.userData);
    const { label } = target;
    const key = targetKey(target);
    // --cache refresh reads nothing: every request is fetched.
    const lookup = rules.cache === 'refresh' ? { state: 'absent' as const } : await cache.get(key);
    if (lookup.state === 'damaged') onDamaged(label, key, lookup.reason);
    const record = lookup.state === 'hit' ? lookup.record : undefined;
    const decision = decideFreshness(rules, { label, uuid: target.uuid, meta, cached: record, now: now() });
    let prepared: Prepared;
    if (decision.action === 'fail') {
      if (lookup.state === 'damaged') throw new CacheDamagedError(key, lookup.reason);
      throw new CacheMissError(key);
    } else if (decision.action === 'fetch' || !record) {
      prepared = { action: 'fetch', rule: decision.rule };
    } else {
      prepared = { action: decision.action, rule: decision.rule, record };
    }
    this.prepared.set(request, prepared);
    return prepared;
  }

  /** The conditional headers to send for the request, when it is being revalidated. */
  validatorsFor(request: Request): Record<string, string> {
    const prepared = this.prepared.get(request);
    return prepared?.action === 'revalidate' ? conditionalHeaders(prepared.record) : {};
  }

  /** The body the handler got for the request: the cached one, or the network's (a 304 meaning the cached one). */
  answer(
    request: Request,
    response: { statusCode?: number; headers: IncomingHttpHeaders } | undefined,
    body: Buffer | string | undefined,
  ): Answer {
    const prepared = this.prepared.get(request);
    const now = this.options.now();
    if (prepared?.action === 'serve') {
      const { fetchedAt, etag, lastModified } = prepared.record;
      return { source: 'cache', body: prepared.record.body, record: { fetchedAt, etag, lastModified } };
    }
    if (prepared?.action === 'revalidate' && response?.statusCode === 304) {
      // A 304 may update the validators; those it leaves out stay as they were.
      const { etag, lastModified } = prepared.record;
      return {
        source: 'revalidated',
        body: prepared.record.body,
        record: {
          fetchedAt: now,
          etag: header(response.headers.etag) ?? etag,
          lastModified: header(response.headers['last-modified']) ?? lastModified,
        },
      };
    }
    if (!response || body === undefined) throw new Error(`no response for ${request.url}`);
    const raw = Buffer.isBuffer(body) ? body : Buffer.from(body);
    return {
      source: 'network',
      body: raw,
      record: {
        fetchedAt: now,
        etag: header(response.headers.etag),
        lastModified: header(response.headers['last-modified']),
      },
    };
  }
}

function header(value: string | string[] | undefined): string | undefined {
  return validatorValue(Array.isArray(value) ? value[0] : value);
}
