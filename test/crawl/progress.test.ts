/**
 * The progress line's estimate of the whole tree: a depth-first crawl's queue knows little of what
 * lies ahead, so the ETA counts what the fan-outs seen so far imply.
 */
import { describe, expect, it } from 'vitest';
import { estimatedTotal, formatEta } from '../../src/crawl/progress.js';
import { CrawlStats } from '../../src/crawl/stats.js';

function statsOf(handled: Partial<Record<'series' | 'seasons' | 'calendar', [succeeded: number, named: number]>>) {
  const stats = new CrawlStats();
  for (const [label, [succeeded, named]] of Object.entries(handled) as [keyof typeof handled, [number, number]][]) {
    stats.byLabel[label].succeeded = succeeded;
    stats.childrenNamed[label] = named;
  }
  return stats;
}

describe('estimatedTotal', () => {
  it('multiplies each level by the mean fan-out of the level above', () => {
    // 1 series list naming 50 series; 2 seasons lists seen, 40 seasons between them (20 each);
    // 3 calendars seen, naming 330 classifications (110 each).
    const stats = statsOf({ series: [1, 50], seasons: [2, 40], calendar: [3, 330] });
    expect(estimatedTotal(stats)).toBe(1 + 50 + 50 * 20 + 50 * 20 * 110);
  });

  it('stops at a level this run has handled none of', () => {
    expect(estimatedTotal(new CrawlStats())).toBe(1);
    expect(estimatedTotal(statsOf({ series: [1, 50] }))).toBe(51);
    // A resumed run that handled calendars but not the series list: nothing to go by.
    expect(estimatedTotal(statsOf({ calendar: [3, 330] }))).toBe(1);
  });

  it('formats the ETA as people read it', () => {
    expect([formatEta(undefined), formatEta(42), formatEta(600), formatEta(7200)]).toEqual(['?', '42s', '10m', '2.0h']);
  });
});
