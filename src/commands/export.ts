/** `export`: every dataset of the database (now, or as of an instant) to one JSON, NDJSON or CSV file each, plus manifest.json. */
import path from 'node:path';
import { describeDb, type ExportConfig } from '../config.js';
import { describeScope } from '../crawl/queue.js';
import type { Logger } from '../log.js';
import { cursorColumns, cursorPages } from '../export/cursor.js';
import { openForReading } from '../export/database.js';
import { DATASETS, type DatasetName, type View } from '../export/datasets.js';
import { incompleteExpression, incompleteScopes, type IncompleteScope } from '../export/incomplete.js';
import { manifestFilters, writeManifest, MANIFEST_FILE, type Manifest } from '../export/manifest.js';
import { clearOutDir, inspectOutDir } from '../export/out-dir.js';
import { rowsWithin, selectScope } from '../export/scope.js';
import { liveRows } from '../export/source.js';
import { formatTable } from '../text-table.js';
import { datasetFile, writeDataset } from '../export/writer.js';

export interface ExportRunOptions {
  readonly log: Logger;
}

export async function runExport(config: ExportConfig, { log }: ExportRunOptions): Promise<Manifest> {
  const exportedAt = new Date().toISOString();
  const outDir = await inspectOutDir(config.outDir, { storageDir: config.storageDir, db: config.db, force: config.force });
  const db = await openForReading(config.db);
  try {
    log.info(
      `exporting ${describeScope(config.scope)} from ${describeDb(config.db)}${config.asOf ? ` as of ${config.asOf}` : ''} to ${config.outDir} (${config.format})`,
    );
    // A manifest means a complete export: the previous one (and its files) go before any file is written.
    await clearOutDir(outDir);
    const { datasets, incomplete } = await db.transaction(async (trx) => {
      // One snapshot for every file: a crawl writing meanwhile cannot make the datasets disagree.
      await trx.raw('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      // Every row is read: plan for the whole result, not for its first tenth (a cursor's default).
      await trx.raw('SET LOCAL cursor_tuple_fraction = 1');
      const selection = await selectScope(trx, config.scope, config.asOf);
      const view: View = {
        live: (table) => liveRows(table, config.asOf),
        within: (table) => rowsWithin(table, config.asOf, selection),
        incomplete: (label, parent) => incompleteExpression(label, parent, config.asOf),
      };
      const written = {} as Record<DatasetName, { file: string; rows: number }>;
      for (const dataset of DATASETS) {
        const started = Date.now();
        const file = datasetFile(dataset.name, config.format);
        const query = dataset.query(view);
        const columns = config.format === 'csv' ? await cursorColumns(trx, query) : [];
        const rows = await writeDataset(path.join(config.outDir, file), config.format, cursorPages(trx, query), columns);
        log.info(`exported ${dataset.name}: ${rows} rows`, { file, seconds: (Date.now() - started) / 1000 });
        written[dataset.name] = { file, rows };
      }
      const incomplete: IncompleteScope[] = await incompleteScopes(trx, view.within, config.asOf);
      if (incomplete.length) {
        const items = incomplete.reduce((n, scope) => n + scope.items.length, 0);
        log.warn(`${incomplete.length} exported scope(s) are incomplete: ${items} item(s) were quarantined by the crawl; see "incomplete" in ${MANIFEST_FILE}`);
      }
      return { datasets: written, incomplete };
    });
    const manifest: Manifest = {
      exportedAt,
      asOf: config.asOf ?? null,
      format: config.format,
      filters: manifestFilters(config.scope),
      database: describeDb(config.db),
      datasets,
      incomplete,
    };
    await writeManifest(config.outDir, manifest);
    return manifest;
  } finally {
    await db.destroy();
  }
}

export function formatExport(manifest: Manifest, outDir: string): string {
  const entries = Object.entries(manifest.datasets);
  const total = entries.reduce((sum, [, d]) => sum + d.rows, 0);
  const incomplete = manifest.incomplete.length
    ? [`${manifest.incomplete.length} scope(s) incomplete (items quarantined by the crawl): ${manifest.incomplete.map((s) => `${s.label} ${s.parentUuid ?? 'list'}`).slice(0, 5).join(', ')}${manifest.incomplete.length > 5 ? ', …' : ''}`]
    : [];
  return [
    `Exported ${entries.length} datasets (${total} rows) to ${outDir}${manifest.asOf ? `, as of ${manifest.asOf}` : ''}; see ${MANIFEST_FILE}`,
    ...incomplete,
    '',
    formatTable(['dataset', 'file', 'rows'], entries.map(([name, d]) => [name, d.file, d.rows])),
  ].join('\n');
}
