/** The freshness policy's table, each rule on both sides of its threshold. */
import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/config.js';
import { conditionalHeaders, decideFreshness, type FreshnessRules } from '../../src/crawl/freshness.js';
import { sessionEnd } from '../../src/crawl/tree.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-06-15T12:00:00Z');
const RULES: FreshnessRules = { cache: 'prefer', maxAgeMs: DAY, settleAfterMs: 14 * DAY, settledMaxAgeMs: 30 * DAY };
const ETAG = { etag: '"abc"' };

const decide = (over: Partial<FreshnessRules>, label: 'series' | 'calendar' | 'classification', meta: { historic: boolean; endsAt?: number }, cached: { fetchedAt: number; etag?: string; lastModified?: string } | undefined) =>
  decideFreshness({ ...RULES, ...over }, { label, meta, cached, now: NOW });

describe('decideFreshness', () => {
  it('refresh fetches everything, cached or not, historic or not (rule 1)', () => {
    expect(decide({ cache: 'refresh' }, 'calendar', { historic: true }, { fetchedAt: NOW, ...ETAG })).toEqual({ action: 'fetch', rule: 1 });
  });

  it('only serves any sound record however old, and fails without one (rules 2, 3)', () => {
    expect(decide({ cache: 'only' }, 'series', { historic: false }, { fetchedAt: 0 })).toEqual({ action: 'serve', rule: 2 });
    expect(decide({ cache: 'only' }, 'series', { historic: false }, undefined)).toEqual({ action: 'fail', rule: 3 });
  });

  it('prefer fetches what is not cached (rule 4) and serves historic seasons forever (rule 5)', () => {
    expect(decide({}, 'calendar', { historic: true }, undefined)).toEqual({ action: 'fetch', rule: 4 });
    expect(decide({}, 'classification', { historic: true }, { fetchedAt: NOW - 1000 * DAY })).toEqual({ action: 'serve', rule: 5 });
  });

  it('--max-age: served up to it, revalidated just past it with validators, fetched without (rules 7, 8, 9)', () => {
    expect(decide({}, 'calendar', { historic: false }, { fetchedAt: NOW - DAY, ...ETAG })).toEqual({ action: 'serve', rule: 7 });
    expect(decide({}, 'calendar', { historic: false }, { fetchedAt: NOW - DAY - 1, ...ETAG })).toEqual({ action: 'revalidate', rule: 8 });
    expect(decide({}, 'calendar', { historic: false }, { fetchedAt: NOW - DAY - 1, lastModified: 'Mon, 01 Jun 2026 00:00:00 GMT' })).toEqual({ action: 'revalidate', rule: 8 });
    expect(decide({}, 'calendar', { historic: false }, { fetchedAt: NOW - DAY - 1 })).toEqual({ action: 'fetch', rule: 9 });
  });

  it('--settle-after: a session ended just over it is settled (kept --settled-max-age), just under it follows --max-age', () => {
    const twoDaysOld = { fetchedAt: NOW - 2 * DAY, ...ETAG };
    expect(decide({}, 'classification', { historic: false, endsAt: NOW - 14 * DAY - 1 }, twoDaysOld)).toEqual({ action: 'serve', rule: 6 });
    expect(decide({}, 'classification', { historic: false, endsAt: NOW - 14 * DAY }, twoDaysOld)).toEqual({ action: 'revalidate', rule: 8 });
    // Without an end time: the season's rule.
    expect(decide({}, 'classification', { historic: false }, twoDaysOld)).toEqual({ action: 'revalidate', rule: 8 });
    // Only classifications settle: a calendar of the same age expires.
    expect(decide({}, 'calendar', { historic: false, endsAt: NOW - 100 * DAY }, twoDaysOld)).toEqual({ action: 'revalidate', rule: 8 });
  });

  it('--settled-max-age: a settled session\'s record is served up to it and revalidated past it', () => {
    const settled = { historic: false, endsAt: NOW - 60 * DAY };
    expect(decide({}, 'classification', settled, { fetchedAt: NOW - 30 * DAY, ...ETAG })).toEqual({ action: 'serve', rule: 6 });
    expect(decide({}, 'classification', settled, { fetchedAt: NOW - 30 * DAY - 1, ...ETAG })).toEqual({ action: 'revalidate', rule: 8 });
    expect(decide({}, 'classification', settled, { fetchedAt: NOW - 30 * DAY - 1 })).toEqual({ action: 'fetch', rule: 9 });
  });

  it('sends the validators it has, and a session ends at its endTimeUtc, else a day after its event\'s last day', () => {
    expect(conditionalHeaders({ fetchedAt: 0, etag: '"x"', lastModified: 'L' })).toEqual({ 'if-none-match': '"x"', 'if-modified-since': 'L' });
    expect(conditionalHeaders({ fetchedAt: 0 })).toEqual({});
    expect(sessionEnd(1_700_000_000, 1_600_000_000)).toBe(1_700_000_000_000);
    expect(sessionEnd(null, 1_600_000_000)).toBe((1_600_000_000 + 86_400) * 1000);
    expect(sessionEnd(null, null)).toBeUndefined();
    expect(parseDuration('--settle-after', '14d')).toBe(14 * DAY);
  });
});
