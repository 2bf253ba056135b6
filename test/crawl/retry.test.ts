import { describe, expect, it } from 'vitest';
import { backoffDelay, withRetries } from '../../src/retry.js';

describe('backoffDelay', () => {
  it('doubles from the base per retry, caps before the jitter, and spreads over 0.5–1.5×', () => {
    const backoff = { baseMs: 1000, capMs: 30_000 };
    const middle = () => 0.5;
    expect([1, 2, 3, 4, 5, 6, 7].map((retry) => backoffDelay(retry, backoff, middle))).toEqual([
      1000, 2000, 4000, 8000, 16_000, 30_000, 30_000,
    ]);
    expect(backoffDelay(3, backoff, () => 0)).toBe(2000);
    expect(backoffDelay(3, backoff, () => 0.999_999)).toBeCloseTo(6000, 1);
    expect(backoffDelay(6, backoff, () => 0)).toBe(15_000);
    // Retry 0 (Crawlee's count before any retry) waits as the first.
    expect(backoffDelay(0, backoff, middle)).toBe(1000);
  });

  it('without jitter, waits exactly the doubled base', () => {
    expect([1, 2, 3].map((retry) => backoffDelay(retry, { baseMs: 500, jitter: false }, () => 0))).toEqual([
      500, 1000, 2000,
    ]);
  });
});

describe('withRetries', () => {
  it('retries a retryable failure until it succeeds, telling each wait', async () => {
    const seen: number[] = [];
    const waits: [number, number][] = [];
    const result = await withRetries(
      async (retry) => {
        seen.push(retry);
        if (retry < 2) throw new Error(`flaky ${retry}`);
        return 'done';
      },
      { retries: 5, baseMs: 1, retryable: () => true, onRetry: (_error, delay, retry) => waits.push([retry, delay]) },
    );
    expect(result).toBe('done');
    expect(seen).toEqual([0, 1, 2]);
    expect(waits.map(([retry]) => retry)).toEqual([1, 2]);
    expect(waits[1]![1]).toBeGreaterThanOrEqual(1);
  });

  it('throws the last failure once the retries are spent', async () => {
    let attempts = 0;
    const failing = withRetries(
      async () => {
        attempts += 1;
        throw new Error(`attempt ${attempts}`);
      },
      { retries: 2, baseMs: 1, retryable: () => true },
    );
    await expect(failing).rejects.toThrow('attempt 3');
    expect(attempts).toBe(3);
  });

  it('throws a failure that is not retryable at once', async () => {
    let attempts = 0;
    const failing = withRetries(
      async () => {
        attempts += 1;
        throw new TypeError('bad input');
      },
      { retries: 5, baseMs: 1, retryable: (error) => !(error instanceof TypeError) },
    );
    await expect(failing).rejects.toThrow('bad input');
    expect(attempts).toBe(1);
  });
});
