/**
 * `npm run bench -- --live`: the live-size measurements of issue 14 (not part of CI; tens of
 * minutes). Every crawl is a cold crawl of the compiled CLI checked against the replica's oracle,
 * as in crawls.ts.
 *
 *   L1 peak RSS against requests: the bench tree at 1×, 4×, 13× and a live-shaped tree of
 *      ≥ --live-requests requests (bench/tree.ts), each into PostgreSQL and into the embedded
 *      database (the default: no --db, <storage>/db)
 *   L2 drift: the live-size crawls' request rate over their last tenth against their first tenth,
 *      from the replica's log of arrival times (bench/drift.ts)
 *   L3 on the PostgreSQL database the live crawl filled: `status` wall time, `export` of every row
 *      (rows/s, peak RSS), and resuming a queue of every classification of the live tree, half of
 *      it handled (resume.ts's queue, at live size, into that database)
 *   L4 the storage dirs' size by part after the live crawls, against the bytes of every body once
 *   L5 `crawl --cache only` of the live tree from the PostgreSQL crawl's storage dir into an empty
 *      database: rows/s (the raw COPY of the same rows is measured elsewhere, see RebuildResult)
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { DbTarget } from '../../src/config.js';
import { storageUsage, type StorageUsage } from '../../src/crawl/storage-usage.js';
import { TABLE_ORDER } from '../../src/store/tables.js';
import { countMismatches, runCrawlCli } from '../crawl-child.js';
import { tenthRates, type TenthRates } from '../drift.js';
import { createDatabase, log, removeDir, runNode, tail, tempDir } from '../harness.js';
import { startReplicaHost, type ReplicaHost } from '../replica.js';
import { liveTreeFor, treeFor } from '../tree.js';
import { copySameRows } from './copy.js';
import { coldRun, type CrawlState, type SuiteContext } from './crawls.js';
import { resumeRun, resumeTemplate, type ResumeResult } from './resume.js';

export type LiveDb = 'postgres' | 'embedded';

/** One cold crawl of L1. */
export interface LivePoint {
  /** '1×', '4×', '13×' (the bench tree at that scale) or 'live'. */
  readonly tree: string;
  readonly db: LiveDb;
  readonly requests: number;
  readonly rows: number;
  readonly seconds: number;
  readonly requestsPerSec: number;
  readonly maxRssMb: number | undefined;
  readonly peakHeapUsedMb: number | undefined;
  readonly peakExternalMb: number | undefined;
  /** Peak RSS of the crawl's child processes (the embedded database's creation), sampled. */
  readonly childrenPeakRssMb: number | undefined;
  readonly problems: readonly string[];
}

export interface DriftResult {
  readonly db: LiveDb;
  /** Requests whose arrival the replica logged during the crawl. */
  readonly logged: number;
  readonly rates: TenthRates | undefined;
  readonly problems: readonly string[];
}

export interface DiskResult extends StorageUsage {
  readonly db: LiveDb;
  /** Every body of the tree once, as the replica sends it: what a cold crawl fetches. */
  readonly rawBytes: number;
}

export interface CommandResult {
  readonly seconds: number;
  readonly maxRssMb: number | undefined;
  readonly problems: readonly string[];
}

export interface ExportResult extends CommandResult {
  /** Rows of every dataset of the manifest (the `results` join included). */
  readonly rows: number;
  readonly rowsPerSec: number;
}

export interface RebuildResult extends CommandResult {
  readonly rows: number;
  readonly rowsPerSec: number;
  /**
   * A raw COPY of the same rows into the same tables (a new database, history triggers on), rows/s:
   * `copySameRows` of copy.ts on the rebuilt database. Undefined when the rebuild failed.
   */
  readonly rawCopyRowsPerSec: number | undefined;
}

export interface LiveResult {
  readonly tree: {
    readonly params: ReturnType<typeof liveTreeFor>;
    readonly requests: number;
    readonly rows: number;
    readonly classificationRows: number;
    readonly bodyBytes: number;
    /** Starting its replica: generating, serving and caching every body once, and the oracle. */
    readonly hostStartSeconds: number;
  };
  readonly points: LivePoint[];
  readonly drift: DriftResult[];
  readonly disk: DiskResult[];
  readonly status: CommandResult | undefined;
  readonly export: ExportResult | undefined;
  readonly resume: (ResumeResult & { total: number; handled: number; buildSeconds: number }) | undefined;
  readonly rebuild: RebuildResult | undefined;
}

export interface LiveOptions {
  readonly requests: number;
  /** The bench tree's scale the factors multiply (--scale). */
  readonly scale: number;
  readonly factors: readonly number[];
  readonly resumeTimeoutSecs: number;
}

const DBS: readonly LiveDb[] = ['postgres', 'embedded'];
const MB = 1024 ** 2;

type LiveContext = Omit<SuiteContext, 'host'>;

export async function liveRun(ctx: LiveContext, options: LiveOptions): Promise<LiveResult> {
  const points: LivePoint[] = [];
  for (const factor of options.factors) {
    const host = await startHost(treeFor(options.scale * factor), `${factor}× bench tree`);
    try {
      for (const db of DBS) {
        const { point, state } = await cold({ ...ctx, host }, `${factor}×`, db);
        await state.dispose();
        points.push(point);
      }
    } finally {
      await host.close();
    }
  }

  const started = performance.now();
  const liveTree = liveTreeFor(options.requests);
  const host = await startHost(liveTree, 'live-shaped tree');
  const hostStartSeconds = (performance.now() - started) / 1000;
  const expected = host.expectedCounts();
  const drift: DriftResult[] = [];
  const disk: DiskResult[] = [];
  let status: CommandResult | undefined;
  let exported: ExportResult | undefined;
  let resume: LiveResult['resume'];
  let rebuild: RebuildResult | undefined;
  try {
    const tooSmall =
      host.paths < options.requests ? [`the live tree has ${host.paths} requests, ${options.requests} asked`] : [];
    for (const db of DBS) {
      const from = await host.getCount();
      const { point, state } = await cold({ ...ctx, host }, 'live', db, tooSmall);
      try {
        points.push(point);
        drift.push(driftOf(db, await host.getTimes(from)));
        // Every file looked at: status' sample of a large cache would be an estimate.
        const usage = await storageUsage(state.storage, targetOf(state), { exact: true });
        disk.push({ db, rawBytes: host.bodyBytes, ...usage });
        log(`live ${db}: storage dir ${describeDisk(disk.at(-1)!)}`);
        if (db !== 'postgres' || !state.db) continue;
        status = await statusRun(ctx, state);
        log(`live status: ${status.seconds.toFixed(2)} s`);
        exported = await exportRun(ctx, state, expected.rows);
        log(
          `live export: ${exported.rows} rows in ${exported.seconds.toFixed(1)} s ` +
            `(${exported.rowsPerSec.toFixed(0)} rows/s), peak RSS ${exported.maxRssMb?.toFixed(0)} MB`,
        );
        const setup = await resumeTemplate(
          host,
          liveTree,
          expected.requests.classification,
          Math.floor(expected.requests.classification / 2),
        );
        try {
          const r = await resumeRun(
            ctx.build,
            setup,
            ctx.adminUrl,
            ctx.concurrency,
            options.resumeTimeoutSecs,
            state.db.url,
          );
          resume = { ...r, total: setup.total, handled: setup.handled, buildSeconds: setup.buildSeconds };
          log(`live resume: first request after ${r.seconds.toFixed(2)} s`);
        } finally {
          await setup.dispose();
        }
        rebuild = await rebuildRun({ ...ctx, host }, state);
        log(
          `live rebuild: ${rebuild.rows} rows in ${rebuild.seconds.toFixed(1)} s ` +
            `(${rebuild.rowsPerSec.toFixed(0)} rows/s)`,
        );
      } finally {
        await state.dispose();
      }
    }
  } finally {
    await host.close();
  }
  return {
    tree: {
      params: liveTree,
      requests: expected.requests.total,
      rows: TABLE_ORDER.reduce((sum, t) => sum + (expected.rows[t] ?? 0), 0),
      classificationRows: expected.rows.classifications,
      bodyBytes: host.bodyBytes,
      hostStartSeconds,
    },
    points,
    drift,
    disk,
    status,
    export: exported,
    resume,
    rebuild,
  };
}

async function startHost(tree: Parameters<typeof startReplicaHost>[0], what: string): Promise<ReplicaHost> {
  log(`starting the replica for the ${what} (every body generated and served once, then the oracle)…`);
  const started = performance.now();
  const host = await startReplicaHost(tree);
  log(
    `replica: ${host.paths} requests, ${host.expectedCounts().rows.classifications} classification rows, ` +
      `${(host.bodyBytes / MB).toFixed(0)} MB of bodies, ` +
      `ready in ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
  return host;
}

/** A cold crawl into a new database of `db`'s kind, with progress every 30 s from the replica's count. */
async function cold(
  ctx: SuiteContext,
  tree: string,
  db: LiveDb,
  extraProblems: readonly string[] = [],
): Promise<{ point: LivePoint; state: CrawlState }> {
  const total = ctx.host.paths;
  log(`${tree} → ${db}: cold crawl of ${total} requests…`);
  const stop = await progress(ctx.host, `${tree} → ${db}`, total);
  const { result, state } = await coldRun(ctx, db === 'postgres' ? 'postgres' : 'pglite').finally(stop);
  const point: LivePoint = {
    tree,
    db,
    requests: result.requests,
    rows: result.rowsWritten,
    seconds: result.seconds,
    requestsPerSec: result.requestsPerSec,
    maxRssMb: result.maxRssMb,
    peakHeapUsedMb: result.usage?.peakMb.heapUsed,
    peakExternalMb: result.usage?.peakMb.external,
    childrenPeakRssMb: result.usage?.childrenPeakRssMb,
    problems: [...extraProblems, ...result.problems],
  };
  log(
    `${tree} → ${db}: ${result.requests} requests, ${result.rowsWritten} rows in ${result.seconds.toFixed(1)} s ` +
      `(${result.requestsPerSec.toFixed(1)} req/s), peak RSS ${result.maxRssMb?.toFixed(0)} MB, ` +
      `V8 heap ${result.usage?.peakMb.heapUsed.toFixed(0)} MB` +
      (result.problems.length ? ` — CHECK FAILED: ${result.problems.join('; ')}` : ''),
  );
  return { point, state };
}

/** Logs the requests the replica received for this crawl every 30 s; returns the function that stops it. */
async function progress(host: ReplicaHost, label: string, total: number): Promise<() => void> {
  const first = await host.requests();
  let last = { at: performance.now(), count: first };
  const timer = setInterval(() => {
    void host.requests().then((count) => {
      const at = performance.now();
      const rate = (count - last.count) / ((at - last.at) / 1000);
      log(`${label}: ${count - first} of ${total} requests, ${rate.toFixed(0)} req/s over the last 30 s`);
      last = { at, count };
    });
  }, 30_000);
  return () => clearInterval(timer);
}

function targetOf(state: CrawlState): DbTarget {
  return state.db ? { kind: 'postgres', url: state.db.url } : { kind: 'embedded', dir: path.join(state.storage, 'db') };
}

export function describeDisk(d: DiskResult): string {
  const mb = (n: number | undefined) => `${((n ?? 0) / MB).toFixed(0)} MB`;
  return (
    `${mb(d.totalBytes)} (cache ${mb(d.cacheBytes)}, queue ${mb(d.queueBytes)}` +
    `${d.databaseBytes === undefined ? '' : `, embedded database ${mb(d.databaseBytes)}`}, other ${mb(d.otherBytes)})` +
    ` for ${mb(d.rawBytes)} of bodies fetched`
  );
}

function driftOf(db: LiveDb, times: readonly number[]): DriftResult {
  const rates = tenthRates(times);
  return {
    db,
    logged: times.length,
    rates,
    problems: rates ? [] : [`drift: only ${times.length} requests logged`],
  };
}

async function statusRun(ctx: LiveContext, state: CrawlState): Promise<CommandResult> {
  const result = await runNode(ctx.build.cli, ['status', '--storage', state.storage, '--db', state.db!.url], {
    rssPreload: ctx.build.rssPreload,
  });
  const problems =
    result.code === 0 ? [] : [`status exited ${result.code ?? result.signal}: ${tail(result.stderr, 5)}`];
  return { seconds: result.wallMs / 1000, maxRssMb: result.maxRssKb && result.maxRssKb / 1024, problems };
}

async function exportRun(
  ctx: LiveContext,
  state: CrawlState,
  expectedRows: Record<string, number>,
): Promise<ExportResult> {
  const out = tempDir('export');
  try {
    const args = ['export', '--storage', state.storage, '--db', state.db!.url, '--out', out];
    const result = await runNode(ctx.build.cli, [...args, '--format', 'ndjson', '--quiet'], {
      rssPreload: ctx.build.rssPreload,
    });
    const seconds = result.wallMs / 1000;
    const maxRssMb = result.maxRssKb && result.maxRssKb / 1024;
    if (result.code !== 0)
      return {
        seconds,
        maxRssMb,
        rows: 0,
        rowsPerSec: 0,
        problems: [`export exited ${result.code ?? result.signal}: ${tail(result.stderr, 5)}`],
      };
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as {
      datasets: Record<string, { rows: number }>;
    };
    const rows = Object.values(manifest.datasets).reduce((sum, d) => sum + d.rows, 0);
    // Datasets that are one row per stored row; the others (teams, results, …) are joins.
    const oneToOne = ['series', 'seasons', 'events', 'sessions', 'classifications', 'retirements'];
    const got = Object.fromEntries(oneToOne.map((t) => [t, manifest.datasets[t]?.rows ?? 0]));
    const want = Object.fromEntries(oneToOne.map((t) => [t, expectedRows[t] ?? 0]));
    const problems = countMismatches(got, want).map((m) => `exported ${m}`);
    return { seconds, maxRssMb, rows, rowsPerSec: rows / seconds, problems };
  } finally {
    removeDir(out);
  }
}

/** `crawl --cache only` from the crawl's storage dir into a new database: no request, every row again. */
async function rebuildRun(ctx: SuiteContext, state: CrawlState): Promise<RebuildResult> {
  const db = await createDatabase(ctx.adminUrl);
  try {
    log(`live rebuild: crawl --cache only into an empty database…`);
    const before = await ctx.host.requests();
    const run = await runCrawlCli(ctx.build, {
      baseUrl: ctx.host.url,
      storage: state.storage,
      db: db.url,
      cache: 'only',
      concurrency: ctx.concurrency,
    });
    const served = (await ctx.host.requests()) - before;
    const expected = ctx.host.expectedCounts();
    const inserted = Object.fromEntries(TABLE_ORDER.map((t) => [t, run.summary.rows[t].inserted]));
    const problems = countMismatches(inserted, expected.rows).map((m) => `inserted ${m}`);
    if (served !== 0) problems.push(`${served} requests reached the replica`);
    let rawCopyRowsPerSec: number | undefined;
    if (!problems.length) {
      log(`live rebuild: a raw COPY of the same rows into a new database…`);
      const copy = await copySameRows(db.url, ctx.adminUrl);
      if (copy.rows !== run.rowsWritten)
        problems.push(`raw COPY took ${copy.rows} rows, the rebuild wrote ${run.rowsWritten}`);
      rawCopyRowsPerSec = copy.rowsPerSec;
    }
    return {
      seconds: run.seconds,
      maxRssMb: run.maxRssMb,
      rows: run.rowsWritten,
      rowsPerSec: run.rowsWritten / run.seconds,
      rawCopyRowsPerSec,
      problems,
    };
  } finally {
    await db.drop();
  }
}
