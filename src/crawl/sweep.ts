/**
 * The completeness sweep run when a crawl's queue has drained: every request the stored rows
 * imply (the seasons of each selected series, the calendar of each season in range, the
 * classification of each session with results) must have been handled. Any that the queue does
 * not know — one whose journal line a killed process cut short (see queue-journal.ts) — is
 * added back and the crawl goes on. Normally it finds nothing.
 *
 * The database only gives the live rows of each level; which of them lead to requests is the
 * tree's to say (tree.ts), in the same code the routes run.
 */
import type { RequestQueue } from '@crawlee/core';
import type { CrawlScope } from '../config.js';
import type { Db } from '../store/db.js';
import { toRequest } from './crawl-request.js';
import { follow, ROOT, TREE, type SessionNode, type TreeRequest } from './tree.js';

/** The requests implied by the live rows within the scope, in tree order. */
export async function impliedRequests(db: Db, scope: CrawlScope): Promise<TreeRequest[]> {
  const series = await db('series')
    .whereNull('deleted_at')
    .select<{ uuid: string; short_code: string | null; name: string | null }[]>('uuid', 'short_code', 'name');
  const seasonLists = follow(TREE.series, series.map((s) => ({ uuid: s.uuid, shortCode: s.short_code, name: s.name })), scope, ROOT.meta);
  const seasons = await db('seasons')
    .whereNull('deleted_at')
    .whereIn('series_uuid', seasonLists.map((r) => r.target.uuid))
    .select<{ uuid: string; year: number | null; status: string | null }[]>('uuid', 'year', 'status');
  const calendars = follow(TREE.seasons, seasons, scope, ROOT.meta);
  const sessions = await db('sessions as s')
    .join('events as e', 'e.uuid', 's.event_uuid')
    .whereNull('s.deleted_at')
    .whereNull('e.deleted_at')
    .whereIn('e.season_uuid', calendars.map((r) => r.target.uuid))
    .select<{ uuid: string; season_uuid: string; has_results: boolean | null; end_time_utc: Date | string | null; end_date: string | null }[]>(
      's.uuid', 'e.season_uuid', 's.has_results', 's.end_time_utc', 'e.end_date',
    );
  const bySeason = new Map<string, SessionNode[]>();
  for (const s of sessions) {
    const node = {
      uuid: s.uuid,
      hasResults: s.has_results,
      // Back to the epoch seconds the calendar sent.
      endTimeUtc: s.end_time_utc === null ? null : new Date(s.end_time_utc).getTime() / 1000,
      eventEndDate: s.end_date === null ? null : Date.parse(`${s.end_date}T00:00:00Z`) / 1000,
    };
    const ofSeason = bySeason.get(s.season_uuid);
    if (ofSeason) ofSeason.push(node);
    else bySeason.set(s.season_uuid, [node]);
  }
  const classifications = calendars.flatMap((calendar) => follow(TREE.calendar, bySeason.get(calendar.target.uuid) ?? [], scope, calendar.meta));
  return [...seasonLists, ...calendars, ...classifications];
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
