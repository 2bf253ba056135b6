/**
 * A process that takes a pid lock at an agreed instant (for the race test of src/lockfile.ts):
 * `tsx test/support/lock-taker.ts <file> <startAtEpochMs> <holdMs>`. Prints `taken` or
 * `refused: <message>`, holds the lock for holdMs, then exits.
 */
import { acquireLock } from '../../src/lockfile.js';

const [file, startAt, holdMs] = process.argv.slice(2);
// Spin up to the instant, so every contender calls acquireLock within a few microseconds.
while (Date.now() < Number(startAt)) {
  // busy wait
}
try {
  const release = acquireLock(file!, 'the test lock');
  process.stdout.write('taken\n');
  setTimeout(release, Number(holdMs));
} catch (error) {
  process.stdout.write(`refused: ${(error as Error).message}\n`);
}
