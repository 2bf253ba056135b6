/**
 * `canary` against the replica over real HTTP: a clean tree matches; drift injected into the
 * calendars (an item of the wrong type) or the classifications (a missing field) is reported for
 * that endpoint with exit 2; an unreachable API is incomplete, exit 1. Expected samples are
 * computed by walking the tree.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABELS } from '../../src/api/endpoints.js';
import type { CanaryConfig } from '../../src/config.js';
import {
  canaryExitCode,
  formatCanary,
  resolveCanaryConfig,
  runCanary,
  type CanaryReport,
} from '../../src/commands/canary.js';
import {
  apiPath,
  startReplica,
  syntheticTree,
  type Calendar,
  type Replica,
  type ReplicaTree,
  type SeasonItem,
  type SeriesItem,
} from '../replica/index.js';
import { runCli } from '../support/cli.js';
import { memoryLogger } from '../support/crawl.js';

/** Six series: five categories, so a sample of four spans four. */
const TREE = { series: 6, seasonsPerSeries: 2, eventsPerSeason: 2, sessionsPerEvent: 2, carsPerSession: 4 };

const body = <T>(tree: ReplicaTree, path: string) => JSON.parse(tree.body(path)!) as T;

function canary(baseUrl: string): Promise<CanaryReport> {
  const config: CanaryConfig = { ...resolveCanaryConfig({ baseUrl, maxRpm: 100_000 }, {}), retryBaseMs: 10 };
  return runCanary(config, memoryLogger());
}

/** Every calendar path, and every classification path, of the tree. */
function paths(tree: ReplicaTree): { calendars: string[]; classifications: string[] } {
  const seasons = body<SeriesItem[]>(tree, apiPath.series()).flatMap((s) =>
    body<SeasonItem[]>(tree, apiPath.seasons(s.uuid)),
  );
  const calendars = seasons.map((s) => apiPath.calendar(s.uuid));
  const sessions = calendars.flatMap((p) =>
    body<Calendar>(tree, p).events.flatMap((e) => e.sessions.filter((s) => s.hasResults)),
  );
  return { calendars, classifications: sessions.map((s) => apiPath.classification(s.uuid)) };
}

describe('canary', () => {
  const replicas: Replica[] = [];
  const start = async (tree: ReplicaTree, perPath: Record<string, 'drift-type'> = {}) => {
    const replica = await startReplica({ tree, faults: { perPath } });
    replicas.push(replica);
    return replica;
  };
  let tree: ReplicaTree;
  let clean: Replica;

  beforeAll(async () => {
    tree = syntheticTree(TREE);
    clean = await start(tree);
  });
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.close()));
  });

  it(
    'finds a clean API matching, sampling the latest ' +
      'classifications of series of different categories, with no cache',
    async () => {
      const report = await canary(clean.url);
      expect(report.outcome).toBe('match');
      expect(canaryExitCode(report.outcome)).toBe(0);
      const series = body<SeriesItem[]>(tree, apiPath.series());
      const sampled = report.series.map((name) => series.find((s) => s.name === name)!);
      expect(sampled).toHaveLength(4);
      expect(new Set(sampled.map((s) => s.category)).size).toBe(4);
      // Per sampled series: the newest season whose calendar has results, its last two sessions with results.
      const expectedClassifications = sampled.reduce((n, s) => {
        const seasons = body<SeasonItem[]>(tree, apiPath.seasons(s.uuid)).sort((a, b) => b.year! - a.year!);
        const withResults = seasons.map((season) =>
          body<Calendar>(tree, apiPath.calendar(season.uuid))
            .events.flatMap((e) => e.sessions)
            .filter((x) => x.hasResults),
        );
        return n + Math.min(2, withResults.find((list) => list.length)?.length ?? 0);
      }, 0);
      expect(report.endpoints.classification.checked).toBe(expectedClassifications);
      for (const label of LABELS)
        expect(report.endpoints[label], label).toMatchObject({ drifted: 0, errors: 0, problems: [] });
      const checked = LABELS.reduce((n, l) => n + report.endpoints[l].checked, 0);
      expect(clean.stats.total).toBe(checked);
      await canary(clean.url);
      expect(clean.stats.total).toBe(2 * checked);
    },
  );

  it('reports drift in the calendars, naming the problem, and exits 2', async () => {
    const drifted = syntheticTree(TREE);
    const replica = await start(
      drifted,
      Object.fromEntries(paths(drifted).calendars.map((p) => [p, 'drift-type' as const])),
    );
    const report = await canary(replica.url);
    expect(report.outcome).toBe('drift');
    expect(canaryExitCode(report.outcome)).toBe(2);
    expect(report.endpoints.calendar.checked).toBeGreaterThan(0);
    expect(report.endpoints.calendar.drifted).toBe(report.endpoints.calendar.checked);
    expect(report.endpoints.calendar.problems[0]).toMatchObject({
      problem: '/events/*/name must be string,null',
      count: report.endpoints.calendar.checked,
    });
    expect(report.endpoints.series).toMatchObject({ drifted: 0, matched: 1 });
    expect(formatCanary(report)).toMatch(/calendar\s+\d+\s+0\s+\d+\s+0\s+DRIFT/);
  });

  it('reports a classification that lost a field as drift', async () => {
    const drifted = syntheticTree(TREE);
    for (const p of paths(drifted).classifications)
      drifted.mutate<Record<string, unknown>>(p, ({ details }) => ({ details }));
    const report = await canary((await start(drifted)).url);
    expect(report.outcome).toBe('drift');
    expect(report.endpoints.classification.drifted).toBeGreaterThan(0);
    expect(report.endpoints.classification.matched).toBe(0);
    expect(report.endpoints.classification.problems.map((p) => p.problem).join(' ')).toContain('retirements');
    expect(report.endpoints.calendar.drifted).toBe(0);
  });

  it('reports a calendar naming a season other than the one asked for as drift', async () => {
    const drifted = syntheticTree(TREE);
    const stranger = '00000000-0000-4000-8000-00000000beef';
    for (const p of paths(drifted).calendars)
      drifted.mutate<Calendar>(p, (c) => ({ ...c, season: { ...c.season, uuid: stranger } }));
    const report = await canary((await start(drifted)).url);
    expect(report.outcome).toBe('drift');
    expect(report.endpoints.calendar.checked).toBeGreaterThan(0);
    expect(report.endpoints.calendar.drifted).toBe(report.endpoints.calendar.checked);
    for (const { problem } of report.endpoints.calendar.problems)
      expect(problem).toMatch(new RegExp(`^the calendar of ${stranger}, not of the requested [0-9a-f-]{36}: nothing`));
  });

  it('calls an unreachable API incomplete, exit 1', async () => {
    const gone = await startReplica({ tree });
    await gone.close();
    const report = await canary(gone.url);
    expect(report.outcome).toBe('incomplete');
    expect(canaryExitCode(report.outcome)).toBe(1);
    expect(report.endpoints.series).toMatchObject({ checked: 0, errors: 1 });
    // No series was tried: the reason says why, not that the series tried have no results.
    expect(report.notes).toContain('0 of 4 series sampled: the series list could not be read');
    expect(report.notes.join('\n')).not.toMatch(/series tried/);
  });

  it('exits 2 on drift from the command line, with the table on stdout', async () => {
    const drifted = syntheticTree(TREE);
    const replica = await start(
      drifted,
      Object.fromEntries(paths(drifted).calendars.map((p) => [p, 'drift-type' as const])),
    );
    const run = await runCli(['canary', '--base-url', replica.url, '--max-rpm', '100000', '--quiet']);
    expect(run.code).toBe(2);
    // --quiet keeps warnings: the drift is one.
    expect(run.stderr).toMatch(/^WARN drift in http:\/\/.*\/calendar: \/events\/0\/name must be string,null$/m);
    expect(run.stdout).toMatch(/^Canary of .* DRIFT: the API no longer matches schemas\//);
    expect(run.stdout).toMatch(/^calendar\s+\d+\s+0\s+\d+\s+0\s+DRIFT$/m);
  });
});
