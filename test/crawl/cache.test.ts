/** The response cache on disk: exact bytes back, a record cut short or changed is damaged, old records still read. */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ResponseCache, type CacheLookup, type CachedBody } from '../../src/crawl/cache.js';
import { cacheStoreLabel, shardName } from '../../src/crawl/cache-stores.js';
import { openStorageDir } from '../../src/crawl/storage-dir.js';
import { readCacheRecord, rewriteCacheBody } from '../support/cache-files.js';
import { tempDir } from '../support/db.js';

const KEY = 'classification-7b7e1a30-0000-4000-8000-000000000001';
const ORIGIN = 'http://replica:8080';

async function withCache<T>(dir: string, fn: (cache: ResponseCache) => Promise<T>): Promise<T> {
  return withCacheOf(dir, ORIGIN, fn);
}

async function withCacheOf<T>(dir: string, origin: string, fn: (cache: ResponseCache) => Promise<T>): Promise<T> {
  const storage = await openStorageDir(dir);
  try {
    return await fn(new ResponseCache(storage.config, dir, origin));
  } finally {
    await storage.close();
  }
}

/** A classification-like body well above DEFAULTS.cacheCompressMinBytes, so it is stored compressed. */
function compressibleBody(position = 1): Buffer {
  const cars = Array.from({ length: 60 }, (_, i) => ({ carNumber: String(i), status: 'Finished', laps: 57 }));
  return Buffer.from(JSON.stringify({ finishPosition: position, cars }));
}

function hitOf(lookup: CacheLookup): CachedBody {
  if (lookup.state !== 'hit') throw new Error(`expected a hit, got ${JSON.stringify(lookup)}`);
  return lookup.record;
}

function recordFile(dir: string): string {
  const store = path.join(dir, 'key_value_stores', shardName(KEY, ORIGIN));
  return path.join(store, readdirSync(store).find((f) => f.startsWith(KEY))!);
}

describe('ResponseCache', () => {
  it('gives back the very bytes it was given, invalid UTF-8 included, across a reopen', async () => {
    const dir = tempDir('cache-');
    const body = Buffer.concat([Buffer.from('{"name":"N'), Buffer.from([0xfc, 0xff]), Buffer.from('rburgring 🏁"}\n')]);
    await withCache(dir, (cache) => cache.put(KEY, 'http://replica:8080/x', body));
    const hit = hitOf(await withCache(dir, (cache) => cache.get(KEY)));
    expect(hit.body.equals(body)).toBe(true);
    expect(hit.fetchedAt).toBeLessThanOrEqual(Date.now());
  });

  it("stores the body deflated with its endpoint's dictionary, with the length and hash of the body", async () => {
    const dir = tempDir('cache-');
    const body = Buffer.from(
      JSON.stringify({
        events: Array.from({ length: 200 }, (_, i) => ({ uuid: `e-${i}`, name: 'Grand Prix', status: 'Finished' })),
      }),
    );
    await withCache(dir, (cache) => cache.put(KEY, 'http://replica:8080/x', body));
    const file = recordFile(dir);
    const { header } = readCacheRecord(file);
    expect(header).toMatchObject({
      encoding: 'deflate',
      dictionary: 'classification.1',
      bytes: body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
    });
    expect(statSync(file).size).toBeLessThan(body.length / 5);
    expect(hitOf(await withCache(dir, (cache) => cache.get(KEY))).body.equals(body)).toBe(true);
  });

  it('treats a record cut short (a kill mid-write) as damaged', async () => {
    const dir = tempDir('cache-');
    await withCache(dir, (cache) => cache.put(KEY, 'http://replica:8080/x', compressibleBody()));
    const file = recordFile(dir);
    const stored = readCacheRecord(file).header.stored as number;
    truncateSync(file, readFileSync(file).length - 3);
    expect(await withCache(dir, (cache) => cache.get(KEY))).toEqual({
      state: 'damaged',
      reason: `cut short: ${stored - 3} of ${stored} stored bytes`,
    });
  });

  it(
    'treats a compressed record whose bytes changed but ' + 'not its length as damaged (it does not decompress)',
    async () => {
      const dir = tempDir('cache-');
      await withCache(dir, (cache) => cache.put(KEY, 'http://replica:8080/x', compressibleBody()));
      const file = recordFile(dir);
      const bytes = readFileSync(file);
      bytes[bytes.length - 2]! ^= 0xff; // inside zlib's Adler-32 trailer: the stream no longer checks out
      writeFileSync(file, bytes);
      expect(await withCache(dir, (cache) => cache.get(KEY))).toMatchObject({
        state: 'damaged',
        reason: expect.stringMatching(/^does not decompress/),
      });
    },
  );

  it('treats a record whose body changed but not its length as damaged (content hash of the raw bytes)', async () => {
    const dir = tempDir('cache-');
    await withCache(dir, (cache) => cache.put(KEY, 'http://replica:8080/x', compressibleBody()));
    const file = recordFile(dir);
    expect(readCacheRecord(file).header.encoding).toBe('deflate');
    const bytes = readCacheRecord(file).body;
    const flipped = Buffer.from(bytes.toString('latin1').replace('"finishPosition":1', '"finishPosition":9'), 'latin1');
    expect(flipped.length).toBe(bytes.length);
    rewriteCacheBody(file, flipped);
    expect(await withCache(dir, (cache) => cache.get(KEY))).toEqual({
      state: 'damaged',
      reason: 'content hash mismatch',
    });
  });

  it('stores a body under 2 KiB as it came, without an encoding, and reads it back byte-exact', async () => {
    const dir = tempDir('cache-');
    const body = Buffer.concat([Buffer.from('{"content":[],"n":"'), Buffer.from([0xfc]), Buffer.from('"}')]);
    await withCache(dir, (cache) => cache.put(KEY, 'http://replica:8080/x', body));
    const file = recordFile(dir);
    const { header } = readCacheRecord(file);
    expect(header.encoding).toBeUndefined();
    expect(header.stored).toBeUndefined();
    expect(header).toMatchObject({ bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') });
    expect(readFileSync(file).subarray(-body.length).equals(body)).toBe(true);
    expect(hitOf(await withCache(dir, (cache) => cache.get(KEY))).body.equals(body)).toBe(true);
  });

  it('treats a small record stored as it came, whose body changed but not its length, as damaged', async () => {
    const dir = tempDir('cache-');
    await withCache(dir, (cache) => cache.put(KEY, 'http://replica:8080/x', Buffer.from('{"finishPosition":1}')));
    const file = recordFile(dir);
    rewriteCacheBody(file, Buffer.from('{"finishPosition":9}'));
    expect(await withCache(dir, (cache) => cache.get(KEY))).toEqual({
      state: 'damaged',
      reason: 'content hash mismatch',
    });
  });

  it('reads an uncompressed record of the previous version, checking its length and hash', async () => {
    const dir = tempDir('cache-');
    const store = path.join(dir, 'key_value_stores', shardName(KEY, ORIGIN));
    mkdirSync(store, { recursive: true });
    const body = Buffer.from('{"previous":"uncompressed record"}');
    const header = {
      fetchedAt: 4,
      url: `${ORIGIN}/x`,
      bytes: body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
    };
    writeFileSync(path.join(store, `${KEY}.bin`), Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), body]));
    expect(hitOf(await withCache(dir, (cache) => cache.get(KEY))).body.equals(body)).toBe(true);
    writeFileSync(
      path.join(store, `${KEY}.bin`),
      Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), Buffer.from(body.toString().replace('un', 'UN'))]),
    );
    expect(await withCache(dir, (cache) => cache.get(KEY))).toEqual({
      state: 'damaged',
      reason: 'content hash mismatch',
    });
  });

  it('reads record files the previous version wrote, gzip-compressed and as they came, and checks them', async () => {
    const dir = tempDir('cache-');
    // Written by the previous version (gzip level 6 above 2 KiB) in a crawl of the recorded tree on 127.0.0.1:46865.
    const origin = 'http://127.0.0.1:46865';
    const records = path.join(import.meta.dirname, 'records');
    const recorded = path.join(import.meta.dirname, '../replica/fixtures/classification');
    const copies = [
      { key: 'classification-443b426f-cc54-4d42-a05a-2da3c3059e26', file: 'gzip-classification-443b426f.bin' },
      { key: 'classification-0008ecaa-c5f7-44f8-98a5-6bb3a5e61c27', file: 'raw-classification-0008ecaa.bin' },
    ];
    for (const { key, file } of copies) {
      const store = path.join(dir, 'key_value_stores', shardName(key, origin));
      mkdirSync(store, { recursive: true });
      writeFileSync(path.join(store, `${key}.bin`), readFileSync(path.join(records, file)));
    }
    const [gzipped, raw] = copies.map(({ key }) =>
      path.join(dir, 'key_value_stores', shardName(key, origin), `${key}.bin`),
    );
    expect(readCacheRecord(gzipped!).header).toMatchObject({ encoding: 'gzip', stored: 3616, bytes: 20595 });
    const read = (key: string) => withCacheOf(dir, origin, (cache) => cache.get(key));
    const served = readFileSync(path.join(recorded, '443b426f-cc54-4d42-a05a-2da3c3059e26.json'));
    expect(hitOf(await read(copies[0]!.key)).body.equals(served)).toBe(true);
    expect(hitOf(await read(copies[1]!.key)).body.toString()).toBe('{"details":[],"retirements":[]}');
    // Still checked as before: a changed byte of the gzip stream, and a changed body of the same length.
    const bytes = readFileSync(gzipped!);
    bytes[bytes.length - 6]! ^= 0xff; // inside gzip's CRC-32 trailer
    writeFileSync(gzipped!, bytes);
    expect(await read(copies[0]!.key)).toMatchObject({
      state: 'damaged',
      reason: expect.stringMatching(/^does not decompress/),
    });
    rewriteCacheBody(raw!, Buffer.from('{"details":[],"retirements":{}}'));
    expect(await read(copies[1]!.key)).toEqual({ state: 'damaged', reason: 'content hash mismatch' });
  });

  it('reads a binary record of an earlier version, without a hash, checking its length only', async () => {
    const dir = tempDir('cache-');
    const store = path.join(dir, 'key_value_stores', shardName(KEY));
    mkdirSync(store, { recursive: true });
    const body = '{"old":"binary record"}';
    writeFileSync(
      path.join(store, `${KEY}.bin`),
      `${JSON.stringify({ fetchedAt: 2, url: 'http://replica:8080/x', bytes: body.length })}\n${body}`,
    );
    expect(hitOf(await withCache(dir, (cache) => cache.get(KEY))).body.toString()).toBe(body);
  });

  it('says absent for a key never stored', async () => {
    expect(await withCache(tempDir('cache-'), (cache) => cache.get(KEY))).toEqual({ state: 'absent' });
  });

  it('still reads a record an earlier version stored as text', async () => {
    const dir = tempDir('cache-');
    const store = path.join(dir, 'key_value_stores', shardName(KEY));
    mkdirSync(store, { recursive: true });
    const body = '{"old":"text record"}';
    writeFileSync(
      path.join(store, `${KEY}.txt`),
      `${JSON.stringify({ fetchedAt: 1, url: 'http://replica:8080/x', bytes: body.length })}\n${body}`,
    );
    const hit = hitOf(await withCache(dir, (cache) => cache.get(KEY)));
    expect(hit.body.toString()).toBe(body);
    expect(hit.fetchedAt).toBe(1);
  });

  it('writes a record as <key>.bin, as Crawlee named it, over a text record of an earlier version', async () => {
    const dir = tempDir('cache-');
    const store = path.join(dir, 'key_value_stores', shardName(KEY, ORIGIN));
    mkdirSync(store, { recursive: true });
    const old = '{"old":"text record"}';
    writeFileSync(
      path.join(store, `${KEY}.txt`),
      `${JSON.stringify({ fetchedAt: 1, url: `${ORIGIN}/x`, bytes: old.length })}\n${old}`,
    );
    const body = compressibleBody();
    await withCache(dir, (cache) => cache.put(KEY, `${ORIGIN}/x`, body, { fetchedAt: 2 }));
    expect(readdirSync(store).sort()).toEqual([`${KEY}.bin`, `${KEY}.txt`]);
    // The record written last is the one read, in this process and the next.
    expect(hitOf(await withCache(dir, (cache) => cache.get(KEY))).body).toEqual(body);
    await withCache(dir, (cache) => cache.delete(KEY));
    expect(readdirSync(store)).toEqual([]);
    expect(await withCache(dir, (cache) => cache.get(KEY))).toEqual({ state: 'absent' });
  });

  it('keys records by origin: another origin neither sees nor overwrites them', async () => {
    const dir = tempDir('cache-');
    const other = 'http://replica:9090';
    await withCache(dir, (cache) => cache.put(KEY, `${ORIGIN}/x`, Buffer.from('{"from":8080}')));
    const storage = await openStorageDir(dir);
    try {
      const theirs = new ResponseCache(storage.config, dir, other);
      expect(await theirs.get(KEY)).toEqual({ state: 'absent' });
      await theirs.put(KEY, `${other}/x`, Buffer.from('{"from":9090}'));
      expect(hitOf(await theirs.get(KEY)).body.toString()).toBe('{"from":9090}');
    } finally {
      await storage.close();
    }
    expect(hitOf(await withCache(dir, (cache) => cache.get(KEY))).body.toString()).toBe('{"from":8080}');
    expect(shardName(KEY, ORIGIN)).toBe('responses-classification-7b@http-replica-8080');
    expect(shardName(KEY, 'https://api.motorsportstats.com')).toBe(
      'responses-classification-7b@https-api.motorsportstats.com-443',
    );
    expect(shardName(KEY, 'http://[::1]:8787')).toBe('responses-classification-7b@http-___1_-8787');
    // A base URL with a path has stores of its own; the root's names are those of old.
    expect(shardName(KEY, `${ORIGIN}/other/api`)).toMatch(
      /^responses-classification-7b@http-replica-8080-p[0-9a-f]{12}$/,
    );
    expect(shardName(KEY, `${ORIGIN}/other/api`)).not.toBe(shardName(KEY, `${ORIGIN}/another`));
    expect(cacheStoreLabel(shardName(KEY, `${ORIGIN}/other/api`))).toBe('classification');
  });

  it(
    'reads a record of an earlier version (stores keyed ' + 'without the origin) only for the origin in its header',
    async () => {
      const dir = tempDir('cache-');
      const store = path.join(dir, 'key_value_stores', shardName(KEY));
      mkdirSync(store, { recursive: true });
      const body = '{"legacy":true}';
      writeFileSync(
        path.join(store, `${KEY}.bin`),
        `${JSON.stringify({ fetchedAt: 3, url: `${ORIGIN}/x`, bytes: body.length })}\n${body}`,
      );
      expect(hitOf(await withCache(dir, (cache) => cache.get(KEY))).body.toString()).toBe(body);
      const storage = await openStorageDir(dir);
      try {
        expect(await new ResponseCache(storage.config, dir, 'http://replica:9090').get(KEY)).toEqual({
          state: 'absent',
        });
      } finally {
        await storage.close();
      }
    },
  );
});
