/**
 * `changes --since T`: what crawls changed since T, per table, read from the history tables. The
 * change is net, per key: the version live at T against the current one. A row inserted since T
 * (or revived after a soft delete) is inserted, one live at both ends with another hash is
 * updated, one live at T and soft-deleted now is deleted. A row that changed and changed back, or
 * came and went within the window, is not listed.
 */
import type { Options } from 'yargs';
import {
  DEFAULTS,
  parsePastInstant,
  resolveCommonConfig,
  wholeNumber,
  type ChangesConfig,
  type Env,
} from '../config.js';
import { UserError } from '../errors.js';
import {
  DATABASE_OPTIONS,
  LOGGING_OPTIONS,
  commandLogger,
  printResult,
  wholeNumberOption,
  type CommandModule,
  type DatabaseArgs,
  type LoggingArgs,
} from './options.js';
import type { Logger } from '../log.js';
import type { Db } from '../store/db.js';
import { TABLE_ORDER, TABLES, keyColumns, type Cell, type TableName } from '../store/tables.js';
import { openForReading } from '../store/read.js';
import { keyOrder, raw, sql, type Sql } from '../store/sql.js';
import { formatTable } from '../text-table.js';
import { recordOf, recordOfEach, stringField } from '../record.js';

const CHANGE_KINDS = ['inserted', 'updated', 'deleted'] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

export interface ChangedColumn {
  readonly column: string;
  readonly before: unknown;
  readonly after: unknown;
}

export interface ChangeExample {
  /** The row's key, column by column. */
  readonly key: Record<string, Cell>;
  /** Its name (or the team name of an entry) when it has one, to recognise it. */
  readonly label: string | null;
  /** For an update: the stored columns that differ. */
  readonly changed: readonly ChangedColumn[];
}

export interface TableChanges {
  readonly counts: Record<ChangeKind, number>;
  readonly examples: Record<ChangeKind, ChangeExample[]>;
}

export interface ChangesReport {
  readonly since: string;
  /** When the report was made: changes up to then are in it. */
  readonly until: string;
  readonly tables: Record<TableName, TableChanges>;
}

export async function runChanges(config: ChangesConfig, { log }: { readonly log: Logger }): Promise<ChangesReport> {
  const until = new Date().toISOString();
  const db = await openForReading(config.db);
  try {
    log.debug(`reading the history tables for changes since ${config.since}`);
    // One snapshot: the counts and the examples of every table describe the same moment.
    const tables = await db.transaction(async (trx) => {
      await trx.raw('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      return recordOfEach(TABLE_ORDER, (table) => tableChanges(trx, table, config.since, config.examples));
    });
    return { since: config.since, until, tables };
  } finally {
    await db.destroy();
  }
}

/** Each key versioned since `since`, with its version at `since` (before) and now (after), and the kind of change. */
function netChanges(table: TableName, since: string): Sql {
  const history = raw(`${table}_history`);
  const key = raw(keyColumns(table).join(', '));
  return sql`
    WITH touched AS (SELECT DISTINCT ${key} FROM ${history} WHERE valid_from > CAST(${since} AS timestamptz)),
    before AS (SELECT * FROM ${history} WHERE valid_from <= CAST(${since} AS timestamptz)
      AND (valid_to IS NULL OR valid_to > CAST(${since} AS timestamptz))),
    after AS (SELECT * FROM ${history} WHERE valid_to IS NULL)
    SELECT ${key}, to_jsonb(b) AS before, to_jsonb(a) AS after,
      CASE
        WHEN (b.version_id IS NULL OR b.deleted_at IS NOT NULL) AND a.deleted_at IS NULL THEN 'inserted'
        WHEN b.version_id IS NOT NULL AND b.deleted_at IS NULL AND a.deleted_at IS NOT NULL THEN 'deleted'
        WHEN b.deleted_at IS NULL AND a.deleted_at IS NULL AND b.hash <> a.hash THEN 'updated'
      END AS kind
    FROM touched LEFT JOIN before b USING (${key}) JOIN after a USING (${key})`;
}

async function tableChanges(db: Db, table: TableName, since: string, examples: number): Promise<TableChanges> {
  const changes = netChanges(table, since);
  const counted = await db.raw<{ rows: { kind: ChangeKind; n: number }[] }>(
    `SELECT kind, count(*)::int AS n FROM (${changes.text}) changes WHERE kind IS NOT NULL GROUP BY kind`,
    changes.bindings,
  );
  const counts = recordOf(CHANGE_KINDS, (k) => counted.rows.find((r) => r.kind === k)?.n ?? 0);
  const sampled = await db.raw<{
    rows: { kind: ChangeKind; before: Record<string, unknown> | null; after: Record<string, unknown> }[];
  }>(
    `SELECT kind, before, after FROM (
       SELECT *, row_number() OVER (PARTITION BY kind ORDER BY ${keyOrder(table, 'changes').text}) AS n
       FROM (${changes.text}) changes WHERE kind IS NOT NULL
     ) numbered WHERE n <= ? ORDER BY kind, n`,
    [...changes.bindings, examples],
  );
  const byKind = recordOf(CHANGE_KINDS, (): ChangeExample[] => []);
  for (const row of sampled.rows) byKind[row.kind].push(example(table, row.kind, row.before, row.after));
  return { counts, examples: byKind };
}

function example(
  table: TableName,
  kind: ChangeKind,
  before: Record<string, unknown> | null,
  after: Record<string, unknown>,
): ChangeExample {
  const columns = Object.keys(TABLES[table].columns);
  // why: the row as to_jsonb gave it: key columns are uuids, text and integers, all of them Cells.
  const key = Object.fromEntries(keyColumns(table).map((k) => [k, after[k] as Cell]));
  const labelColumn = columns.includes('name') ? 'name' : columns.includes('team_name') ? 'team_name' : undefined;
  const label = labelColumn ? (stringField(after, labelColumn) ?? stringField(before, labelColumn) ?? null) : null;
  const changed =
    kind === 'updated' && before
      ? columns
          .filter((c) => JSON.stringify(before[c]) !== JSON.stringify(after[c]))
          .map((column) => ({ column, before: before[column], after: after[column] }))
      : [];
  return { key, label, changed };
}

export function formatChanges(report: ChangesReport): string {
  const lines = [`Changes since ${report.since} (net per row, up to ${report.until}):`, ''];
  lines.push(
    formatTable(
      ['table', ...CHANGE_KINDS],
      TABLE_ORDER.map((t) => [t, ...CHANGE_KINDS.map((k) => report.tables[t].counts[k])]),
    ),
  );
  for (const table of TABLE_ORDER) {
    for (const kind of CHANGE_KINDS) {
      const { counts, examples } = report.tables[table];
      if (!examples[kind].length) continue;
      lines.push(
        '',
        `${table} ${kind} ` +
          `(${counts[kind]}${counts[kind] > examples[kind].length ? `, first ${examples[kind].length}` : ''}):`,
      );
      for (const ex of examples[kind]) {
        const changed = ex.changed
          .map((c) => `${c.column} ${JSON.stringify(c.before)} → ${JSON.stringify(c.after)}`)
          .join(', ');
        lines.push(
          `  ` +
            `${Object.values(ex.key).join(' / ')}` +
            `${ex.label !== null ? ` "${ex.label}"` : ''}${changed ? `: ${changed}` : ''}`,
        );
      }
    }
  }
  return lines.join('\n');
}

// ─── The `changes` command ───

export const CHANGES_OPTIONS = {
  ...LOGGING_OPTIONS,
  ...DATABASE_OPTIONS,
  since: {
    type: 'string',
    requiresArg: true,
    demandOption: true,
    describe:
      'An ISO 8601 time with Z or an offset (2026-11-21T08:00:00Z), or a duration ago (24h, 7d); not in the future',
  },
  examples: wholeNumberOption('Examples listed per table and kind of change', {
    defaultDescription: String(DEFAULTS.examples),
  }),
} as const satisfies Record<string, Options>;

export interface ChangesArgs extends LoggingArgs, DatabaseArgs {
  readonly since?: string;
  readonly examples?: number | string;
}

export function resolveChangesConfig(args: ChangesArgs, env: Env, now: number = Date.now()): ChangesConfig {
  if (args.since === undefined)
    throw new UserError('--since is required: an ISO 8601 time (2026-11-21T08:00:00Z) or a duration ago (24h)');
  const since = parsePastInstant('--since', args.since, now);
  return Object.freeze({
    ...resolveCommonConfig(args, env),
    since,
    examples: wholeNumber({ value: args.examples, name: '--examples' }, 0, 1000) ?? DEFAULTS.examples,
  });
}

export const changesCommand: CommandModule<ChangesArgs> = {
  command: 'changes',
  describe:
    'What crawls changed since a time, per table: inserted, ' +
    'updated, soft-deleted, with examples (from the history tables)',
  options: CHANGES_OPTIONS,
  builder: (y) =>
    y.options(CHANGES_OPTIONS).example('$0 changes --since 24h', 'what the crawls of the last day changed'),
  handler: async (args, io) => {
    const config = resolveChangesConfig(args, io.env);
    const report = await runChanges(config, { log: commandLogger(config, io) });
    printResult(io, config.logFormat, report, () => formatChanges(report));
    return 0;
  },
};
