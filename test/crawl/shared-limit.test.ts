/**
 * The crawl-wide limit of --queue postgres (src/crawl/shared-limit.ts) on a PostgreSQL server:
 * two limiters on separate connections stand for two workers. Their starts together keep to one
 * per window of 60 s / max-rpm, and a pause one of them is asked for holds the other too.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SharedLimit } from '../../src/crawl/shared-limit.js';
import { POSTGRES_URL, createTestDatabase, openMigrated, type TestDatabase } from '../support/db.js';

if (!POSTGRES_URL)
  console.warn(
    'test/crawl/shared-limit.test.ts: skipped, the shared limit lives in a PostgreSQL server (set TEST_DATABASE_URL)',
  );

describe.skipIf(!POSTGRES_URL)('SharedLimit: one limit for all workers', () => {
  let database: TestDatabase;
  const pools: pg.Pool[] = [];
  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    await (await openMigrated(database.target)).destroy();
  });
  afterAll(async () => {
    await Promise.all(pools.map((pool) => pool.end()));
    await database?.drop();
  });

  function workerPool(): pg.Pool {
    const pool = new pg.Pool({
      connectionString: database.target.kind === 'postgres' ? database.target.url : '',
      max: 1,
    });
    pools.push(pool);
    return pool;
  }

  it('two workers at --max-rpm 600 start one request per 100 ms between them', async () => {
    const [a, b] = [new SharedLimit(workerPool(), 1, 600), new SharedLimit(workerPool(), 1, 600)];
    const starts: number[] = [];
    const begin = Date.now();
    await Promise.all(
      [a, b].map(async (limit) => {
        for (let i = 0; i < 8; i++) {
          await limit.take();
          starts.push(Date.now() - begin);
        }
      }),
    );
    starts.sort((x, y) => x - y);
    // 16 starts, one per 100 ms window: the last no earlier than the 15th window (each alone would be done in 700 ms).
    expect(starts.at(-1)!).toBeGreaterThanOrEqual(1400);
    // No 100 ms span holds more than two (the end of one window and the start of the next).
    for (let i = 2; i < starts.length; i++) expect(starts[i]! - starts[i - 2]!).toBeGreaterThanOrEqual(95);
  });

  it('a Retry-After pause asked of one worker holds the other, even without --max-rpm', async () => {
    const [a, b] = [new SharedLimit(workerPool(), 2, Infinity), new SharedLimit(workerPool(), 2, Infinity)];
    await b.take();
    await a.pause(1500);
    const begin = Date.now();
    // Without --max-rpm a worker reads the pause every 250 ms.
    await new Promise((r) => setTimeout(r, 300));
    await b.take();
    expect(Date.now() - begin).toBeGreaterThanOrEqual(1400);
    // Another crawl's key is not held.
    const other = new SharedLimit(workerPool(), 3, Infinity);
    const otherBegin = Date.now();
    await other.take();
    expect(Date.now() - otherBegin).toBeLessThan(1000);
  });

  it('a stopped worker stops waiting at once', async () => {
    const limit = new SharedLimit(workerPool(), 4, Infinity);
    await limit.pause(60_000);
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 200);
    const begin = Date.now();
    await limit.take(stop.signal);
    expect(Date.now() - begin).toBeLessThan(5_000);
  });
});
