/**
 * Imported first by cli.ts, before any other module is loaded: caps V8's young generation for every
 * command. V8 grows each of the young generation's two semi-spaces from 1 MiB up to 16 MiB while a
 * program allocates, and module loading alone grows them to the full 16 MiB: 32 MiB of new space
 * (plus the room kept to copy survivors) that stays resident for the rest of the run. A crawl's
 * garbage is bodies and rows that outlive a few scavenges anyway (they wait for the sink's commit),
 * so a larger young generation saves little work. `--max-semi-space-size` is read only when the
 * heap is set up, so it cannot be given from here; V8 reads `--semi-space-growth-factor` each time
 * the new space grows, so the growth is stopped (factor 1) once the new space reaches the cap.
 * Skipped when node was given either flag (NODE_OPTIONS or the command line).
 */
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import { DEFAULTS } from './config.js';
import { nodeWasGiven } from './node-flags.js';

function newSpaceBytes(): number {
  return v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0;
}

/**
 * Lets the new space grow (V8's factor 2) while it is below `semiSpaceMiB` per semi-space, and stops
 * it there: checked now and after every garbage collection (a PerformanceObserver's entries arrive
 * between tasks, so a growth in a long synchronous stretch can pass the cap by one doubling).
 */
export function capYoungGeneration(semiSpaceMiB: number): void {
  if (nodeWasGiven(/^--(max-semi-space-size|semi-space-growth-factor)\b/)) return;
  const capBytes = 2 * semiSpaceMiB * 1024 * 1024;
  let growing: boolean | undefined;
  const check = () => {
    const grow = newSpaceBytes() < capBytes;
    if (grow === growing) return;
    growing = grow;
    v8.setFlagsFromString(`--semi-space-growth-factor=${grow ? 2 : 1}`);
  };
  check();
  const observer = new PerformanceObserver(check);
  observer.observe({ entryTypes: ['gc'] });
}

capYoungGeneration(DEFAULTS.youngGenerationSemiSpaceMiB);
