import { describe, expect, it } from 'vitest';
import { tenthRates } from '../../bench/drift.js';

describe('tenthRates', () => {
  it('gives the same rate at both ends of a steady log', () => {
    const times = Array.from({ length: 1000 }, (_, i) => i * 5); // 200 requests/s
    const r = tenthRates(times)!;
    expect(r.requests).toBe(100);
    expect(r.firstPerSec).toBeCloseTo(200, 6);
    expect(r.lastPerSec).toBeCloseTo(200, 6);
    expect(r.ratio).toBeCloseTo(1, 6);
  });

  it('sees a crawl that slows down in its last tenth', () => {
    // 899 requests 10 ms apart, then 101 requests 20 ms apart: the last tenth at half the rate.
    const times: number[] = [];
    for (let i = 0; i < 899; i++) times.push(i * 10);
    for (let i = 0; i < 101; i++) times.push(8980 + (i + 1) * 20);
    const r = tenthRates(times)!;
    expect(r.firstPerSec).toBeCloseTo(100, 6);
    expect(r.lastPerSec).toBeCloseTo(50, 6);
    expect(r.ratio).toBeCloseTo(0.5, 6);
  });

  it('counts tenths in requests, whatever the middle does', () => {
    const times = [0, 10, 20, 1_000_000, 1_000_010, 1_000_020];
    for (let i = 0; i < 14; i++) times.push(2_000_000 + i * 10);
    const r = tenthRates(times)!;
    expect(r.requests).toBe(2);
    expect(r.firstPerSec).toBeCloseTo(100, 6);
    expect(r.lastPerSec).toBeCloseTo(100, 6);
  });

  it('has no figure for fewer than 20 requests, and no finite rate for a tenth within one millisecond', () => {
    expect(tenthRates(Array.from({ length: 19 }, (_, i) => i))).toBeUndefined();
    const r = tenthRates([...Array.from({ length: 10 }, () => 0), ...Array.from({ length: 10 }, (_, i) => i * 100)])!;
    expect(r.firstPerSec).toBe(Number.POSITIVE_INFINITY);
    expect(r.lastPerSec).toBeCloseTo(10, 6); // 2 requests in 200 ms
  });
});
