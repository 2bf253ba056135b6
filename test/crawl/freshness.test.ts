/** The freshness policy's table, each rule on both sides of its threshold. */
import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/config.js';
import { randomUUID } from 'node:crypto';
import type { CalendarEvent, CalendarPayload, SeasonItem } from '../../src/api/payloads.generated.js';
import { conditionalHeaders, decideFreshness, settledMaxAge, type FreshnessRules } from '../../src/crawl/freshness.js';
import { seasonEnd, seriesStopped, sessionEnd } from '../../src/crawl/tree.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-06-15T12:00:00Z');
const RULES: FreshnessRules = { cache: 'prefer', maxAgeMs: DAY, settleAfterMs: 14 * DAY, settledMaxAgeMs: 30 * DAY };
const ETAG = { etag: '"abc"' };

const decide = (
  over: Partial<FreshnessRules>,
  label: 'series' | 'seasons' | 'calendar' | 'classification',
  meta: { historic: boolean; endsAt?: number },
  cached: { fetchedAt: number; etag?: string; lastModified?: string; body?: Buffer } | undefined,
  uuid?: string,
) => decideFreshness({ ...RULES, ...over }, { label, uuid, meta, cached, now: NOW });

const SEC = 1000;
const UUID = '3e32ee1d-0000-4000-8000-000000000001';
/** An event of a calendar ending at `endsAt` (epoch ms), with one session ending then. */
function event(endsAt: number | null, status = ''): CalendarEvent {
  const end = endsAt === null ? null : endsAt / SEC;
  return {
    uuid: randomUUID(),
    name: 'GP',
    shortName: null,
    shortCode: null,
    status,
    startDate: end,
    startTimeUtc: end,
    endDate: end,
    endTimeUtc: end,
    venue: { uuid: randomUUID(), name: 'V', shortName: null, shortCode: null, picture: null },
    country: { uuid: randomUUID(), name: 'C', picture: null },
    sessions: [
      {
        uuid: randomUUID(),
        name: 'Race',
        shortName: null,
        shortCode: null,
        status: '',
        hasResults: true,
        startTime: end,
        startTimeUtc: end,
        endTime: end,
        endTimeUtc: end,
      },
    ],
  };
}
function calendar(year: number, events: CalendarEvent[]): CalendarPayload {
  return { season: { uuid: UUID, name: `${year}`, year, endYear: year }, events };
}
const season = (year: number, status: string): SeasonItem => ({
  uuid: randomUUID(),
  name: `${year}`,
  year,
  endYear: year,
  status,
});
const bodyOf = (payload: unknown) => Buffer.from(JSON.stringify(payload));
/** A record two days old (past --max-age) with validators and this body. */
const twoDaysOldWith = (payload: unknown) => ({ fetchedAt: NOW - 2 * DAY, ...ETAG, body: bodyOf(payload) });

describe('decideFreshness', () => {
  it('refresh fetches everything, cached or not, historic or not (rule 1)', () => {
    expect(decide({ cache: 'refresh' }, 'calendar', { historic: true }, { fetchedAt: NOW, ...ETAG })).toEqual({
      action: 'fetch',
      rule: 1,
    });
  });

  it('only serves any sound record however old, and fails without one (rules 2, 3)', () => {
    expect(decide({ cache: 'only' }, 'series', { historic: false }, { fetchedAt: 0 })).toEqual({
      action: 'serve',
      rule: 2,
    });
    expect(decide({ cache: 'only' }, 'series', { historic: false }, undefined)).toEqual({ action: 'fail', rule: 3 });
  });

  it('prefer fetches what is not cached (rule 4) and serves historic seasons forever (rule 5)', () => {
    expect(decide({}, 'calendar', { historic: true }, undefined)).toEqual({ action: 'fetch', rule: 4 });
    expect(decide({}, 'classification', { historic: true }, { fetchedAt: NOW - 1000 * DAY })).toEqual({
      action: 'serve',
      rule: 5,
    });
  });

  it('--max-age: served up to it, revalidated just past it with validators, fetched without (rules 7, 8, 9)', () => {
    expect(decide({}, 'calendar', { historic: false }, { fetchedAt: NOW - DAY, ...ETAG })).toEqual({
      action: 'serve',
      rule: 7,
    });
    expect(decide({}, 'calendar', { historic: false }, { fetchedAt: NOW - DAY - 1, ...ETAG })).toEqual({
      action: 'revalidate',
      rule: 8,
    });
    expect(
      decide(
        {},
        'calendar',
        { historic: false },
        { fetchedAt: NOW - DAY - 1, lastModified: 'Mon, 01 Jun 2026 00:00:00 GMT' },
      ),
    ).toEqual({ action: 'revalidate', rule: 8 });
    expect(decide({}, 'calendar', { historic: false }, { fetchedAt: NOW - DAY - 1 })).toEqual({
      action: 'fetch',
      rule: 9,
    });
  });

  it(
    '--settle-after: a session ended just over it is settled ' +
      '(kept --settled-max-age), just under it follows --max-age',
    () => {
      const twoDaysOld = { fetchedAt: NOW - 2 * DAY, ...ETAG };
      expect(decide({}, 'classification', { historic: false, endsAt: NOW - 14 * DAY - 1 }, twoDaysOld)).toEqual({
        action: 'serve',
        rule: 6,
      });
      expect(decide({}, 'classification', { historic: false, endsAt: NOW - 14 * DAY }, twoDaysOld)).toEqual({
        action: 'revalidate',
        rule: 8,
      });
      // Without an end time: the season's rule.
      expect(decide({}, 'classification', { historic: false }, twoDaysOld)).toEqual({ action: 'revalidate', rule: 8 });
      // Only classifications settle: a calendar of the same age expires.
      expect(decide({}, 'calendar', { historic: false, endsAt: NOW - 100 * DAY }, twoDaysOld)).toEqual({
        action: 'revalidate',
        rule: 8,
      });
    },
  );

  it("--settled-max-age: a settled session's record is served up to it and revalidated past it", () => {
    const settled = { historic: false, endsAt: NOW - 60 * DAY };
    expect(decide({}, 'classification', settled, { fetchedAt: NOW - 30 * DAY, ...ETAG })).toEqual({
      action: 'serve',
      rule: 6,
    });
    expect(decide({}, 'classification', settled, { fetchedAt: NOW - 30 * DAY - 1, ...ETAG })).toEqual({
      action: 'revalidate',
      rule: 8,
    });
    expect(decide({}, 'classification', settled, { fetchedAt: NOW - 30 * DAY - 1 })).toEqual({
      action: 'fetch',
      rule: 9,
    });
  });

  it("sends the validators it has, and a session ends at its endTimeUtc, else a day after its event's last day", () => {
    expect(conditionalHeaders({ fetchedAt: 0, etag: '"x"', lastModified: 'L' })).toEqual({
      'if-none-match': '"x"',
      'if-modified-since': 'L',
    });
    expect(conditionalHeaders({ fetchedAt: 0 })).toEqual({});
    expect(sessionEnd(1_700_000_000, 1_600_000_000)).toBe(1_700_000_000_000);
    expect(sessionEnd(null, 1_600_000_000)).toBe((1_600_000_000 + 86_400) * 1000);
    expect(sessionEnd(null, null)).toBeUndefined();
    expect(parseDuration('--settle-after', '14d')).toBe(14 * DAY);
  });

  it(
    'a calendar settles once its season is over: its last ' +
      'event and its last year ended more than --settle-after ago',
    () => {
      const lastYear = new Date(NOW).getUTCFullYear() - 1;
      const yearOver = Date.UTC(lastYear + 1, 0, 1);
      const calendarOf = (payload: CalendarPayload) =>
        decide({ settleAfterMs: NOW - yearOver - 1 }, 'calendar', { historic: false }, twoDaysOldWith(payload), UUID);
      // Last year's season, over for longer than --settle-after (its year's
      // end is the later instant): kept; just short of it: revalidated.
      expect(calendarOf(calendar(lastYear, [event(Date.UTC(lastYear, 5, 1))]))).toEqual({ action: 'serve', rule: 6 });
      expect(
        decide(
          { settleAfterMs: NOW - yearOver },
          'calendar',
          { historic: false },
          twoDaysOldWith(calendar(lastYear, [event(Date.UTC(lastYear, 5, 1))])),
          UUID,
        ),
      ).toEqual({ action: 'revalidate', rule: 8 });
      // With the default --settle-after: this year's season is not over
      // while the year runs, though its events all ended months ago.
      const thisYear = lastYear + 1;
      expect(
        decide({}, 'calendar', { historic: false }, twoDaysOldWith(calendar(thisYear, [event(NOW - 100 * DAY)])), UUID),
      ).toEqual({ action: 'revalidate', rule: 8 });
      expect(
        decide({}, 'calendar', { historic: false }, twoDaysOldWith(calendar(lastYear, [event(NOW - 100 * DAY)])), UUID),
      ).toEqual({ action: 'serve', rule: 6 });
      // An event ended less than --settle-after ago keeps last year's (a winter) season open.
      expect(
        decide(
          {},
          'calendar',
          { historic: false },
          twoDaysOldWith(calendar(lastYear, [event(NOW - 100 * DAY), event(NOW - 13 * DAY)])),
          UUID,
        ),
      ).toEqual({ action: 'revalidate', rule: 8 });
      // A round not cancelled without a date: not over. A cancelled one without a date does not count.
      expect(
        decide(
          {},
          'calendar',
          { historic: false },
          twoDaysOldWith(calendar(lastYear, [event(NOW - 100 * DAY), event(null)])),
          UUID,
        ),
      ).toEqual({ action: 'revalidate', rule: 8 });
      expect(
        decide(
          {},
          'calendar',
          { historic: false },
          twoDaysOldWith(calendar(lastYear, [event(NOW - 100 * DAY), event(null, 'Cancelled')])),
          UUID,
        ),
      ).toEqual({ action: 'serve', rule: 6 });
      // An empty calendar of a past year: over with its year.
      expect(decide({}, 'calendar', { historic: false }, twoDaysOldWith(calendar(lastYear - 5, [])), UUID)).toEqual({
        action: 'serve',
        rule: 6,
      });
      // A body that does not pass validation is not trusted to be settled.
      expect(decide({}, 'calendar', { historic: false }, twoDaysOldWith({ season: null, events: [] }), UUID)).toEqual({
        action: 'revalidate',
        rule: 8,
      });
      // A settled calendar is revalidated past its settled max age.
      expect(
        decide(
          {},
          'calendar',
          { historic: false },
          { ...twoDaysOldWith(calendar(lastYear - 5, [])), fetchedAt: NOW - settledMaxAge(RULES, UUID) - 1 },
          UUID,
        ),
      ).toEqual({ action: 'revalidate', rule: 8 });
      expect(seasonEnd(calendar(lastYear, [event(Date.UTC(lastYear, 11, 20))]))).toBe(yearOver);
      expect(seasonEnd(calendar(lastYear, [event(Date.UTC(thisYear, 0, 20))]))).toBe(Date.UTC(thisYear, 0, 20));
    },
  );

  it(
    'a seasons list settles when its newest season is Historic and its ' +
      'year ended more than --settle-after ago; never when empty or current',
    () => {
      const past = new Date(NOW).getUTCFullYear() - 2;
      const seasons = (...items: SeasonItem[]) =>
        decide({}, 'seasons', { historic: false }, twoDaysOldWith(items), UUID);
      expect(seasons(season(past, 'Historic'), season(past - 1, 'Historic'))).toEqual({ action: 'serve', rule: 6 });
      expect(seasons(season(past + 1, ''), season(past, 'Historic'))).toEqual({ action: 'revalidate', rule: 8 });
      expect(seasons(season(past, 'Current'), season(past - 1, 'Historic'))).toEqual({ action: 'revalidate', rule: 8 });
      expect(seasons()).toEqual({ action: 'revalidate', rule: 8 });
      // This year's newest season, even marked Historic: the year runs.
      expect(seasons(season(past + 2, 'Historic'))).toEqual({ action: 'revalidate', rule: 8 });
      expect(seriesStopped([season(past - 1, 'Historic'), season(past, 'Historic')])).toBe(Date.UTC(past + 1, 0, 1));
      // The series list never settles.
      expect(decide({}, 'series', { historic: false }, twoDaysOldWith([]))).toEqual({ action: 'revalidate', rule: 8 });
    },
  );

  it('the settled max age is --settled-max-age ±20 %, the same for a uuid every time, spread over uuids', () => {
    const uuids = Array.from({ length: 2000 }, () => randomUUID());
    const factors = uuids.map((u) => settledMaxAge(RULES, u) / (30 * DAY));
    expect(Math.min(...factors)).toBeGreaterThanOrEqual(0.8);
    expect(Math.max(...factors)).toBeLessThan(1.2);
    expect(Math.min(...factors)).toBeLessThan(0.82);
    expect(Math.max(...factors)).toBeGreaterThan(1.18);
    // Roughly even: each tenth of the range holds some.
    for (let tenth = 0; tenth < 10; tenth += 1)
      expect(factors.filter((f) => Math.floor((f - 0.8) / 0.04) === tenth).length).toBeGreaterThan(100);
    expect(settledMaxAge(RULES, uuids[0])).toBe(settledMaxAge(RULES, uuids[0]));
    // Each uuid on both sides of its own age.
    const settled = { historic: false, endsAt: NOW - 60 * DAY };
    const own = settledMaxAge(RULES, UUID);
    expect(own).not.toBe(30 * DAY);
    expect(decide({}, 'classification', settled, { fetchedAt: NOW - own, ...ETAG }, UUID)).toEqual({
      action: 'serve',
      rule: 6,
    });
    expect(decide({}, 'classification', settled, { fetchedAt: NOW - own - 1, ...ETAG }, UUID)).toEqual({
      action: 'revalidate',
      rule: 8,
    });
  });
});
