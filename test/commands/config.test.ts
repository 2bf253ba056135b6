/** The operator commands' flags, resolved by config.ts: defaults, precedence, and one-line errors for bad values. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseInstant } from '../../src/config.js';
import { resolveCanaryConfig } from '../../src/commands/canary.js';
import { resolveChangesConfig } from '../../src/commands/changes.js';
import { resolveExportConfig } from '../../src/commands/export.js';
import { resolveCrawlConfig } from '../../src/commands/crawl.js';
import { UserError } from '../../src/errors.js';

const NOW = Date.UTC(2026, 10, 21, 12, 0, 0);

describe('parseInstant', () => {
  it.each([
    ['2026-11-01', '2026-11-01T00:00:00.000Z'],
    ['2026-11-01T08:30:00Z', '2026-11-01T08:30:00.000Z'],
    ['2026-11-01 08:30+02:00', '2026-11-01T06:30:00.000Z'],
    ['2026-11-01T08:30:00.250-0130', '2026-11-01T10:00:00.250Z'],
    ['24h', '2026-11-20T12:00:00.000Z'],
    ['90m', '2026-11-21T10:30:00.000Z'],
    ['7d', '2026-11-14T12:00:00.000Z'],
  ])('reads %s as %s', (value, expected) => {
    expect(parseInstant('--since', value, NOW)).toBe(expected);
  });

  it.each([
    ['2026-11-01T08:30:00', /--as-of: "2026-11-01T08:30:00" has no time zone: add Z or an offset/],
    ['2026-02-30', /is not an ISO 8601 date or time/],
    ['yesterday', /is not an ISO 8601 date or time, nor a duration ago like 24h/],
    ['2026', /is not an ISO 8601/],
  ])('refuses %s', (value, message) => {
    expect(() => parseInstant('--as-of', value, NOW)).toThrow(UserError);
    expect(() => parseInstant('--as-of', value, NOW)).toThrow(message);
  });
});

describe('resolveExportConfig', () => {
  it('defaults to every series, now, as JSON arrays into ./exports', () => {
    expect(resolveExportConfig({}, {})).toMatchObject({
      outDir: path.resolve('exports'),
      format: 'json',
      asOf: undefined,
      scope: { series: [], fromYear: undefined, toYear: undefined },
    });
  });

  it('reads the filters like crawl: flags before environment variables', () => {
    const env = { MSC_SERIES: 'F1, WEC', MSC_FROM_YEAR: '2020' };
    expect(resolveExportConfig({}, env).scope).toEqual({ series: ['F1', 'WEC'], fromYear: 2020, toYear: undefined });
    expect(resolveExportConfig({ series: ['F2'], toYear: 2024 }, env).scope).toEqual({
      series: ['F2'],
      fromYear: 2020,
      toYear: 2024,
    });
  });

  it.each([
    [{ format: 'xlsx' }, /--format: "xlsx" is not one of json, ndjson, csv/],
    [{ fromYear: 2025, toYear: 2020 }, /--from-year 2025 is after --to-year 2020/],
    [{ asOf: 'soon' }, /--as-of: "soon"/],
    [{ quiet: true, verbose: true }, /--quiet and --verbose cannot be used together/],
  ])('refuses %j', (raw, message) => {
    expect(() => resolveExportConfig(raw, {})).toThrow(message);
  });
});

describe('resolveChangesConfig', () => {
  it('needs --since and lists 3 examples unless told', () => {
    expect(() => resolveChangesConfig({}, {})).toThrow(/--since is required/);
    expect(resolveChangesConfig({ since: '2026-11-01' }, {})).toMatchObject({
      since: '2026-11-01T00:00:00.000Z',
      examples: 3,
    });
    expect(() => resolveChangesConfig({ since: '1h', examples: -1 }, {})).toThrow(/--examples/);
  });
});

describe('resolveCanaryConfig', () => {
  it('is polite by default, lifts the rate limit like crawl, and retries little', () => {
    expect(resolveCanaryConfig({}, {})).toMatchObject({
      baseUrl: 'https://api.motorsportstats.com',
      maxRpm: 120,
      sampleSeries: 4,
      sampleClassifications: 2,
      maxRetries: 2,
    });
    expect(resolveCanaryConfig({ maxRpm: 10_000 }, {}).maxRpm).toBe(Infinity);
    expect(resolveCanaryConfig({}, { MSC_BASE_URL: 'http://127.0.0.1:9/' }).baseUrl).toBe('http://127.0.0.1:9');
    expect(() => resolveCanaryConfig({ sampleSeries: 0 }, {})).toThrow(/--sample-series/);
  });
});

describe('--timeout', () => {
  const base = { baseUrl: 'http://127.0.0.1:1', storage: '/tmp/msc-config-test' };
  it.each<[Parameters<typeof resolveCrawlConfig>[0], Record<string, string>, number]>([
    [base, {}, 30],
    [{ ...base, timeout: '2s' }, {}, 2],
    [{ ...base, timeout: '45' }, {}, 45],
    [{ ...base, timeout: '2m' }, { MSC_TIMEOUT: '5s' }, 120],
    [base, { MSC_TIMEOUT: '0.5' }, 0.5],
  ])('%j with env %j → %d s', (raw, env, secs) => {
    expect(resolveCrawlConfig(raw, env).requestTimeoutSecs).toBe(secs);
  });

  it.each(['0', '2h', 'soon', '-1'])('refuses %j in one line naming the flag', (value) => {
    expect(() => resolveCrawlConfig({ ...base, timeout: value }, {})).toThrow(/^--timeout: "/);
  });
});

describe('--queue', () => {
  const base = { baseUrl: 'http://127.0.0.1:1', storage: '/tmp/msc-config-test' };
  const server = { ...base, db: 'postgres://me@127.0.0.1/crawl' };
  it.each<[Parameters<typeof resolveCrawlConfig>[0], Record<string, string>, string]>([
    [base, {}, 'local'],
    [{ ...server, queue: 'postgres' }, {}, 'postgres'],
    [server, { MSC_QUEUE: 'postgres' }, 'postgres'],
    [{ ...server, queue: 'local' }, { MSC_QUEUE: 'postgres' }, 'local'],
  ])('%j with env %j → %s', (raw, env, queue) => {
    expect(resolveCrawlConfig(raw, env).queue).toBe(queue);
  });

  it.each<[Parameters<typeof resolveCrawlConfig>[0], Record<string, string>, RegExp]>([
    [{ ...base, queue: 'postgres' }, {}, /^--queue postgres needs a PostgreSQL server \(--db postgres:\/\/…\)/],
    [base, { MSC_QUEUE: 'postgres' }, /^MSC_QUEUE postgres needs a PostgreSQL server/],
    [base, { MSC_QUEUE: 'redis' }, /^MSC_QUEUE: "redis" is not one of local, postgres$/],
    [
      { ...server, queue: 'postgres', plan: true },
      {},
      /^--plan does not read the shared queue: leave out --queue postgres/,
    ],
    [server, { MSC_LEASE_TIMEOUT: '500ms' }, /^MSC_LEASE_TIMEOUT: "500ms" is not a duration/],
    [server, { MSC_LEASE_TIMEOUT: '0.5' }, /^MSC_LEASE_TIMEOUT: "0.5" must be at least 1 s$/],
  ])('%j with env %j is refused in one line', (raw, env, message) => {
    expect(() => resolveCrawlConfig(raw, env)).toThrow(UserError);
    expect(() => resolveCrawlConfig(raw, env)).toThrow(message);
  });

  it('MSC_LEASE_TIMEOUT sets the lease timeout (a testing aid); 30 s otherwise', () => {
    expect(resolveCrawlConfig(server, {}).leaseTimeoutMs).toBe(30_000);
    expect(resolveCrawlConfig(server, { MSC_LEASE_TIMEOUT: '5s' }).leaseTimeoutMs).toBe(5_000);
  });
});
