/**
 * Exclusive pid lock files. A lock left by a process that is gone (kill -9) is taken over; one
 * held by a live process is a UserError naming it.
 *
 * Taking a lock is atomic: the file is created with O_EXCL and the pid written, fsynced and
 * closed through that same descriptor, so no other process can ever read a lock of ours without
 * its pid except in the instant between create and write. That instant is why an empty or
 * unreadable lock file counts as held until it is older than DEFAULTS.lockEmptyGraceMs: only a
 * process that crashed right there leaves one behind for longer.
 *
 * Taking over a stale lock never deletes by name: the stale file is renamed aside, and the renamed
 * file is checked to be the very file (same inode) that was judged stale. A contender that raced
 * and renamed a fresh lock instead puts it back (link(2), which fails rather than overwrite).
 */
import {
  closeSync,
  fsyncSync,
  fstatSync,
  linkSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { DEFAULTS } from './config.js';
import { UserError, errorCode } from './errors.js';

/** What a lock file holds, read through one descriptor (content and inode of the same file). */
type LockContent =
  | { readonly state: 'absent' }
  | { readonly state: 'pid'; readonly pid: number; readonly ino: number }
  /** Empty or not a pid: a lock being written, or one a crash cut short. `text`: what it holds. */
  | { readonly state: 'unreadable'; readonly ageMs: number; readonly ino: number; readonly text: string };

export interface LockOptions {
  /** How old an empty or unreadable lock file must be to count as abandoned. */
  readonly emptyGraceMs?: number;
}

/** Takes the lock; returns its release (also run at process exit). `what` names the holder in errors. */
export function acquireLock(file: string, what: string, options: LockOptions = {}): () => void {
  const graceMs = options.emptyGraceMs ?? DEFAULTS.lockEmptyGraceMs;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (createExclusive(file)) return releaser(file);
    const held = readLock(file);
    if (held.state === 'absent') continue; // released meanwhile: try again
    if (held.state === 'pid' && isAlive(held.pid)) {
      throw new UserError(
        `${what} is in use: its lock ${file} is held by ` +
          `${held.pid === process.pid ? 'this process' : `pid ${held.pid}`}; wait for it to finish or stop it`,
      );
    }
    if (held.state === 'unreadable' && held.ageMs < graceMs) {
      const holds =
        held.text === ''
          ? 'is empty'
          : `is an unreadable lock holding ${JSON.stringify(held.text.slice(0, 20))}, not a pid`;
      throw new UserError(
        `${what} is being locked by another process (lock ${file} ${holds}, ` +
          `${Math.round(held.ageMs)} ms old); wait for it to finish or stop it`,
      );
    }
    takeOver(file, held.ino);
  }
  throw new UserError(`cannot take the lock ${file}: other processes keep taking it`);
}

/** The live process holding a lock file, if any. Never takes the lock. */
export function lockHolder(file: string): number | undefined {
  const held = readLock(file);
  return held.state === 'pid' && isAlive(held.pid) ? held.pid : undefined;
}

/** Creates the lock file with our pid, durably; false when it exists already. */
function createExclusive(file: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, String(process.pid));
    fsyncSync(fd);
  } catch (error) {
    // A lock we could not write (a full disk) must not be left empty for the grace period.
    closeSync(fd);
    rmSync(file, { force: true });
    throw error;
  }
  closeSync(fd);
  return true;
}

function releaser(file: string): () => void {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    rmSync(file, { force: true });
    process.off('exit', release);
  };
  process.on('exit', release);
  return release;
}

function readLock(file: string): LockContent {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return { state: 'absent' };
    throw error;
  }
  try {
    const stat = fstatSync(fd);
    const buffer = Buffer.alloc(32);
    const text = buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, 0)).toString('utf8');
    // A pid and a newline (`echo $$ > lock`, other tools' locks) is a pid.
    const pid = /^\s*\d+\s*$/.test(text) ? Number(text.trim()) : 0;
    return pid > 0
      ? { state: 'pid', pid, ino: stat.ino }
      : { state: 'unreadable', ageMs: Date.now() - stat.mtimeMs, ino: stat.ino, text };
  } finally {
    closeSync(fd);
  }
}

/** Removes the stale lock file whose inode is `staleIno`, and only that one. */
function takeOver(file: string, staleIno: number): void {
  const aside = `${file}.stale-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  try {
    renameSync(file, aside);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return; // another contender took it over first
    throw error;
  }
  if (statSync(aside).ino !== staleIno) {
    // Between our read and our rename another process took the lock over and created a fresh
    // one: that is what we moved. Put it back, unless yet another lock is there by now.
    try {
      linkSync(aside, file);
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw error;
    }
  }
  rmSync(aside, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === 'EPERM';
  }
}
