#!/usr/bin/env node
/**
 * The motorsport-crawler command line: assembles the commands (src/commands/<name>.ts, each its
 * flags, its config resolver and its handler) and turns how a command ended into an exit code:
 * the handler's own (0 done, 2 done with failures or drift, 130 interrupted), or 1 for any error,
 * reported as one line on stderr (and its stack with --verbose). stdout carries results only.
 */
// First: it caps V8's young generation before the other modules are loaded.
import './young-generation-held.js';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { format } from 'node:util';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ENV_VARS, type Env } from './config.js';
import { closest } from './closest.js';
import { DatabaseUnavailableError, ResourceError, UserError, describeError } from './errors.js';
import { Logger } from './log.js';
import { isConnectionError } from './store/db.js';
import type { CommandIo, CommandModule } from './commands/options.js';

/**
 * Each command's module, imported only when the command line may need it: loading a command's
 * modules is most of its start-up time (crawl's crawler, export's writers, pg-boss, Ajv), and a
 * command names one. `status` then loads what it reads with and nothing else.
 */
const COMMAND_MODULES = {
  crawl: async () => (await import('./commands/crawl.js')).crawlCommand,
  migrate: async () => (await import('./commands/migrate.js')).migrateCommand,
  export: async () => (await import('./commands/export.js')).exportCommand,
  status: async () => (await import('./commands/status.js')).statusCommand,
  changes: async () => (await import('./commands/changes.js')).changesCommand,
  canary: async () => (await import('./commands/canary.js')).canaryCommand,
} as const satisfies Record<string, () => Promise<CommandModule<never>>>;

type CommandName = keyof typeof COMMAND_MODULES;

export const COMMAND_NAMES = Object.keys(COMMAND_MODULES) as CommandName[];

function isCommandName(name: string | undefined): name is CommandName {
  return name !== undefined && Object.hasOwn(COMMAND_MODULES, name);
}

/** The commands named, in COMMAND_NAMES' order; all of them by default. */
export async function loadCommands(names: readonly CommandName[] = COMMAND_NAMES): Promise<CommandModule<never>[]> {
  return Promise.all(COMMAND_NAMES.filter((name) => names.includes(name)).map((name) => COMMAND_MODULES[name]()));
}

/**
 * The commands a command line needs: the one it starts with (yargs reads the first word as the
 * command), or every one when it starts otherwise (a flag, --help, a mistyped command that yargs
 * suggests the closest of).
 */
function commandsFor(args: readonly string[]): Promise<CommandModule<never>[]> {
  return loadCommands(isCommandName(args[0]) ? [args[0]] : COMMAND_NAMES);
}

/** A mistake yargs found in the command line (unknown flag, missing value, bad choice). */
class UsageError extends UserError {
  override name = 'UsageError';
}

/**
 * The parser of the whole command line. A command's handler runs inside `parseAsync` and hands
 * its exit code to `onExit`; yargs' own complaints are thrown as UsageErrors (see main()).
 */
export function buildParser(
  io: CommandIo,
  onExit: (code: number) => void,
  commands: readonly CommandModule<never>[],
): Argv {
  let parser = yargs()
    .scriptName('motorsport-crawler')
    .usage('$0 <command> [options]\n\nMirror the motorsportstats widgets API into PostgreSQL.');
  for (const module of commands) {
    // why: yargs types the parsed args from the builder's options; each module declares the same shape as its own Args.
    parser = parser.command(module.command, module.describe, module.builder, async (args) =>
      onExit(await module.handler(args as never, io)),
    );
  }
  return parser
    .middleware(refuseRepeatedFlags, true)
    .demandCommand(1, `Name a command: ${COMMAND_NAMES.join(', ')}`)
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(120, process.stdout.columns || 100))
    .fail((message, error) => {
      // yargs' own complaints come as a message, or as a YError (a flag missing its value).
      if (error && error.name !== 'YError') throw error;
      throw new UsageError(message || error?.message || 'cannot read the command line');
    });
}

/**
 * A flag given twice reaches the handler as an array that reads as "a,b": refused, naming the flag,
 * rather than taken as one malformed value or silently as the last. --series alone is a list (its
 * values are joined with commas, as MSC_SERIES is split).
 */
function refuseRepeatedFlags(argv: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(argv)) {
    // yargs lists each flag under its camelCase name too: one report, under the flag's own name.
    const camelCaseCopy = !key.includes('-') && /[A-Z]/.test(key);
    if (key === '_' || key === 'series' || camelCaseCopy || !Array.isArray(value)) continue;
    throw new UsageError(`--${key} given more than once (${value.join(', ')}): give it once`);
  }
}

/** Runs one command line to its end; returns the exit code. Never throws. */
export async function main(args: readonly string[], io: CommandIo): Promise<number> {
  let code = 0;
  let commands: readonly CommandModule<never>[] = [];
  const restoreConsole = captureConsole(args, io);
  try {
    commands = await commandsFor(args);
    refuseSwitchValues(args, commands);
    await buildParser(io, (c) => (code = c), commands).parseAsync([...args], {}, (_error, _argv, output) => {
      // --help and --version: their text is the result. (Errors are thrown and reported below.)
      if (output && !_error) io.out(output);
    });
    return code;
  } catch (error) {
    reportFatal(error, args, io, commands);
    return 1;
  } finally {
    restoreConsole();
  }
}

/**
 * Libraries print with console.* (knex writes `Acquire connection error` and its stack with
 * console.log, to stdout). While a command runs, such lines go to stderr through the logger
 * instead, one line each: stdout carries results only, and --log-format json stays JSON.
 * Returns what puts console back.
 */
function captureConsole(args: readonly string[], io: CommandIo): () => void {
  const level = args.some((a) => a === '--verbose' || a === '-v')
    ? 'debug'
    : args.some((a) => a === '--quiet' || a === '-q')
      ? 'warn'
      : 'info';
  const log = new Logger({ level, format: requestedLogFormat(args, io.env), write: io.err });
  const saved = {
    log: console.log,
    info: console.info,
    debug: console.debug,
    warn: console.warn,
    error: console.error,
  };
  const to =
    (method: 'debug' | 'warn') =>
    (...parts: unknown[]) =>
      log[method](format(...parts).split('\n', 1)[0]!, { source: 'console' });
  console.log = console.info = console.debug = to('debug');
  console.warn = console.error = to('warn');
  return () => Object.assign(console, saved);
}

/**
 * A switch (a boolean flag) given a value with `=`: yargs reads any value but `true` as false, so
 * `--fresh=ture` would quietly not start afresh. Such a value is refused, naming the flag.
 */
function refuseSwitchValues(args: readonly string[], commands: readonly CommandModule<never>[]): void {
  const command = commands.find((c) => args.includes(c.command));
  if (!command) return;
  for (const arg of args) {
    const match = /^--(?:no-)?([a-z][a-z-]*)=(.*)$/.exec(arg);
    if (match && command.options[match[1]!]?.type === 'boolean' && !['true', 'false'].includes(match[2]!)) {
      throw new UsageError(
        `--${match[1]} is a switch and takes no value: "${match[2]}" (give --${match[1]} or leave it out)`,
      );
    }
  }
}

/** An error that ends a command: one line on stderr, plus its stack with --verbose. */
function reportFatal(
  error: unknown,
  args: readonly string[],
  io: CommandIo,
  commands: readonly CommandModule<never>[],
): void {
  const verbose = args.some((a) => a === '--verbose' || a === '-v' || a === '--verbose=true');
  const log = new Logger({ level: 'error', format: requestedLogFormat(args, io.env), write: io.err });
  const message = oneLine(
    error instanceof UsageError ? usageMessage(error.message, args, commands) : describeFatal(error),
  );
  const known = error instanceof UserError;
  if (!verbose || known || !(error instanceof Error)) {
    log.error(known || isExpected(error) ? message : `${message} (run with --verbose for the stack trace)`);
  } else if (log.options.format === 'json') {
    log.error(message, { stack: error.stack });
  } else {
    log.error(message);
    log.error(error.stack ?? '');
  }
}

function isExpected(error: unknown): boolean {
  return error instanceof DatabaseUnavailableError || error instanceof ResourceError || isConnectionError(error);
}

function describeFatal(error: unknown): string {
  if (isConnectionError(error) && !(error instanceof DatabaseUnavailableError))
    return `database unavailable: ${messageOf(error)}`;
  return messageOf(error);
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return describeError(error);
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** The log format asked for, read before (or without) a successful parse: errors must honour it too. */
function requestedLogFormat(args: readonly string[], env: Env): 'text' | 'json' {
  const at = args.findIndex((a) => a === '--log-format' || a.startsWith('--log-format='));
  const value = at < 0 ? env[ENV_VARS.logFormat] : args[at]!.includes('=') ? args[at]!.split('=')[1] : args[at + 1];
  return value === 'json' ? 'json' : 'text';
}

/** yargs' message, with the closest flag of the command for an unknown one, and the way to help. */
function usageMessage(message: string, args: readonly string[], commands: readonly CommandModule<never>[]): string {
  const command = commands.find((c) => args.includes(c.command));
  const help = command ? `motorsport-crawler ${command.command} --help` : 'motorsport-crawler --help';
  const unknown = /^Unknown arguments?: (.+)$/m.exec(message);
  if (unknown && command) {
    const typed = unknown[1]!
      .split(', ')
      .filter((name, _, all) => !all.some((other) => other !== name && camel(other) === name));
    const known = Object.entries(command.options).flatMap(([name, option]) => [name, ...[option.alias ?? []].flat()]);
    const lines = typed.map((name) => {
      if (args.includes(name)) return `unexpected argument "${name}": ${command.command} takes flags only`;
      const [suggestion] = closest(name, known, { count: 1, typosOnly: true });
      return `unknown flag ${dashed(name)}${suggestion ? `: did you mean ${dashed(suggestion)}?` : ''}`;
    });
    return `${lines.join('; ')} (see ${help})`;
  }
  const known = command && explainOptionError(message, command);
  if (known) return known;
  const command_ = /^Did you mean (\S+)\?$/.exec(message);
  if (command_ && !command)
    return `unknown command "${args.find((a) => !a.startsWith('-'))}": did you mean ${command_[1]}? (see ${help})`;
  return /--help/.test(message) ? message : `${message} (see ${help})`;
}

/**
 * yargs' complaints about one flag's value, said as the resolvers say theirs: the flag with its
 * dashes, what was typed, and what it expects (a bad choice, a flag missing its value, a required
 * flag left out). Undefined for any other message.
 */
function explainOptionError(message: string, command: CommandModule<never>): string | undefined {
  const choices = [...message.matchAll(/Argument: ([\w-]+), Given: (.*), Choices: (.*)$/gm)];
  if (choices.length) {
    return choices
      .map(([, name, given, allowed]) => {
        const list = allowed!.replaceAll('"', '');
        const many = given!.includes('", "');
        return `${dashed(name!)}: ${given} ${many ? 'are not among' : 'is not one of'} ${list}`;
      })
      .join('; ');
  }
  const missing = /^Not enough arguments following: ([\w-]+)$/.exec(message);
  if (missing) return `${dashed(missing[1]!)} needs a value: ${expects(command, missing[1]!)}`;
  const required = /^Missing required arguments?: ([\w-, ]+)$/.exec(message);
  if (required)
    return required[1]!
      .split(', ')
      .map((name) => `${dashed(name)} is required: ${expects(command, name)}`)
      .join('; ');
  return undefined;
}

/** What a flag's value must be, for a message: its choices, a whole number, or its --help text. */
function expects(command: CommandModule<never>, name: string): string {
  const option = command.options[name];
  if (!option) return `see motorsport-crawler ${command.command} --help`;
  if (option.choices) return `one of ${[option.choices].flat().join(', ')}`;
  if (option.number) return 'a whole number';
  const text = (option.describe ?? option.description ?? option.desc ?? '').replace(/\s*\[env [^\]]*\]\s*$/, '');
  return text
    ? /^[A-Z][a-z]/.test(text)
      ? text[0]!.toLowerCase() + text.slice(1)
      : text
    : `see motorsport-crawler ${command.command} --help`;
}

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function dashed(name: string): string {
  return name.length === 1 ? `-${name}` : `--${name}`;
}

// Run when executed (node dist/src/cli.js, tsx src/cli.ts, the npm bin link), not when imported by a test.
const entry = process.argv[1];
if (entry && realpathSync(entry) === fileURLToPath(import.meta.url)) {
  // A closed pipe (`crawl | head`) must not crash a crawl: output is lost, the work is not.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  const code = await main(hideBin(process.argv), {
    env: process.env,
    out: (text) => process.stdout.write(`${text}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  });
  // The process exits when the command is done: a stopped crawl may leave sockets and timers
  // behind (a pool retrying a database that went away), and they must not keep it alive.
  await Promise.all(
    [process.stdout, process.stderr].map((stream) => new Promise((resolve) => stream.write('', resolve))),
  );
  process.exit(code);
}
