/**
 * Where the storage dir and the embedded database are: an empty --storage, CRAWLEE_STORAGE_DIR or
 * --db is refused in one line naming it (an empty path is the current folder); a --db that is the
 * storage dir itself, or a folder holding other files, is refused in one line naming the flag and
 * the folder before PGlite starts; `status` reads a read-only storage dir (a read-only bind mount).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startReplica, syntheticTree } from '../replica/index.js';
import { POSTGRES_URL, tempDir } from '../support/db.js';
import { cli } from '../support/inprocess.js';

const TREE = { seed: 2, series: 1, seasonsPerSeries: 1, eventsPerSeason: 2, sessionsPerEvent: 1, carsPerSession: 3 };

describe('an empty --storage, CRAWLEE_STORAGE_DIR or --db: one line naming it, exit 1', () => {
  it.each([
    [['status', '--storage', ''], {}, 'ERROR --storage is empty: give a folder, or leave it out for ./storage'],
    [['migrate', '--storage', ' '], {}, 'ERROR --storage is empty: give a folder, or leave it out for ./storage'],
    [
      ['crawl', '--base-url', 'http://127.0.0.1:9'],
      { CRAWLEE_STORAGE_DIR: '' },
      'ERROR CRAWLEE_STORAGE_DIR is empty: give a folder, or unset it for ./storage',
    ],
    [
      ['status', '--db', ''],
      {},
      'ERROR --db is empty: give a postgres:// URL or a folder, or leave it out for <storage>/db',
    ],
  ])('%j %j', async (args, env, line) => {
    const cwd = readdirSync(process.cwd()).sort();
    const run = await cli(args, env);
    expect(run.code).toBe(1);
    expect(run.lines).toEqual([line]);
    // Nothing was made in the folder the command ran in.
    expect(readdirSync(process.cwd()).sort()).toEqual(cwd);
  });

  it('a --storage flag wins over an empty CRAWLEE_STORAGE_DIR (the variable is not read)', async () => {
    const storage = tempDir();
    const run = await cli(['status', '--storage', storage], { CRAWLEE_STORAGE_DIR: '' });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`No crawl in ${storage}.`);
  });
});

describe('--db at a folder that is not an embedded database: one line, before PGlite starts', () => {
  it('the storage dir itself', async () => {
    const storage = tempDir();
    const run = await cli(['migrate', '--storage', storage, '--db', storage]);
    expect(run.code).toBe(1);
    expect(run.lines).toEqual([
      `ERROR --db ${storage} is the storage dir itself (--storage): give the embedded database a folder of its ` +
        `own, or leave --db out for ${path.join(storage, 'db')}`,
    ]);
    expect(readdirSync(storage)).toEqual([]);
  });

  it('a folder holding other files; the default <storage>/db likewise, by its own name', async () => {
    const storage = tempDir();
    const foreign = tempDir();
    for (const name of ['a.txt', 'b.txt', 'c.txt', 'd.txt']) writeFileSync(path.join(foreign, name), 'mine');
    const run = await cli(['migrate', '--storage', storage, '--db', foreign]);
    expect(run.code).toBe(1);
    expect(run.lines).toEqual([
      `ERROR --db ${foreign} holds files (a.txt, b.txt, c.txt, …) but no embedded database: ` +
        'give a new or empty folder, or the folder of an embedded database',
    ]);
    expect(readdirSync(foreign).sort()).toEqual(['a.txt', 'b.txt', 'c.txt', 'd.txt']);
    // No lock taken beside it, no cluster being built.
    expect(existsSync(`${foreign}.lock`)).toBe(false);
    expect(existsSync(`${foreign}.creating`)).toBe(false);

    mkdirSync(path.join(storage, 'db'));
    writeFileSync(path.join(storage, 'db', 'notes'), 'mine');
    const defaulted = await cli(['migrate', '--storage', storage]);
    expect(defaulted.code).toBe(1);
    expect(defaulted.lines).toEqual([
      `ERROR the embedded database dir ${path.join(storage, 'db')} holds files (notes) but no embedded ` +
        'database: give a new or empty folder, or the folder of an embedded database',
    ]);
  });

  it('an empty folder becomes a database; a database folder opens again', async () => {
    const database = tempDir();
    const storage = tempDir();
    expect((await cli(['migrate', '--storage', storage, '--db', database])).code).toBe(0);
    expect(existsSync(path.join(database, 'PG_VERSION'))).toBe(true);
    const again = await cli(['migrate', '--storage', storage, '--db', database]);
    expect(again.code, again.stderr).toBe(0);
  }, 120_000);
});

/** Why a read-only bind mount cannot be made here, or undefined when it can. */
function bindMountUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: a read-only bind mount needs root';
  const probe = tempDir('msc-ro-probe-');
  try {
    execFileSync('mount', ['--bind', probe, probe], { stdio: 'pipe' });
    execFileSync('umount', [probe], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    return `mount --bind failed: ${(error as Error).message}`;
  }
}

const NO_BIND = bindMountUnavailable();
if (NO_BIND) console.warn(`test/e2e/storage-flags.test.ts: skipping the read-only storage test: ${NO_BIND}`);

describe.skipIf(NO_BIND !== undefined)('status on a read-only storage dir', () => {
  const mounts: string[] = [];
  afterAll(() => {
    for (const dir of mounts) execFileSync('umount', [dir], { stdio: 'pipe' });
  });

  it('reads the crawl, the cache and the last summary; says why the embedded database there is not read', async () => {
    const replica = await startReplica({ tree: syntheticTree(TREE) });
    const source = tempDir();
    try {
      const crawled = await cli(['crawl', '--storage', source, '--base-url', replica.url, '--max-rpm', '100000']);
      expect(crawled.code, crawled.stderr).toBe(0);
    } finally {
      await replica.close();
    }
    const readOnly = tempDir('msc-ro-');
    execFileSync('mount', ['--bind', source, readOnly], { stdio: 'pipe' });
    mounts.push(readOnly);
    execFileSync('mount', ['-o', 'remount,bind,ro', readOnly], { stdio: 'pipe' });
    const before = readdirSync(readOnly).sort();

    const run = await cli(['status', '--storage', readOnly]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^Crawl in ${readOnly}: started \\S+ from http://\\S+, finished$`, 'm'));
    expect(run.stdout).toMatch(/^total +\d+ +0 +0 +0$/m);
    expect(run.stdout).toMatch(/^Last crawl: complete, finished /m);
    // PGlite opens a database to write (its lock, its WAL): on a read-only disk it is not read, and status says why.
    expect(run.stdout).toMatch(/^ {2}not read: .*EROFS/m);
    expect(readdirSync(readOnly).sort()).toEqual(before);
  }, 120_000);

  it.skipIf(!POSTGRES_URL)('with --db on a server: the storage dir read-only, the database read', async () => {
    const readOnly = tempDir('msc-ro-');
    const source = tempDir();
    writeFileSync(path.join(source, 'placeholder'), '');
    execFileSync('mount', ['--bind', source, readOnly], { stdio: 'pipe' });
    mounts.push(readOnly);
    execFileSync('mount', ['-o', 'remount,bind,ro', readOnly], { stdio: 'pipe' });
    const run = await cli(['status', '--storage', readOnly, '--db', POSTGRES_URL!]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`No crawl in ${readOnly}.`);
    expect(run.stdout).toMatch(/^Database: postgres:\/\//m);
  });
});
