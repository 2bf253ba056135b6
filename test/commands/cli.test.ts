/**
 * The operator commands through the real command line (tsx, child processes): every command takes
 * --log-format, --quiet and --verbose; logs go to stderr (one JSON object per line with
 * --log-format json), results to stdout; a user's mistake is one line and exit 1.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../../src/export/manifest.js';
import type { StatusReport } from '../../src/commands/status.js';
import { expectedCounts, startReplica, syntheticTree } from '../replica/index.js';
import { runCli } from '../support/cli.js';
import { crawl, crawlConfig } from '../support/crawl.js';
import { tempDir } from '../support/db.js';

describe('the command line', () => {
  const storage = tempDir();
  const tree = syntheticTree({
    series: 1,
    seasonsPerSeries: 1,
    eventsPerSeason: 2,
    sessionsPerEvent: 2,
    carsPerSession: 3,
  });

  beforeAll(async () => {
    const replica = await startReplica({ tree });
    try {
      expect(
        (await crawl(crawlConfig(replica.url, storage, { kind: 'embedded', dir: path.join(storage, 'db') }))).outcome,
      ).toBe('complete');
    } finally {
      await replica.close();
    }
  });

  it('export: the manifest on stdout, JSON log lines on stderr, silence with --quiet', async () => {
    const out = tempDir();
    const json = await runCli(['export', '--storage', storage, '--out', out, '--log-format', 'json']);
    expect(json.code).toBe(0);
    const manifest = JSON.parse(json.stdout) as Manifest;
    expect(manifest.datasets.classifications.rows).toBe(expectedCounts(tree).rows.classifications);
    const logs = json.stderr
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { level: string; msg: string });
    expect(logs.map((l) => l.msg)).toContain(`exported results: ${manifest.datasets.results.rows} rows`);
    expect(new Set(logs.map((l) => l.level))).toEqual(new Set(['info']));

    const quiet = await runCli(['export', '--storage', storage, '--out', out, '--format', 'ndjson', '--quiet']);
    expect(quiet).toMatchObject({ code: 0, stderr: '' });
    expect(quiet.stdout).toMatch(/^Exported 13 datasets/);
    expect(readdirSync(out).filter((f) => f.endsWith('.ndjson'))).toHaveLength(13);
  });

  it('status and changes: text for people, JSON for machines', async () => {
    const status = await runCli(['status', '--storage', storage, '--log-format', 'json']);
    expect(status.code).toBe(0);
    const report = JSON.parse(status.stdout) as StatusReport;
    expect(report.database.state === 'ready' && report.database.tables.sessions.live).toBe(
      expectedCounts(tree).rows.sessions,
    );
    const changes = await runCli(['changes', '--storage', storage, '--since', '1d']);
    expect(changes.code).toBe(0);
    expect(changes.stdout).toMatch(new RegExp(`^sessions\\s+${expectedCounts(tree).rows.sessions}\\s+0\\s+0$`, 'm'));
  });

  it('turns a bad flag into one line on stderr and exit 1', async () => {
    const runs = await Promise.all([
      runCli(['export', '--storage', storage, '--as-of', '2026-01-01T10:00:00']),
      runCli(['changes', '--storage', storage]),
    ]);
    const messages = [
      /^ERROR --as-of: "2026-01-01T10:00:00" has no time zone/,
      /^ERROR --since is required: an ISO 8601 time/,
    ];
    runs.forEach((run, i) => {
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(messages[i]!);
      expect(run.stdout).toBe('');
    });
    expect(runs[0]!.stderr.trim().split('\n')).toHaveLength(1);
  });
});
