/**
 * One crawl tree: the completeness sweep, reading stored rows, implies exactly the requests the
 * routes yield from the payloads those rows came from, for every set of filters, on both
 * databases. The cases are the tree's edges: a --series value matching by a non-ASCII name
 * (where PostgreSQL's lower() and JavaScript's would disagree), seasons without a year, a
 * lower-case 'historic', sessions whose hasResults is false or null, a session end known only by
 * its event's last day.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { ENDPOINTS, LEAF_LABELS, type Label, type PayloadByLabel } from '../../src/api/endpoints.js';
import type { CalendarPayload, SeasonsPayload, SeriesPayload } from '../../src/api/payloads.generated.js';
import type { CrawlScope } from '../../src/config.js';
import type { ChildRequest, Route } from '../../src/crawl/routes/types.js';
import { impliedRequests } from '../../src/crawl/sweep.js';
import { ROOT, WHOLE_TREE } from '../../src/crawl/tree.js';
import type { Db } from '../../src/store/db.js';
import { Sink } from '../../src/store/sink.js';
import { DATABASE_KINDS, useEmptiedDatabase } from '../support/db.js';

const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

const SERIES: SeriesPayload = [
  { uuid: uuid(1), name: 'İSTANBUL Rally', shortName: null, shortCode: null, category: 'Rally' },
  { uuid: uuid(2), name: 'Formula One', shortName: 'F1', shortCode: 'F1', category: 'Single Seater' },
];
const SEASONS: Record<string, SeasonsPayload> = {
  [uuid(1)]: [
    { uuid: uuid(11), name: '2020', year: 2020, endYear: 2020, status: 'Historic' },
    { uuid: uuid(12), name: 'undated', year: null, endYear: null, status: null },
  ],
  [uuid(2)]: [
    { uuid: uuid(21), name: '2021', year: 2021, endYear: 2021, status: 'historic' },
    { uuid: uuid(22), name: '2019', year: 2019, endYear: 2019, status: 'Historic' },
  ],
};
const calendar = (season: number): CalendarPayload => ({
  season: { uuid: uuid(season), name: null, year: null, endYear: null },
  events: [
    {
      uuid: uuid(season * 10 + 1),
      name: 'Round 1',
      shortName: null,
      shortCode: null,
      status: null,
      startDate: 1_599_955_200,
      startTimeUtc: null,
      endDate: 1_600_041_600,
      endTimeUtc: null,
      venue: { uuid: uuid(900), name: 'Circuit', shortName: null, shortCode: null, picture: null },
      country: { uuid: uuid(901), name: 'Nowhere', picture: null },
      sessions: ([true, false, null, true] as const).map((hasResults, i) => ({
        uuid: uuid(season * 100 + i),
        name: `Session ${i}`,
        shortName: null,
        shortCode: null,
        status: null,
        hasResults,
        startTime: null,
        startTimeUtc: null,
        endTime: null,
        endTimeUtc: i === 3 ? null : 1_600_050_000 + i,
      })),
    },
  ],
});

/** The payload a target answers with, in this small API. */
function payloadOf(label: Label, parent: string | undefined): PayloadByLabel[Label] | undefined {
  if (label === 'series') return SERIES;
  if (label === 'seasons') return SEASONS[parent ?? ''];
  if (label === 'calendar') return calendar(Number(parent?.slice(-12)));
  return undefined;
}

/**
 * Walks the routes from the series list; writes their rows when a sink is given. Returns every request below the root.
 */
async function walk(scope: CrawlScope, sink?: Sink): Promise<ChildRequest[]> {
  const seen: ChildRequest[] = [];
  let frontier: ChildRequest[] = [ROOT];
  while (frontier.length) {
    const next: ChildRequest[] = [];
    for (const { target, meta } of frontier) {
      const payload = payloadOf(target.label, target.uuid);
      if (!payload || LEAF_LABELS.has(target.label)) continue;
      const route = ENDPOINTS[target.label].route as Route<Label>;
      const result = route({ payload: payload as never, parentUuid: target.uuid as never, meta, scope });
      if (sink) await sink.write({ rows: result.rows, complete: result.complete });
      next.push(...result.children);
    }
    seen.push(...next);
    frontier = next;
  }
  return seen;
}

const byKey = (requests: readonly ChildRequest[]) => requests.map((r) => JSON.stringify(r)).sort();

describe.each(DATABASE_KINDS)('crawl tree on %s', (kind) => {
  const current = useEmptiedDatabase(kind);
  let db: Db;
  beforeEach(async () => {
    ({ db } = current());
    await walk(WHOLE_TREE, new Sink(db));
  });

  it.each<[string, CrawlScope]>([
    ['everything', WHOLE_TREE],
    ['a non-ASCII name in another case', { series: ['İstanbul rally'], fromYear: undefined, toYear: undefined }],
    ['a shortCode and a year range', { series: ['f1'], fromYear: 2020, toYear: 2021 }],
    ['a year bound alone (undated seasons left out)', { series: [], fromYear: 2019, toYear: undefined }],
  ])('the sweep implies from the stored rows what the routes yield: %s', async (_, scope) => {
    const expected = await walk(scope);
    expect(expected.length).toBeGreaterThan(0);
    expect(byKey(await impliedRequests(db, scope))).toEqual(byKey(expected));
  });

  it(
    'the routes select by the rules the sweep follows: non-ASCII ' +
      'match, Historic only when so spelt, sessions with results',
    async () => {
      const requests = await walk({ series: ['İstanbul rally'], fromYear: undefined, toYear: undefined });
      expect(requests.map((r) => `${r.target.label} ${r.target.uuid?.slice(-3)} ${r.meta.historic}`)).toEqual([
        'seasons 001 false',
        'calendar 011 true',
        'calendar 012 false',
        'classification 100 true',
        'classification 103 true',
        'classification 200 false',
        'classification 203 false',
      ]);
      // A session without an end time ends a day after its event's last day.
      expect(requests.find((r) => r.target.uuid === uuid(1103))?.meta.endsAt).toBe((1_600_041_600 + 86_400) * 1000);
      expect(requests.find((r) => r.target.uuid === uuid(1100))?.meta.endsAt).toBe(1_600_050_000 * 1000);
    },
  );
});
