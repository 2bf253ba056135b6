/** Running exports in tests and reading their files back. */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { DbTarget, ExportFormat } from '../../src/config.js';
import { resolveExportConfig, type ExportArgs } from '../../src/commands/export.js';
import { runExport } from '../../src/commands/export.js';
import type { DatasetName } from '../../src/export/datasets.js';
import type { Manifest } from '../../src/export/manifest.js';
import { memoryLogger } from './crawl.js';
import { tempDir } from './db.js';

export type Row = Record<string, unknown>;

/** Exports `db` into a new temp dir (or `out`); returns the dir and the manifest. */
export async function exportDb(db: DbTarget, options: ExportArgs = {}): Promise<{ dir: string; manifest: Manifest }> {
  const dir = options.out ?? tempDir('msc-export-');
  const config = resolveExportConfig(
    { db: db.kind === 'embedded' ? db.dir : db.url, storage: tempDir(), ...options, out: dir },
    {},
  );
  return { dir, manifest: await runExport(config, { log: memoryLogger().log }) };
}

/** A dataset file's rows, parsed whole (json) or line by line (ndjson). */
export function readDataset(dir: string, name: DatasetName, format: ExportFormat = 'json'): Row[] {
  const text = readFileSync(path.join(dir, `${name}.${format}`), 'utf8');
  if (format === 'json') return JSON.parse(text) as Row[];
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Row);
}

/** Every file of an export dir with its bytes, the manifest left out (it holds the export's time). */
export function datasetBytes(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir)
      .filter((file) => file !== 'manifest.json')
      .sort()
      .map((file) => [file, readFileSync(path.join(dir, file), 'utf8')]),
  );
}
