/**
 * The free-space guard of the embedded database. PGlite runs PostgreSQL inside this process, and
 * PostgreSQL PANICs when it cannot create a WAL segment (16 MiB, written whole when it is made):
 * in a server that ends the backend, in PGlite it aborts the WebAssembly instance, which then
 * reports one error (53100) and spins at 100 % CPU on the next statement, for ever, on the main
 * thread: no timer, no signal handler and no further line of output ever runs again. So the crawl
 * stops, with one line, while there is still room for what the next flush and a clean close can
 * write (DEFAULTS.minFreeDiskBytes, freeDiskBytesPerRow).
 */
import { statfsSync } from 'node:fs';
import path from 'node:path';
import { DEFAULTS } from '../config.js';
import { ResourceError, errorCode } from '../errors.js';

/** Free bytes an unprivileged process may still write, and the path they were measured at. */
export interface FreeSpace {
  readonly bytes: number;
  /** `dir`, or its nearest existing parent (the same file system, unless a mount is made there later). */
  readonly at: string;
}

/** Bytes an unprivileged process may still write on the file system holding `dir` (or its nearest existing parent). */
export function freeBytes(dir: string): FreeSpace {
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    try {
      const stats = statfsSync(at);
      return { bytes: stats.bavail * stats.bsize, at };
    } catch (error) {
      if (errorCode(error) !== 'ENOENT' || at === path.dirname(at)) throw error;
    }
  }
}

/** The free space the embedded database needs before writing `rows` rows in one transaction. */
export function neededFreeBytes(rows: number): number {
  return DEFAULTS.minFreeDiskBytes + rows * DEFAULTS.freeDiskBytesPerRow;
}

/**
 * Throws a ResourceError (ENOSPC) naming `dir` when less than the embedded database needs to
 * write `rows` rows (0: to open it) is free there.
 */
export function ensureFreeSpace(dir: string, rows = 0): void {
  const free = freeBytes(dir);
  const needed = neededFreeBytes(rows);
  if (free.bytes < needed) throw new ResourceError('ENOSPC', dir, describeShortage(free, rows));
}

const UNITS = [
  ['GiB', 1024 ** 3],
  ['MiB', 1024 ** 2],
  ['KiB', 1024],
] as const;

/**
 * What was compared, in one unit: the free space found and where, against the reserve plus the
 * rows' share. The free figure is rounded down and the needed one up, so the one shown as free
 * is always below the one shown as needed, as it is below it in bytes.
 */
export function describeShortage(free: FreeSpace, rows: number): string {
  const needed = neededFreeBytes(rows);
  const [unit, size] = UNITS.find(([, bytes]) => needed >= bytes) ?? UNITS[2];
  const show = (bytes: number, round: (n: number) => number) =>
    `${(round((bytes / size) * 10) / 10).toFixed(1)} ${unit}`;
  const share = rows
    ? ` + ${rows.toLocaleString('en-US')} ${rows === 1 ? 'row' : 'rows'} ` +
      `of the next write at ${DEFAULTS.freeDiskBytesPerRow / 1024} KiB each`
    : '';
  return (
    `${show(free.bytes, Math.floor)} free at ${free.at}; the embedded database needs ${show(needed, Math.ceil)} ` +
    `to write safely: a reserve of ${DEFAULTS.minFreeDiskBytes / 1024 ** 2} MiB${share}`
  );
}
