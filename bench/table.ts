/**
 * The table `npm run bench` prints, one line per figure with medians and their range over runs,
 * and the same as Markdown for the README's Performance section (`--update-readme`).
 */
import { formatSpread, spread, type Spread } from './harness.js';
import { liveFooter, liveRows } from './live-table.js';
import { WORKERS_LATENCY_MS } from './measures/workers.js';
import type { Report } from './report.js';

const n0 = (v: number) => Math.round(v).toLocaleString('en-US');
const s = (sp: Spread, digits = 1) => formatSpread(sp, digits);
const s0 = (sp: Spread) => (sp.values.length > 1 ? `${n0(sp.median)} (${n0(sp.min)}–${n0(sp.max)})` : n0(sp.median));
const met = (report: Report, id: string) => {
  const t = report.targets.find((x) => x.id === id);
  return t === undefined || t.met === undefined ? '' : t.met ? 'yes' : 'NO';
};
const target = (report: Report, id: string) => report.targets.find((x) => x.id === id)?.target ?? '';

export function tableRows(report: Report): string[][] {
  const { summary: sm } = report;
  const rows: string[][] = [['#', 'Measurement', 'Result: median (min–max over runs)', 'Target', 'Met']];
  if (sm.floor)
    rows.push([
      '1',
      'Floor: bare HttpCrawler',
      `${s(sm.floor.requestsPerSec)} req/s · ${s(sm.floor.seconds)} s`,
      '',
      '',
    ]);
  if (sm.coldPg) {
    const ratio = sm.coldPg.ratioToFloor ? ` · ${s(sm.coldPg.ratioToFloor, 2)}× floor` : '';
    rows.push([
      '2',
      'Cold crawl → PostgreSQL',
      `${s(sm.coldPg.requestsPerSec)} req/s · ${s0(sm.coldPg.rowsPerSec)} rows/s · ${s(sm.coldPg.seconds)} s${ratio}`,
      target(report, 'cold-pg'),
      met(report, 'cold-pg'),
    ]);
    const bound = sm.coldPg.databaseBound;
    if (bound) {
      rows.push([
        '2',
        '  its rows at the raw INSERT rate alone',
        `${bound.rows.toLocaleString('en-US')} rows ÷ ${Math.round(bound.rawRowsPerSec).toLocaleString('en-US')} ` +
          `rows/s = ${bound.seconds.toFixed(1)} s (0.8× floor allows ` +
          `${bound.budgetSeconds.toFixed(1)} s): at best ${bound.bestRatioToFloor.toFixed(2)}× floor`,
        '',
        '',
      ]);
    }
  }
  if (sm.coldPglite) {
    const ratio = sm.coldPglite.ratioToFloor ? ` · ${s(sm.coldPglite.ratioToFloor, 2)}× floor` : '';
    rows.push([
      '2',
      'Cold crawl → PGlite',
      `${s(sm.coldPglite.requestsPerSec)} req/s · ${s0(sm.coldPglite.rowsPerSec)} ` +
        `rows/s · ${s(sm.coldPglite.seconds)} s${ratio}`,
      '',
      '',
    ]);
  }
  if (sm.warm) {
    rows.push([
      '3',
      'Warm re-crawl (--cache prefer)',
      `${s(sm.warm.seconds)} s · ${s(sm.warm.speedupOverCold, 2)}× faster than cold · ` +
        `${sm.warm.rowsWritten} rows written · ${sm.warm.networkRequests} network requests`,
      target(report, 'warm'),
      met(report, 'warm'),
    ]);
  }
  if (sm.refresh) {
    rows.push([
      '4',
      'Refresh (--cache refresh), 1% changed',
      `${s(sm.refresh.seconds)} s · ${sm.refresh.rowsUpdated} rows ` +
        `updated for ${sm.refresh.changedPayloads} changed payloads`,
      target(report, 'refresh'),
      met(report, 'refresh'),
    ]);
  }
  if (sm.sink) {
    const r = sm.sink.rowsPerSec;
    const q = sm.sink.ratioToRaw;
    rows.push(['5', `Raw multi-row INSERT, ${n0(sm.sink.rows)} rows`, `${s0(r.raw!)} rows/s`, '', '']);
    if (r.copy) rows.push(['5', '  raw COPY', `${s0(r.copy)} rows/s · ${s(q.copy!, 2)}× raw`, '', '']);
    rows.push([
      '5',
      '  raw, history trigger disabled',
      `${s0(r['raw-no-history']!)} rows/s · ${s(q['raw-no-history']!, 2)}× raw`,
      '',
      '',
    ]);
    rows.push([
      '5',
      'Sink, crawl-shaped writes',
      `${s0(r['sink-crawl']!)} rows/s · ${s(q['sink-crawl']!, 2)}× raw`,
      target(report, 'sink'),
      met(report, 'sink'),
    ]);
    const toCopy = sm.sink.ratioToCopy?.['sink-crawl'];
    if (toCopy)
      rows.push([
        '5',
        '  against raw COPY',
        `${s(toCopy, 2)}× COPY`,
        target(report, 'sink-copy'),
        met(report, 'sink-copy'),
      ]);
    rows.push([
      '5',
      'Sink, upserts only (no complete sets)',
      `${s0(r['sink-upsert']!)} rows/s · ${s(q['sink-upsert']!, 2)}× raw`,
      '',
      '',
    ]);
    rows.push([
      '5',
      'Sink, same rows again (unchanged)',
      `${s0(r['sink-unchanged']!)} rows/s · ${s(q['sink-unchanged']!, 2)}× raw`,
      '',
      '',
    ]);
  }
  if (sm.sinkPglite) {
    const r = sm.sinkPglite.rowsPerSec;
    const toCopy = sm.sinkPglite.ratioToCopy?.['sink-crawl'];
    rows.push([
      '5',
      `PGlite: raw INSERT · raw COPY, ${n0(sm.sinkPglite.rows)} rows`,
      `${s0(r.raw!)} · ${r.copy ? s0(r.copy) : '–'} rows/s`,
      '',
      '',
    ]);
    rows.push([
      '5',
      'PGlite: sink, crawl-shaped · upserts only · unchanged',
      `${s0(r['sink-crawl']!)} · ${s0(r['sink-upsert']!)} · ${s0(r['sink-unchanged']!)} rows/s` +
        (toCopy ? ` · crawl-shaped ${s(toCopy, 2)}× COPY` : ''),
      target(report, 'sink-copy-pglite'),
      met(report, 'sink-copy-pglite'),
    ]);
  }
  if (sm.memory) {
    const m = sm.memory;
    rows.push([
      '6',
      'Peak RSS of a cold crawl',
      `smallest tree ${s(m.baselineMb, 0)} MB · 1× ${s(m.oneXMb, 0)} MB · ${m.factor}× ${s(m.largeMb, 0)} ` +
        `MB (${s(m.growth, 2)}× of 1×; ${s(m.growthAboveBaseline, 2)}× above the smallest)`,
      target(report, 'memory'),
      met(report, 'memory'),
    ]);
    rows.push([
      '6',
      '  of which V8 heap in use (peak)',
      `smallest tree ${s(m.baselineHeapMb, 0)} MB · 1× ` +
        `${s(m.oneXHeapMb, 0)} MB · ${m.factor}× ${s(m.largeHeapMb, 0)} MB`,
      '',
      '',
    ]);
  }
  if (sm.embeddedMemory) {
    const e = sm.embeddedMemory;
    const child = e.createChildMb.values.length
      ? ` · creating the database (a child process, before the crawl) ${s(e.createChildMb, 0)} MB`
      : '';
    rows.push([
      '6',
      'Peak RSS, embedded database (no --db), the tree of measurement 2',
      `cold ${s(e.coldMb, 0)} MB (V8 heap in use ${s(e.coldHeapMb, 0)} MB) · warm re-crawl ` +
        `${s(e.warmMb, 0)} MB (V8 heap ${s(e.warmHeapMb, 0)} MB)${child}`,
      target(report, 'embedded-memory'),
      met(report, 'embedded-memory'),
    ]);
  }
  if (sm.resume) {
    const setup = report.resumeSetup as unknown as { total: number; handled: number } | undefined;
    const failed = report.results.resume.filter((r) => r.exitedAfterSeconds !== undefined);
    const crashes = failed.length
      ? ` · ${failed.length} of ${report.results.resume.length} runs never sent one: ` +
        `${failed.map((r) => `exited after ${r.exitedAfterSeconds!.toFixed(0)} s (${r.error})`).join('; ')}`
      : '';
    const ok = sm.resume.seconds.values.length
      ? `${s(sm.resume.seconds, 2)} s to the first request · ` +
        `"resuming" logged at ${s(sm.resume.toResumeLogSeconds, 2)} s`
      : 'no first request';
    rows.push([
      '7',
      `Resume ${n0(setup?.total ?? 0)} requests (${n0(setup?.handled ?? 0)} handled)`,
      ok + crashes,
      target(report, 'resume'),
      met(report, 'resume'),
    ]);
  }
  for (const d of report.results.daily.filter((r, i, all) => all.findIndex((o) => o.tree === r.tree) === i)) {
    rows.push([
      '8',
      `Daily refresh, ${d.tree === 'recorded' ? 'recorded tree' : 'synthetic tree with a current season'} ` +
        `(1 day later, unchanged)`,
      `${d.refresh.full} × 200 · ${d.refresh.notModified} × 304 · ${d.refresh.none} from the cache · ` +
        `${(d.share * 100).toFixed(1)} % of the full crawl's ` +
        `${n0(d.fullRequests)} · ${d.refresh.rowsWritten} rows written`,
      target(report, 'daily'),
      met(report, 'daily'),
    ]);
  }

  const workers = report.results.workers ?? [];
  if (workers.length) {
    const sp = (f: (w: (typeof workers)[number]) => number, d = 1) => s(spread(workers.map(f)), d);
    rows.push([
      '9',
      `Shared queue (--queue postgres), ${n0(workers[0]!.requests)} ` +
        `requests, ${WORKERS_LATENCY_MS} ms latency, no rate limit`,
      `local queue ${sp((w) => w.localSeconds)} s · 1 worker ${sp((w) => w.oneWorkerSeconds)} s ` +
        `(${sp((w) => w.slowdown, 2)}× the local) · 3 workers ` +
        `${sp((w) => w.threeWorkersSeconds)} s (the local time ÷ ${sp((w) => w.speedup, 2)})`,
      target(report, 'workers'),
      met(report, 'workers'),
    ]);
  }
  rows.push(...liveRows(report));
  return rows;
}

/** Machine, tree, command and source lines under the table. */
export function footer(report: Report): string[] {
  const m = report.machine as unknown as {
    cpus: number;
    cpuModel: string;
    memoryGb: number;
    node: string;
    postgres: string;
    loadAverageAtStart: number[];
    loadAverageAtEnd: number[];
  };
  const tree = report.tree as unknown as
    | { expected: { requests: { total: number }; rows: { classifications: number } } }
    | undefined;
  return [
    `Machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGb.toFixed(1)} GB RAM, Node ${m.node}, PostgreSQL ` +
      `${m.postgres}; load average ${m.loadAverageAtStart.map((l) => l.toFixed(2)).join('/')} ` +
      `at start, ${m.loadAverageAtEnd.map((l) => l.toFixed(2)).join('/')} at end`,
    ...(tree
      ? [
          `Tree: ${n0(tree.expected.requests.total)} requests, ${n0(tree.expected.rows.classifications)} ` +
            `classification rows (--scale ${String(report.options.scale)}); runs: ` +
            `${String(report.options.runs)}; concurrency ${String(report.options.concurrency)}`,
        ]
      : []),
    ...(report.results.live ? [liveFooter(report.results.live, report.options.liveFactors, report.options.scale)] : []),
    `Command: ${report.command}`,
    ...(report.source
      ? [
          `Source: ${report.source.commit}` +
            (report.source.uncommitted.length
              ? ` + uncommitted changes to ${report.source.uncommitted.length} ` +
                `file(s) under src/, migrations/, schemas/`
              : ''),
        ]
      : []),
    `Run: ${report.startedAt} to ${report.finishedAt}`,
  ];
}

export function renderTable(report: Report): string {
  const rows = tableRows(report);
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const line = (row: string[]) =>
    row
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join('  ')
      .trimEnd();
  const out = [
    line(rows[0]!),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.slice(1).map(line),
    '',
    ...footer(report),
  ];
  if (report.problems.length)
    out.push('', 'CHECKS FAILED (figures from these runs are not valid):', ...report.problems.map((p) => `  - ${p}`));
  return out.join('\n');
}

export function renderMarkdown(report: Report): string {
  const rows = tableRows(report);
  const cell = (text: string) => text.replaceAll('|', '\\|').trim() || ' ';
  const line = (row: string[]) => `| ${row.map(cell).join(' | ')} |`;
  const out = [
    line(rows[0]!),
    `|${rows[0]!.map(() => '---').join('|')}|`,
    ...rows.slice(1).map(line),
    '',
    ...footer(report).map((l) => `${l}  `),
  ];
  if (report.problems.length)
    out.push('', 'Checks that failed in this run:', '', ...report.problems.map((p) => `- ${p.split('\n')[0]}`));
  return out.join('\n');
}
