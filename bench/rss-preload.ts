/**
 * Loaded with `node --import` into every measured child: on exit it writes the process's peak
 * RSS (process.resourceUsage().maxRSS, KiB), its CPU time, and the peaks of a 100 ms sampling of
 * process.memoryUsage() (V8 heap used/total, external and array buffers) to the file named by
 * BENCH_RSS_FILE. The measured code itself is untouched, and nothing here may throw into it.
 *
 * maxRSS is this process's own: the same sampling reads the peak RSS (VmHWM in /proc, Linux only)
 * of its child processes, such as the one that creates a new embedded database before a crawl.
 */
import { readFileSync, writeFileSync } from 'node:fs';

/** Peak RSS in KiB of each child process of this one seen so far, by pid. */
const childPeaks = new Map<number, number>();

function sampleChildren(): void {
  try {
    const pids = readFileSync(`/proc/self/task/${process.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    for (const pid of pids.map(Number)) {
      const hwm = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (hwm) childPeaks.set(pid, Math.max(childPeaks.get(pid) ?? 0, Number(hwm[1])));
    }
  } catch {
    // Not Linux, or the child exited between the two reads: that sample is lost, nothing else.
  }
}

const file = process.env.BENCH_RSS_FILE;
if (file) {
  const peak = { heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0, rss: 0 };
  const sample = () => {
    sampleChildren();
    try {
      const m = process.memoryUsage();
      for (const key of Object.keys(peak) as (keyof typeof peak)[]) peak[key] = Math.max(peak[key], m[key]);
    } catch {
      // memoryUsage() opens /proc/self/stat: with no file descriptor left (EMFILE) it throws. The
      // measured process must fail, or not, on its own account: a missed sample is no matter.
    }
  };
  setInterval(sample, 100).unref();
  process.on('exit', () => {
    sample();
    const usage = process.resourceUsage();
    const mb = (n: number) => Math.round((n / 1024 ** 2) * 10) / 10;
    writeFileSync(
      file,
      JSON.stringify({
        maxRssKb: usage.maxRSS,
        userMs: usage.userCPUTime / 1000,
        systemMs: usage.systemCPUTime / 1000,
        peakMb: Object.fromEntries(Object.entries(peak).map(([k, v]) => [k, mb(v)])),
        ...(childPeaks.size ? { childrenPeakRssMb: mb(Math.max(...childPeaks.values()) * 1024) } : {}),
      }),
    );
  });
}
