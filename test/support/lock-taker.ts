/**
 * A process that takes a pid lock at an agreed instant (for the race tests of src/lockfile.ts):
 *
 *   tsx test/support/lock-taker.ts <file> <startAtEpochMs> <holdMs>
 *     takes it once: prints `taken` or `refused: <message>`, holds it holdMs (or, given `release`,
 *     until a file `<file>.release` appears), then exits;
 *   tsx test/support/lock-taker.ts <file> <startAtEpochMs> <holdMs> <times> <log>
 *     takes it whenever it can until it has held it `times` times, appending `+<pid>` to `log` on
 *     taking it and `-<pid>` before releasing it (O_APPEND: the lines of all takers interleave in
 *     real order). A count, not a time window: on a loaded machine a process may start late, and a
 *     window could close before it took the lock once.
 */
import { appendFileSync, existsSync } from 'node:fs';
import { acquireLock } from '../../src/lockfile.js';

const [file, startAt, holdMs, times, log] = process.argv.slice(2);
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

if (times === undefined) {
  try {
    const release = acquireLock(file!, 'the test lock');
    process.stdout.write('taken\n');
    if (holdMs === 'release') {
      const poll = setInterval(() => {
        if (!existsSync(`${file}.release`)) return;
        clearInterval(poll);
        release();
      }, 20);
    } else {
      setTimeout(release, Number(holdMs));
    }
  } catch (error) {
    process.stdout.write(`refused: ${(error as Error).message}\n`);
  }
} else {
  let taken = 0;
  while (taken < Number(times)) {
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
