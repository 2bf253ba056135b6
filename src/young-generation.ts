/**
 * V8's young generation: held at its initial size for every command (young-generation-held.ts,
 * imported first by cli.ts, before any other module is loaded), and let grow again by a crawl that
 * gains from it (commands/crawl.ts). V8 grows each of the young generation's two semi-spaces from
 * 1 MiB up to 16 MiB while a program allocates, and module loading alone does so: 32 MiB of new
 * space (plus the room kept to copy survivors) that stays resident for the rest of the run. A
 * crawl's garbage is bodies and rows that outlive a few scavenges anyway (they wait for the sink's
 * commit), so a larger young generation saves less work than its size suggests (where it saves
 * enough to matter, a crawl lets it grow: tuneHeap in commands/crawl.ts). `--max-semi-space-size` is read only
 * when the heap is set up, so it cannot be given from here; V8 reads `--semi-space-growth-factor`
 * each time the new space grows, and a factor of 1 keeps it where it is.
 *
 * Why no growth up to a cap (4 MiB, an earlier version): the growth happens inside long
 * synchronous stretches, loading Crawlee's CommonJS tree above all, where nothing can check the
 * size between two growths (a GC observer's entries arrive between tasks), so the cap was passed
 * by whole doublings: 16 MB of new space where 8 were meant. Worse, this module imported the
 * config, whose imports load @crawlee/core, so the new space had reached 16 MB before this module's
 * body ran. Hence: no imports but node's and node-flags (a leaf), and no growth at all (README,
 * *The embedded database's memory*: warm crawl −8 to −14 MB, CPU time within the noise).
 * Skipped when node was given either flag (NODE_OPTIONS or the command line).
 */
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import { nodeWasGiven } from './node-flags.js';

/** Stops the young generation's growth from now on (unless node was given a semi-space flag). */
export function stopYoungGenerationGrowth(): void {
  if (nodeWasGiven(/^--(max-semi-space-size|semi-space-growth-factor)\b/)) return;
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}

/**
 * Lets the young generation grow again by V8's doublings, up to `capMiB` per semi-space (V8's own
 * cap, 16 MiB, when not given), for a crawl whose CPU time matters more than its last megabytes (see
 * tuneHeap in commands/crawl.ts). The cap is checked after every garbage collection, so a growth
 * inside one long synchronous stretch can pass it by a doubling. Skipped as above.
 */
export function allowYoungGenerationGrowth(capMiB?: number): void {
  if (nodeWasGiven(/^--(max-semi-space-size|semi-space-growth-factor)\b/)) return;
  v8.setFlagsFromString('--semi-space-growth-factor=2');
  if (capMiB === undefined) return;
  const capBytes = 2 * capMiB * 1024 * 1024;
  const observer = new PerformanceObserver(() => {
    if (newSpaceBytes() < capBytes) return;
    v8.setFlagsFromString('--semi-space-growth-factor=1');
    observer.disconnect();
  });
  observer.observe({ entryTypes: ['gc'] });
}

function newSpaceBytes(): number {
  return v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0;
}
