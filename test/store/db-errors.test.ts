/**
 * How database errors read: never `[object Object]`, never the statement's SQL; PGlite's own
 * file-system errors (Emscripten ErrnoError objects, which are not Errors) by their errno name.
 * The real errors of both databases are checked in sink.test.ts; these are the shapes that are
 * hard to provoke on purpose (a PGlite file write failing inside WebAssembly).
 */
import { describe, expect, it } from 'vitest';
import { describeError, ResourceError } from '../../src/errors.js';
import { classifyDbError, describeDbError } from '../../src/store/db.js';

/** The shape of the object Emscripten's file system throws (FS.ErrnoError): a name and a WASI errno. */
const errnoError = (errno: number) => ({ name: 'ErrnoError', errno });

describe('database errors in one line', () => {
  it(
    'names an Emscripten ErrnoError by its errno, and ' + 'classifies a full disk as a ResourceError at the database',
    () => {
      expect(describeDbError(errnoError(51))).toBe('errno 51 (ENOSPC)');
      const error = classifyDbError(errnoError(51), '/data/db');
      expect(error).toBeInstanceOf(ResourceError);
      expect(error.message).toBe('no space left on device at /data/db');
      expect(classifyDbError(errnoError(29), '/data/db').message).toBe('input/output error at /data/db');
    },
  );

  it('never renders a thrown plain object as [object Object]', () => {
    for (const value of [{}, { foo: 1 }, errnoError(99), { message: 'boom', code: 'XX000' }, Object.create(null)]) {
      expect(describeError(value)).not.toMatch(/\[object Object\]/);
      expect(describeDbError(value)).not.toMatch(/\[object Object\]/);
    }
    expect(describeError({ message: 'boom', code: 'XX000' })).toBe('boom (XX000)');
  });

  it('leaves out the statement knex puts before the server message', () => {
    const error = Object.assign(
      new Error(
        'INSERT INTO series (uuid) SELECT * FROM unnest($1::uuid[]) - ' +
          'could not extend file "base/5/16385": No space left on device',
      ),
      { code: '53100' },
    );
    expect(describeDbError(error)).toBe('could not extend file "base/5/16385": No space left on device (53100)');
    const classified = classifyDbError(error, '/data/db');
    expect(classified).toBeInstanceOf(ResourceError);
    expect(classified.message).toBe(
      'no space left on device at /data/db (could not extend file "base/5/16385": No space left on device (53100))',
    );
  });
});
