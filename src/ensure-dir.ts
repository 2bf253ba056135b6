/**
 * Creating the folders a user names (--storage, --db DIR, export --out) without trusting Node's
 * recursive mkdir: on a path under a pseudo file system (`/proc/nope`) it gets ENOENT for a
 * folder whose parent exists, takes that for a missing parent, and retries for ever at 100 % CPU,
 * deaf to signals. So the nearest existing ancestor is checked first (a folder, writable), and the
 * missing levels are created one at a time, each refusal becoming one line naming the flag (or the
 * environment variable the path came from), the path and the cause.
 */
import { accessSync, constants, mkdirSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { UserError, errorCode } from './errors.js';
import { stringField } from './record.js';

/**
 * Checks, without writing anything, that `dir` is a writable folder or could be created: its
 * nearest existing ancestor is a folder this process may write to. `name` is the flag or variable
 * it came from. Returns the levels still missing, outermost first.
 */
export function checkCreatable(dir: string, name: string): string[] {
  const target = path.resolve(dir);
  const missing: string[] = [];
  let existing = target;
  for (;;) {
    const stats = statOrUndefined(existing, name, target);
    if (stats) {
      if (!stats.isDirectory()) throw fileInTheWayError(name, dir, existing);
      break;
    }
    const parent = path.dirname(existing);
    // Even the root is missing: nothing to check against (cannot happen on a real system).
    if (parent === existing) break;
    missing.unshift(existing);
    existing = parent;
  }
  try {
    accessSync(existing, constants.W_OK);
  } catch (error) {
    throw new UserError(
      existing === target
        ? `${name} ${target} is not writable (${cause(error)})`
        : `${name} ${target}: cannot create it, ${existing} is not writable (${cause(error)})`,
    );
  }
  return missing;
}

/**
 * Refuses, before anything is created, a folder given as `name` (a flag or a variable) that cannot
 * be one because it, or its nearest existing parent, is a file. Unlike checkCreatable it asks
 * nothing of write access: read-only commands take read-only folders.
 */
export function refuseFileInTheWay(name: string, dir: string): void {
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    const stats = statOrUndefined(at, name, path.resolve(dir));
    if (stats) {
      if (!stats.isDirectory()) throw fileInTheWayError(name, dir, at);
      return;
    }
    if (path.dirname(at) === at) return;
  }
}

/** `--out x/f/sub: x/f is a file, not a folder`, or `--out x/f is a file, not a folder`. */
function fileInTheWayError(name: string, dir: string, file: string): UserError {
  return new UserError(
    file === path.resolve(dir)
      ? `${name} ${dir} is a file, not a folder`
      : `${name} ${dir}: ${file} is a file, not a folder`,
  );
}

/** Makes sure `dir` is a writable folder, creating the missing levels one at a time. */
export function ensureDir(dir: string, name: string): void {
  const target = path.resolve(dir);
  for (const level of checkCreatable(target, name)) {
    try {
      mkdirSync(level);
    } catch (error) {
      // Another process made it meanwhile: as good as ours.
      if (errorCode(error) === 'EEXIST' && statSync(level).isDirectory()) continue;
      const refused =
        errorCode(error) === 'ENOENT' ? `; the file system at ${path.dirname(level)} takes no new folders` : '';
      throw new UserError(`${name} ${target}: cannot create ${level} (${cause(error)}${refused})`);
    }
  }
}

function statOrUndefined(at: string, name: string, target: string): Stats | undefined {
  try {
    return statSync(at);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT') return undefined;
    // A component that is a file (ENOTDIR) is found by the walk up; anything else is the cause.
    if (code === 'ENOTDIR') return undefined;
    throw new UserError(`${name} ${target}: cannot use ${at} (${cause(error)})`);
  }
}

/** `EACCES: permission denied`: the OS's words without the system call and path Node appends. */
function cause(error: unknown): string {
  const words = stringField(error, 'message')?.split(',')[0]?.trim();
  return words || errorCode(error) || String(error);
}
