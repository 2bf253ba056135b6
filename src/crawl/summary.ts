/** The end-of-crawl summary: what was fetched, what was written, what failed. */
import { count } from '../words.js';
import { LABELS, type Label } from '../api/endpoints.js';
import type { SinkCounts } from '../store/sink.js';
import { TABLE_ORDER } from '../store/tables.js';
import type { FailureRecord } from './failures.js';
import type { LabelCounts } from './stats.js';
import { formatTable } from '../text-table.js';

export type CrawlOutcome = 'complete' | 'failures' | 'interrupted' | 'limit' | 'fatal';

export interface CrawlSummary {
  readonly outcome: CrawlOutcome;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly seconds: number;
  readonly requests: Record<Label, LabelCounts>;
  readonly rows: SinkCounts;
  readonly failures: readonly FailureRecord[];
  /**
   * Requests this run left with their latest attempt failed, to be retried by the next run (a run
   * stopped at --max-requests before their retries): how many, and the first one's reason.
   */
  readonly failedAttempts?: { readonly requests: number; readonly reason: string };
  /** Set when the crawl could not finish: what is wrong and how to go on. */
  readonly message?: string;
}

/**
 * Exit codes: 0 all stored, 2 finished with failures, 130 interrupted, 1 fatal. A run stopped at
 * --max-requests is 0, or 2 when it left requests whose latest attempt failed (`failedAttempts`).
 */
export function exitCodeOf(outcome: CrawlOutcome, failedAttempts = 0): number {
  if (outcome === 'limit' && failedAttempts > 0) return 2;
  return { complete: 0, limit: 0, failures: 2, interrupted: 130, fatal: 1 }[outcome];
}

const MAX_LISTED_FAILURES = 20;

/** The summary's first words, as a sentence: `Crawl finished in 4.3 s with 3 failed requests`. */
function headline(
  outcome: CrawlOutcome,
  seconds: number,
  failed: number,
  quarantined: number,
  failedAttempts: number,
): string {
  const time = `${seconds.toFixed(1)} s`;
  const start = {
    complete: `Crawl finished in ${time}`,
    failures: `Crawl finished in ${time}`,
    limit: `Crawl stopped at --max-requests after ${time}`,
    interrupted: `Crawl interrupted after ${time}`,
    fatal: `Crawl stopped by an error after ${time}`,
  }[outcome];
  const problems = [
    failed ? `${count(failed, 'failed request')}` : '',
    quarantined ? `${count(quarantined, 'quarantined item')}` : '',
    failedAttempts ? `${count(failedAttempts, 'request')} whose attempt failed` : '',
  ].filter(Boolean);
  return problems.length ? `${start} with ${problems.join(' and ')}` : start;
}

export function formatSummary(s: CrawlSummary): string {
  const lines: string[] = [];
  const total = (f: keyof LabelCounts) => LABELS.reduce((sum, l) => sum + s.requests[l][f], 0);
  const done = total('succeeded') + total('failed');
  lines.push(
    headline(s.outcome, s.seconds, total('failed'), total('quarantined'), s.failedAttempts?.requests ?? 0) +
      `: ${count(done, 'request')} (${(done / Math.max(s.seconds, 0.001)).toFixed(1)}/s), ${total('cacheHits')} from ` +
      `cache, ${total('revalidated') || 0} revalidated${total('repaired') ? `, ${total('repaired')} repaired` : ''}`,
  );
  lines.push('');
  lines.push(
    formatTable(
      ['requests', 'succeeded', 'failed', 'cache hits', 'revalidated', 'quarantined', 'repaired', 'already stored'],
      LABELS.map((l) => [
        l,
        s.requests[l].succeeded,
        s.requests[l].failed,
        s.requests[l].cacheHits,
        s.requests[l].revalidated ?? 0,
        s.requests[l].quarantined,
        s.requests[l].repaired ?? 0,
        s.requests[l].alreadyStored ?? 0,
      ]),
    ),
  );
  const damaged = total('cacheDamaged');
  if (damaged)
    lines.push(
      '',
      `${damaged} cached record${damaged === 1 ? ' was' : 's were'} damaged on ` +
        `disk (cut short or not matching their hash): never served, fetched again`,
    );
  lines.push('');
  lines.push(
    formatTable(
      ['table', 'inserted', 'updated', 'unchanged', 'deleted'],
      TABLE_ORDER.map((t) => [t, s.rows[t].inserted, s.rows[t].updated, s.rows[t].unchanged, s.rows[t].deleted]),
    ),
  );
  if (s.failures.length) {
    lines.push(
      '',
      `Failures ` +
        `(${s.failures.length}${s.failures.length > MAX_LISTED_FAILURES ? `, first ${MAX_LISTED_FAILURES}` : ''}; ` +
        `all are kept in the storage dir, retry the requests with --retry-failed):`,
    );
    for (const f of s.failures.slice(0, MAX_LISTED_FAILURES)) {
      lines.push(
        f.kind === 'request'
          ? `  ${f.label} ${f.url}: ${f.error} (${f.attempts} attempt${f.attempts === 1 ? '' : 's'})`
          : `  quarantined ${f.pointer}${f.id ? ` (${f.id})` : ''} of ${f.url}: ` +
              `${f.problems.map((p) => `${p.instancePath} ${p.message}`).join('; ')}`,
      );
    }
  }
  if (s.message) lines.push('', s.message);
  return lines.join('\n');
}
