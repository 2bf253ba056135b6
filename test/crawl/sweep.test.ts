/**
 * The completeness sweep, by what it does to a real queue over real stored rows: it adds back the
 * requests the stored tree implies and the queue never saw (within the crawl's filters, live rows
 * only, classifications only of sessions with results), with the meta the routes would give them,
 * and adds nothing the queue already holds.
 */
import { Request, RequestQueue } from '@crawlee/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apiPath, type ApiTarget } from '../../src/api/endpoints.js';
import type { CrawlScope } from '../../src/config.js';
import { toRequest } from '../../src/crawl/crawl-request.js';
import { openStorageDir, type StorageDir } from '../../src/crawl/storage-dir.js';
import { sweepQueue } from '../../src/crawl/sweep.js';
import type { Db } from '../../src/store/db.js';
import { Sink } from '../../src/store/sink.js';
import { DATABASE_KINDS, tempDir, useEmptiedDatabase } from '../support/db.js';

const BASE = 'http://api.invalid';
const uuid = (group: number, n: number) => `00000000-0000-4000-${8000 + group}-${String(n).padStart(12, '0')}`;
const F1 = uuid(1, 1);
const WEC = uuid(1, 2);
const season = { f1Old: uuid(2, 1), f1New: uuid(2, 2), f1Gone: uuid(2, 3), wec: uuid(2, 4) };
const session = { f1OldRace: uuid(4, 1), f1OldPractice: uuid(4, 2), f1NewRace: uuid(4, 3), wecRace: uuid(4, 4) };
const VENUE = uuid(5, 1);
const COUNTRY = uuid(6, 1);
const everything: CrawlScope = { series: [], fromYear: undefined, toYear: undefined };

async function storeTree(db: Db): Promise<void> {
  const seasonRow = (id: string, series: string, year: number, status: string | null) => ({
    uuid: id,
    series_uuid: series,
    name: `${year}`,
    year,
    end_year: year,
    status,
  });
  const eventRow = (n: number, seasonUuid: string, endDate: string) => ({
    uuid: uuid(3, n),
    season_uuid: seasonUuid,
    venue_uuid: VENUE,
    country_uuid: COUNTRY,
    name: `Event ${n}`,
    short_name: null,
    short_code: null,
    status: null,
    venue_picture: null,
    start_date: endDate,
    start_time_utc: null,
    end_date: endDate,
    end_time_utc: null,
  });
  const sessionRow = (id: string, event: number, hasResults: boolean, endTimeUtc: string | null) => ({
    uuid: id,
    event_uuid: uuid(3, event),
    name: 'Race',
    short_name: null,
    short_code: null,
    status: null,
    has_results: hasResults,
    start_time: null,
    start_time_utc: null,
    end_time: null,
    end_time_utc: endTimeUtc,
  });
  await new Sink(db).write({
    rows: {
      series: [
        { uuid: F1, name: 'Formula One', short_name: null, short_code: 'F1', category: 'Single Seater' },
        { uuid: WEC, name: 'World Endurance Championship', short_name: null, short_code: 'WEC', category: 'Sportscar' },
      ],
      seasons: [
        seasonRow(season.f1Old, F1, 2019, 'Historic'),
        seasonRow(season.f1New, F1, 2024, 'Live'),
        seasonRow(season.f1Gone, F1, 2023, null),
        seasonRow(season.wec, WEC, 2024, null),
      ],
      venues: [{ uuid: VENUE, name: 'Venue', short_name: null, short_code: null }],
      countries: [{ uuid: COUNTRY, name: 'Country', picture: null }],
      events: [
        eventRow(1, season.f1Old, '2019-03-17'),
        eventRow(2, season.f1New, '2024-03-02'),
        eventRow(3, season.wec, '2024-04-21'),
      ],
      sessions: [
        sessionRow(session.f1OldRace, 1, true, null),
        sessionRow(session.f1OldPractice, 1, false, null),
        sessionRow(session.f1NewRace, 2, true, '2024-03-02T17:00:00Z'),
        sessionRow(session.wecRace, 3, true, '2024-04-21T13:00:00Z'),
      ],
    },
    complete: [],
  });
  // A season that disappeared upstream: soft-deleted, so nothing below it is implied.
  await db('seasons').where('uuid', season.f1Gone).update({ deleted_at: db.fn.now() });
}

const path = (target: ApiTarget) => apiPath(target);

describe.each(DATABASE_KINDS)('sweepQueue on %s', (kind) => {
  const current = useEmptiedDatabase(kind);
  let db: Db;
  let storage: StorageDir;
  let queue: RequestQueue;

  beforeEach(async () => {
    ({ db } = current());
    await storeTree(db);
    storage = await openStorageDir(tempDir('sweep-'));
    queue = await RequestQueue.open('crawl', { config: storage.config });
  });
  afterEach(async () => {
    await storage.close();
  });

  /** The queue's requests, by API path: label and meta. */
  async function queued(): Promise<Map<string, { label: string | undefined; historic: unknown; endsAt: unknown }>> {
    const found = new Map<string, { label: string | undefined; historic: unknown; endsAt: unknown }>();
    for (let next = await queue.fetchNextRequest(); next; next = await queue.fetchNextRequest()) {
      found.set(next.url.slice(BASE.length), {
        label: next.label,
        historic: next.userData.historic,
        endsAt: next.userData.endsAt,
      });
      await queue.markRequestHandled(next);
    }
    return found;
  }

  it('adds every request the stored tree implies that the queue never saw, with the meta the routes give', async () => {
    // Handled before: the F1 seasons list and the 2019 calendar.
    await queue.addRequests([
      new Request(toRequest(BASE, { label: 'seasons', uuid: F1 }, { historic: false })),
      new Request(toRequest(BASE, { label: 'calendar', uuid: season.f1Old }, { historic: true })),
    ]);
    for (let next = await queue.fetchNextRequest(); next; next = await queue.fetchNextRequest())
      await queue.markRequestHandled(next);

    expect(await sweepQueue(db, queue, everything, BASE)).toBe(6);
    expect(await queued()).toEqual(
      new Map([
        [path({ label: 'seasons', uuid: WEC }), { label: 'seasons', historic: false, endsAt: undefined }],
        [path({ label: 'calendar', uuid: season.f1New }), { label: 'calendar', historic: false, endsAt: undefined }],
        [path({ label: 'calendar', uuid: season.wec }), { label: 'calendar', historic: false, endsAt: undefined }],
        // No endTimeUtc: the end of its event's last day.
        [
          path({ label: 'classification', uuid: session.f1OldRace }),
          { label: 'classification', historic: true, endsAt: Date.parse('2019-03-18T00:00:00Z') },
        ],
        [
          path({ label: 'classification', uuid: session.f1NewRace }),
          { label: 'classification', historic: false, endsAt: Date.parse('2024-03-02T17:00:00Z') },
        ],
        [
          path({ label: 'classification', uuid: session.wecRace }),
          { label: 'classification', historic: false, endsAt: Date.parse('2024-04-21T13:00:00Z') },
        ],
      ]),
    );
    // Everything implied is known now: a second sweep finds nothing.
    expect(await sweepQueue(db, queue, everything, BASE)).toBe(0);
  });

  it('keeps to the filters: series by short code in any case, and the year range', async () => {
    expect(await sweepQueue(db, queue, { series: ['f1'], fromYear: 2020, toYear: undefined }, BASE)).toBe(3);
    expect([...(await queued()).keys()]).toEqual([
      path({ label: 'seasons', uuid: F1 }),
      path({ label: 'calendar', uuid: season.f1New }),
      path({ label: 'classification', uuid: session.f1NewRace }),
    ]);
  });

  it('finds nothing to add when the filters match no stored series', async () => {
    expect(await sweepQueue(db, queue, { series: ['Formula E'], fromYear: undefined, toYear: undefined }, BASE)).toBe(
      0,
    );
    expect(await queue.isEmpty()).toBe(true);
  });
});
