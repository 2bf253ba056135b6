/**
 * The embedded database as openDb makes it: created once by a child process (its memory is not
 * the crawl's), whole or not at all, and run with the settings of DEFAULTS.embeddedDbSettings.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config.js';
import { openDb } from '../../src/store/db.js';
import { hasCluster } from '../../src/store/embedded.js';
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
});
