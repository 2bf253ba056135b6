/**
 * Crawlee's own log lines, routed through the project's logger: the same stream (stderr), the
 * same format (one JSON object per line with --log-format json), one line per message (no stack
 * fragments), and never stdout (Crawlee's default text logger writes info lines with console.log).
 *
 * Crawlee says much that the crawler already says better (`Reclaiming failed request…` is our
 * `retrying … in … ms` line, `Request failed and reached maximum retries` our `failed …` warning,
 * once per failed request, so 1,295 of them under `--cache only`), so all its lines are debug
 * lines here: seen with --verbose. What is fatal to the crawl is decided and reported by the crawl.
 */
import { Logger as CrawleeLogger, LogLevel as CrawleeLevel, log as crawleeLog } from '@crawlee/core';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';

class ProjectLogger extends CrawleeLogger {
  target: Logger | undefined;

  constructor() {
    super({});
  }

  override _log(
    level: CrawleeLevel,
    message: string,
    data?: Record<string, unknown>,
    exception?: unknown,
    opts?: Record<string, unknown>,
  ): void {
    const target = this.target;
    if (!target) return;
    if (!target.enabled('debug')) return;
    const fields: Record<string, unknown> = { source: 'crawlee', crawleeLevel: CrawleeLevel[level] };
    const prefix = typeof opts?.prefix === 'string' && opts.prefix ? `${opts.prefix}: ` : '';
    for (const [key, value] of Object.entries(data ?? {}))
      fields[key] = typeof value === 'string' ? firstLine(value) : value;
    if (exception !== undefined) fields.error = describeError(exception);
    target.debug(firstLine(prefix + message), fields);
  }
}

const adapter = new ProjectLogger();
let installed = false;

/**
 * From now on, Crawlee logs through `log` (a later call switches to another logger). Loggers that
 * Crawlee's modules made when they were imported (`Request`, `MemoryStorage`, …) copied the
 * default logger object and level then: the default object's output is pointed here too.
 */
export function routeCrawleeLog(log: Logger): void {
  adapter.target = log;
  if (!installed) {
    const imported = crawleeLog.getOptions().logger;
    if (imported && imported !== adapter)
      imported.log = (level, message, ...args) => adapter.log(level, message, ...args);
    installed = true;
  }
  crawleeLog.setOptions({ logger: adapter, level: log.enabled('debug') ? CrawleeLevel.WARNING : CrawleeLevel.OFF });
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0]!.trimEnd();
}
