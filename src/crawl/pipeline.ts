/**
 * What happens to one response, the same for every endpoint and for cache hits, revalidated
 * bodies (a 304) and network answers alike (fetch-step.ts says which it is): decode → validate →
 * route → sink (await the commit) → cache the body → enqueue the children. Only then does Crawlee mark the
 * request handled, so "handled" in the queue always means "stored" in the database. A body whose rows are
 * already stored (the same bytes applied before, see applied-payloads.ts) skips validation and the sink.
 */
import type { HttpCrawlingContext } from '@crawlee/http';
import type { RequestQueue } from '@crawlee/core';
import { ENDPOINTS, LEAF_LABELS, targetKey, type Label } from '../api/endpoints.js';
import { checkNamedParent, validatePayload, type QuarantinedItem } from '../api/validate.js';
import type { CrawlConfig } from '../config.js';
import {
  ApiUnreachableError,
  DatabaseUnavailableError,
  PayloadError,
  ResourceError,
  UnparseableBodyError,
  UserError,
  asResourceError,
} from '../errors.js';
import type { Logger } from '../log.js';
import type { QuarantineItem } from '../store/quarantine.js';
import type { Sink } from '../store/sink.js';
import type { AppliedPayloads } from './applied-payloads.js';
import type { ResponseCache } from './cache.js';
import { decodeBody, repairedItems } from './decode.js';
import type { FailureLog } from './failures.js';
import type { Answer, CacheStep } from './fetch-step.js';
import { readRequest, toRequest } from './crawl-request.js';
import type { ChildRequest, Route, RouteResult } from './routes/types.js';
import type { CrawlStats, LabelCounts } from './stats.js';

export interface PipelineContext {
  readonly config: CrawlConfig;
  readonly sink: Sink;
  readonly applied: AppliedPayloads;
  readonly cache: ResponseCache;
  readonly queue: RequestQueue;
  readonly failures: FailureLog;
  readonly stats: CrawlStats;
  readonly log: Logger;
  /** Called when the crawl cannot go on (the database went away, the disk is full). */
  readonly onFatal: (error: Error) => void;
}

/** Errors that stop the whole crawl rather than fail one request: the database, the disk or the API is gone. */
export function stopsTheCrawl(error: unknown): error is DatabaseUnavailableError | ResourceError | ApiUnreachableError {
  return (
    error instanceof DatabaseUnavailableError || error instanceof ResourceError || error instanceof ApiUnreachableError
  );
}

/**
 * Stops the crawl on `error` and never returns: the request stays in flight, neither retried nor
 * recorded as failed, and the resume redoes it.
 */
export async function stopTheCrawl(ctx: Pick<PipelineContext, 'onFatal'>, error: Error): Promise<never> {
  ctx.onFatal(error);
  return new Promise<never>(() => undefined);
}

export function pipeline(
  label: Label,
  ctx: PipelineContext,
  step: CacheStep,
): (crawling: HttpCrawlingContext) => Promise<void> {
  const handle = handler(label, ctx, step);
  return async (crawling) => {
    try {
      await handle(crawling);
    } catch (error) {
      if (stopsTheCrawl(error)) await stopTheCrawl(ctx, error);
      // A disk's refusal met elsewhere in the storage dir (the failure records) stops the crawl too.
      const resource = asResourceError(error, ctx.config.storageDir);
      if (resource) await stopTheCrawl(ctx, resource);
      throw error;
    }
  };
}

function handler(
  label: Label,
  ctx: PipelineContext,
  step: CacheStep,
): (crawling: HttpCrawlingContext) => Promise<void> {
  // why: ENDPOINTS[label] is a union over the labels; TypeScript cannot correlate its route with `label`.
  const route = ENDPOINTS[label].route as Route<Label>;
  return async (crawling) => {
    const { request } = crawling;
    const { target, meta } = readRequest(request.userData);
    const key = targetKey(target);
    // With navigation skipped (served from the cache) the context has no response and no body.
    // why: Crawlee types both as always present; with skipNavigation they are undefined.
    const answer = step.answer(
      request,
      crawling.response as HttpCrawlingContext['response'] | undefined,
      crawling.body as HttpCrawlingContext['body'] | undefined,
    );
    const raw = answer.body;
    const fromCache = answer.source !== 'network';
    const counts = ctx.stats.byLabel[label];
    const fingerprint = ctx.applied.fingerprint(raw);

    if (ctx.applied.take(key, fingerprint)) {
      // The very bytes whose rows are stored: they passed validation before, and map to the same
      // rows. Only the children are wanted.
      const { children, warnings } = LEAF_LABELS.has(label)
        ? { children: [], warnings: [] }
        : await routeOrStop(ctx, () =>
            // why: these bytes passed validation when first applied (the fingerprint says so).
            route({ payload: decodeBody(raw).value as never, parentUuid: target.uuid, meta, scope: ctx.config.scope }),
          );
      await recache(ctx, key, request.url, answer);
      await enqueue(ctx, label, children);
      for (const warning of warnings ?? []) ctx.log.warn(warning);
      counts.succeeded += 1;
      counts.alreadyStored += 1;
      countSource(counts, answer);
      return;
    }

    let validated: ReturnType<typeof validatePayload<typeof label>>;
    let repaired: readonly string[];
    try {
      const decoded = decodeBody(raw);
      repaired = decoded.repaired;
      validated = validatePayload(label, decoded.value);
      // A body about another parent (a redirect, a mix-up upstream) is refused like a schema mismatch.
      checkNamedParent(label, validated.payload, target.uuid);
    } catch (error) {
      const unusable = error instanceof PayloadError || error instanceof UnparseableBodyError;
      // A cached body that no longer passes (corrupted on disk, or the schemas changed) is
      // forgotten, and the request is retried from the network.
      if (fromCache && unusable && ctx.config.cache !== 'only') {
        await ctx.cache.delete(key);
        throw new Error(`cached body unusable (${error.message}): refetching`);
      }
      // With --cache only, asking again would read the same bytes.
      if (fromCache && error instanceof UnparseableBodyError) throw new PayloadError(`cached ${error.message}`);
      throw error;
    }
    const { payload, quarantined } = validated;
    const result = await routeOrStop(ctx, () =>
      route({ payload, parentUuid: target.uuid, meta, scope: ctx.config.scope }),
    );
    // A payload with quarantined items is not the whole truth: nothing is soft-deleted on its word,
    // and it is not recorded as applied, so it is checked (and its problems reported) again.
    const whole = !quarantined.length;
    // Repaired bytes are stored (U+FFFD in place), but the body is not recorded as applied, so
    // the repair (like a quarantine) is reported again whenever the body is processed again.
    const clean = whole && !repaired.length;
    await ctx.sink.write({
      rows: result.rows,
      complete: whole ? result.complete : [],
      applied: clean ? { key, fingerprint } : undefined,
      // Replaces the target's quarantine rows with this payload's (none when whole), in the rows' transaction.
      quarantine: { key, label, parentUuid: target.uuid, url: request.url, items: quarantined.map(toQuarantineItem) },
    });
    // Cached as served, repaired or partial alike: it is what the API answers, what its rows came
    // from, and a read of the cache goes through this same processing again (repairs reported,
    // items quarantined). Only a body that could not be used at all (thrown above) is never cached.
    await recache(ctx, key, request.url, answer);
    await enqueue(ctx, label, result.children);

    for (const item of quarantined) {
      ctx.log.warnRepeated(
        'items quarantined',
        `quarantined ${item.pointer}${item.id ? ` (${item.id})` : ''} ` +
          `of ${request.url}: ${toQuarantineItem(item).reason}`,
      );
      await ctx.failures.record(`quarantine-${key}${item.pointer.replaceAll('/', '-')}`, {
        kind: 'quarantine',
        url: request.url,
        label,
        pointer: item.pointer,
        id: item.id,
        problems: item.problems,
        at: new Date().toISOString(),
      });
    }
    const repairs = repairedItems(repaired, ENDPOINTS[label].itemLists);
    for (const [item, strings] of repairs) {
      ctx.log.warn(
        `repaired invalid UTF-8 in ${item || 'the payload'} of ` +
          `${request.url}: U+FFFD in place of bad bytes at ${strings.join(', ')}`,
      );
    }
    for (const warning of result.warnings ?? []) ctx.log.warn(warning);
    counts.succeeded += 1;
    counts.quarantined += quarantined.length;
    counts.repaired += repairs.size;
    countSource(counts, answer);
  };
}

/**
 * A route that finds the user asked for what is not there (a --series matching no series) stops
 * the crawl: nothing of this payload is stored, the request stays unhandled, nothing more starts.
 */
async function routeOrStop(ctx: PipelineContext, run: () => RouteResult): Promise<RouteResult> {
  try {
    return run();
  } catch (error) {
    if (error instanceof UserError) await stopTheCrawl(ctx, error);
    throw error;
  }
}

function toQuarantineItem(item: QuarantinedItem): QuarantineItem {
  return {
    pointer: item.pointer,
    itemId: item.id,
    reason: item.problems.map((p) => `${p.instancePath} ${p.message}`).join('; '),
  };
}

/**
 * A network body is cached with its validators; a revalidated one is rewritten (its age restarts); a cache hit stays.
 */
async function recache(ctx: PipelineContext, key: string, url: string, answer: Answer): Promise<void> {
  if (answer.source !== 'cache') await ctx.cache.put(key, url, answer.body, answer.record);
}

function countSource(counts: LabelCounts, answer: Answer): void {
  if (answer.source === 'cache') counts.cacheHits += 1;
  if (answer.source === 'revalidated') counts.revalidated += 1;
}

/**
 * A payload's children go to the forefront of the queue: the crawl walks the tree depth first, so
 * what waits in the queue is one frontier (about the concurrency times a list's fan-out), not a
 * whole level of the tree (at live size ~10⁵ classification requests, most of the crawl's memory).
 * Added last first, so they are handed out in the order the payload lists them.
 */
async function enqueue(ctx: PipelineContext, label: Label, children: readonly ChildRequest[]): Promise<void> {
  ctx.stats.childrenNamed[label] += children.length;
  if (!children.length) return;
  const requests = children.map((child) => toRequest(ctx.config.baseUrl, child.target, child.meta));
  await ctx.queue.addRequests(requests.reverse(), { forefront: true });
}
