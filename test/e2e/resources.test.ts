/**
 * The machine and the database under the crawl: a disk that fills up (the embedded database, the
 * response cache, the queue journal, each on its own small tmpfs) stops the crawl with one line
 * naming the path, exit 1, and a resume on a bigger disk ends with exactly the rows of the tree;
 * a database deleted or swapped under an unfinished crawl is noticed in one line and the queue is
 * rebuilt from what that database holds; a folder that cannot be created (under /proc, under a
 * file) is said in one line, exit 1, instead of Node's recursive mkdir spinning for ever.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueJournal } from '../../src/crawl/queue-journal.js';
import { expectedCounts, startReplica, syntheticTree, type Replica, type ReplicaTree } from '../replica/index.js';
import { runCli, startCli } from '../support/cli.js';
import {
  DATABASE_KINDS,
  createTestDatabase,
  liveCountsOf,
  newEmbeddedDb,
  tempDir,
  type TestDatabase,
} from '../support/db.js';
import { cli } from '../support/inprocess.js';

// About 350 requests and 35,000 rows: ~45 MB in the embedded database, 2.4 MB of cache, 160 kB of journal.
const TREE = { seed: 1, series: 4, seasonsPerSeries: 4, eventsPerSeason: 6, sessionsPerEvent: 4, carsPerSession: 30 };

const embedded = (dir: string): TestDatabase => ({
  name: 'pglite',
  target: { kind: 'embedded', dir },
  drop: async () => rmSync(dir, { recursive: true, force: true }),
});

function crawlArgs(replica: Replica, storage: string, db: string, extra: string[] = []): string[] {
  return [
    'crawl',
    '--storage',
    storage,
    '--db',
    db,
    '--base-url',
    replica.url,
    '--max-rpm',
    '100000',
    '--concurrency',
    '16',
    ...extra,
  ];
}

/** stderr's warnings and errors (the info lines and progress lines left out). */
const problems = (stderr: string) => stderr.split('\n').filter((line) => /^(ERROR|WARN)\b/.test(line));

/** Mounts a tmpfs of `size` at `dir`; false (with the reason) when this machine does not allow it. */
function mountTmpfs(dir: string, size: string): string | undefined {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    return (
      `mount -t tmpfs failed: ` +
      `${(error as { stderr?: Buffer }).stderr?.toString().trim() || (error as Error).message}`
    );
  }
}

function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    // not mounted
  }
}

/** Why the disk-full tests cannot run here, or undefined when they can. */
function tmpfsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: mounting a small tmpfs needs root';
  const probe = tempDir('msc-tmpfs-probe-');
  const failed = mountTmpfs(probe, '1m');
  unmount(probe);
  return failed;
}

const NO_TMPFS = tmpfsUnavailable();
if (NO_TMPFS) console.warn(`skipping the disk-full tests: ${NO_TMPFS}`);

describe.skipIf(NO_TMPFS !== undefined)('a disk that fills up', () => {
  let tree: ReplicaTree;
  let replica: Replica;
  const mounts: string[] = [];
  const databases: TestDatabase[] = [];
  beforeAll(async () => {
    tree = syntheticTree(TREE);
    replica = await startReplica({ tree });
  });
  afterAll(async () => {
    await replica?.close();
    for (const dir of mounts) unmount(dir);
    for (const database of databases) await database.drop();
  });

  function smallDisk(size: string): string {
    const dir = tempDir('msc-tmpfs-');
    const failed = mountTmpfs(dir, size);
    if (failed) throw new Error(failed);
    mounts.push(dir);
    return dir;
  }

  /** The crawl stopped on the full disk: exit 1, one line naming `where`, the summary on stdout and nothing else. */
  function expectStoppedAt(run: { code: number | null; stdout: string; stderr: string }, where: RegExp): void {
    expect(run.code, run.stderr).toBe(1);
    expect(problems(run.stderr), run.stderr).toHaveLength(1);
    expect(problems(run.stderr)[0]).toMatch(where);
    expect(run.stdout).toMatch(/^Crawl stopped by an error after /);
    expect(run.stdout).toMatch(
      /no space left on device at .*\. Nothing stored was lost\. Run the same crawl command again to resume/,
    );
    for (const output of [run.stdout, run.stderr]) {
      expect(output).not.toMatch(/\[object Object\]|^\s+at /m);
    }
  }

  it('the embedded database: stops before PGlite runs out of room, and resumes exactly on a bigger disk', async () => {
    // 40 MB for a new database, 40 MB of guard, and some room for rows: full about a third of the way in.
    const disk = smallDisk('100m');
    await newEmbeddedDb(path.join(disk, 'db'));
    const storage = tempDir();
    const started = Date.now();
    const full = await runCli(crawlArgs(replica, storage, path.join(disk, 'db')));
    expectStoppedAt(
      full,
      new RegExp(
        `^ERROR no space left on device at ${disk}/db \\(\\d+\\.\\d MiB free at [^;]+; the embedded database needs ` +
          `\\d+\\.\\d MiB to write safely: a reserve of 40 MiB( \\+ [\\d,]+ ` +
          `rows? of the next write at 3 KiB each)?\\): stopping the crawl$`,
      ),
    );
    expect(Date.now() - started).toBeLessThan(180_000);

    // Again on the full disk: refused at once, before the database is opened.
    const again = await runCli(crawlArgs(replica, storage, path.join(disk, 'db')));
    expect(again.code).toBe(1);
    expect(problems(again.stderr)).toEqual([
      expect.stringMatching(new RegExp(`^ERROR no space left on device at ${disk}/db \\(`)),
    ]);

    // The same database moved to a bigger disk (what stopped it is still whole: it opens, and resumes).
    const bigger = path.join(tempDir(), 'db');
    cpSync(path.join(disk, 'db'), bigger, { recursive: true });
    const resumed = await runCli(crawlArgs(replica, storage, bigger));
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming the crawl/);
    expect(problems(resumed.stderr)).toEqual([]);
    expect(await liveCountsOf(embedded(bigger))).toEqual(expectedCounts(tree).rows);
  }, 300_000);

  it.each([
    ['the response cache', 'key_value_stores', '1m', /key_value_stores\/responses-/],
    ['the queue journal', 'request_queues', '64k', /request_queues\/crawl\/journal\.ndjson/],
  ])(
    '%s: one line naming the file, and a resume on a bigger disk ends with every row',
    async (_, folder, size, file) => {
      const storage = tempDir();
      // The database is not on the small disk, nor what is tested here: the server when there is one.
      const database = await createTestDatabase(DATABASE_KINDS.at(-1)!);
      databases.push(database);
      const db = database.target.kind === 'embedded' ? database.target.dir : database.target.url;
      const disk = path.join(storage, folder);
      const failed = mountTmpfs(disk, size);
      if (failed) throw new Error(failed);
      mounts.push(disk);

      const full = await runCli(crawlArgs(replica, storage, db));
      expectStoppedAt(full, new RegExp(`^ERROR no space left on device at ${storage}/${file.source}`));

      // The folder moves to the bigger disk the rest of the storage dir is on.
      const kept = tempDir();
      cpSync(disk, kept, { recursive: true });
      if (folder === 'request_queues') {
        // The journal is whole lines only: the line the disk cut short was taken back.
        const copy = tempDir();
        cpSync(path.join(kept, 'crawl'), copy, { recursive: true });
        expect(QueueJournal.open(copy).unreadableLines).toBe(0);
      }
      unmount(disk);
      cpSync(kept, disk, { recursive: true });
      const resumed = await runCli(crawlArgs(replica, storage, db));
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.stderr).toMatch(/resuming the crawl/);
      expect(await liveCountsOf(database)).toEqual(expectedCounts(tree).rows);
    },
    300_000,
  );
});

describe('a database deleted or swapped under an unfinished crawl', () => {
  let tree: ReplicaTree;
  let replica: Replica;
  // In-process (src/cli.ts's main): what is tested is how the crawl treats the database it finds, not the process.
  beforeAll(async () => {
    // ~150 requests: a crawl stopped at --max-requests 10 (plus
    // the 48 handlers in flight then) is well short of the end.
    tree = syntheticTree({ ...TREE, series: 2, seasonsPerSeries: 3, eventsPerSeason: 6, carsPerSession: 6 });
    replica = await startReplica({ tree });
  });
  afterAll(async () => replica?.close());

  it('<storage>/db deleted: one line, the queue rebuilt (here: afresh), every row at the end, exit 0', async () => {
    const storage = tempDir();
    const db = await newEmbeddedDb(path.join(storage, 'db'));
    const first = await cli(crawlArgs(replica, storage, db, ['--max-requests', '10']));
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/Stopped at --max-requests/);
    rmSync(db, { recursive: true, force: true });

    const again = await cli(crawlArgs(replica, storage, db));
    expect(again.code, again.stderr + again.stdout).toBe(0);
    expect(problems(again.stderr)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^WARN the unfinished crawl in ${storage} wrote to another database \\(id [0-9a-f-]{36}\\) than embedded ` +
            `PostgreSQL at ${db} \\(deleted, reset or replaced since\\): this ` +
            `database holds nothing, starting afresh from the series list$`,
        ),
      ),
    ]);
    expect(again.stdout).not.toMatch(/foreign key|Failures/);
    expect(await liveCountsOf(embedded(db))).toEqual(expectedCounts(tree).rows);
  }, 300_000);

  it('another --db holding part of the tree: the queue is rebuilt from its rows, and ends with every row', async () => {
    const storage = tempDir();
    const dbA = await newEmbeddedDb(path.join(tempDir(), 'a'));
    const dbB = await newEmbeddedDb(path.join(tempDir(), 'b'));
    // B holds the first part of the tree (a finished small crawl of its own storage dir).
    const partial = await cli(crawlArgs(replica, tempDir(), dbB, ['--max-requests', '10']));
    expect(partial.code).toBe(0);
    const first = await cli(crawlArgs(replica, storage, dbA, ['--max-requests', '10']));
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/Stopped at --max-requests/);

    const swapped = await cli(crawlArgs(replica, storage, dbB));
    expect(swapped.code, swapped.stderr + swapped.stdout).toBe(0);
    expect(problems(swapped.stderr)).toEqual([
      expect.stringMatching(
        new RegExp(
          '^WARN the unfinished crawl in .* wrote to another database .*: rebuilding ' +
            "its queue from the \\d+ requests? this database's rows imply$",
        ),
      ),
    ]);
    expect(swapped.stdout).not.toMatch(/foreign key|Failures/);
    expect(await liveCountsOf(embedded(dbB))).toEqual(expectedCounts(tree).rows);
  }, 300_000);
});

describe('folders that cannot be created: one line naming the flag, the path and the cause, exit 1', () => {
  /**
   * Runs the CLI, killed (SIGKILL: a process spinning in mkdir ignores the others) when it takes
   * longer than a start-up and one line could on a loaded machine.
   */
  async function runBounded(args: string[], env: Record<string, string> = {}) {
    const run = startCli(args, env);
    const killer = setTimeout(() => run.child.kill('SIGKILL'), 60_000);
    try {
      return await run.done;
    } finally {
      clearTimeout(killer);
    }
  }
  const base = tempDir('msc-folders-');
  // Outside the storage dir (base): an export inside it is refused for that reason first.
  const file = path.join(tempDir('msc-file-'), 'a-file');
  writeFileSync(file, 'not a folder');
  const proc = existsSync('/proc/self') ? undefined : 'no /proc here';

  it.skipIf(proc !== undefined)(
    'under /proc: --storage, CRAWLEE_STORAGE_DIR, --db and export --out',
    async () => {
      const database = path.join(base, 'db');
      expect((await runBounded(['migrate', '--db', database, '--storage', base])).code).toBe(0);
      const runs = await Promise.all([
        runBounded(['crawl', '--storage', '/proc/nope', '--base-url', 'http://127.0.0.1:9']),
        runBounded(['crawl', '--base-url', 'http://127.0.0.1:9', '--plan'], {
          CRAWLEE_STORAGE_DIR: '/proc/nope/deeper',
        }),
        runBounded(['migrate', '--db', '/proc/nope', '--storage', base]),
        runBounded(['export', '--db', database, '--storage', base, '--out', '/proc/nope']),
        // The default database, <storage>/db: the storage dir given is the one named.
        runBounded(['migrate', '--storage', '/proc/nope']),
      ]);
      const enoent = '\\(ENOENT: no such file or directory; the file system at /proc takes no new folders\\)';
      const expected = [
        `^ERROR --storage /proc/nope: cannot create /proc/nope ${enoent}$`,
        `^ERROR CRAWLEE_STORAGE_DIR /proc/nope/deeper: cannot create /proc/nope ${enoent}$`,
        `^ERROR --db /proc/nope: cannot create /proc/nope ${enoent}$`,
        `^ERROR --out /proc/nope: cannot create /proc/nope ${enoent}$`,
        `^ERROR --storage /proc/nope: cannot create /proc/nope ${enoent}$`,
      ];
      runs.forEach((run, i) => {
        expect(run.code, run.stderr).toBe(1);
        expect(run.stdout).toBe('');
        expect(run.stderr.split('\n').filter((line) => /^(ERROR|WARN)/.test(line))).toEqual([
          expect.stringMatching(new RegExp(expected[i]!)),
        ]);
      });
    },
    120_000,
  );

  it('under a regular file: --storage, --db and export --out', async () => {
    const database = path.join(base, 'db2');
    expect((await runBounded(['migrate', '--db', database, '--storage', base])).code).toBe(0);
    const runs = await Promise.all([
      runBounded(['crawl', '--storage', path.join(file, 'storage'), '--base-url', 'http://127.0.0.1:9']),
      runBounded(['migrate', '--db', path.join(file, 'db'), '--storage', base]),
      runBounded(['export', '--db', database, '--storage', base, '--out', path.join(file, 'out')]),
      runBounded(['export', '--db', database, '--storage', base, '--out', file]),
    ]);
    const expected = [
      `ERROR --storage ${file}/storage: ${file} is a file, not a folder`,
      `ERROR --db ${file}/db: ${file} is a file, not a folder`,
      `ERROR --out ${file}/out: ${file} is a file, not a folder`,
      `ERROR --out ${file} is a file, not a folder`,
    ];
    runs.forEach((run, i) => {
      expect(run.code, run.stderr).toBe(1);
      expect(run.stderr.split('\n').filter((line) => /^(ERROR|WARN)/.test(line))).toEqual([expected[i]]);
    });
  }, 120_000);
});
