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

const MIB = 1024 * 1024;

/** Bytes an unprivileged process may still write on the file system holding `dir` (or its nearest existing parent). */
export function freeBytes(dir: string): number {
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    try {
      const stats = statfsSync(at);
      return stats.bavail * stats.bsize;
    } catch (error) {
      if (errorCode(error) !== 'ENOENT' || at === path.dirname(at)) throw error;
    }
  }
}

/** The free space the embedded database needs before writing `rows` rows in one transaction. */
export function neededFreeBytes(rows: number): number {
  return DEFAULTS.minFreeDiskBytes + rows * DEFAULTS.freeDiskBytesPerRow;
}

/** Throws a ResourceError (ENOSPC) naming `dir` when less than `minBytes` are free there. */
export function ensureFreeSpace(dir: string, minBytes: number = DEFAULTS.minFreeDiskBytes): void {
  const free = freeBytes(dir);
  if (free < minBytes) {
    throw new ResourceError('ENOSPC', dir, `${(free / MIB).toFixed(1)} MiB free; the embedded database needs ${Math.round(minBytes / MIB)} MiB free to write safely`);
  }
}
