/**
 * The defects of the reference implementation (shared ARCHITECTURE.md), each pinned through the
 * real routes and the real sink on both databases.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { ENDPOINTS, type Label, type PayloadByLabel } from '../../src/api/endpoints.js';
import type { Route } from '../../src/crawl/routes/types.js';
import type { Db } from '../../src/store/db.js';
import { Sink } from '../../src/store/sink.js';
import { DATABASE_KINDS, historyCount, liveCounts, useEmptiedDatabase, type TestDatabase } from '../support/db.js';
import { recordedOne } from '../support/fixtures.js';

const WEC = '967cd5ab-5562-40dc-a0b0-109738adcd01';
const WEC_2025 = '204926ca-77b0-4a4f-a1e7-352152e4fc25';
const QATAR_RACE = '1f2f78be-efb6-4d75-a029-235385c35cc1';
const ALL = { series: [], fromYear: undefined, toYear: undefined };

async function store<L extends Label>(
  sink: Sink,
  label: L,
  parentUuid: string | undefined,
  payload: PayloadByLabel[L],
): Promise<void> {
  const result = (ENDPOINTS[label].route as Route<L>)({
    payload,
    parentUuid: parentUuid as never,
    meta: { historic: false },
    scope: ALL,
  });
  await sink.write({ rows: result.rows, complete: result.complete });
}

/** The WEC 2025 branch of the tree down to the Qatar race, as a crawl would store it. */
async function storeWecBranch(
  db: Db,
  overrides: { calendar?: PayloadByLabel['calendar']; classification?: PayloadByLabel['classification'] } = {},
): Promise<Sink> {
  const sink = new Sink(db);
  await store(sink, 'series', undefined, recordedOne('series', 'all'));
  await store(sink, 'seasons', WEC, recordedOne('seasons', WEC));
  await store(sink, 'calendar', WEC_2025, overrides.calendar ?? recordedOne('calendar', WEC_2025));
  await store(
    sink,
    'classification',
    QATAR_RACE,
    overrides.classification ?? recordedOne('classification', QATAR_RACE),
  );
  return sink;
}

describe.each(DATABASE_KINDS)('reference defects on %s', (kind) => {
  const current = useEmptiedDatabase(kind);
  let db: Db;
  let database: TestDatabase;
  beforeEach(() => ({ db, database } = current()));

  it("hashes an event from the event's own fields: a venue change leaves it alone, a rename persists", async () => {
    await storeWecBranch(db);
    const calendar = recordedOne('calendar', WEC_2025);
    calendar.events[0]!.venue.name = 'Renamed Circuit';
    const venueOnly = await storeWecBranch(db, { calendar });
    expect(venueOnly.counts.events.updated).toBe(0);
    expect(venueOnly.counts.venues.updated).toBe(1);

    calendar.events[0]!.name = 'Qatar 1812km (renamed)';
    const renamed = await storeWecBranch(db, { calendar });
    expect(renamed.counts.events.updated).toBe(1);
    expect((await db('events').where({ uuid: calendar.events[0]!.uuid }).first()).name).toBe('Qatar 1812km (renamed)');
  });

  it('links a driver entered in two cars to both cars', async () => {
    const classification = recordedOne('classification', QATAR_RACE);
    const shared = classification.details[0]!.drivers[0]!;
    classification.details[1]!.drivers.push(shared);
    await storeWecBranch(db, { classification });
    const links = await db('entry_drivers')
      .where({ session_uuid: QATAR_RACE, driver_uuid: shared.uuid })
      .orderBy('car_number');
    expect(links.map((l) => l.car_number).sort()).toEqual(
      [classification.details[0]!.carNumber, classification.details[1]!.carNumber].sort(),
    );
    expect(
      await db('drivers')
        .where({ uuid: shared.uuid })
        .count<{ count: string }[]>({ count: '*' })
        .then((r) => Number(r[0]!.count)),
    ).toBe(1);
  });

  it('saves the nationalities of a classification to countries', async () => {
    await storeWecBranch(db);
    const nationalities = new Set(recordedOne('classification', QATAR_RACE).details.map((d) => d.nationality.uuid));
    const stored = new Set((await db('countries').select('uuid')).map((r) => r.uuid));
    for (const uuid of nationalities) expect(stored.has(uuid)).toBe(true);
  });

  it(
    'keeps a team shown under two names in one session ' + 'on its entries, and rewrites nothing on a re-crawl',
    async () => {
      await storeWecBranch(db);
      const names = await db('entries')
        .where({ session_uuid: QATAR_RACE, team_uuid: 'd50b2af7-6fc6-4c96-b8dd-57efa3a45b93' })
        .distinct('team_name')
        .pluck('team_name');
      expect(names.sort()).toEqual(['AF Corse', 'Vista AF Corse']);
      const historyBefore = await Promise.all(['teams', 'entries'].map((t) => historyCount(db, t)));
      const again = await storeWecBranch(db);
      for (const table of Object.keys(again.counts) as (keyof typeof again.counts)[]) {
        expect(
          `${table} ${again.counts[table].inserted + again.counts[table].updated + again.counts[table].deleted}`,
        ).toBe(`${table} 0`);
      }
      expect(await Promise.all(['teams', 'entries'].map((t) => historyCount(db, t)))).toEqual(historyBefore);
    },
  );

  it('soft-deletes a car that disappears from a classification, with everything that hangs from it', async () => {
    await storeWecBranch(db);
    const classification = recordedOne('classification', QATAR_RACE);
    const [dropped] = classification.details.splice(3, 1);
    const sink = await storeWecBranch(db, { classification });
    expect(sink.counts.entries.deleted).toBe(1);
    expect(sink.counts.classifications.deleted).toBe(1);
    expect(sink.counts.entry_drivers.deleted).toBe(dropped!.drivers.length);
    const live = await liveCounts(db);
    expect(live.classifications).toBe(classification.details.length);
  });
});
