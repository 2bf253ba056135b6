/**
 * `export`: every dataset of the database (now, or as of an instant)
 * to one JSON, NDJSON or CSV file each, plus manifest.json.
 */
import path from 'node:path';
import type { Options } from 'yargs';
import {
  EXPORT_FORMATS,
  DEFAULTS,
  describeDb,
  oneOf,
  parsePastInstant,
  resolveCommonConfig,
  resolveScope,
  type Env,
  type ExportConfig,
} from '../config.js';
import {
  DATABASE_OPTIONS,
  LOGGING_OPTIONS,
  SCOPE_OPTIONS,
  commandLogger,
  printResult,
  type CommandModule,
  type DatabaseArgs,
  type LoggingArgs,
  type ScopeArgs,
} from './options.js';
import { describeScope } from '../crawl/crawl-state.js';
import type { Logger } from '../log.js';
import { linePages } from '../export/line-pages.js';
import { openForReading } from '../store/read.js';
import { DATASETS, columnNames, type DatasetName, type View } from '../export/datasets.js';
import { datasetLines } from '../export/lines.js';
import { incompleteExpression, incompleteScopes, type IncompleteScope } from '../export/incomplete.js';
import { manifestFilters, writeManifest, MANIFEST_FILE, type Manifest } from '../export/manifest.js';
import { clearOutDir, finishOutDir, inspectOutDir } from '../export/out-dir.js';
import { rowsWithin, selectScope } from '../export/scope.js';
import { liveRows } from '../store/as-of.js';
import { formatTable } from '../text-table.js';
import { datasetFile, LINE_SEPARATOR, writeDataset } from '../export/writer.js';
import { count } from '../words.js';

export interface ExportRunOptions {
  readonly log: Logger;
}

export async function runExport(config: ExportConfig, { log }: ExportRunOptions): Promise<Manifest> {
  const exportedAt = new Date().toISOString();
  const outDir = await inspectOutDir(config.outDir, {
    storageDir: config.storageDir,
    db: config.db,
    force: config.force,
  });
  const db = await openForReading(config.db);
  try {
    log.info(
      `exporting ${describeScope(config.scope)} from ` +
        `${describeDb(config.db)}${config.asOf ? ` as of ${config.asOf}` : ''} to ${config.outDir} (${config.format})`,
    );
    if (outDir.unfinished)
      log.warn(`${config.outDir} holds an export that did not finish (no manifest): its files are replaced`);
    // A manifest means a complete export: the previous one (and its files) go before any file is written.
    await clearOutDir(outDir);
    const { datasets, incomplete } = await db.transaction(async (trx) => {
      // One snapshot for every file: a crawl writing meanwhile cannot make the datasets disagree.
      await trx.raw('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      // Every row is read: plan for the whole result, not for its first tenth (a cursor's default).
      await trx.raw('SET LOCAL cursor_tuple_fraction = 1');
      // Floats in their shortest round-trip digits, as JavaScript prints them (lines.ts relies on it).
      await trx.raw('SET LOCAL extra_float_digits = 1');
      // The history tables have no index: a nested loop over one rescans it for every outer row, which
      // a planner without statistics (a server whose autovacuum has not run yet) picks, quadratic.
      if (config.asOf) await trx.raw('SET LOCAL enable_nestloop = off');
      const selection = await selectScope(trx, config.scope, config.asOf);
      const view: View = {
        live: (table) => liveRows(table, config.asOf),
        within: (table) => rowsWithin(table, config.asOf, selection),
        incomplete: (label, parent) => incompleteExpression(label, parent, config.asOf),
      };
      // why: filled below, one entry for each of DATASETS, which holds every DatasetName.
      const written = {} as Record<DatasetName, { file: string; rows: number }>;
      for (const dataset of DATASETS) {
        const started = Date.now();
        const file = datasetFile(dataset.name, config.format);
        const query = dataset.query(view);
        const rows = await writeDataset(
          path.join(config.outDir, file),
          config.format,
          linePages(trx, datasetLines(query, config.format), LINE_SEPARATOR[config.format]),
          columnNames(query),
        );
        log.info(`exported ${dataset.name}: ${rows} rows`, { file, seconds: (Date.now() - started) / 1000 });
        written[dataset.name] = { file, rows };
      }
      const incomplete: IncompleteScope[] = await incompleteScopes(trx, view.within, config.asOf);
      if (incomplete.length) {
        const items = incomplete.reduce((n, scope) => n + scope.items.length, 0);
        log.warn(
          `${count(incomplete.length, 'exported scope')} ${incomplete.length === 1 ? 'is' : 'are'} incomplete: ` +
            `${count(items, 'item')} ` +
            `were quarantined by the crawl; see "incomplete" in ${MANIFEST_FILE}`,
        );
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
    await finishOutDir(outDir);
    return manifest;
  } finally {
    await db.destroy();
  }
}

export function formatExport(manifest: Manifest, outDir: string): string {
  const entries = Object.entries(manifest.datasets);
  const total = entries.reduce((sum, [, d]) => sum + d.rows, 0);
  const incomplete = manifest.incomplete.length
    ? [
        `${count(manifest.incomplete.length, 'scope')} incomplete (items quarantined by the crawl): ` +
          `${manifest.incomplete
            .map((s) => `${s.label} ${s.parentUuid ?? 'list'}`)
            .slice(0, 5)
            .join(', ')}${manifest.incomplete.length > 5 ? ', …' : ''}`,
      ]
    : [];
  return [
    `Exported ${entries.length} datasets (${total} rows) to ` +
      `${outDir}${manifest.asOf ? `, as of ${manifest.asOf}` : ''}; see ${MANIFEST_FILE}`,
    ...incomplete,
    '',
    formatTable(
      ['dataset', 'file', 'rows'],
      entries.map(([name, d]) => [name, d.file, d.rows]),
    ),
  ].join('\n');
}

// ─── The `export` command ───

export const EXPORT_OPTIONS = {
  ...LOGGING_OPTIONS,
  ...DATABASE_OPTIONS,
  ...SCOPE_OPTIONS,
  out: {
    type: 'string',
    requiresArg: true,
    describe: 'Directory to write the files into',
    defaultDescription: DEFAULTS.out,
  },
  format: {
    choices: EXPORT_FORMATS,
    requiresArg: true,
    describe: 'json: one array per file; ndjson: one object per line; csv: RFC 4180 with a header row',
    defaultDescription: DEFAULTS.format,
  },
  force: {
    type: 'boolean',
    describe: 'Write into a non-empty folder that holds no export (its other files are left alone)',
  },
  'as-of': {
    type: 'string',
    requiresArg: true,
    describe:
      'Export the data as it was at this time, from the history ' +
      'tables: ISO 8601 with Z or an offset, or a duration ago (24h, 7d)',
    defaultDescription: 'now',
  },
} as const satisfies Record<string, Options>;

export interface ExportArgs extends LoggingArgs, DatabaseArgs, ScopeArgs {
  readonly out?: string;
  readonly format?: string;
  readonly asOf?: string;
  readonly force?: boolean;
}

export function resolveExportConfig(args: ExportArgs, env: Env): ExportConfig {
  return Object.freeze({
    ...resolveCommonConfig(args, env),
    outDir: path.resolve(args.out ?? DEFAULTS.out),
    format: oneOf('--format', args.format ?? DEFAULTS.format, EXPORT_FORMATS),
    scope: resolveScope(args, env),
    asOf: args.asOf === undefined ? undefined : parsePastInstant('--as-of', args.asOf),
    force: args.force === true,
  });
}

export const exportCommand: CommandModule<ExportArgs> = {
  command: 'export',
  describe:
    'Write every dataset (series … retirements, and the results ' +
    'join) to one file each (JSON, NDJSON or CSV), plus manifest.json',
  options: EXPORT_OPTIONS,
  builder: (y) =>
    y
      .options(EXPORT_OPTIONS)
      .example('$0 export --out exports', 'everything, as JSON arrays')
      .example(
        '$0 export --format ndjson --series F1 --from-year 2020',
        'one series, recent seasons, one object per line',
      )
      .example('$0 export --as-of 2026-11-01T00:00:00Z', 'the data as it was on 1 November'),
  handler: async (args, io) => {
    const config = resolveExportConfig(args, io.env);
    const manifest = await runExport(config, { log: commandLogger(config, io) });
    printResult(io, config.logFormat, manifest, () => formatExport(manifest, config.outDir));
    return 0;
  },
};
