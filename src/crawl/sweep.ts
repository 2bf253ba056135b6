/**
 * The completeness sweep run when a crawl's queue has drained: every request the stored rows
 * imply (the seasons of each selected series, the calendar of each season in range, the
 * classification of each session with results) must have been handled. Any that the queue does
 * not know — one whose journal line a killed process cut short (see queue-journal.ts) — is
 * added back and the crawl goes on. Normally it finds nothing.
 *
 * It walks the crawl tree (tree.ts) level by level. The database only gives, for each label with
 * children, the live nodes its stored payloads listed; which of them lead to requests is the
 * tree's to say, in the same code the routes run.
 */
import type { RequestQueue } from '@crawlee/core';
import type { CrawlScope } from '../config.js';
import type { Db } from '../store/db.js';
import { toRequest } from './crawl-request.js';
import type { ChildRequest } from './routes/types.js';
import { follow, isParent, ROOT, TREE, type ChildLabel, type Edge, type ParentLabel, type TreeNode, type TreeRequest } from './tree.js';

/** Lists a label's children from the stored rows: the requests the nodes of its parents' payloads lead to. */
type Level = (db: Db, parents: readonly ChildRequest[], scope: CrawlScope) => Promise<TreeRequest[]>;

/** For each label with children, the live rows that hold its payloads' nodes. */
const LEVELS: { readonly [L in ParentLabel]: Level } = {
  series: async (db, parents, scope) => {
    const rows = await db('series').whereNull('deleted_at').select<{ uuid: string; short_code: string | null; name: string | null }[]>('uuid', 'short_code', 'name');
    const nodes = rows.map((s) => ({ parent: undefined, uuid: s.uuid, shortCode: s.short_code, name: s.name }));
    return followEach(TREE.series, parents, nodes, scope);
  },
  seasons: async (db, parents, scope) => {
    const rows = await db('seasons')
      .whereNull('deleted_at')
      .whereIn('series_uuid', uuidsOf(parents))
      .select<{ uuid: string; series_uuid: string; year: number | null; status: string | null }[]>('uuid', 'series_uuid', 'year', 'status');
    return followEach(TREE.seasons, parents, rows.map((s) => ({ parent: s.series_uuid, uuid: s.uuid, year: s.year, status: s.status })), scope);
  },
  calendar: async (db, parents, scope) => {
    const rows = await db('sessions as s')
      .join('events as e', 'e.uuid', 's.event_uuid')
      .whereNull('s.deleted_at')
      .whereNull('e.deleted_at')
      .whereIn('e.season_uuid', uuidsOf(parents))
      .select<{ uuid: string; season_uuid: string; has_results: boolean | null; end_time_utc: Date | string | null; end_date: string | null }[]>(
        's.uuid', 'e.season_uuid', 's.has_results', 's.end_time_utc', 'e.end_date',
      );
    const nodes = rows.map((s) => ({
      parent: s.season_uuid,
      uuid: s.uuid,
      hasResults: s.has_results,
      // Back to the epoch seconds the calendar sent.
      endTimeUtc: s.end_time_utc === null ? null : new Date(s.end_time_utc).getTime() / 1000,
      eventEndDate: s.end_date === null ? null : Date.parse(`${s.end_date}T00:00:00Z`) / 1000,
    }));
    return followEach(TREE.calendar, parents, nodes, scope);
  },
};

/** The requests implied by the live rows within the scope, in tree order. */
export async function impliedRequests(db: Db, scope: CrawlScope): Promise<TreeRequest[]> {
  const implied: TreeRequest[] = [];
  let parents: readonly ChildRequest[] = [ROOT];
  for (let label: ChildLabel | 'series' = ROOT.target.label; isParent(label); label = TREE[label].child) {
    const children = await LEVELS[label](db, parents, scope);
    implied.push(...children);
    parents = children;
  }
  return implied;
}

/** Follows the edge from each parent over its own nodes (`parent` is its uuid, undefined for the root), with its meta. */
function followEach<C extends ChildLabel, N extends TreeNode>(
  edge: Edge<C, N>,
  parents: readonly ChildRequest[],
  nodes: readonly (N & { readonly parent: string | undefined })[],
  scope: CrawlScope,
): TreeRequest<C>[] {
  const byParent = new Map<string | undefined, N[]>();
  for (const node of nodes) {
    const siblings = byParent.get(node.parent);
    if (siblings) siblings.push(node);
    else byParent.set(node.parent, [node]);
  }
  return parents.flatMap((parent) => follow(edge, byParent.get(parent.target.uuid) ?? [], scope, parent.meta));
}

function uuidsOf(requests: readonly ChildRequest[]): string[] {
  return requests.flatMap((r) => r.target.uuid ?? []);
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
