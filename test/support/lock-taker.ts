/**
 * A process that takes a pid lock at an agreed instant (for the race tests of src/lockfile.ts):
 *
 *   tsx test/support/lock-taker.ts <file> <startAtEpochMs> <holdMs>
 *     takes it once: prints `taken` or `refused: <message>`, holds it holdMs, then exits;
 *   tsx test/support/lock-taker.ts <file> <startAtEpochMs> <holdMs> <forMs> <log>
 *     for forMs, takes it whenever it can, appending `+<pid>` to `log` on taking it and
 *     `-<pid>` before releasing it (O_APPEND: the lines of all takers interleave in real order).
 */
import { appendFileSync } from 'node:fs';
import { acquireLock } from '../../src/lockfile.js';

const [file, startAt, holdMs, forMs, log] = process.argv.slice(2);
// Spin up to the instant, so every contender calls acquireLock within a few microseconds.
while (Date.now() < Number(startAt)) {
  // busy wait
}
const busy = (ms: number) => {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // hold
  }
};

if (forMs === undefined) {
  try {
    const release = acquireLock(file!, 'the test lock');
    process.stdout.write('taken\n');
    setTimeout(release, Number(holdMs));
  } catch (error) {
    process.stdout.write(`refused: ${(error as Error).message}\n`);
  }
} else {
  const end = Number(startAt) + Number(forMs);
  let taken = 0;
  while (Date.now() < end) {
    let release: (() => void) | undefined;
    try {
      release = acquireLock(file!, 'the test lock');
    } catch {
      continue;
    }
    appendFileSync(log!, `+${process.pid}\n`);
    busy(Number(holdMs));
    appendFileSync(log!, `-${process.pid}\n`);
    release();
    taken += 1;
  }
  process.stdout.write(`taken ${taken}\n`);
}
