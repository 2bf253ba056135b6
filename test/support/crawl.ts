/** Running real crawls in tests: a config for a replica, a quiet logger that keeps its lines. */
import type { CrawlConfig, DbTarget } from '../../src/config.js';
import { Logger } from '../../src/log.js';
import { resolveCrawlConfig, runCrawl, type CrawlArgs } from '../../src/commands/crawl.js';
import type { CrawlSummary } from '../../src/crawl/summary.js';
import { TABLE_ORDER } from '../../src/store/tables.js';

export function crawlConfig(
  baseUrl: string,
  storage: string,
  db: DbTarget,
  extra: CrawlArgs = {},
  overrides: Partial<CrawlConfig> = {},
): CrawlConfig {
  const dbOption = db.kind === 'embedded' ? db.dir : db.url;
  return {
    ...resolveCrawlConfig({ baseUrl, storage, db: dbOption, maxRpm: 100_000, concurrency: 16, ...extra }, {}),
    retryBaseMs: 20,
    ...overrides,
  };
}

export function memoryLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: new Logger({ level: 'info', format: 'text', write: (line) => lines.push(line) }), lines };
}

export async function crawl(config: CrawlConfig, signal?: AbortSignal): Promise<CrawlSummary & { lines: string[] }> {
  const { log, lines } = memoryLogger();
  const summary = await runCrawl(config, { log, signal });
  return { ...summary, lines };
}

/** Rows written (inserted + updated + deleted) per table, 0s omitted. */
export function written(summary: CrawlSummary): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of TABLE_ORDER) {
    const n = summary.rows[t].inserted + summary.rows[t].updated + summary.rows[t].deleted;
    if (n) out[t] = n;
  }
  return out;
}
