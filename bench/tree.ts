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
