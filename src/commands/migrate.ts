/** `migrate`: apply pending migrations to the database (crawl does this too). */
import type { Options } from 'yargs';
import { describeDb, resolveCommonConfig, type CommonConfig } from '../config.js';
import {
  DATABASE_OPTIONS,
  LOGGING_OPTIONS,
  commandLogger,
  printResult,
  type CommandModule,
  type DatabaseArgs,
  type LoggingArgs,
} from './options.js';
import type { Logger } from '../log.js';
import { openDb } from '../store/db.js';
import { migrateLatest } from '../store/migrate.js';

export async function runMigrate(config: CommonConfig, log: Logger): Promise<string[]> {
  const db = await openDb(config.db);
  try {
    const applied = await migrateLatest(db);
    log.info(
      applied.length
        ? `applied ${applied.join(', ')} to ${describeDb(config.db)}`
        : `${describeDb(config.db)} is up to date`,
    );
    return applied;
  } finally {
    await db.destroy();
  }
}

// ─── The `migrate` command ───

export const MIGRATE_OPTIONS = { ...LOGGING_OPTIONS, ...DATABASE_OPTIONS } as const satisfies Record<string, Options>;

export type MigrateArgs = LoggingArgs & DatabaseArgs;

export interface MigrateResult {
  readonly database: string;
  readonly applied: readonly string[];
}

export const migrateCommand: CommandModule<MigrateArgs> = {
  command: 'migrate',
  describe: 'Apply pending database migrations (crawl does this too)',
  options: MIGRATE_OPTIONS,
  builder: (y) => y.options(MIGRATE_OPTIONS),
  handler: async (args, io) => {
    const config = resolveCommonConfig(args, io.env);
    const log = commandLogger(config, io);
    const applied = await runMigrate(config, log);
    // The log line said it for people; a machine gets the result on stdout like every other command's.
    if (config.logFormat === 'json')
      printResult(io, 'json', { database: describeDb(config.db), applied } satisfies MigrateResult, () => '');
    return 0;
  },
};
