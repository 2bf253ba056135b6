/**
 * The synthetic tree the bench crawls. At --scale 1: 4 series × 5 seasons × 24 events × 4
 * sessions, 32 cars of 2 drivers: 1,686 requests and 53,152 classification rows (about 215,000
 * rows in all tables). --scale multiplies the number of series, so requests and rows grow with it.
 */
import type { SyntheticOptions } from '../test/replica/index.js';

export const BASE_TREE = {
  seed: 6,
  series: 4,
  seasonsPerSeries: 5,
  eventsPerSeason: 24,
  sessionsPerEvent: 4,
  carsPerSession: 32,
  driversPerCar: 2,
} as const satisfies Partial<SyntheticOptions>;

export function treeFor(scale: number): Partial<SyntheticOptions> {
  return { ...BASE_TREE, series: Math.max(1, Math.round(BASE_TREE.series * scale)) };
}

/** The smallest crawlable tree: what the crawler costs in memory with next to no data. */
export const BASELINE_TREE: Partial<SyntheticOptions> = {
  ...BASE_TREE,
  series: 1,
  seasonsPerSeries: 1,
  eventsPerSeason: 1,
  sessionsPerEvent: 1,
};

/**
 * A tree shaped like the live API (`npm run bench -- --live`): ~20 seasons per series, calendars
 * of 16 events × 7 sessions (the recorded part of the live API has ~111 sessions with results per
 * calendar), classifications of 22 cars. One series is ~1,970 requests (cancelled and future
 * sessions have no classification), so the series count is what sizes it.
 */
export const LIVE_SHAPE = {
  seed: 14,
  seasonsPerSeries: 20,
  eventsPerSeason: 16,
  sessionsPerEvent: 7,
  carsPerSession: 22,
  driversPerCar: 1,
} as const satisfies Partial<SyntheticOptions>;

/** Requests one series of LIVE_SHAPE takes, a little under what it is, so a tree is never short. */
const LIVE_REQUESTS_PER_SERIES = 1950;

export function liveTreeFor(requests: number): Partial<SyntheticOptions> & typeof LIVE_SHAPE & { series: number } {
  return { ...LIVE_SHAPE, series: Math.max(1, Math.ceil(requests / LIVE_REQUESTS_PER_SERIES)) };
}
