/**
 * The JSON report: every run's raw results, and per measurement the medians, ranges and targets.
 * Ratios are taken run by run (floor and cold crawl of the same run are neighbours in time, so
 * load from other processes hits both) and then summarized.
 */
import type { FloorResult, CrawlResult } from './measures/crawls.js';
import type { MemoryPoint } from './measures/memory.js';
import type { ResumeResult } from './measures/resume.js';
import { SINK_VARIANTS, type SinkResult, type SinkVariant } from './measures/sink.js';
import type { DailyResult } from './measures/daily.js';
import type { LiveResult } from './measures/live.js';
import type { WorkersResult } from './measures/workers.js';
import { spread, type Spread } from './harness.js';

export interface ReportInput {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly command: string;
  readonly machine: object;
  readonly options: {
    readonly scale: number;
    readonly runs: number;
    readonly concurrency: number;
    readonly [key: string]: unknown;
  };
  readonly tree: object | undefined;
  /** The git commit the crawler was built from, and uncommitted changes to it. */
  readonly source: { readonly commit: string; readonly uncommitted: readonly string[] } | undefined;
  readonly build: object;
  readonly crawler: object;
  readonly resumeSetup: { readonly [key: string]: unknown } | undefined;
  readonly results: {
    readonly floor: readonly FloorResult[];
    readonly coldPg: readonly CrawlResult[];
    readonly coldPglite: readonly CrawlResult[];
    readonly warm: readonly CrawlResult[];
    readonly refresh: readonly (CrawlResult & { changedPayloads: number })[];
    readonly sink: readonly SinkResult[];
    /** The sink measurement on PGlite; absent in reports written before the COPY rows. */
    readonly sinkPglite?: readonly SinkResult[];
    readonly memoryBaseline: readonly MemoryPoint[];
    readonly memoryLarge: readonly MemoryPoint[];
    readonly memoryOneX: readonly MemoryPoint[];
    readonly resume: readonly ResumeResult[];
    readonly daily: readonly DailyResult[];
    /** Absent in reports written before measurement 9. */
    readonly workers?: readonly WorkersResult[];
    /** Warm re-crawls of the embedded database the cold PGlite crawl filled (absent in older reports). */
    readonly warmPglite?: readonly CrawlResult[];
    /** `--live`: the live-size measurements (bench/measures/live.ts); absent otherwise. */
    readonly live?: LiveResult;
  };
}

/**
 * What the database alone takes for a cold crawl: its rows at the raw multi-row INSERT rate of
 * the sink measurement (history triggers on), against the time 0.8× the floor allows. A crawl
 * cannot store its rows faster than the server takes them plainly.
 */
export interface DatabaseBound {
  readonly rows: number;
  readonly rawRowsPerSec: number;
  readonly seconds: number;
  /** The seconds a crawl at 0.8× the floor has for everything. */
  readonly budgetSeconds: number;
  /** Best ratio to the floor with the database writing at the raw rate and nothing else costing time. */
  readonly bestRatioToFloor: number;
}

/** Rows/s of each variant of the sink measurement, and run by run ratios to the raw INSERT and to COPY. */
export interface SinkSummary {
  readonly rows: number;
  readonly rowsPerSec: Record<string, Spread>;
  readonly ratioToRaw: Record<string, Spread>;
  /** Absent for reports written before the COPY row. */
  readonly ratioToCopy?: Record<string, Spread>;
}

export interface Target {
  readonly id: string;
  readonly label: string;
  readonly target: string;
  /** undefined: not measured in this run. */
  readonly met: boolean | undefined;
  readonly figure: string;
}

export interface Report extends ReportInput {
  readonly summary: {
    floor?: { requestsPerSec: Spread; seconds: Spread };
    coldPg?: {
      requestsPerSec: Spread;
      rowsPerSec: Spread;
      seconds: Spread;
      ratioToFloor?: Spread;
      databaseBound?: DatabaseBound;
    };
    coldPglite?: { requestsPerSec: Spread; rowsPerSec: Spread; seconds: Spread; ratioToFloor?: Spread };
    warm?: { seconds: Spread; speedupOverCold: Spread; rowsWritten: number; networkRequests: number };
    refresh?: { seconds: Spread; changedPayloads: number; rowsUpdated: number; exact: boolean };
    sink?: SinkSummary;
    sinkPglite?: SinkSummary;
    memory?: {
      baselineMb: Spread;
      oneXMb: Spread;
      largeMb: Spread;
      factor: number;
      growth: Spread;
      growthAboveBaseline: Spread;
      baselineHeapMb: Spread;
      oneXHeapMb: Spread;
      largeHeapMb: Spread;
    };
    resume?: { seconds: Spread; toResumeLogSeconds: Spread };
    embeddedMemory?: {
      coldMb: Spread;
      warmMb: Spread;
      coldHeapMb: Spread;
      warmHeapMb: Spread;
      /** Creating the new embedded database, in a child process of the cold crawl. */
      createChildMb: Spread;
    };
  };
  readonly targets: readonly Target[];
  /** Checks that failed: a figure from a wrong crawl is no figure. */
  readonly problems: readonly string[];
}

const pairwise = <A, B>(a: readonly A[], b: readonly B[], f: (x: A, y: B) => number): Spread =>
  spread(a.slice(0, Math.min(a.length, b.length)).map((x, i) => f(x, b[i]!)));
const defined = (values: readonly (number | undefined)[]): number[] =>
  values.filter((v): v is number => v !== undefined && Number.isFinite(v));

function sinkSummary(list: readonly SinkResult[]): SinkSummary {
  // Reports written before a variant existed lack it.
  const variants = SINK_VARIANTS.filter((v) => v in list[0]!.rowsPerSec);
  const of = (s: SinkResult, v: SinkVariant) => s.rowsPerSec[v];
  const ratios = (to: SinkVariant) =>
    Object.fromEntries(variants.filter((v) => v !== to).map((v) => [v, spread(list.map((s) => of(s, v) / of(s, to)))]));
  return {
    rows: list[0]!.rows,
    rowsPerSec: Object.fromEntries(variants.map((v) => [v, spread(list.map((s) => of(s, v)))])),
    ratioToRaw: ratios('raw'),
    ...(variants.includes('copy') ? { ratioToCopy: ratios('copy') } : {}),
  };
}

export function summarize(input: ReportInput): Report {
  const r = input.results;
  const problems: string[] = [];
  const collect = (name: string, list: readonly { problems: readonly string[] }[]) =>
    list.forEach((item, i) => {
      for (const p of item.problems) problems.push(`${name} (run ${i + 1}): ${p}`);
    });
  collect('floor', r.floor);
  collect('cold PostgreSQL', r.coldPg);
  collect('cold PGlite', r.coldPglite);
  collect('warm', r.warm);
  collect('refresh', r.refresh);
  collect('sink', r.sink);
  collect('sink on PGlite', r.sinkPglite ?? []);
  collect('memory baseline', r.memoryBaseline);
  collect('memory large', r.memoryLarge);
  collect('resume', r.resume);
  collect('daily refresh', r.daily);
  collect('workers', r.workers ?? []);
  collect('warm PGlite', r.warmPglite ?? []);
  if (r.live) problems.push(...liveProblems(r.live));

  const summary: Report['summary'] = {};
  const targets: Target[] = [];
  const x = (n: number, d = 2) => n.toFixed(d);

  if (r.floor.length)
    summary.floor = {
      requestsPerSec: spread(r.floor.map((f) => f.requestsPerSec)),
      seconds: spread(r.floor.map((f) => f.seconds)),
    };
  const crawlSummary = (list: readonly CrawlResult[]) => ({
    requestsPerSec: spread(list.map((c) => c.requestsPerSec)),
    rowsPerSec: spread(list.map((c) => c.rowsPerSec)),
    seconds: spread(list.map((c) => c.seconds)),
    ...(r.floor.length ? { ratioToFloor: pairwise(list, r.floor, (c, f) => c.requestsPerSec / f.requestsPerSec) } : {}),
  });
  if (r.coldPg.length) summary.coldPg = crawlSummary(r.coldPg);
  if (r.coldPglite.length) summary.coldPglite = crawlSummary(r.coldPglite);
  if (summary.coldPg && r.sink.length && r.floor.length) {
    const rows = spread(r.coldPg.map((c) => c.rowsWritten)).median;
    const rawRowsPerSec = spread(r.sink.map((k) => k.rowsPerSec.raw)).median;
    const floorSeconds = spread(r.floor.map((f) => f.seconds)).median;
    const seconds = rows / rawRowsPerSec;
    summary.coldPg.databaseBound = {
      rows,
      rawRowsPerSec,
      seconds,
      budgetSeconds: floorSeconds / 0.8,
      bestRatioToFloor: floorSeconds / seconds,
    };
  }
  if (summary.coldPg?.ratioToFloor) {
    const ratio = summary.coldPg.ratioToFloor;
    targets.push({
      id: 'cold-pg',
      label: 'Cold crawl → PostgreSQL vs floor',
      target: '≥ 0.8× floor',
      met: ratio.median >= 0.8,
      figure: `${x(ratio.median)}×`,
    });
  }
  if (r.warm.length) {
    const speedup = pairwise(r.coldPg, r.warm, (c, w) => c.seconds / w.seconds);
    const rowsWritten = Math.max(...r.warm.map((w) => w.rowsWritten));
    summary.warm = {
      seconds: spread(r.warm.map((w) => w.seconds)),
      speedupOverCold: speedup,
      rowsWritten,
      networkRequests: Math.max(...r.warm.map((w) => w.networkRequests)),
    };
    targets.push({
      id: 'warm',
      label: 'Warm re-crawl vs cold',
      target: '≥ 5× faster, 0 rows',
      met: speedup.median >= 5 && rowsWritten === 0,
      figure: `${x(speedup.median, 1)}× faster, ${rowsWritten} rows`,
    });
  }
  if (r.refresh.length) {
    const exact = r.refresh.every((f) => !f.problems.length);
    summary.refresh = {
      seconds: spread(r.refresh.map((f) => f.seconds)),
      changedPayloads: r.refresh[0]!.changedPayloads,
      rowsUpdated: r.refresh[0]!.rowsUpdated,
      exact,
    };
    targets.push({
      id: 'refresh',
      label: 'Refresh after 1% changed',
      target: 'updated = changed',
      met: exact,
      figure: `${r.refresh[0]!.rowsUpdated} updated / ${r.refresh[0]!.changedPayloads} changed`,
    });
  }
  if (r.sink.length) {
    summary.sink = sinkSummary(r.sink);
    const crawlShape = summary.sink.ratioToRaw['sink-crawl']!;
    targets.push({
      id: 'sink',
      label: 'Sink vs raw INSERT',
      target: '≥ 0.5× raw',
      met: crawlShape.median >= 0.5,
      figure: `${x(crawlShape.median)}× (crawl-shaped writes)`,
    });
  }
  for (const [id, list, on] of [
    ['sink-copy', r.sink, 'PostgreSQL'],
    ['sink-copy-pglite', r.sinkPglite ?? [], 'PGlite'],
  ] as const) {
    const ratio = list.length ? sinkSummary(list).ratioToCopy?.['sink-crawl'] : undefined;
    if (!ratio) continue;
    targets.push({
      id,
      label: `Sink vs raw COPY on ${on}`,
      target: '≥ 0.5× COPY',
      met: ratio.median >= 0.5,
      figure: `${x(ratio.median)}× (crawl-shaped writes)`,
    });
  }
  if (r.sinkPglite?.length) summary.sinkPglite = sinkSummary(r.sinkPglite);
  if (r.memoryLarge.length && r.memoryOneX.length) {
    const factor = r.memoryLarge[0]!.scale;
    const large = spread(defined(r.memoryLarge.map((m) => m.maxRssMb)));
    const oneX = spread(defined(r.memoryOneX.map((m) => m.maxRssMb)));
    const baseline = spread(defined(r.memoryBaseline.map((m) => m.maxRssMb)));
    const growth = pairwise(r.memoryLarge, r.memoryOneX, (l, o) => (l.maxRssMb ?? NaN) / (o.maxRssMb ?? NaN));
    const above = r.memoryLarge.map(
      (l, i) =>
        ((l.maxRssMb ?? NaN) - (r.memoryBaseline[i]?.maxRssMb ?? NaN)) /
        ((r.memoryOneX[i]?.maxRssMb ?? NaN) - (r.memoryBaseline[i]?.maxRssMb ?? NaN)),
    );
    summary.memory = {
      baselineMb: baseline,
      oneXMb: oneX,
      largeMb: large,
      factor,
      growth,
      growthAboveBaseline: spread(defined(above)),
      baselineHeapMb: spread(defined(r.memoryBaseline.map((m) => m.peakHeapUsedMb))),
      oneXHeapMb: spread(defined(r.memoryOneX.map((m) => m.peakHeapUsedMb))),
      largeHeapMb: spread(defined(r.memoryLarge.map((m) => m.peakHeapUsedMb))),
    };
    targets.push({
      id: 'memory',
      label: `Peak RSS at ${factor}×`,
      target: `< 300 MB, < ${factor}× of 1×`,
      met: large.median < 300 && growth.median < factor,
      figure: `${x(large.median, 0)} MB (${x(growth.median)}× of 1×)`,
    });
  }
  if (r.resume.length) {
    const seconds = spread(defined(r.resume.map((m) => m.seconds)));
    summary.resume = { seconds, toResumeLogSeconds: spread(defined(r.resume.map((m) => m.toResumeLogSeconds))) };
    targets.push({
      id: 'resume',
      label: 'Resume: start → first request',
      target: '< 5 s',
      met: seconds.values.length ? seconds.median < 5 : false,
      figure: `${x(seconds.median)} s`,
    });
  }
  if (r.daily.length) {
    const met = r.daily.every((d) => !d.problems.length);
    targets.push({
      id: 'daily',
      label: 'Daily refresh, unchanged upstream',
      target: '0 full bodies, ≤ 10 % of requests, 0 rows',
      met,
      figure: r.daily.map((d) => `${d.tree} ${(d.share * 100).toFixed(1)} %`).join(', '),
    });
  }
  if (r.workers?.length) {
    const slowdown = spread(r.workers.map((w) => w.slowdown));
    targets.push({
      id: 'workers',
      label: 'Shared queue, one worker vs the local queue',
      target: '≤ 1.2× the local queue',
      met: slowdown.median <= 1.2,
      figure: `${x(slowdown.median)}×`,
    });
  }
  if (r.coldPglite.length && r.warmPglite?.length) {
    const coldMb = spread(defined(r.coldPglite.map((c) => c.maxRssMb)));
    const warmMb = spread(defined(r.warmPglite.map((c) => c.maxRssMb)));
    summary.embeddedMemory = {
      coldMb,
      warmMb,
      coldHeapMb: spread(defined(r.coldPglite.map((c) => c.usage?.peakMb.heapUsed))),
      warmHeapMb: spread(defined(r.warmPglite.map((c) => c.usage?.peakMb.heapUsed))),
      createChildMb: spread(defined(r.coldPglite.map((c) => c.usage?.childrenPeakRssMb))),
    };
    targets.push({
      id: 'embedded-memory',
      label: 'Peak RSS, embedded database, cold and warm',
      target: '< 300 MB cold, < 200 MB warm',
      met: coldMb.median < 300 && warmMb.median < 200,
      figure: `${x(coldMb.median, 0)} MB cold, ${x(warmMb.median, 0)} MB warm`,
    });
  }
  if (r.live) targets.push(...liveTargets(r.live));
  return { ...input, summary, targets, problems };
}

function liveProblems(live: LiveResult): string[] {
  const out: string[] = [];
  const add = (name: string, list: readonly string[] | undefined) => {
    for (const p of list ?? []) out.push(`${name}: ${p}`);
  };
  for (const p of live.points) add(`live ${p.tree} → ${p.db}`, p.problems);
  for (const d of live.drift) add(`live drift → ${d.db}`, d.problems);
  add('live status', live.status?.problems);
  add('live export', live.export?.problems);
  add('live resume', live.resume?.problems);
  add('live rebuild', live.rebuild?.problems);
  return out;
}

/** The live targets of issue 14; met is undefined for what this run did not measure. */
function liveTargets(live: LiveResult): Target[] {
  const rss = defined(live.points.map((p) => p.maxRssMb));
  const pgDisk = live.disk.find((d) => d.db === 'postgres');
  const ratios = live.drift.map((d) => d.rates?.ratio ?? NaN);
  const exp = live.export;
  const rebuild = live.rebuild;
  return [
    {
      id: 'live-rss',
      label: 'Peak RSS of every cold crawl, up to live size, both databases',
      target: '< 300 MB',
      met: rss.length === live.points.length && rss.every((m) => m < 300),
      figure: `at most ${Math.max(...rss).toFixed(0)} MB`,
    },
    {
      id: 'live-drift',
      label: 'Rate over the last tenth ÷ the first tenth, live size',
      target: '≥ 0.9×',
      met: ratios.length ? ratios.every((q) => q >= 0.9) : undefined,
      figure: live.drift.map((d) => `${d.db} ${(d.rates?.ratio ?? NaN).toFixed(2)}×`).join(', '),
    },
    {
      id: 'live-resume',
      label: 'Resume at live size: start → first request',
      target: '< 5 s',
      met: live.resume ? live.resume.seconds < 5 : undefined,
      figure: `${(live.resume?.seconds ?? NaN).toFixed(2)} s`,
    },
    {
      id: 'live-status',
      label: '`status` at live size',
      target: '< 2 s',
      met: live.status ? live.status.seconds < 2 && !live.status.problems.length : undefined,
      figure: `${(live.status?.seconds ?? NaN).toFixed(2)} s`,
    },
    {
      id: 'live-export',
      label: '`export` of every row at live size',
      target: '≥ 100,000 rows/s, < 300 MB',
      met: exp ? exp.rowsPerSec >= 100_000 && (exp.maxRssMb ?? Infinity) < 300 : undefined,
      figure: `${(exp?.rowsPerSec ?? NaN).toFixed(0)} rows/s, ${(exp?.maxRssMb ?? NaN).toFixed(0)} MB`,
    },
    {
      id: 'live-disk',
      label: 'Storage dir (PostgreSQL crawl) ÷ bytes fetched',
      target: '≤ 25 %',
      met: pgDisk ? pgDisk.totalBytes / pgDisk.rawBytes <= 0.25 : undefined,
      figure: pgDisk ? `${((pgDisk.totalBytes / pgDisk.rawBytes) * 100).toFixed(1)} %` : '–',
    },
    {
      id: 'live-rebuild',
      label: '`crawl --cache only` rebuild vs raw COPY',
      target: '≥ 0.5× raw COPY',
      met: rebuild?.rawCopyRowsPerSec === undefined ? undefined : rebuild.rowsPerSec / rebuild.rawCopyRowsPerSec >= 0.5,
      figure: rebuild ? `${rebuild.rowsPerSec.toFixed(0)} rows/s` : '–',
    },
  ];
}
