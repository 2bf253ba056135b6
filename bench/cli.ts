/**
 * `npm run bench`: every measurement of issue 6 side by side in one run, against a synthetic
 * replica started in the same process tree. Prints a table, writes a JSON report.
 *
 *   npm run bench -- [--scale 1] [--runs 1] [--only floor,cold-pg,…] [--out bench-report.json]
 *                    [--pg postgres://…] [--concurrency N] [--resume-requests 100000]
 *                    [--cpu-prof DIR]
 *   npm run bench -- --live [--live-requests 100000] [--live-factors 1,4,13]
 *
 * Measurements: floor, cold-pg, cold-pglite, warm, refresh, sink, memory, resume, daily, workers;
 * with --live, those of bench/measures/live.ts instead (issue 14, tens of minutes).
 * The PostgreSQL server (--pg, else BENCH_DATABASE_URL, TEST_DATABASE_URL,
 * postgres://postgres@127.0.0.1:5432/test) gets a throwaway database per measurement.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { build } from './build.js';
import { crawlerOptions } from './crawler-options.js';
import { log, postgresVersion, REPO_ROOT } from './harness.js';
import {
  coldRun,
  floorRun,
  refreshRun,
  warmRun,
  type CrawlResult,
  type FloorResult,
  type SuiteContext,
} from './measures/crawls.js';
import { baselineCrawl, memoryPoint, scaledCrawl, type MemoryPoint } from './measures/memory.js';
import { resumeRun, setupResume, type ResumeResult, type ResumeSetup } from './measures/resume.js';
import { sinkRun, type SinkResult } from './measures/sink.js';
import { dailyRun, type DailyResult } from './measures/daily.js';
import { liveRun, type LiveResult } from './measures/live.js';
import { workersRun, type WorkersResult } from './measures/workers.js';
import { startReplicaHost, type ReplicaHost } from './replica.js';
import { summarize, type Report } from './report.js';
import { checkReadme, updateReadme } from './readme.js';
import { renderTable } from './table.js';
import { treeFor } from './tree.js';

export const MEASUREMENTS = [
  'floor',
  'cold-pg',
  'cold-pglite',
  'warm',
  'refresh',
  'sink',
  'memory',
  'resume',
  'daily',
  'workers',
] as const;
export type Measurement = (typeof MEASUREMENTS)[number];

const HELP = `Usage: npm run bench -- [options]

  --scale X              tree size multiplier (1: 1,686 requests, 53,152 classification rows)
  --runs N               repeat every measurement N times, interleaved (1)
  --only a,b             only these: ${MEASUREMENTS.join(', ')}
  --out FILE             JSON report (bench-report.json)
  --pg URL               PostgreSQL server for throwaway databases
  --concurrency N        the crawl's --concurrency (default: the crawler's handler concurrency)
  --memory-factor N      the larger tree of the memory measurement, × --scale (4)
  --resume-requests N    size of the resumed queue, half of it handled (100000)
  --resume-timeout S     give up waiting for the resumed crawl's first request after S seconds (240)
  --sink-rows N          rows of the sink measurement, on PostgreSQL and on PGlite (50000 × --scale)
  --cpu-prof DIR         run measured children under node --cpu-prof, profiles into DIR
  --update-readme        write the table into README.md's Performance section
  --live                 instead of the above: the live-size measurements (issue 14; not in CI, ~45 minutes):
                         peak RSS of cold crawls up to a live-shaped tree, drift, resume, status,
                         export, disk and the cache-only rebuild at live size (--update-readme writes
                         them between <!-- PERFORMANCE-LIVE --> markers)
  --live-requests N      size of the live-shaped tree, at least N requests (100000)
  --live-factors a,b     the bench tree's sizes for peak RSS against requests, × --scale (1,4,13)
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scale: { type: 'string', default: '1' },
      runs: { type: 'string', default: '1' },
      only: { type: 'string' },
      out: { type: 'string', default: 'bench-report.json' },
      pg: { type: 'string' },
      concurrency: { type: 'string' },
      'memory-factor': { type: 'string', default: '4' },
      'resume-requests': { type: 'string', default: '100000' },
      'resume-timeout': { type: 'string', default: '240' },
      'sink-rows': { type: 'string' },
      'cpu-prof': { type: 'string' },
      'update-readme': { type: 'boolean' },
      live: { type: 'boolean' },
      'live-requests': { type: 'string', default: '100000' },
      'live-factors': { type: 'string', default: '1,4,13' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const scale = positive('--scale', values.scale);
  const runs = positive('--runs', values.runs, true);
  const memoryFactor = positive('--memory-factor', values['memory-factor']);
  const resumeRequests = positive('--resume-requests', values['resume-requests'], true);
  const sinkRows = values['sink-rows']
    ? positive('--sink-rows', values['sink-rows'], true)
    : Math.round(50_000 * scale);
  const resumeTimeoutSecs = positive('--resume-timeout', values['resume-timeout']);
  const live = values.live === true;
  const liveRequests = positive('--live-requests', values['live-requests'], true);
  const liveFactors = values['live-factors'].split(',').map((f) => positive('--live-factors', f.trim()));
  if (live && (values.only || values.runs !== '1'))
    throw new Error('--live runs the live measurements once, alone: it takes neither --only nor --runs');
  const only = new Set<Measurement>(
    values.only
      ? values.only
          .split(',')
          .map((m) => m.trim())
          .map(measurement)
      : MEASUREMENTS,
  );
  const adminUrl =
    values.pg ??
    process.env.BENCH_DATABASE_URL ??
    process.env.TEST_DATABASE_URL ??
    'postgres://postgres@127.0.0.1:5432/test';
  const outFile = path.resolve(values.out);
  const nodeArgs = values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(values['cpu-prof'])}`] : [];

  const readmeBlock = live ? 'PERFORMANCE-LIVE' : 'PERFORMANCE';
  if (values['update-readme']) checkReadme(path.join(REPO_ROOT, 'README.md'), readmeBlock);
  const startedAt = new Date();
  const machine = {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGb: os.totalmem() / 1024 ** 3,
    freeMemoryGbAtStart: os.freemem() / 1024 ** 3,
    loadAverageAtStart: os.loadavg(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    postgres: await postgresVersion(adminUrl),
  };
  log(
    `machine: ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memoryGb.toFixed(1)} GB, node ${machine.node}, ` +
      `PostgreSQL ${machine.postgres}, load ${machine.loadAverageAtStart.map((l) => l.toFixed(2)).join(' ')}`,
  );

  // Taken before the build: the source measured, even if the tree changes while the bench runs.
  const source = gitState();
  log('building the crawler (tsc)…');
  const compiled = build();
  log(`built in ${compiled.seconds.toFixed(1)} s into ${path.relative(REPO_ROOT, compiled.dir)}`);
  const crawler = await crawlerOptions();
  const concurrency = values.concurrency
    ? positive('--concurrency', values.concurrency, true)
    : crawler.handlerConcurrency;

  const results = {
    floor: [] as FloorResult[],
    coldPg: [] as CrawlResult[],
    coldPglite: [] as CrawlResult[],
    warm: [] as CrawlResult[],
    refresh: [] as (CrawlResult & { changedPayloads: number })[],
    sink: [] as SinkResult[],
    sinkPglite: [] as SinkResult[],
    memoryBaseline: [] as MemoryPoint[],
    memoryLarge: [] as MemoryPoint[],
    resume: [] as ResumeResult[],
    daily: [] as DailyResult[],
    workers: [] as WorkersResult[],
    warmPglite: [] as CrawlResult[],
  };
  let liveResult: LiveResult | undefined;
  if (live) only.clear();
  const needsTree = ['floor', 'cold-pg', 'cold-pglite', 'warm', 'refresh', 'memory'].some((m) =>
    only.has(m as Measurement),
  );
  let host: ReplicaHost | undefined;
  let resume: ResumeSetup | undefined;
  try {
    if (needsTree) {
      log(`starting the replica (scale ${scale})…`);
      host = await startReplicaHost(treeFor(scale));
      log(
        `replica at ${host.url}: ${host.paths} requests, ${host.expectedCounts().rows.classifications} ` +
          `classification rows, ${(host.bodyBytes / 1024 ** 2).toFixed(0)} MB of bodies`,
      );
    }
    const ctx = (): SuiteContext => ({ build: compiled, host: host!, adminUrl, concurrency, crawler, nodeArgs });
    for (let run = 1; run <= runs; run++) {
      const tag = `run ${run}/${runs}`;
      if (only.has('floor')) {
        const r = await floorRun(ctx());
        results.floor.push(r);
        log(`${tag} floor: ${r.requestsPerSec.toFixed(1)} req/s (${r.seconds.toFixed(1)} s)`);
      }
      if (only.has('cold-pg') || only.has('warm') || only.has('refresh') || only.has('memory')) {
        const { result, state } = await coldRun(ctx(), 'postgres');
        results.coldPg.push(result);
        log(
          `${tag} cold → PostgreSQL: ${result.requestsPerSec.toFixed(1)} req/s, ${result.rowsPerSec.toFixed(0)} ` +
            `rows/s (${result.seconds.toFixed(1)} s), peak RSS ${result.maxRssMb?.toFixed(0)} MB`,
        );
        try {
          if (only.has('warm')) {
            const r = await warmRun(ctx(), state);
            results.warm.push(r);
            log(
              `${tag} warm: ${r.seconds.toFixed(1)} s, ${r.rowsWritten} ` +
                `rows written, ${r.networkRequests} network requests`,
            );
          }
          if (only.has('refresh')) {
            const r = await refreshRun(ctx(), state, 0.01);
            results.refresh.push(r);
            log(
              `${tag} refresh: ${r.seconds.toFixed(1)} s, ${r.changedPayloads} ` +
                `payloads changed, ${r.rowsWritten} rows written`,
            );
          }
        } finally {
          await state.dispose();
        }
      }
      if (only.has('cold-pglite')) {
        const { result, state } = await coldRun(ctx(), 'pglite');
        try {
          results.coldPglite.push(result);
          log(
            `${tag} cold → PGlite: ${result.requestsPerSec.toFixed(1)} req/s, ${result.rowsPerSec.toFixed(0)} ` +
              `rows/s (${result.seconds.toFixed(1)} s), peak RSS ${result.maxRssMb?.toFixed(0)} MB`,
          );
          // The embedded default's memory: the same database again, everything from the cache.
          const warm = await warmRun(ctx(), state);
          results.warmPglite.push(warm);
          log(`${tag} warm → PGlite: ${warm.seconds.toFixed(1)} s, peak RSS ${warm.maxRssMb?.toFixed(0)} MB`);
        } finally {
          await state.dispose();
        }
      }
      if (only.has('sink')) {
        for (const kind of ['postgres', 'embedded'] as const) {
          const r = await sinkRun(adminUrl, sinkRows, crawler.handlerConcurrency, undefined, kind);
          (kind === 'postgres' ? results.sink : results.sinkPglite).push(r);
          log(
            `${tag} sink on ${kind === 'postgres' ? 'PostgreSQL' : 'PGlite'}: ${Object.entries(r.rowsPerSec)
              .map(([k, v]) => `${k} ${v.toFixed(0)} rows/s`)
              .join(', ')}`,
          );
        }
      }
      if (only.has('memory')) {
        const base = await baselineCrawl(ctx());
        results.memoryBaseline.push(base);
        const large = await scaledCrawl(ctx(), scale, memoryFactor);
        results.memoryLarge.push(large);
        log(
          `${tag} memory: baseline ${base.maxRssMb?.toFixed(0)} MB, ${memoryFactor}× ` +
            `${large.maxRssMb?.toFixed(0)} MB (${large.requestsPerSec.toFixed(1)} req/s)`,
        );
      }
      if (only.has('daily')) {
        for (const which of ['recorded', 'synthetic-current'] as const) {
          const r = await dailyRun(compiled, which, concurrency, scale);
          results.daily.push(r);
          log(
            `${tag} daily refresh (${which}): ${r.refresh.full} × 200, ${r.refresh.notModified} × 304, ` +
              `${r.refresh.none} from the cache; ${(r.share * 100).toFixed(1)} ` +
              `% of ${r.fullRequests}; ${r.refresh.rowsWritten} rows written`,
          );
        }
      }
      if (only.has('workers')) {
        const r = await workersRun(compiled, adminUrl, concurrency);
        results.workers.push(r);
        log(
          `${tag} workers: local queue ${r.localSeconds.toFixed(1)} s, 1 worker ${r.oneWorkerSeconds.toFixed(1)} s ` +
            `(${r.slowdown.toFixed(2)}×), 3 workers ${r.threeWorkersSeconds.toFixed(1)} ` +
            `s (local ÷ ${r.speedup.toFixed(2)}; ${r.perWorker.join('/')} requests)`,
        );
      }
      if (only.has('resume')) {
        resume ??= await setupResume(resumeRequests, Math.floor(resumeRequests / 2));
        const r = await resumeRun(compiled, resume, adminUrl, concurrency, resumeTimeoutSecs);
        results.resume.push(r);
        log(
          `${tag} resume: first request after ${r.seconds.toFixed(2)} ` +
            `s (resume logged after ${r.toResumeLogSeconds?.toFixed(2)} s)`,
        );
      }
    }
    if (live) {
      liveResult = await liveRun(
        { build: compiled, adminUrl, concurrency, crawler, nodeArgs },
        { requests: liveRequests, scale, factors: liveFactors, resumeTimeoutSecs },
      );
    }
  } finally {
    await host?.close();
    await resume?.dispose();
  }

  const report: Report = summarize({
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim().replace(/ --$/, ''),
    machine: { ...machine, loadAverageAtEnd: os.loadavg() },
    options: {
      scale,
      runs,
      only: [...only],
      concurrency,
      memoryFactor,
      resumeRequests,
      resumeTimeoutSecs,
      sinkRows,
      cpuProf: values['cpu-prof'],
      ...(live ? { live, liveRequests, liveFactors: liveFactors.join(',') } : {}),
    },
    source,
    tree: host ? { params: host.tree, expected: host.expectedCounts(), bodyBytes: host.bodyBytes } : undefined,
    build: { seconds: compiled.seconds, dir: compiled.dir },
    crawler,
    resumeSetup: resume && { total: resume.total, handled: resume.handled, buildSeconds: resume.buildSeconds },
    results: {
      ...results,
      memoryOneX: results.coldPg.map((r) => memoryPoint(1, r)),
      ...(liveResult ? { live: liveResult } : {}),
    },
  });
  writeFileSync(outFile, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${renderTable(report)}\n`);
  process.stdout.write(`\nReport: ${path.relative(process.cwd(), outFile) || outFile}\n`);
  if (values['update-readme']) {
    updateReadme(path.join(REPO_ROOT, 'README.md'), report, readmeBlock);
    process.stdout.write(`README.md: Performance section updated (${readmeBlock})\n`);
  }
  if (report.problems.length) process.exitCode = 1;
}

/** The commit measured, and the files under src/ and migrations/ that differed from it. */
function gitState(): { commit: string; uncommitted: string[] } | undefined {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const uncommitted = git('status', '--porcelain', '--', 'src', 'migrations', 'schemas').split('\n').filter(Boolean);
    return { commit: git('rev-parse', '--short', 'HEAD'), uncommitted };
  } catch {
    return undefined;
  }
}

function measurement(name: string): Measurement {
  if (!(MEASUREMENTS as readonly string[]).includes(name))
    throw new Error(`--only: unknown measurement "${name}" (${MEASUREMENTS.join(', ')})`);
  return name as Measurement;
}

function positive(flag: string, value: string, integer = false): number {
  const n = Number(value);
  if (!(n > 0) || (integer && !Number.isInteger(n)))
    throw new Error(`${flag}: "${value}" is not a positive ${integer ? 'whole ' : ''}number`);
  return n;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
