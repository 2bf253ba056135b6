/**
 * The free-space guard's message states exactly what it compared: the free space and where it
 * was measured, against the reserve plus the next write's rows, in one unit, never showing a
 * free figure at or above the needed one (the free one is rounded down, the needed one up).
 */
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config.js';
import { ResourceError } from '../../src/errors.js';
import { describeShortage, ensureFreeSpace, freeBytes, neededFreeBytes } from '../../src/store/disk-space.js';

const MIB = 1024 * 1024;

describe('the free-space guard', () => {
  it('says what was free where, and what was needed of it, in one unit', () => {
    const needed = neededFreeBytes(400);
    expect(needed).toBe(DEFAULTS.minFreeDiskBytes + 400 * DEFAULTS.freeDiskBytesPerRow);
    expect(describeShortage({ bytes: 12.34 * MIB, at: '/mnt/small' }, 400)).toBe(
      '12.3 MiB free at /mnt/small; the embedded database needs 41.2 MiB to write ' +
        'safely: a reserve of 40 MiB + 400 rows of the next write at 3 KiB each',
    );
    expect(describeShortage({ bytes: 1.5 * MIB, at: '/x' }, 0)).toBe(
      '1.5 MiB free at /x; the embedded database needs 40.0 MiB to write safely: a reserve of 40 MiB',
    );
  });

  it('never shows as much free as needed when a few bytes are missing', () => {
    // The case that read as a contradiction: 40.2 MiB free "needing 40 MiB" (the needed figure rounded down).
    for (const rows of [0, 1, 70, 4084]) {
      const needed = neededFreeBytes(rows);
      const text = describeShortage({ bytes: needed - 1, at: '/x' }, rows);
      const [free, need] = [...text.matchAll(/([\d.]+) (MiB|GiB)/g)].slice(0, 2).map((m) => Number(m[1]));
      expect(free!, text).toBeLessThan(need!);
    }
  });

  it('measures at the nearest existing folder and throws a ResourceError naming the dir', () => {
    const dir = path.join(os.tmpdir(), 'msc-no-such-dir', 'db');
    expect(freeBytes(dir).at).toBe(os.tmpdir());
    const rows = Math.ceil(freeBytes(dir).bytes / DEFAULTS.freeDiskBytesPerRow) + 1;
    let error: unknown;
    try {
      ensureFreeSpace(dir, rows);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ResourceError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^no space left on device at ${dir} \\([\\d.]+ [MG]iB free at ${os.tmpdir()}; the embedded ` +
          `database needs [\\d.]+ [MG]iB to write safely: a reserve of 40 MiB \\+ [\\d,]+ rows`,
      ),
    );
  });
});
