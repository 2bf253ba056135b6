/**
 * The crawl tree's rules, stated once: which nodes of a parent become requests (the series
 * --series selects, the seasons within --from-year/--to-year, the sessions with results), what is
 * historic, and when a session ended. Each child endpoint's route module declares its edge from
 * these (which label it hangs from: series → seasons → calendar → classification), and each
 * parent's how its stored nodes are read back; src/api/endpoints.ts assembles TREE from them. The
 * routes build their children with the edges; the completeness sweep (from stored rows), export's
 * selection and canary's sampling follow the same edges, so none of them states a rule of its own.
 * The rules run in JavaScript only: PostgreSQL's lower() and JavaScript's toLowerCase() disagree
 * outside ASCII, so the database is never asked to apply them.
 *
 * The route modules import this one, and src/api/endpoints.ts imports them: it reads no value of
 * src/api/endpoints.ts, which would be a cycle.
 */
import type { Label } from '../api/endpoints.js';
import type { CalendarPayload, SeasonsPayload } from '../api/payloads.generated.js';
import { editDistance } from '../closest.js';
import type { CrawlScope } from '../config.js';
import { UserError } from '../errors.js';
import type { Db } from '../store/db.js';
import type { ChildRequest, RequestMeta } from './routes/types.js';

/** Labels that hang from another: every label but the root. */
export type ChildLabel = Exclude<Label, 'series'>;

/** A node a parent lists: it becomes a request of the child label under its uuid. */
export interface TreeNode {
  readonly uuid: string;
}

/** A series as the tree sees it: an item of the series list, or a row of the series table. */
export interface SeriesNode extends TreeNode {
  readonly shortCode: string | null;
  readonly name: string | null;
}

/** A season as the tree sees it: an item of a season list, or a row of the seasons table. */
export interface SeasonNode extends TreeNode {
  readonly year: number | null;
  readonly status: string | null;
}

/** A session as the tree sees it: epoch seconds, as the calendar sends them. */
export interface SessionNode extends TreeNode {
  readonly hasResults: boolean | null;
  readonly endTimeUtc: number | null;
  /** Its event's last day, a local day sent as midnight UTC. */
  readonly eventEndDate: number | null;
}

/**
 * How a parent's nodes become requests of its child label: declared by the child's route module
 * (its endpoint's `edge`), from the rules below.
 */
export interface Edge<C extends ChildLabel, N extends TreeNode> {
  readonly child: C;
  /** The label whose payloads list the nodes. */
  readonly parent: Label;
  /** Whether the node becomes a request: it is within the user's filters and has something to fetch. */
  selects(node: N, scope: CrawlScope): boolean;
  /** The child request's meta, from its node and the parent request's meta. */
  meta(node: N, parent: RequestMeta): RequestMeta;
}

/** A request the tree leads to. */
export interface TreeRequest<C extends ChildLabel = ChildLabel> {
  readonly target: { readonly label: C; readonly uuid: string };
  readonly meta: RequestMeta;
}

/**
 * For the completeness sweep (sweep.ts), declared by a parent's route module (its endpoint's
 * `storedChildren`): the requests the live rows holding its payloads' nodes lead to, for these parent requests.
 */
export type StoredChildren = (db: Db, parents: readonly ChildRequest[], scope: CrawlScope) => Promise<TreeRequest[]>;

/** The filters that select the whole tree. */
export const WHOLE_TREE: CrawlScope = Object.freeze({ series: [], fromYear: undefined, toYear: undefined });

/** Whether the filters select the whole tree (no --series, no year bounds). */
export function isWholeTree(scope: CrawlScope): boolean {
  return scope.series.length === 0 && scope.fromYear === undefined && scope.toYear === undefined;
}

/** The root request: the series list. */
export const ROOT = Object.freeze({
  target: Object.freeze({ label: 'series' as const }),
  meta: Object.freeze({ historic: false }),
});

/** The requests a parent's nodes lead to, in their order. */
export function follow<C extends ChildLabel, N extends TreeNode>(
  edge: Edge<C, N>,
  nodes: readonly N[],
  scope: CrawlScope,
  parent: RequestMeta,
): TreeRequest<C>[] {
  return nodes
    .filter((node) => edge.selects(node, scope))
    .map((node) => ({ target: { label: edge.child, uuid: node.uuid }, meta: edge.meta(node, parent) }));
}

/**
 * Follows the edge from each parent request over its own nodes, read back from stored rows
 * (`parent` is its uuid, undefined for the root), with its meta.
 */
export function followEach<C extends ChildLabel, N extends TreeNode>(
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

/** The uuids of the parent requests (the root has none). */
export function uuidsOf(requests: readonly ChildRequest[]): string[] {
  return requests.flatMap((r) => r.target.uuid ?? []);
}

/** A calendar's sessions as nodes, each with its event's last day. */
export function sessionNodes(calendar: CalendarPayload): SessionNode[] {
  return calendar.events.flatMap((event) =>
    event.sessions.map((s) => ({
      uuid: s.uuid,
      hasResults: s.hasResults,
      endTimeUtc: s.endTimeUtc,
      eventEndDate: event.endDate,
    })),
  );
}

/** The --series match: a value names a series by uuid, shortCode or name, case-insensitively. */
export function selectsSeries(series: SeriesNode, scope: CrawlScope): boolean {
  return scope.series.length === 0 || scope.series.some((wanted) => seriesMatches(wanted, series));
}

function seriesMatches(wanted: string, series: SeriesNode): boolean {
  const w = wanted.toLowerCase();
  return [series.uuid, series.shortCode, series.name].some((field) => field?.toLowerCase() === w);
}

/** --from-year/--to-year: a season without a year is within no range. */
export function inYears(year: number | null, scope: CrawlScope): boolean {
  const { fromYear: from, toYear: to } = scope;
  if (from === undefined && to === undefined) return true;
  if (year === null) return false;
  return (from === undefined || year >= from) && (to === undefined || year <= to);
}

/** Status is free text; only an explicit 'Historic' is trusted to mean "will not change". */
export function isHistoric(season: SeasonNode): boolean {
  return season.status === 'Historic';
}

/**
 * When a session ended, in epoch ms: its `endTimeUtc`, else the end of its event's last day (the
 * local day sent as midnight UTC; a day later is past its end in every time zone but the
 * farthest east, which is within the days that --settle-after is measured in).
 */
export function sessionEnd(endTimeUtc: number | null, eventEndDate: number | null): number | undefined {
  if (endTimeUtc !== null) return endTimeUtc * 1000;
  if (eventEndDate !== null) return (eventEndDate + 86_400) * 1000;
  return undefined;
}

/**
 * When a season is over, in epoch ms, read from its calendar: the last end of its events and
 * sessions (each as sessionEnd takes it) and the end of its last year (`endYear`, else `year`),
 * whichever is later. The year counts too because a calendar may not list every round yet: a
 * postponed round can still be given a date, or one be added, while the year runs. Undefined
 * when not known: an event not cancelled without any date (its round is still to be dated), or
 * no date at all.
 */
export function seasonEnd(calendar: CalendarPayload): number | undefined {
  let end = yearEnd(calendar.season.endYear ?? calendar.season.year);
  for (const event of calendar.events) {
    if (event.status === 'Cancelled') continue;
    const eventEnd = sessionEnd(event.endTimeUtc, event.endDate);
    if (eventEnd === undefined) return undefined;
    end = Math.max(end ?? eventEnd, eventEnd);
    for (const session of event.sessions) {
      const ended = sessionEnd(session.endTimeUtc, event.endDate);
      if (ended !== undefined) end = Math.max(end, ended);
    }
  }
  return end;
}

/**
 * When a series stopped, in epoch ms, read from its seasons list: the end of its newest season's
 * last year (`endYear`, else `year`), when upstream marks that season historic. Undefined while
 * the newest season is current or unmarked, and for an empty list or a season without a year: the
 * series may be running, or about to.
 */
export function seriesStopped(seasons: SeasonsPayload): number | undefined {
  let newest: { end: number; historic: boolean } | undefined;
  for (const season of seasons) {
    const end = yearEnd(season.endYear ?? season.year);
    if (end === undefined) return undefined;
    if (!newest || end > newest.end || (end === newest.end && !isHistoric(season)))
      newest = { end, historic: isHistoric(season) };
  }
  return newest?.historic ? newest.end : undefined;
}

/** The end of a calendar year (midnight UTC of the next 1 January), in epoch ms. */
export function yearEnd(year: number | null): number | undefined {
  return year === null ? undefined : Date.UTC(year + 1, 0, 1);
}

/** The parent's meta with a classification's end, when known. */
export function withEnd(meta: RequestMeta, endsAt: number | undefined): RequestMeta {
  return endsAt === undefined ? { historic: meta.historic } : { historic: meta.historic, endsAt };
}

/** Series the closest matches of a --series value are named from. */
const CLOSEST_NAMED = 3;

/** Throws a UserError naming every --series value that matches no series, with the closest series to each. */
export function checkSeriesExist(scope: CrawlScope, series: readonly SeriesNode[]): void {
  const unmatched = scope.series.filter((wanted) => !series.some((item) => seriesMatches(wanted, item)));
  if (!unmatched.length) return;
  const described = unmatched.map((wanted) => {
    const nearest = closestSeries(wanted, series);
    return `"${wanted}"${nearest.length ? ` (closest: ${nearest.join(', ')})` : ''}`;
  });
  const none = series.length ? '' : ' (the series list is empty)';
  const verb = unmatched.length === 1 ? 'matches' : 'match';
  throw new UserError(`--series ${described.join('; ')} ${verb} no series by uuid, shortCode or name${none}`);
}

function closestSeries(wanted: string, series: readonly SeriesNode[]): string[] {
  return series
    .map((item) => ({
      item,
      distance: Math.min(
        ...[item.shortCode, item.name].filter((f): f is string => !!f).map((f) => editDistance(wanted, f)),
      ),
    }))
    .sort((a, b) => a.distance - b.distance)
    .slice(0, CLOSEST_NAMED)
    .map(({ item }) => (item.shortCode ? `${item.shortCode} "${item.name ?? ''}"` : `"${item.name ?? item.uuid}"`));
}
