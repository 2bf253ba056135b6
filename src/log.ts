/**
 * The one logger of the project. Human-readable lines by default, one JSON object per line with
 * `--log-format json`. Everything goes to stderr so stdout stays clean for command output.
 * Crawlee's own logger is silenced in favour of this one (see crawl/crawler.ts).
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

export class Logger {
  private readonly write: (line: string) => void;

  constructor(readonly options: LoggerOptions) {
    this.write = options.write ?? ((line) => process.stderr.write(line + '\n'));
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

  private log(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
    if (!this.enabled(level)) return;
    if (this.options.format === 'json') {
      this.write(JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields }));
      return;
    }
    const prefix = level === 'info' ? '' : `${level.toUpperCase()} `;
    const extra = fields && Object.keys(fields).length ? ' ' + formatFields(fields) : '';
    this.write(prefix + message + extra);
  }
}

function formatFields(fields: Record<string, unknown>): string {
  return Object.entries(fields)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
}
