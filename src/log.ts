/**
 * The one logger of the project. Human-readable lines by default, one JSON object per line with
 * `--log-format json`. Everything goes to stderr so stdout stays clean for command output.
 * Crawlee's own log lines are routed through this one (see crawl/crawlee-log.ts).
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'text' | 'json';

export interface LoggerOptions {
  /** Lowest level written. Default `info`; `--quiet` makes it `warn`, `--verbose` `debug`. */
  readonly level: LogLevel;
  /** Default `text`. */
  readonly format: LogFormat;
  /** Where lines go. Default: process.stderr. */
  readonly write?: (line: string) => void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Warnings of one kind written before the rest are only counted (see Logger.warnRepeated). */
export const REPEATED_WARNINGS_SHOWN = 20;

export class Logger {
  private readonly write: (line: string) => void;
  /** Warnings given by warnRepeated, per kind. */
  private readonly repeated = new Map<string, number>();

  constructor(readonly options: LoggerOptions) {
    this.write = options.write ?? ((line) => process.stderr.write(`${line}\n`));
  }

  enabled(level: LogLevel): boolean {
    return RANK[level] >= RANK[this.options.level];
  }

  debug(message: string, fields?: Record<string, unknown>): void {
    this.log('debug', message, fields);
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.log('info', message, fields);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.log('warn', message, fields);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.log('error', message, fields);
  }

  /**
   * A warning that may come by the thousand (`--cache only` with the bodies missing, a schema
   * drift quarantining every item): the first REPEATED_WARNINGS_SHOWN of a kind are written, the
   * rest counted for summariseRepeated(). `kind` reads in its line: "…and 1,275 more <kind>".
   */
  warnRepeated(kind: string, message: string, fields?: Record<string, unknown>): void {
    const count = (this.repeated.get(kind) ?? 0) + 1;
    this.repeated.set(kind, count);
    if (count <= REPEATED_WARNINGS_SHOWN) this.warn(message, fields);
  }

  /** One line per kind of repeated warning that went past the limit; the counts start again. */
  summariseRepeated(where: string): void {
    for (const [kind, count] of this.repeated) {
      const more = count - REPEATED_WARNINGS_SHOWN;
      if (more > 0) this.warn(`…and ${more.toLocaleString('en-US')} more ${kind}; ${where}`, { kind, more });
    }
    this.repeated.clear();
  }

  private log(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
    if (!this.enabled(level)) return;
    if (this.options.format === 'json') {
      this.write(JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields }));
      return;
    }
    const prefix = level === 'info' ? '' : `${level.toUpperCase()} `;
    const extra = fields && Object.keys(fields).length ? ` ${formatFields(fields)}` : '';
    this.write(prefix + message + extra);
  }
}

function formatFields(fields: Record<string, unknown>): string {
  return Object.entries(fields)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
}
