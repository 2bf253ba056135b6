/**
 * What every measurement shares: temp dirs, throwaway PostgreSQL databases, child processes
 * with their peak RSS, and small statistics.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `msc-bench-${prefix}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A database of its own on the benchmark's PostgreSQL server, dropped afterwards. */
export interface ThrowawayDb {
  readonly url: string;
  drop(): Promise<void>;
}

export async function createDatabase(adminUrl: string): Promise<ThrowawayDb> {
  const name = `msc_bench_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function postgresVersion(adminUrl: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return String((await client.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version);
  } finally {
    await client.end();
  }
}

export interface ChildResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** From spawn to exit, as the parent saw it. */
  readonly wallMs: number;
  /** process.resourceUsage().maxRSS of the child, in KiB (bench/rss-preload.ts); undefined if it did not report. */
  readonly maxRssKb: number | undefined;
  /** The rest of what bench/rss-preload.ts reports: CPU time, sampled memory peaks. */
  readonly usage: ChildUsage | undefined;
}

export interface ChildUsage {
  readonly userMs: number;
  readonly systemMs: number;
  /** Peaks of process.memoryUsage() sampled every 100 ms, MB. */
  readonly peakMb: {
    readonly heapUsed: number;
    readonly heapTotal: number;
    readonly external: number;
    readonly arrayBuffers: number;
    readonly rss: number;
  };
  /** The highest peak RSS (VmHWM) among the process's child processes, sampled every 100 ms; MB. */
  readonly childrenPeakRssMb?: number;
}

export interface ChildOptions {
  /** Node flags before the script (e.g. --import). */
  readonly nodeArgs?: readonly string[];
  readonly env?: Record<string, string>;
  /** Called right after spawn with the child, e.g. to kill it on an event. */
  readonly onSpawn?: (child: import('node:child_process').ChildProcess) => void;
  /** Kill the child after this long. */
  readonly timeoutMs?: number;
}

/**
 * Environment for measured children: the parent's, minus everything the crawler reads as
 * configuration (MSC_*, DATABASE_URL, CRAWLEE_*), so only the flags the bench passes count.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(MSC_|CRAWLEE_|DATABASE_URL$|DEBUG$)/.test(key)) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

/** Runs `node [nodeArgs] script args` and reports its output, wall time and peak RSS. */
export function runNode(
  script: string,
  args: readonly string[],
  options: ChildOptions & { rssPreload?: string } = {},
): Promise<ChildResult> {
  const rssFile = path.join(tmpdir(), `msc-bench-rss-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  const nodeArgs = [...(options.nodeArgs ?? []), ...(options.rssPreload ? ['--import', options.rssPreload] : [])];
  const started = performance.now();
  const child = spawn(process.execPath, [...nodeArgs, script, ...args], {
    cwd: REPO_ROOT,
    env: cleanEnv({ ...(options.env ?? {}), BENCH_RSS_FILE: rssFile }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  options.onSpawn?.(child);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const wallMs = performance.now() - started;
      let report: (ChildUsage & { maxRssKb: number }) | undefined;
      try {
        report = JSON.parse(readFileSync(rssFile, 'utf8')) as ChildUsage & { maxRssKb: number };
      } catch {
        report = undefined;
      }
      rmSync(rssFile, { force: true });
      const usage = report && {
        userMs: report.userMs,
        systemMs: report.systemMs,
        peakMb: report.peakMb,
        childrenPeakRssMb: report.childrenPeakRssMb,
      };
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        wallMs,
        maxRssKb: report?.maxRssKb,
        usage,
      });
    });
  });
}

/** The tail of a child's stderr, for error messages. */
export function tail(text: string, lines = 15): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly values: readonly number[];
}

export function spread(values: readonly number[]): Spread {
  if (!values.length) return { median: NaN, min: NaN, max: NaN, values };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)!, values };
}

/** "12.3 (11.9–12.8)" with the range only when there was more than one run. */
export function formatSpread(s: Spread, digits = 1): string {
  if (!s.values.length) return '–';
  const f = (n: number) => n.toFixed(digits);
  return s.values.length > 1 ? `${f(s.median)} (${f(s.min)}–${f(s.max)})` : f(s.median);
}

export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}
