/**
 * The flags the commands share, defined once in groups and composed by each command
 * (src/commands/<name>.ts): logging (every command), database (the commands that read or write
 * the storage dir and the database), scope (crawl and export) and API politeness (crawl and
 * canary). A group is a plain object of yargs options plus the args type it yields; config.ts
 * validates the values. To add a flag to one command: add it to that command's OPTIONS and its
 * Args interface, and read it in its resolver. To add one to a group: here, and in the group's
 * resolver in config.ts.
 */
import type { Argv, Options } from 'yargs';
import { DEFAULTS, ENV_VARS, LOG_FORMATS, type CommonConfig, type Env } from '../config.js';
import { routeCrawleeLog } from '../crawl/crawlee-log.js';
import { Logger, type LogFormat } from '../log.js';

/**
 * A whole-number flag. yargs hands over the text as typed, so that a mistake can be echoed
 * (`"twenty" is not a whole number`, not `"NaN"`); `number: true` keeps `[number]` in --help
 * (yargs parses a flag that is both string and number as a string). config.ts's wholeNumber reads it.
 */
export function wholeNumberOption<const O extends Options>(describe: string, extra?: O) {
  return { type: 'string', number: true, requiresArg: true, describe, ...extra } as const;
}

/** Every command: how it logs. */
export const LOGGING_OPTIONS = {
  'log-format': {
    choices: LOG_FORMATS,
    requiresArg: true,
    describe: `Log lines for people or for machines; json also prints the result as JSON [env ${ENV_VARS.logFormat}]`,
    defaultDescription: 'text',
  },
  quiet: { type: 'boolean', alias: 'q', describe: 'Only warnings and errors' },
  verbose: { type: 'boolean', alias: 'v', describe: 'Debug logs (crawl: one line per request) and stack traces' },
} as const satisfies Record<string, Options>;

export interface LoggingArgs {
  readonly logFormat?: string;
  readonly quiet?: boolean;
  readonly verbose?: boolean;
}

/** The commands that use the storage dir and the database. */
export const DATABASE_OPTIONS = {
  storage: {
    type: 'string',
    requiresArg: true,
    describe: `Crawlee storage dir: queue, cache, embedded database [env ${ENV_VARS.storage}]`,
    defaultDescription: DEFAULTS.storage,
  },
  db: {
    type: 'string',
    requiresArg: true,
    describe: `postgres:// URL of a PostgreSQL server, or a directory for the embedded one [env ${ENV_VARS.db}: a URL]`,
    defaultDescription: '<storage>/db (embedded PGlite)',
  },
} as const satisfies Record<string, Options>;

export interface DatabaseArgs {
  readonly storage?: string;
  readonly db?: string;
}

/** crawl and export: which part of the tree, with the same meaning in both. */
export const SCOPE_OPTIONS = {
  series: {
    type: 'array',
    string: true,
    requiresArg: true,
    describe:
      `Only these series: uuid, shortCode or name, case-insensitive; ` +
      `repeatable or comma-separated [env ${ENV_VARS.series}]`,
    defaultDescription: 'all',
  },
  'from-year': wholeNumberOption(`Only seasons from this year on [env ${ENV_VARS.fromYear}]`),
  'to-year': wholeNumberOption(`Only seasons up to this year [env ${ENV_VARS.toYear}]`),
} as const satisfies Record<string, Options>;

export interface ScopeArgs {
  readonly series?: readonly (string | number)[];
  readonly fromYear?: number | string;
  readonly toYear?: number | string;
}

/** crawl and canary: which API, and how politely. */
export const API_OPTIONS = {
  'base-url': {
    type: 'string',
    requiresArg: true,
    describe: `API origin [env ${ENV_VARS.baseUrl}]`,
    defaultDescription: DEFAULTS.baseUrl,
  },
  'max-rpm': wholeNumberOption(
    `Requests to the API per minute; 10000 or more lifts the limit [env ${ENV_VARS.maxRpm}]`,
    { defaultDescription: String(DEFAULTS.maxRpm) },
  ),
} as const satisfies Record<string, Options>;

export interface ApiArgs {
  readonly baseUrl?: string;
  readonly maxRpm?: number | string;
}

/** Where a command writes: its result on stdout, log lines on stderr, and the environment it reads. */
export interface CommandIo {
  readonly env: Env;
  /** The command's result (a summary, a table, a JSON document): stdout. */
  readonly out: (text: string) => void;
  /** One log line: stderr. */
  readonly err: (line: string) => void;
}

/**
 * One command of the CLI, as cli.ts assembles it: yargs' command, describe and builder, and a
 * handler that resolves the args into its config, runs, writes its result through io and returns
 * the exit code (errors are thrown; cli.ts turns them into one line and exit 1).
 */
export interface CommandModule<A> {
  readonly command: string;
  readonly describe: string;
  /** Every flag the command takes, by name: --help lists exactly these (and --help, --version). */
  readonly options: Readonly<Record<string, Options>>;
  readonly builder: (y: Argv) => Argv;
  readonly handler: (args: A, io: CommandIo) => Promise<number>;
}

/** The command's logger, writing through io; Crawlee's own log lines are routed through it too. */
export function commandLogger(config: Pick<CommonConfig, 'logLevel' | 'logFormat'>, io: CommandIo): Logger {
  const log = new Logger({ level: config.logLevel, format: config.logFormat, write: io.err });
  routeCrawleeLog(log);
  return log;
}

/** A command's result on stdout: one JSON document with --log-format json, text for people otherwise. */
export function printResult(io: CommandIo, format: LogFormat, result: unknown, text: () => string): void {
  io.out(format === 'json' ? JSON.stringify(result) : text());
}
