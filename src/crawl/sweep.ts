/**
 * The completeness sweep run when a crawl's queue has drained: every request the stored rows
 * imply (the seasons of each selected series, the calendar of each season in range, the
 * classification of each session with results) must have been handled. Any that the queue does
 * not know — one whose journal line a killed process cut short (see queue-journal.ts) — is
 * added back and the crawl goes on. Normally it finds nothing.
 */
import type { RequestQueue } from '@crawlee/core';
import type { CrawlScope } from '../config.js';
import type { Db } from '../store/db.js';
import { toRequest } from './crawl-request.js';
import { sessionEnd } from './routes/calendar.js';
import type { ChildRequest } from './routes/types.js';

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
