/**
 * Where `export` writes: never into /, the home folder, the storage dir, the embedded database's
 * dir or a folder holding either; into a non-empty folder only when it holds an export (or with
 * --force, leaving the other files alone); and a re-export leaves exactly its own files.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATASETS } from '../../src/export/datasets.js';
import { runCli } from '../support/cli.js';
import { createTestDatabase, openMigrated, tempDir, type TestDatabase } from '../support/db.js';
import { exportDb } from '../support/export.js';
import { cli } from '../support/inprocess.js';

const filesOf = (format: string) => [...DATASETS.map((d) => `${d.name}.${format}`), 'manifest.json'].sort();
const listing = (dir: string) => readdirSync(dir).sort();

describe('export guards', () => {
  let database: TestDatabase;
  let dbDir: string;
  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    await (await openMigrated(database.target)).destroy();
    dbDir = database.target.kind === 'embedded' ? database.target.dir : '';
  });
  afterAll(async () => database?.drop());

  it(
    'refuses /, the home folder, the storage dir, a folder holding it or ' +
      'inside it, and the database dir and folders inside it, --force or not',
    async () => {
      const base = tempDir('msc-guards-');
      const storage = path.join(base, 'work', 'storage');
      mkdirSync(storage, { recursive: true });
      writeFileSync(path.join(storage, 'keep.txt'), 'mine');
      await expect(exportDb(database.target, { out: '/', storage })).rejects.toThrow(
        /^refusing to export into \/: it is the root of the filesystem/,
      );
      expect(existsSync('/manifest.json') || existsSync('/series.json')).toBe(false);
      await expect(exportDb(database.target, { out: storage, storage, force: true })).rejects.toThrow(
        /it is the storage dir/,
      );
      await expect(exportDb(database.target, { out: path.join(base, 'work'), storage, force: true })).rejects.toThrow(
        /it is a folder holding the storage dir/,
      );
      symlinkSync(storage, path.join(base, 'link'));
      await expect(exportDb(database.target, { out: path.join(base, 'link'), storage, force: true })).rejects.toThrow(
        /it is the storage dir/,
      );
      await expect(exportDb(database.target, { out: dbDir, storage, force: true })).rejects.toThrow(
        /it is the embedded database dir/,
      );
      // Folders inside them, new or existing, are theirs too.
      await expect(exportDb(database.target, { out: path.join(storage, 'exports'), storage })).rejects.toThrow(
        /it is inside the storage dir/,
      );
      mkdirSync(path.join(storage, 'key_value_stores', 'x'), { recursive: true });
      await expect(
        exportDb(database.target, { out: path.join(storage, 'key_value_stores', 'x'), storage, force: true }),
      ).rejects.toThrow(/it is inside the storage dir/);
      await expect(
        exportDb(database.target, { out: path.join(base, 'link', 'sub'), storage, force: true }),
      ).rejects.toThrow(/it is inside the storage dir/);
      await expect(exportDb(database.target, { out: path.join(dbDir, 'sub'), storage, force: true })).rejects.toThrow(
        /it is inside the embedded database dir/,
      );
      expect(existsSync(path.join(dbDir, 'sub'))).toBe(false);
      const home = process.env.HOME;
      process.env.HOME = path.join(base, 'home');
      try {
        await expect(exportDb(database.target, { out: path.join(base, 'home'), storage, force: true })).rejects.toThrow(
          /it is your home folder/,
        );
      } finally {
        process.env.HOME = home;
      }
      expect(listing(base)).toEqual(['link', 'work']);
      expect(listing(storage)).toEqual(['keep.txt', 'key_value_stores']);
      expect(listing(path.join(storage, 'key_value_stores', 'x'))).toEqual([]);
    },
  );

  it('refuses a non-empty folder holding no export unless --force, and then leaves its files alone', async () => {
    const dir = tempDir('msc-foreign-');
    writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    await expect(exportDb(database.target, { out: dir })).rejects.toThrow(
      /is not empty and holds no export \(notes\.txt\): .*--force/,
    );
    expect(listing(dir)).toEqual(['notes.txt']);
    await exportDb(database.target, { out: dir, force: true });
    expect(listing(dir)).toEqual([...filesOf('json'), 'notes.txt'].sort());
    expect(readFileSync(path.join(dir, 'notes.txt'), 'utf8')).toBe('mine');

    // A manifest.json that is not an export's, or one naming files outside the export, is not ours.
    const other = tempDir('msc-foreign-');
    writeFileSync(path.join(other, 'manifest.json'), JSON.stringify({ name: 'some web app' }));
    await expect(exportDb(database.target, { out: other })).rejects.toThrow(/holds no export \(manifest\.json\)/);
    const hostile = tempDir('msc-foreign-');
    writeFileSync(path.join(hostile, 'victim.txt'), 'mine');
    writeFileSync(path.join(path.dirname(hostile), `${path.basename(hostile)}-victim.txt`), 'mine');
    writeFileSync(
      path.join(hostile, 'manifest.json'),
      JSON.stringify({
        exportedAt: '2026-01-01T00:00:00Z',
        format: 'json',
        datasets: { series: { file: `../${path.basename(hostile)}-victim.txt`, rows: 0 } },
      }),
    );
    await expect(exportDb(database.target, { out: hostile })).rejects.toThrow(/holds no export/);
    expect(existsSync(path.join(path.dirname(hostile), `${path.basename(hostile)}-victim.txt`))).toBe(true);

    const file = path.join(tempDir(), 'a-file');
    writeFileSync(file, '');
    await expect(exportDb(database.target, { out: file })).rejects.toThrow(/is a file, not a folder/);
  });

  it('re-exporting into its own folder leaves exactly the new export, whatever the format before', async () => {
    const { dir } = await exportDb(database.target);
    expect(listing(dir)).toEqual(filesOf('json'));
    await exportDb(database.target, { out: dir, format: 'ndjson' });
    expect(listing(dir)).toEqual(filesOf('ndjson'));
    const { manifest } = await exportDb(database.target, { out: dir, format: 'csv' });
    expect(listing(dir)).toEqual(filesOf('csv'));
    expect(
      Object.values(manifest.datasets)
        .map((d) => d.file)
        .concat('manifest.json')
        .sort(),
    ).toEqual(listing(dir));
    // Someone's file beside an export stays; the export's own files are replaced.
    writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    await exportDb(database.target, { out: dir });
    expect(listing(dir)).toEqual([...filesOf('json'), 'notes.txt'].sort());
  });

  it('an export that died before its manifest leaves a folder the next takes back, stale files removed', async () => {
    const { dir } = await exportDb(database.target);
    // A folder where the last dataset's file must go: the ndjson export dies after writing the others.
    const blocker = path.join(dir, `${DATASETS.at(-1)!.name}.ndjson.partial`);
    mkdirSync(blocker);
    await expect(exportDb(database.target, { out: dir, format: 'ndjson' })).rejects.toThrow();
    expect(listing(dir)).not.toContain('manifest.json');
    expect(listing(dir)).toContain('.export-unfinished');
    expect(listing(dir)).toContain(`${DATASETS[0]!.name}.ndjson`);
    rmdirSync(blocker);

    // No --force needed, and nothing of the dead export stays beside the new one (a csv export: other names).
    const run = await cli(['export', '--db', dbDir, '--storage', tempDir(), '--out', dir, '--format', 'csv']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.lines).toContainEqual(
      `WARN ${dir} holds an export that did not finish (no manifest): its files are replaced`,
    );
    expect(listing(dir)).toEqual(filesOf('csv'));
  });

  it(
    "refuses a folder of files that merely carry an export's " + "names (they may be the user's own), unless --force",
    async () => {
      const dir = tempDir('msc-lookalikes-');
      writeFileSync(path.join(dir, 'results.csv'), 'my,precious,spreadsheet');
      writeFileSync(path.join(dir, 'drivers.json'), '{"mine":1}');
      await expect(exportDb(database.target, { out: dir, format: 'ndjson' })).rejects.toThrow(
        /is not empty and holds no export \(drivers\.json, results\.csv\)/,
      );
      expect(listing(dir)).toEqual(['drivers.json', 'results.csv']);
    },
  );

  it('says so in one line with exit 1 from the command line; --force and --format csv are accepted', async () => {
    const storage = tempDir();
    const refused = await runCli(['export', '--db', dbDir, '--storage', storage, '--out', '/']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/refusing to export into \/: it is the root of the filesystem/);

    const dir = tempDir('msc-cli-');
    writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    // In-process (src/cli.ts's main): the same parser and exit code, without starting another process and database.
    const forced = await cli([
      'export',
      '--db',
      dbDir,
      '--storage',
      storage,
      '--out',
      dir,
      '--format',
      'csv',
      '--force',
    ]);
    expect(forced.code).toBe(0);
    expect(listing(dir)).toEqual([...filesOf('csv'), 'notes.txt'].sort());
  });
});
