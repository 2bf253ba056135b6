/**
 * The politeness gate under fake timers: the concurrency cap, the rate limit, the crawl-wide
 * Retry-After pause (only when several distinct requests are asked to wait, said in one line, and
 * capped), the stop signal, and the circuit breaker, which opens only when most of the recent distinct requests
 * fail, probes once after its cool-down, and closes on an answer.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULTS } from '../../src/config.js';
import { Gate } from '../../src/crawl/gate.js';
import {
  NoAnswerError,
  RequestNotBuiltError,
  RequestNotStartedError,
  RequestTimeoutError,
  RetryableHttpError,
  UnparseableBodyError,
} from '../../src/errors.js';
import { isOutageSign, parseRetryAfter } from '../../src/crawl/network-client.js';
import { memoryLogger } from '../support/crawl.js';

const ok = () => Promise.resolve('ok');
const boom = () => Promise.reject(new Error('ECONNRESET'));
const always = () => true;

/** Runs a request through the gate, noting when it started (relative to the test's start). */
function starts(gate: Gate, key: string, started: number[], t0: number, fn: () => Promise<string> = ok) {
  return gate
    .run(
      key,
      () => {
        started.push(Date.now() - t0);
        return fn();
      },
      always,
    )
    .catch(() => 'failed');
}

describe('Gate', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('starts at most maxRpm requests a minute, evenly spaced', async () => {
    const gate = new Gate({ concurrency: 10, maxRpm: 60 });
    const t0 = Date.now();
    const started: number[] = [];
    const all = Promise.all(['a', 'b', 'c'].map((key) => starts(gate, key, started, t0)));
    await vi.advanceTimersByTimeAsync(2_500);
    await all;
    expect(started).toEqual([0, 1000, 2000]);
  });

  it(
    'holds every request back once several distinct requests ' + 'were asked to wait, up to the cap, saying until when',
    async () => {
      const { log, lines } = memoryLogger();
      const gate = new Gate({ concurrency: 4, maxRpm: Infinity, maxPauseMs: 60_000, pauseQuorum: 3, log });
      const t0 = Date.now();
      const started: number[] = [];
      for (const key of ['x', 'y', 'z']) gate.askedToWait(key, 5_000, 429);
      expect(gate.pausedUntilMs).toBe(t0 + 5_000);
      expect(lines).toEqual([
        `WARN API asked to slow down (HTTP 429 with Retry-After for 3 distinct requests within 60 ` +
          `s): crawl paused until ${new Date(t0 + 5_000).toISOString().replace(/\.\d{3}Z$/, 'Z')} (5 s)`,
      ]);
      const first = starts(gate, 'a', started, t0);
      await vi.advanceTimersByTimeAsync(4_999);
      expect(started).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      await first;
      expect(started).toEqual([5_000]);
      expect(gate.pausedUntilMs).toBeUndefined();

      // A server asking for an hour gets the cap.
      for (const key of ['x', 'y', 'z']) gate.askedToWait(key, 3_600_000, 503);
      expect(lines[1]).toMatch(
        new RegExp(
          '^WARN API asked to slow down \\(HTTP 503 with Retry-After for 3 distinct ' +
            'requests within 60 s\\): crawl paused until \\S+Z \\(60 s, capped from 3600 s\\)$',
        ),
      );
      const second = starts(gate, 'b', started, t0);
      await vi.advanceTimersByTimeAsync(60_000);
      await second;
      expect(started).toEqual([5_000, 65_000]);
    },
  );

  it('keeps at most `concurrency` requests in flight; the next starts as one finishes', async () => {
    const gate = new Gate({ concurrency: 2, maxRpm: Infinity });
    const finish: (() => void)[] = [];
    const started: string[] = [];
    const runs = ['a', 'b', 'c'].map((key) =>
      gate.run(
        key,
        () =>
          new Promise<string>((resolve) => {
            started.push(key);
            finish.push(() => resolve(key));
          }),
        always,
      ),
    );
    await vi.advanceTimersByTimeAsync(1_000);
    expect(started).toEqual(['a', 'b']);
    finish[0]!();
    await vi.advanceTimersByTimeAsync(0);
    expect(started).toEqual(['a', 'b', 'c']);
    for (const done of finish.slice(1)) done();
    expect(await Promise.all(runs)).toEqual(['a', 'b', 'c']);
  });

  it(`doubles the cool-down while probes fail, up to ${DEFAULTS.breakerMaxCoolDownMs / 1000} s`, async () => {
    const gate = new Gate({ concurrency: 4, maxRpm: Infinity, failuresToOpen: 4, coolDownMs: 20_000 });
    for (const key of ['a', 'b', 'c', 'd']) await starts(gate, key, [], 0, boom);
    const t0 = Date.now();
    const started: number[] = [];
    // Three failing probes: after 20 s, then 40 s later, then 60 s (not 80) later.
    for (let i = 0; i < 3; i++) {
      const probe = starts(gate, `probe-${i}`, started, t0, boom);
      await vi.advanceTimersByTimeAsync(DEFAULTS.breakerMaxCoolDownMs);
      await probe;
    }
    expect(started).toEqual([20_000, 60_000, 120_000]);
    expect(gate.outageMs).toBe(Date.now() - t0); // open since the four failures, never closed
  });

  it('lets nothing through once stopped: waiters give up at once, never started', async () => {
    const stop = new AbortController();
    const gate = new Gate({ concurrency: 1, maxRpm: 60, stop: stop.signal });
    const started: number[] = [];
    const first = starts(gate, 'a', started, Date.now());
    const second = gate.run('b', async () => 'ran', always).catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(0);
    await first;
    expect(started).toEqual([0]);
    stop.abort();
    expect(await second).toBeInstanceOf(RequestNotStartedError);
    expect(await gate.run('c', async () => 'ran', always).catch((error: unknown) => error)).toBeInstanceOf(
      RequestNotStartedError,
    );
  });

  it(
    'never pauses the crawl for one URL asked to wait again ' + 'and again, nor for asks further apart than the window',
    async () => {
      const { log, lines } = memoryLogger();
      const gate = new Gate({ concurrency: 4, maxRpm: Infinity, pauseQuorum: 3, pauseWindowMs: 60_000, log });
      const t0 = Date.now();
      const started: number[] = [];
      for (let attempt = 0; attempt < 6; attempt++) {
        gate.askedToWait('hostage', 3_600_000, 429);
        expect(gate.pausedUntilMs).toBeUndefined();
        await starts(gate, `other-${attempt}`, started, t0);
        await vi.advanceTimersByTimeAsync(30_000);
      }
      expect(started).toEqual([0, 30_000, 60_000, 90_000, 120_000, 150_000]);
      // Two others asked, but 61 s apart from each other: never three within a minute.
      gate.askedToWait('p', 10_000, 429);
      await vi.advanceTimersByTimeAsync(61_000);
      gate.askedToWait('q', 10_000, 429);
      expect(gate.pausedUntilMs).toBeUndefined();
      expect(lines).toEqual([]);
      // A third within the minute of the last two (hostage's last ask is long gone) pauses it.
      gate.askedToWait('r', 10_000, 429);
      expect(gate.pausedUntilMs).toBeUndefined();
      gate.askedToWait('s', 10_000, 429);
      expect(gate.pausedUntilMs).toBe(Date.now() + 10_000);
      // The asks that armed it are forgotten: the same three asking again start over.
      await vi.advanceTimersByTimeAsync(10_000);
      gate.askedToWait('q', 10_000, 429);
      gate.askedToWait('r', 10_000, 429);
      expect(gate.pausedUntilMs).toBeUndefined();
    },
  );

  it('says which requests wait out a Retry-After asked of them alone, and until when (capped)', async () => {
    const gate = new Gate({ concurrency: 4, maxRpm: Infinity, pauseQuorum: 3, requestWaitCapMs: 30_000 });
    expect(gate.waitingForRetryAfter).toBeUndefined();
    const t0 = Date.now();
    gate.askedToWait('a', 3_600_000, 429);
    gate.askedToWait('b', 10_000, 503);
    expect(gate.pausedUntilMs).toBeUndefined();
    expect(gate.waitingForRetryAfter).toEqual({ requests: 2, until: t0 + 30_000 });
    // Its retry starts: no longer waiting.
    await starts(gate, 'a', [], t0);
    expect(gate.waitingForRetryAfter).toEqual({ requests: 1, until: t0 + 10_000 });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(gate.waitingForRetryAfter).toBeUndefined();
  });

  it('never opens on one URL failing again and again', async () => {
    const gate = new Gate({ concurrency: 4, maxRpm: Infinity });
    for (let i = 0; i < 12; i++) await starts(gate, 'trickle', [], 0, boom);
    expect(gate.circuitState).toBe('closed');
  });

  it('stays closed while most recent distinct requests succeed', async () => {
    const gate = new Gate({ concurrency: 4, maxRpm: Infinity, windowSize: 20, failuresToOpen: 4 });
    for (let i = 0; i < 12; i++) await starts(gate, `ok-${i}`, [], 0);
    for (let i = 0; i < 8; i++) await starts(gate, `bad-${i}`, [], 0, boom);
    expect(gate.circuitState).toBe('closed'); // 8 of 20
    for (let i = 8; i < 11; i++) await starts(gate, `bad-${i}`, [], 0, boom);
    expect(gate.circuitState).toBe('open'); // 11 of the last 20
  });

  it(
    'opens when distinct requests fail, probes once after ' + 'the cool-down, backs off, and closes on an answer',
    async () => {
      const gate = new Gate({ concurrency: 4, maxRpm: Infinity, failuresToOpen: 4, coolDownMs: 5_000 });
      const t0 = Date.now();
      for (const key of ['a', 'b', 'c']) await starts(gate, key, [], t0, boom);
      expect(gate.circuitState).toBe('closed');
      await starts(gate, 'd', [], t0, boom);
      expect(gate.circuitState).toBe('open');

      // After 5 s one probe goes; the other request waits for its answer.
      const started: number[] = [];
      let failProbe = true;
      const probe = starts(gate, 'e', started, t0, () => (failProbe ? boom() : ok()));
      const waiting = starts(gate, 'f', started, t0);
      await vi.advanceTimersByTimeAsync(4_999);
      expect(started).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      await probe;
      expect(started).toEqual([5_000]);
      expect(gate.circuitState).toBe('open'); // the probe failed: 10 s until the next

      await vi.advanceTimersByTimeAsync(9_999);
      expect(started).toEqual([5_000]);
      failProbe = false;
      await vi.advanceTimersByTimeAsync(1);
      expect(started).toEqual([5_000, 15_000]); // f is the next probe, and it succeeds
      await waiting;
      expect(gate.circuitState).toBe('closed');
      expect(gate.outageMs).toBe(0);
      // The outage is history: a single new failure does not reopen it.
      await starts(gate, 'g', [], t0, boom);
      expect(gate.circuitState).toBe('closed');
    },
  );

  it('says why the circuit opened and what the latest failure was, until it closes', async () => {
    const { log, lines } = memoryLogger();
    const gate = new Gate({ concurrency: 4, maxRpm: Infinity, failuresToOpen: 4, coolDownMs: 5_000, log });
    expect(gate.outageReason).toBeUndefined();
    for (const key of ['a', 'b', 'c']) await starts(gate, key, [], 0, boom);
    await starts(gate, 'd', [], 0, () => Promise.reject(new RetryableHttpError(503, undefined)));
    expect(gate.outageReason).toBe('4 of the last 4 distinct requests failed; the latest: HTTP 503');
    expect(lines).toEqual([
      expect.stringMatching(/^WARN circuit open \(4 of the last 4 distinct requests failed; the latest: HTTP 503\): /),
    ]);
    await vi.advanceTimersByTimeAsync(5_000);
    await starts(gate, 'e', [], 0);
    expect(gate.outageReason).toBeUndefined();
  });

  it('counts only no answer, timeouts, 5xx and 429 towards the breaker, never a bad body after a 200', async () => {
    const gate = new Gate({ concurrency: 4, maxRpm: Infinity, failuresToOpen: 4 });
    const badBody = () => Promise.reject(new UnparseableBodyError('body cut short: 10 of 20 bytes'));
    const notBuilt = () => Promise.reject(new RequestNotBuiltError('Invalid character in header content'));
    for (let i = 0; i < 10; i++) await gate.run(`body-${i}`, badBody, isOutageSign).catch(() => undefined);
    for (let i = 0; i < 10; i++) await gate.run(`built-${i}`, notBuilt, isOutageSign).catch(() => undefined);
    expect(gate.circuitState).toBe('closed');
    const outages = [
      new NoAnswerError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
      new RequestTimeoutError(1_000),
      new RetryableHttpError(502, undefined),
      new RetryableHttpError(429, 1_000),
    ];
    expect(outages.map(isOutageSign)).toEqual([true, true, true, true]);
    const down = new Gate({ concurrency: 4, maxRpm: Infinity, failuresToOpen: 4 });
    for (const [i, error] of outages.entries()) {
      await down.run(`down-${i}`, () => Promise.reject(error), isOutageSign).catch(() => undefined);
    }
    expect(down.circuitState).toBe('open');
  });

  it('lets only the probe decide a half-open circuit, not a straggler sent before it opened', async () => {
    const gate = new Gate({ concurrency: 8, maxRpm: Infinity, failuresToOpen: 4, coolDownMs: 1_000 });
    let releaseStraggler!: (error: Error) => void;
    const straggler = gate
      .run('slow', () => new Promise<string>((_, reject) => (releaseStraggler = reject)), always)
      .catch(() => 'failed');
    for (const key of ['a', 'b', 'c', 'd']) await starts(gate, key, [], 0, boom);
    expect(gate.circuitState).toBe('open');
    let finishProbe!: (value: string) => void;
    const probe = gate.run('probe', () => new Promise<string>((resolve) => (finishProbe = resolve)), always);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(gate.circuitState).toBe('probing');
    releaseStraggler(new Error('ECONNRESET'));
    await straggler;
    expect(gate.circuitState).toBe('probing');
    finishProbe('ok');
    await probe;
    expect(gate.circuitState).toBe('closed');
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-21T20:00:00Z');
  it.each<[string | string[] | undefined, number | undefined]>([
    ['5', 5_000],
    [' 120 ', 120_000],
    ['0', 0],
    [['7', '9'], 7_000],
    ['Sat, 21 Nov 2026 20:00:30 GMT', 30_000],
    ['Sat, 21 Nov 2026 19:00:00 GMT', 0], // a date in the past: no wait
    [undefined, undefined],
    ['', undefined],
    ['-5', undefined],
    ['1.5', undefined],
    ['0x10', undefined],
    ['soon', undefined],
  ])('%j → %j ms', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});
