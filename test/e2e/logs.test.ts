/**
 * Logs as a machine and a person read them: with --log-format json every stderr line of a crawl
 * under faults is one JSON object (Crawlee's own lines included) and stdout holds only the
 * summary; --verbose gives one line per request; repeated warnings are summarised after 20.
 */
import { describe, expect, it } from 'vitest';
import type { CrawlSummary } from '../../src/crawl/summary.js';
import { REPEATED_WARNINGS_SHOWN } from '../../src/log.js';
import {
  apiPath,
  startReplica,
  syntheticTree,
  type Calendar,
  type ReplicaTree,
  type SeasonItem,
  type SeriesItem,
} from '../replica/index.js';
import { runCli } from '../support/cli.js';
import { crawl, crawlConfig } from '../support/crawl.js';
import { newEmbeddedDb, tempDir } from '../support/db.js';

const TREE = { seed: 7, series: 2, seasonsPerSeries: 2, eventsPerSeason: 3, sessionsPerEvent: 4, carsPerSession: 3 };
const body = <T>(tree: ReplicaTree, path: string) => JSON.parse(tree.body(path)!) as T;

function classificationPaths(tree: ReplicaTree): string[] {
  return body<SeriesItem[]>(tree, apiPath.series())
    .flatMap((s) => body<SeasonItem[]>(tree, apiPath.seasons(s.uuid)))
    .flatMap((season) =>
      body<Calendar>(tree, apiPath.calendar(season.uuid)).events.flatMap((e) => e.sessions.filter((s) => s.hasResults)),
    )
    .map((s) => apiPath.classification(s.uuid));
}

describe('logs', () => {
  it(
    '--log-format json under faults: every stderr line is JSON, ' +
      'stdout only the summary; --verbose: one line per request',
    async () => {
      const tree = syntheticTree(TREE);
      const [broken] = classificationPaths(tree);
      const replica = await startReplica({
        tree,
        faults: {
          seed: 3,
          rate500: 0.1,
          rate503: 0.05,
          rate429: 0.05,
          rateReset: 0.05,
          rateTruncate: 0.05,
          retryAfterSeconds: 0,
          perPath: { [broken!]: '500-always' },
        },
      });
      try {
        const storage = tempDir();
        await newEmbeddedDb(`${storage}/db`);
        const run = await runCli([
          'crawl',
          '--storage',
          storage,
          '--base-url',
          replica.url,
          '--max-rpm',
          '100000',
          '--concurrency',
          '8',
          '--log-format',
          'json',
          '--verbose',
        ]);
        expect(run.code, run.stderr.slice(-2000)).toBe(2);
        const out = run.stdout.split('\n').filter(Boolean);
        expect(out).toHaveLength(1);
        const summary = JSON.parse(out[0]!) as CrawlSummary;
        expect(summary.outcome).toBe('failures');
        const lines = run.stderr.split('\n').filter(Boolean);
        const records = lines.map((line) => {
          expect(() => JSON.parse(line), line).not.toThrow();
          return JSON.parse(line) as {
            level: string;
            msg: string;
            source?: string;
            status?: unknown;
            bytes?: number;
            attempt?: number;
            error?: string;
          };
        });
        expect(records.every((r) => typeof r.msg === 'string' && !r.msg.includes('\n'))).toBe(true);
        // Crawlee had things to say under these faults: they came as JSON too.
        expect(records.some((r) => r.source === 'crawlee')).toBe(true);
        // One line per request handled: as many as succeeded, each with its status, size and attempt.
        const requestLines = records.filter((r) => /^(series|seasons|calendar|classification) \/widgets\//.test(r.msg));
        const perRequest = requestLines.filter((r) => r.error === undefined);
        // A failed attempt has a line of the same shape, with its status and reason: the always
        // failing URL's five retried attempts and its last one.
        const failedAttempts = requestLines.filter((r) => r.error !== undefined);
        expect(failedAttempts.filter((r) => r.msg.endsWith(broken!)).map((r) => r.attempt)).toEqual([1, 2, 3, 4, 5, 6]);
        expect(
          failedAttempts.every((r) => r.level === 'debug' && (typeof r.status === 'number' || r.status === 'error')),
        ).toBe(true);
        const succeeded = Object.values(summary.requests).reduce((n, c) => n + c.succeeded, 0);
        expect(perRequest).toHaveLength(succeeded);
        expect(
          perRequest.every(
            (r) => r.level === 'debug' && (r.status === 200 || r.status === 'cache') && r.bytes! > 0 && r.attempt! >= 1,
          ),
        ).toBe(true);
        expect(perRequest.some((r) => r.attempt! > 1)).toBe(true);
        // Each retry line names the attempt that failed: 1, 2, 3… per URL, never 0; the request's own
        // line (if it succeeded) comes with the attempt after the last failed one.
        const retries = records.filter((r) => r.msg.startsWith('retrying '));
        expect(retries.length).toBeGreaterThan(0);
        const byUrl = new Map<string, number[]>();
        for (const r of retries) {
          const url = r.msg.split(' ')[1]!;
          byUrl.set(url, [...(byUrl.get(url) ?? []), r.attempt!]);
        }
        for (const [url, attempts] of byUrl) expect(attempts, url).toEqual(attempts.map((_, i) => i + 1));
        expect(byUrl.get(`${replica.url}${broken}`)).toEqual([1, 2, 3, 4, 5]);
        for (const r of perRequest) {
          const failedBefore = byUrl.get(`${replica.url}${r.msg.split(' ')[1]}`)?.length ?? 0;
          expect(r.attempt, r.msg).toBe(failedBefore + 1);
        }
        expect(
          records.filter((r) => r.level === 'warn' && r.msg.startsWith(`failed ${replica.url}${broken}`)),
        ).toHaveLength(1);
      } finally {
        await replica.close();
      }
    },
  );

  it('without --verbose a clean crawl logs no per-request lines', async () => {
    const tree = syntheticTree({ ...TREE, series: 1, seasonsPerSeries: 1 });
    const replica = await startReplica({ tree });
    try {
      const summary = await crawl(
        crawlConfig(replica.url, tempDir(), { kind: 'embedded', dir: await newEmbeddedDb() }),
      );
      expect(summary.outcome).toBe('complete');
      expect(summary.lines.filter((l) => /^(DEBUG )?(series|seasons|calendar|classification) \//.test(l))).toEqual([]);
    } finally {
      await replica.close();
    }
  });

  it(`warnings of one kind are summarised after ${REPEATED_WARNINGS_SHOWN}`, async () => {
    const tree = syntheticTree(TREE);
    const paths = classificationPaths(tree);
    expect(paths.length).toBeGreaterThan(REPEATED_WARNINGS_SHOWN + 5);
    const replica = await startReplica({
      tree,
      faults: { perPath: Object.fromEntries(paths.map((p) => [p, '404' as const])) },
    });
    try {
      const storage = tempDir();
      const summary = await crawl(
        crawlConfig(replica.url, storage, { kind: 'embedded', dir: await newEmbeddedDb(`${storage}/db`) }),
      );
      expect(summary.outcome).toBe('failures');
      expect(summary.failures).toHaveLength(paths.length);
      const failed = summary.lines.filter((l) => /^WARN failed /.test(l));
      expect(failed).toHaveLength(REPEATED_WARNINGS_SHOWN);
      expect(summary.lines).toContain(
        `WARN …and ${paths.length - REPEATED_WARNINGS_SHOWN} more failed requests; see the ` +
          `failures list kind=failed requests more=${paths.length - REPEATED_WARNINGS_SHOWN}`,
      );
    } finally {
      await replica.close();
    }
  });
});
