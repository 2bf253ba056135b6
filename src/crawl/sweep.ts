/**
 * Two sweeps over what a crawl's queue should hold.
 *
 * sweepLost, run when a crawl's queue has drained: every request named by a payload this crawl
 * handled must be in the queue. It walks what the queue handled from the series list down,
 * reading each handled list's body back from the cache (the body the crawl applied, of this
 * origin) and asking its route for the requests it names within the scope. One the queue has
 * never seen was lost (its journal line cut short by a kill, see queue-journal.ts): it is added
 * back and the crawl goes on. Normally it finds nothing. Nothing else counts as lost: a request
 * whose parent failed is not (the parent is listed among the failures), nor one that rows of
 * another origin or of an older crawl imply in the database.
 *
 * sweepQueue, run when an unfinished crawl meets another database (queue.ts): the requests the
 * database's live rows imply within the scope are added, since those rows are all the new queue
 * can go by.
 */
import { getRequestId, type RequestQueue } from '@crawlee/core';
import { targetKey, type Label } from '../api/endpoints.js';
import { validatePayload } from '../api/validate.js';
import type { CrawlConfig, CrawlScope } from '../config.js';
import type { Db } from '../store/db.js';
import type { ResponseCache } from './cache.js';
import { decodeBody } from './decode.js';
import type { FailureLog } from './failures.js';
import { toRequest } from './queue.js';
import { sessionEnd } from './routes/calendar.js';
import { LEAF_LABELS, ROUTES } from './routes/index.js';
import type { ChildRequest, Route } from './routes/types.js';

/** The requests implied by the live rows within the scope, in tree order. */
export async function impliedRequests(db: Db, scope: CrawlScope): Promise<ChildRequest[]> {
  const wanted = scope.series.map((s) => s.toLowerCase());
  const series = await db('series')
    .whereNull('deleted_at')
    .modify((q) => {
      if (wanted.length) {
        q.where((w) => w.whereRaw('lower(uuid::text) = ANY(?)', [wanted]).orWhereRaw('lower(short_code) = ANY(?)', [wanted]).orWhereRaw('lower(name) = ANY(?)', [wanted]));
      }
    })
    .select<{ uuid: string }[]>('uuid');
  const seasons = await db('seasons')
    .whereNull('deleted_at')
    .whereIn('series_uuid', series.map((s) => s.uuid))
    .modify((q) => {
      if (scope.fromYear !== undefined) q.where('year', '>=', scope.fromYear);
      if (scope.toYear !== undefined) q.where('year', '<=', scope.toYear);
    })
    .select<{ uuid: string; status: string | null }[]>('uuid', 'status');
  const historic = new Map(seasons.map((s) => [s.uuid, s.status === 'Historic']));
  const sessions = await db('sessions as s')
    .join('events as e', 'e.uuid', 's.event_uuid')
    .whereNull('s.deleted_at')
    .whereNull('e.deleted_at')
    .where('s.has_results', true)
    .whereIn('e.season_uuid', seasons.map((s) => s.uuid))
    .select<{ uuid: string; season_uuid: string; end_time_utc: Date | string | null; end_date: string | null }[]>('s.uuid', 'e.season_uuid', 's.end_time_utc', 'e.end_date');
  return [
    ...series.map((s) => ({ target: { label: 'seasons' as const, uuid: s.uuid }, meta: { historic: false } })),
    ...seasons.map((s) => ({ target: { label: 'calendar' as const, uuid: s.uuid }, meta: { historic: historic.get(s.uuid) ?? false } })),
    ...sessions.map((s) => {
      // The same end the calendar route gives a classification request (routes/calendar.ts sessionEnd).
      const endsAt = sessionEnd(s.end_time_utc === null ? null : new Date(s.end_time_utc).getTime() / 1000, s.end_date === null ? null : Date.parse(`${s.end_date}T00:00:00Z`) / 1000);
      const seasonHistoric = historic.get(s.season_uuid) ?? false;
      return { target: { label: 'classification' as const, uuid: s.uuid }, meta: endsAt === undefined ? { historic: seasonHistoric } : { historic: seasonHistoric, endsAt } };
    }),
  ];
}

/** Adds the implied requests the queue has never seen; returns how many were missing. */
export async function sweepQueue(db: Db, queue: RequestQueue, scope: CrawlScope, baseUrl: string): Promise<number> {
  const implied = await impliedRequests(db, scope);
  let missing = 0;
  for (let start = 0; start < implied.length; start += 1000) {
    const chunk = implied.slice(start, start + 1000).map((r) => toRequest(baseUrl, r.target, r.meta));
    const { processedRequests } = await queue.addRequests(chunk);
    missing += processedRequests.filter((r) => !r.wasAlreadyPresent).length;
  }
  return missing;
}

/** Adds back the requests this crawl's handled payloads name that the queue has never seen; returns how many. */
export async function sweepLost(queue: RequestQueue, cache: ResponseCache, failures: FailureLog, config: Pick<CrawlConfig, 'baseUrl' | 'scope'>): Promise<number> {
  const failed = new Set((await failures.all()).flatMap((f) => (f.kind === 'request' ? [targetKey(f.target)] : [])));
  const seen = new Set<string>();
  const lost: ChildRequest[] = [];
  let frontier: ChildRequest[] = [{ target: { label: 'series' }, meta: { historic: false } }];
  while (frontier.length) {
    const next: ChildRequest[] = [];
    for (const child of frontier) {
      const key = targetKey(child.target);
      if (seen.has(key)) continue;
      seen.add(key);
      const request = toRequest(config.baseUrl, child.target, child.meta);
      const known = await queue.getRequest(getRequestId(request.uniqueKey!));
      if (!known) {
        lost.push(child);
        continue;
      }
      if (!known.handledAt || failed.has(key) || LEAF_LABELS.has(child.target.label)) continue;
      const lookup = await cache.get(key);
      if (lookup.state === 'hit') next.push(...(childrenOf(child.target.label, child.target.uuid, child.meta, lookup.record.body, config.scope) ?? []));
    }
    frontier = next;
  }
  for (let start = 0; start < lost.length; start += 1000) {
    await queue.addRequests(lost.slice(start, start + 1000).map((r) => toRequest(config.baseUrl, r.target, r.meta)));
  }
  return lost.length;
}

/** The requests the crawl enqueues from this body; undefined when it would not pass validation. */
export function childrenOf(label: Label, uuid: string | undefined, meta: ChildRequest['meta'], body: Buffer, scope: CrawlScope): readonly ChildRequest[] | undefined {
  try {
    const { payload } = validatePayload(label, decodeBody(body).value);
    const route = ROUTES[label] as Route<Label>;
    return route({ payload, parentUuid: uuid, meta, scope }).children;
  } catch {
    return undefined;
  }
}
