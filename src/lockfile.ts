/**
 * Exclusive pid lock files. A lock left by a process that is gone (kill -9) is taken over; one
 * held by a live process is a UserError naming it.
 */
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { UserError } from './errors.js';

/** Takes the lock; returns its release (also run at process exit). `what` names the holder in errors. */
export function acquireLock(file: string, what: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      closeSync(openSync(file, 'wx'));
      writeFileSync(file, String(process.pid));
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        rmSync(file, { force: true });
        process.off('exit', release);
      };
      process.on('exit', release);
      return release;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number(readFileSync(file, 'utf8'));
      if (pid && isAlive(pid)) {
        throw new UserError(`${what} is in use by ${pid === process.pid ? 'this process' : `process ${pid}`} (lock ${file}); wait for it to finish or stop it`);
      }
      rmSync(file, { force: true });
    }
  }
  throw new UserError(`cannot take the lock ${file}`);
}

/** The live process holding a lock file, if any. Never takes the lock. */
export function lockHolder(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return pid && isAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
