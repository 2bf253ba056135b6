/**
 * The rows of `npm run bench -- --live` (bench/measures/live.ts) in the printed table and in the
 * README's PERFORMANCE-LIVE block, numbered L1–L5 as the measurements.
 */
import type { LiveResult } from './measures/live.js';
import type { Report } from './report.js';

const n0 = (v: number) => Math.round(v).toLocaleString('en-US');
const mb = (bytes: number | undefined) => `${((bytes ?? NaN) / 1024 ** 2).toFixed(0)} MB`;
const f = (v: number | undefined, digits: number) => (v === undefined ? '–' : v.toFixed(digits));
const yes = (met: boolean | undefined) => (met === undefined ? '' : met ? 'yes' : 'NO');

export function liveRows(report: Report): string[][] {
  const live = report.results.live;
  if (!live) return [];
  const rows: string[][] = [];
  for (const p of live.points) {
    const tree = p.tree === 'live' ? 'live-shaped tree' : `bench tree ${p.tree}`;
    // The embedded database is created by a child process before the crawl starts: its peak is not the crawl's.
    const child =
      p.db === 'embedded' && p.childrenPeakRssMb !== undefined
        ? ` · creating the database (a child process, before the crawl) ${f(p.childrenPeakRssMb, 0)} MB`
        : '';
    rows.push([
      'L1',
      `Peak RSS, cold crawl, ${tree} → ${p.db === 'postgres' ? 'PostgreSQL' : 'embedded (no --db)'}`,
      `${n0(p.requests)} requests · ${n0(p.rows)} rows · ${f(p.maxRssMb, 0)} MB (V8 heap in use ` +
        `${f(p.peakHeapUsedMb, 0)} MB) · ${f(p.requestsPerSec, 1)} req/s · ${f(p.seconds, 1)} s${child}`,
      '< 300 MB',
      yes(p.maxRssMb === undefined ? undefined : p.maxRssMb < 300),
    ]);
  }
  for (const d of live.drift) {
    const r = d.rates;
    rows.push([
      'L2',
      `Drift, live-shaped tree → ${d.db === 'postgres' ? 'PostgreSQL' : 'embedded'}`,
      r
        ? `last tenth ${f(r.lastPerSec, 1)} req/s ÷ first tenth ${f(r.firstPerSec, 1)} req/s = ${f(r.ratio, 2)}× ` +
          `(the replica's arrival times of the crawl's ${n0(d.logged)} requests; a tenth is ${n0(r.requests)} requests)`
        : `no figure (${d.logged} requests logged)`,
      '≥ 0.9×',
      yes(r ? r.ratio >= 0.9 : undefined),
    ]);
  }
  if (live.resume) {
    const r = live.resume;
    rows.push([
      'L3',
      `Resume ${n0(r.total)} classification requests (${n0(r.handled)} handled) into the live crawl's ` +
        `PostgreSQL database`,
      Number.isFinite(r.seconds)
        ? `${f(r.seconds, 2)} s to the first request · "resuming" logged at ${f(r.toResumeLogSeconds, 2)} s ` +
          `(the queue written as measurement 7 writes it, in ${f(r.buildSeconds, 0)} s)`
        : `no first request: ${r.error ?? ''}`,
      '< 5 s',
      yes(r.seconds < 5),
    ]);
  }
  if (live.status)
    rows.push([
      'L3',
      '`status` of the live crawl (PostgreSQL)',
      `${f(live.status.seconds, 2)} s from spawn to exit · peak RSS ${f(live.status.maxRssMb, 0)} MB`,
      '< 2 s',
      yes(live.status.seconds < 2 && !live.status.problems.length),
    ]);
  if (live.export)
    rows.push([
      'L3',
      '`export --format ndjson` of every row (PostgreSQL)',
      `${n0(live.export.rows)} rows in ${f(live.export.seconds, 1)} s from spawn to exit = ` +
        `${n0(live.export.rowsPerSec)} rows/s · peak RSS ${f(live.export.maxRssMb, 0)} MB`,
      '≥ 100,000 rows/s, < 300 MB',
      yes(live.export.rowsPerSec >= 100_000 && (live.export.maxRssMb ?? Infinity) < 300),
    ]);
  for (const d of live.disk) {
    const share = (d.totalBytes / d.rawBytes) * 100;
    const db = d.databaseBytes === undefined ? '' : ` · embedded database ${mb(d.databaseBytes)}`;
    const withoutDb =
      d.databaseBytes === undefined
        ? ''
        : ` (without it ${(((d.totalBytes - d.databaseBytes) / d.rawBytes) * 100).toFixed(1)} %)`;
    rows.push([
      'L4',
      `Storage dir after the live crawl → ${d.db === 'postgres' ? 'PostgreSQL' : 'embedded'}`,
      `${mb(d.totalBytes)} = ${share.toFixed(1)} % of the ${mb(d.rawBytes)} of bodies fetched${withoutDb}: ` +
        `cache ${mb(d.cacheBytes)} · queue ${mb(d.queueBytes)}${db} · other ${mb(d.otherBytes)}`,
      d.db === 'postgres' ? '≤ 25 %' : '',
      d.db === 'postgres' ? yes(share <= 25) : '',
    ]);
  }
  if (live.rebuild) {
    const r = live.rebuild;
    const copy =
      r.rawCopyRowsPerSec === undefined
        ? 'raw COPY rows/s: not measured in this run'
        : `raw COPY ${n0(r.rawCopyRowsPerSec)} rows/s (${f(r.rowsPerSec / r.rawCopyRowsPerSec, 2)}× of it)`;
    rows.push([
      'L5',
      '`crawl --cache only` of the live tree into an empty PostgreSQL database',
      `${n0(r.rows)} rows in ${f(r.seconds, 1)} s = ${n0(r.rowsPerSec)} rows/s · peak RSS ` +
        `${f(r.maxRssMb, 0)} MB · ${copy}`,
      '≥ 0.5× raw COPY',
      yes(r.rawCopyRowsPerSec === undefined ? undefined : r.rowsPerSec / r.rawCopyRowsPerSec >= 0.5),
    ]);
  }
  return rows;
}

/** The live tree's line under the table. */
export function liveFooter(live: LiveResult, factors: unknown, scale: unknown): string {
  const t = live.tree.params;
  return (
    `Live-shaped tree: ${t.series} series × ${t.seasonsPerSeries} seasons × ${t.eventsPerSeason} events × ` +
    `${t.sessionsPerEvent} sessions × ${t.carsPerSession} cars: ${n0(live.tree.requests)} requests, ` +
    `${n0(live.tree.rows)} rows (${n0(live.tree.classificationRows)} classifications), ${mb(live.tree.bodyBytes)} ` +
    `of bodies (its replica ready in ${f(live.tree.hostStartSeconds, 0)} s); the bench tree at ` +
    `${String(factors).split(',').join('×, ')}× (× --scale ${String(scale)}); one run`
  );
}
