/**
 * The pid lock: taken atomically (one winner when processes race for it at the same instant),
 * a live holder refused, a dead holder's lock taken over, and an empty lock file (a crash between
 * create and write, or a lock being written right now) held until it is a few seconds old.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { acquireLock, lockHolder } from '../../src/lockfile.js';
import { tempDir } from '../support/db.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A pid that is not running: a child that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

function takerOutput(file: string, startAt: number, holdMs: number | 'release', ...loop: string[]): Promise<string> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/support/lock-taker.ts', file, String(startAt), String(holdMs), ...loop],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.on('close', () => resolve(out.trim())));
}

describe('acquireLock', () => {
  it('writes the pid through the exclusive descriptor and removes the file on release', () => {
    const file = path.join(tempDir('lock-'), 'x.lock');
    const release = acquireLock(file, 'the thing');
    expect(readFileSync(file, 'utf8')).toBe(String(process.pid));
    expect(lockHolder(file)).toBe(process.pid);
    expect(() => acquireLock(file, 'the thing')).toThrow(/^the thing is in use: its lock .* is held by this process;/);
    release();
    expect(existsSync(file)).toBe(false);
  });

  it('takes over the lock of a process that is gone', async () => {
    const file = path.join(tempDir('lock-'), 'x.lock');
    writeFileSync(file, String(await deadPid()));
    const release = acquireLock(file, 'the thing');
    expect(readFileSync(file, 'utf8')).toBe(String(process.pid));
    release();
  });

  it('refuses a lock another live process holds, naming it, and leaves its file alone', async () => {
    const file = path.join(tempDir('lock-'), 'x.lock');
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)']);
    try {
      writeFileSync(file, String(holder.pid));
      expect(lockHolder(file)).toBe(holder.pid);
      expect(() => acquireLock(file, 'the thing')).toThrow(
        `the thing is in use: its lock ${file} is held by pid ${holder.pid}; wait for it to finish or stop it`,
      );
      expect(readFileSync(file, 'utf8')).toBe(String(holder.pid));
    } finally {
      holder.kill();
      await new Promise((resolve) => holder.on('exit', resolve));
    }
    // Gone now: its lock is taken over.
    expect(lockHolder(file)).toBeUndefined();
    const release = acquireLock(file, 'the thing');
    expect(readFileSync(file, 'utf8')).toBe(String(process.pid));
    release();
  });

  it('says no one holds an absent, empty or dead lock file', async () => {
    const file = path.join(tempDir('lock-'), 'x.lock');
    expect(lockHolder(file)).toBeUndefined();
    writeFileSync(file, '');
    expect(lockHolder(file)).toBeUndefined();
    writeFileSync(file, String(await deadPid()));
    expect(lockHolder(file)).toBeUndefined();
    expect(existsSync(file)).toBe(true); // looking never takes or removes it
  });

  it('releases once: a second release does not remove a lock someone took since', () => {
    const file = path.join(tempDir('lock-'), 'x.lock');
    const release = acquireLock(file, 'the thing');
    release();
    const again = acquireLock(file, 'the thing');
    release();
    expect(readFileSync(file, 'utf8')).toBe(String(process.pid));
    again();
    expect(existsSync(file)).toBe(false);
  });

  it('counts an empty lock file as held while it is young, and as abandoned once it is old', () => {
    const file = path.join(tempDir('lock-'), 'x.lock');
    writeFileSync(file, '');
    expect(() => acquireLock(file, 'the thing')).toThrow(
      /the thing is being locked by another process \(lock .* is empty/,
    );
    expect(readFileSync(file, 'utf8')).toBe('');
    const old = new Date(Date.now() - 60_000);
    utimesSync(file, old, old);
    const release = acquireLock(file, 'the thing');
    expect(readFileSync(file, 'utf8')).toBe(String(process.pid));
    release();
  });

  it('reads a pid followed by a newline as that pid, and names a live holder by its pid', () => {
    const file = path.join(tempDir('lock-'), 'x.lock');
    // pid 1 is always alive (and not ours); before, its newline made the lock "empty".
    writeFileSync(file, '1\n');
    expect(lockHolder(file)).toBe(1);
    expect(() => acquireLock(file, 'the thing')).toThrow(
      new RegExp(`^the thing is in use: its lock ${file} is held by pid 1; wait for it to finish or stop it$`),
    );
    expect(() => acquireLock(file, 'the thing', { emptyGraceMs: 0 })).toThrow(/held by pid 1/);
    expect(readFileSync(file, 'utf8')).toBe('1\n');
  });

  it('counts a lock file holding garbage like an empty one, and says what it holds', () => {
    const file = path.join(tempDir('lock-'), 'x.lock');
    writeFileSync(file, 'not a pid\n');
    expect(() => acquireLock(file, 'the thing')).toThrow(
      /being locked by another process \(lock .* is an unreadable lock holding "not a pid\\n", not a pid, \d+ ms old\)/,
    );
    expect(() => acquireLock(file, 'the thing', { emptyGraceMs: 0 })).not.toThrow();
  });

  // Real processes racing, on a fresh lock and on a stale one (whose takeover is the harder race).
  it.each([
    ['no lock file', undefined],
    ['a stale lock of a dead process', 'dead'],
    ['an abandoned empty lock file', 'empty'],
  ])(
    'lets exactly one of 6 processes racing at the same instant take it (%s)',
    async (_, before) => {
      const file = path.join(tempDir('lock-'), 'x.lock');
      if (before === 'dead') writeFileSync(file, String(await deadPid()));
      if (before === 'empty') {
        writeFileSync(file, '');
        const old = new Date(Date.now() - 60_000);
        utimesSync(file, old, old);
      }
      // Far enough ahead for every process to have started (tsx takes ~0.5 s, more on a loaded machine).
      const startAt = Date.now() + 4_000;
      // The winner holds it until the five others have been refused: on a loaded machine a taker
      // may start seconds late, and must still find it held rather than free again. (Should two
      // take it, four answers come: after 40 s the holders are let go, and the count fails.)
      let answered = 0;
      const release = () => writeFileSync(`${file}.release`, '');
      const letGo = setTimeout(release, 40_000);
      const outputs = await Promise.all(
        Array.from({ length: 6 }, () =>
          takerOutput(file, startAt, 'release').then((out) => {
            answered += 1;
            if (answered === 5) release();
            return out;
          }),
        ),
      );
      clearTimeout(letGo);
      expect(
        outputs.filter((o) => o === 'taken'),
        outputs.join('\n'),
      ).toHaveLength(1);
      expect(
        outputs.filter((o) => o.startsWith('refused: the test lock is')),
        outputs.join('\n'),
      ).toHaveLength(5);
      expect(existsSync(file)).toBe(false); // released by the winner
    },
    60_000,
  );

  it('never has two holders when 4 processes each take and release it 15 times as fast as they can', async () => {
    const dir = tempDir('lock-');
    const file = path.join(dir, 'x.lock');
    const log = path.join(dir, 'holders.log');
    writeFileSync(log, '');
    const startAt = Date.now() + 4_000;
    const outputs = await Promise.all(Array.from({ length: 4 }, () => takerOutput(file, startAt, 1, '15', log)));
    const events = readFileSync(log, 'utf8').split('\n').filter(Boolean);
    // Each taking is followed by the same process's release before anyone else takes it.
    let holder: string | undefined;
    for (const event of events) {
      if (event.startsWith('+')) {
        expect(holder, `${event} while ${holder} held the lock`).toBeUndefined();
        holder = event.slice(1);
      } else {
        expect(event.slice(1)).toBe(holder);
        holder = undefined;
      }
    }
    expect(events.length / 2, outputs.join('; ')).toBe(60);
  }, 60_000);
});
