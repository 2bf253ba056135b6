/**
 * The live progress of a crawl: requests done / known, rate, cache hits, failures and ETA, and
 * while the crawl is paused (a Retry-After from several requests, an open circuit) until when.
 * A bar redrawn in place on a terminal, a log line every few seconds otherwise: it goes on
 * through a pause, so a paused crawl is never silent.
 */
import type { RequestQueue } from '@crawlee/core';
import { TREE, type Label } from '../api/endpoints.js';
import type { Logger } from '../log.js';
import { instant } from './gate.js';
import { ROOT } from './tree.js';
import type { CrawlStats } from './stats.js';
import { count } from '../words.js';

export interface ProgressOptions {
  readonly stats: CrawlStats;
  readonly queue: RequestQueue;
  readonly log: Logger;
  /** Requests handled before this run (a resumed crawl). */
  readonly handledBefore: number;
  /** Draw a bar on this TTY stream; undefined writes log lines instead. */
  readonly tty?: NodeJS.WriteStream;
  /** Default 5 s for log lines, 0.25 s for the bar. */
  readonly intervalMs?: number;
  /** Until when no request starts (the gate's pause); undefined while none is under way. */
  readonly pausedUntil?: () => number | undefined;
  /** Requests waiting out a Retry-After asked of them alone, and until when (the gate's). */
  readonly waitingForRetryAfter?: () => { readonly requests: number; readonly until: number } | undefined;
}

export interface ProgressSnapshot {
  readonly done: number;
  readonly known: number;
  readonly perSecond: number;
  readonly cacheHits: number;
  readonly failures: number;
  readonly etaSeconds: number | undefined;
}

export class Progress {
  private timer: NodeJS.Timeout | undefined;
  private known = 0;
  private drawn = false;

  constructor(private readonly options: ProgressOptions) {}

  start(): void {
    const interval = this.options.intervalMs ?? (this.options.tty ? 250 : 5000);
    this.timer = setInterval(() => void this.tick(), interval);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    if (this.drawn) this.options.tty?.write('\r\x1b[2K');
  }

  snapshot(): ProgressSnapshot {
    const { stats, handledBefore } = this.options;
    const done = handledBefore + stats.done;
    const elapsed = (Date.now() - stats.startedAt) / 1000;
    const perSecond = elapsed > 0 ? stats.done / elapsed : 0;
    const known = Math.max(this.known, done);
    // The crawl goes depth first, so the queue knows little of the tree ahead: the ETA counts what
    // the fan-outs seen so far imply, when that is more than the queue knows.
    const expected = Math.max(known, estimatedTotal(stats));
    return {
      done,
      known,
      perSecond,
      cacheHits: stats.total('cacheHits'),
      failures: stats.total('failed') + stats.total('quarantined'),
      etaSeconds: perSecond > 0 ? (expected - done) / perSecond : undefined,
    };
  }

  private async tick(): Promise<void> {
    const info = await this.options.queue.getInfo().catch(() => undefined);
    if (info) this.known = info.handledRequestCount + info.pendingRequestCount;
    const s = this.snapshot();
    const paused = this.options.pausedUntil?.();
    const waiting = paused === undefined ? this.options.waitingForRetryAfter?.() : undefined;
    const text =
      `${s.done}/${s.known} requests · ${s.perSecond.toFixed(1)}/s · ` +
      `${s.cacheHits} cached · ${s.failures} failed · ETA ${formatEta(s.etaSeconds)}` +
      (paused === undefined ? '' : ` · paused until ${instant(paused)}`) +
      (waiting === undefined
        ? ''
        : ` · ${count(waiting.requests, 'request')} asked to wait (Retry-After) until ${instant(waiting.until)}`);
    const tty = this.options.tty;
    if (tty) {
      const width = 24;
      const filled = s.known ? Math.round((s.done / s.known) * width) : 0;
      tty.write(`\r\x1b[2K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}`);
      this.drawn = true;
    } else {
      // Each count once: in the text of a line for people, as fields of a JSON line for machines.
      const log = this.options.log;
      const fields = {
        done: s.done,
        known: s.known,
        cacheHits: s.cacheHits,
        failures: s.failures,
        ...(paused === undefined ? {} : { pausedUntil: instant(paused) }),
        ...(waiting === undefined
          ? {}
          : { waitingForRetryAfter: waiting.requests, waitingUntil: instant(waiting.until) }),
      };
      log.info(text, log.options.format === 'json' ? fields : undefined);
    }
  }
}

/**
 * The tree's requests as this run's fan-outs imply them: one series list, and at each level the
 * level above times the mean number of children its payloads named. A level this run has handled
 * none of ends the count (a resumed run whose series list was handled before: then the queue's
 * count is all there is).
 */
export function estimatedTotal(stats: Pick<CrawlStats, 'byLabel' | 'childrenNamed'>): number {
  let total = 0;
  let atLevel = 1;
  for (let label: Label | undefined = ROOT.target.label; label && atLevel > 0; label = TREE[label]?.child) {
    total += atLevel;
    const handled = stats.byLabel[label].succeeded;
    atLevel = handled ? (atLevel * stats.childrenNamed[label]) / handled : 0;
  }
  return Math.round(total);
}

export function formatEta(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '?';
  if (seconds < 90) return `${Math.round(seconds)}s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)}m`;
  return `${(seconds / 3600).toFixed(1)}h`;
}
