/**
 * The embedded database as openDb makes it: unpacked from the shipped empty cluster (or, for
 * another PGlite version, created once by a child process whose memory is not the crawl's), whole
 * or not at all, and run with the settings of DEFAULTS.embeddedDbSettings.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import zlib from 'node:zlib';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config.js';
import { openDb } from '../../src/store/db.js';
import {
  CLUSTER_TEMPLATE,
  PGLITE_VERSION,
  packCluster,
  unpackClusterTemplate,
} from '../../src/store/cluster-template.js';
import { ensureCluster, hasCluster } from '../../src/store/embedded.js';
import { tempDir } from '../support/db.js';

async function settings(dir: string): Promise<Record<string, string>> {
  const db = await openDb({ kind: 'embedded', dir });
  try {
    const names = Object.keys(DEFAULTS.embeddedDbSettings);
    const { rows } = await db.raw<{ rows: { name: string; value: string }[] }>(
      `SELECT name, current_setting(name) AS value FROM pg_settings WHERE name = ANY(?) ORDER BY name`,
      [names],
    );
    return Object.fromEntries(rows.map((r) => [r.name, r.value]));
  } finally {
    await db.destroy();
  }
}

describe('the embedded database', () => {
  it('is created in a new folder, whole, and runs with the embedded settings', async () => {
    const parent = tempDir('msc-embedded-');
    const dir = path.join(parent, 'db');
    expect(await settings(dir)).toEqual(DEFAULTS.embeddedDbSettings);
    expect(hasCluster(dir)).toBe(true);
    expect(readdirSync(parent).sort()).toEqual(['db']);
    const db = await openDb({ kind: 'embedded', dir });
    try {
      await db.raw('CREATE TABLE kept (n int)');
      await db.raw('INSERT INTO kept VALUES (7)');
    } finally {
      await db.destroy();
    }
    const again = await openDb({ kind: 'embedded', dir });
    try {
      expect((await again.raw<{ rows: { n: number }[] }>('SELECT n FROM kept')).rows).toEqual([{ n: 7 }]);
    } finally {
      await again.destroy();
    }
  }, 120_000);

  it('redoes a creation that was killed half way, and takes an existing empty folder', async () => {
    const parent = tempDir('msc-embedded-');
    const dir = path.join(parent, 'db');
    mkdirSync(dir);
    mkdirSync(`${dir}.creating/base`, { recursive: true });
    writeFileSync(`${dir}.creating/PG_VERSION`, '17\n');
    expect(await settings(dir)).toEqual(DEFAULTS.embeddedDbSettings);
    expect(existsSync(`${dir}.creating`)).toBe(false);
    expect(hasCluster(dir)).toBe(true);
  }, 120_000);

  it('ships an empty cluster made by the installed PGlite (else: npm run gen:cluster-template)', () => {
    const header = zlib.brotliDecompressSync(readFileSync(CLUSTER_TEMPLATE!)).subarray(0, 200).toString('utf8');
    expect(JSON.parse(header.slice(0, header.indexOf('\n')))).toMatchObject({ pglite: PGLITE_VERSION });
  });

  it('without a template of this PGlite version, creates the cluster with initdb, with the same settings', async () => {
    const other = path.join(tempDir('msc-template-'), 'other.br');
    const source = tempDir('msc-template-src-');
    writeFileSync(path.join(source, 'PG_VERSION'), '17\n');
    writeFileSync(other, packCluster(source, '0.0.0-other'));
    expect(unpackClusterTemplate(tempDir('msc-unused-'), other)).toBe(false);
    const dir = path.join(tempDir('msc-embedded-'), 'db');
    await ensureCluster(dir, { template: other });
    expect(readFileSync(path.join(dir, 'PG_VERSION'), 'utf8')).toMatch(/^\d+\n$/);
    expect(readdirSync(path.join(dir, 'base')).length).toBeGreaterThan(0);
    expect(await settings(dir)).toEqual(DEFAULTS.embeddedDbSettings);
  }, 120_000);

  it('unpacks a template byte for byte, empty folders included; a damaged one is refused', () => {
    const source = tempDir('msc-template-src-');
    mkdirSync(path.join(source, 'pg_tblspc'));
    mkdirSync(path.join(source, 'base', '1'), { recursive: true });
    writeFileSync(path.join(source, 'base', '1', '1255'), Buffer.from([0, 1, 2, 10, 255]));
    writeFileSync(path.join(source, 'PG_VERSION'), '17\n');
    const file = path.join(tempDir('msc-template-'), 't.br');
    const packed = packCluster(source);
    writeFileSync(file, packed);
    const dir = tempDir('msc-template-dst-');
    expect(unpackClusterTemplate(dir, file)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['PG_VERSION', 'base', 'pg_tblspc']);
    expect(readdirSync(path.join(dir, 'pg_tblspc'))).toEqual([]);
    expect([...readFileSync(path.join(dir, 'base', '1', '1255'))]).toEqual([0, 1, 2, 10, 255]);
    const raw = zlib.brotliDecompressSync(packed);
    writeFileSync(file, zlib.brotliCompressSync(raw.subarray(0, raw.length - 3)));
    expect(() => unpackClusterTemplate(tempDir('msc-template-dst-'), file)).toThrow(/damaged cluster template/);
    writeFileSync(file, packed.subarray(0, packed.length - 4));
    expect(() => unpackClusterTemplate(tempDir('msc-template-dst-'), file)).toThrow(
      `${file}: damaged cluster template (`,
    );
  });
});
