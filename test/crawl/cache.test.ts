/** The response cache on disk: exact bytes back, a record cut short is absent, old text records still read. */
import { mkdirSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ResponseCache, shardName } from '../../src/crawl/cache.js';
import { openStorage } from '../../src/crawl/storage.js';
import { tempDir } from '../support/db.js';

const KEY = 'classification-7b7e1a30-0000-4000-8000-000000000001';

async function withCache<T>(dir: string, fn: (cache: ResponseCache) => Promise<T>): Promise<T> {
  const storage = await openStorage(dir);
  try {
    return await fn(new ResponseCache(storage.config));
  } finally {
    await storage.close();
  }
}

function recordFile(dir: string): string {
  const store = path.join(dir, 'key_value_stores', shardName(KEY));
  return path.join(store, readdirSync(store).find((f) => f.startsWith(KEY))!);
}

describe('ResponseCache', () => {
  it('gives back the very bytes it was given, invalid UTF-8 included, across a reopen', async () => {
    const dir = tempDir('cache-');
    const body = Buffer.concat([Buffer.from('{"name":"N'), Buffer.from([0xfc, 0xff]), Buffer.from('rburgring 🏁"}\n')]);
    await withCache(dir, (cache) => cache.put(KEY, 'http://replica/x', body));
    const hit = await withCache(dir, (cache) => cache.get(KEY));
    expect(hit?.body.equals(body)).toBe(true);
    expect(hit?.fetchedAt).toBeLessThanOrEqual(Date.now());
  });

  it('treats a record cut short (a kill mid-write) as absent', async () => {
    const dir = tempDir('cache-');
    await withCache(dir, (cache) => cache.put(KEY, 'http://replica/x', Buffer.from('{"events":[1,2,3]}')));
    const file = recordFile(dir);
    truncateSync(file, readFileSync(file).length - 3);
    expect(await withCache(dir, (cache) => cache.get(KEY))).toBeUndefined();
  });

  it('still reads a record an earlier version stored as text', async () => {
    const dir = tempDir('cache-');
    const store = path.join(dir, 'key_value_stores', shardName(KEY));
    mkdirSync(store, { recursive: true });
    const body = '{"old":"text record"}';
    writeFileSync(path.join(store, `${KEY}.txt`), `${JSON.stringify({ fetchedAt: 1, url: 'http://replica/x', bytes: body.length })}\n${body}`);
    const hit = await withCache(dir, (cache) => cache.get(KEY));
    expect(hit?.body.toString()).toBe(body);
    expect(hit?.fetchedAt).toBe(1);
  });
});
