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
 * can go by. It walks the crawl tree (TREE, src/api/endpoints.ts) level by level: each label with
 * children reads back, by its endpoint's `storedChildren`, the live nodes its stored payloads
 * listed; which of them lead to requests is its child's edge to say, in the same code the routes run.
 */
import { getRequestId, type RequestQueue } from '@crawlee/core';
import { ENDPOINTS, LEAF_LABELS, TREE, targetKey, type Label } from '../api/endpoints.js';
import { checkNamedParent, validatePayload } from '../api/validate.js';
import type { CrawlConfig, CrawlScope } from '../config.js';
import type { Db } from '../store/db.js';
import type { ResponseCache } from './cache.js';
import { toRequest } from './crawl-request.js';
import { decodeBody } from './decode.js';
import type { FailureLog } from './failures.js';
import type { ChildRequest, Route } from './routes/types.js';
import { ROOT, type TreeRequest } from './tree.js';

/** The requests implied by the live rows within the scope, in tree order. */
export async function impliedRequests(db: Db, scope: CrawlScope): Promise<TreeRequest[]> {
  const implied: TreeRequest[] = [];
  let parents: readonly ChildRequest[] = [ROOT];
  for (let label: Label | undefined = ROOT.target.label; label; label = TREE[label]?.child) {
    // Each parent's endpoint reads its own nodes back; a leaf has none.
    const storedChildren = ENDPOINTS[label].storedChildren;
    if (!storedChildren) break;
    const children = await storedChildren(db, parents, scope);
    implied.push(...children);
    parents = children;
  }
  return implied;
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
export async function sweepLost(
  queue: RequestQueue,
  cache: ResponseCache,
  failures: FailureLog,
  config: Pick<CrawlConfig, 'baseUrl' | 'scope'>,
): Promise<number> {
  const failed = new Set((await failures.all()).flatMap((f) => (f.kind === 'request' ? [targetKey(f.target)] : [])));
  // Depth first, so what is held at once is one path's unvisited siblings, not a whole level of
  // the tree (at live size the classification level alone is ~10⁵ requests). Only lists are
  // remembered as seen: a leaf named twice is merely looked up twice.
  const seen = new Set<string>();
  const lost = new Map<string, ChildRequest>();
  const stack: ChildRequest[] = [ROOT];
  for (let child = stack.pop(); child; child = stack.pop()) {
    const key = targetKey(child.target);
    const leaf = LEAF_LABELS.has(child.target.label);
    if (!leaf) {
      if (seen.has(key)) continue;
      seen.add(key);
    }
    const request = toRequest(config.baseUrl, child.target, child.meta);
    const known = await queue.getRequest(getRequestId(request.uniqueKey!));
    if (!known) {
      lost.set(key, child);
      continue;
    }
    if (!known.handledAt || failed.has(key) || leaf) continue;
    const lookup = await cache.get(key);
    if (lookup.state !== 'hit') continue;
    const children = childrenOf(child.target.label, child.target.uuid, child.meta, lookup.record.body, config.scope);
    // Pushed last first, so they are visited in the order the payload lists them.
    for (let i = (children?.length ?? 0) - 1; i >= 0; i--) stack.push(children![i]!);
  }
  const missing = [...lost.values()];
  for (let start = 0; start < missing.length; start += 1000) {
    await queue.addRequests(missing.slice(start, start + 1000).map((r) => toRequest(config.baseUrl, r.target, r.meta)));
  }
  return missing.length;
}

/** The requests the crawl enqueues from this body; undefined when it would not pass validation. */
export function childrenOf(
  label: Label,
  uuid: string | undefined,
  meta: ChildRequest['meta'],
  body: Buffer,
  scope: CrawlScope,
): readonly ChildRequest[] | undefined {
  try {
    // Decoded as the crawl decodes it: bad bytes repaired, quarantined items left out.
    const { payload } = validatePayload(label, decodeBody(body).value);
    checkNamedParent(label, payload, uuid);
    // why: ENDPOINTS[label] is a union over the labels; TypeScript cannot correlate its route with `label`.
    const route = ENDPOINTS[label].route as Route<Label>;
    return route({ payload, parentUuid: uuid, meta, scope }).children;
  } catch {
    return undefined;
  }
}
