import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BAD_IDS,
  FaultInjector,
  OVERSIZED_DEFAULT_BYTES,
  apiPath,
  expectedCounts,
  recordedTree,
  startReplica,
  syntheticTree,
  type Calendar,
  type Classification,
  type Endpoint,
  type Replica,
  type ReplicaOptions,
  type ReplicaTree,
  type SeasonItem,
  type SeriesItem,
} from './index.js';

const FIXTURES = new URL('./fixtures/', import.meta.url);
const FIXTURE_ENDPOINTS: Record<string, (uuid: string) => string> = {
  seasons: apiPath.seasons,
  calendar: apiPath.calendar,
  classification: apiPath.classification,
};
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let replicas: Replica[] = [];
async function serve(options: ReplicaOptions): Promise<Replica> {
  const replica = await startReplica(options);
  replicas.push(replica);
  return replica;
}
afterEach(async () => {
  await Promise.all(replicas.map((r) => r.close()));
  replicas = [];
});

const parse = <T>(tree: ReplicaTree, path: string): T => {
  const text = tree.body(path);
  if (text === undefined) throw new Error(`no ${path}`);
  return JSON.parse(text) as T;
};

/** Every path a full crawl fetches, with its body, in crawl order. */
function* walk(tree: ReplicaTree): Generator<{ endpoint: Endpoint; path: string; text: string }> {
  const at = (endpoint: Endpoint, path: string) => {
    const text = tree.body(path);
    if (text === undefined) throw new Error(`no ${path}`);
    return { endpoint, path, text };
  };
  const series = at('series', apiPath.series());
  yield series;
  for (const s of JSON.parse(series.text) as SeriesItem[]) {
    const seasons = at('seasons', apiPath.seasons(s.uuid));
    yield seasons;
    for (const season of JSON.parse(seasons.text) as SeasonItem[]) {
      const calendar = at('calendar', apiPath.calendar(season.uuid));
      yield calendar;
      for (const event of (JSON.parse(calendar.text) as Calendar).events) {
        for (const session of event.sessions) {
          if (session.hasResults === true) yield at('classification', apiPath.classification(session.uuid));
        }
      }
    }
  }
}

function digestOf(tree: ReplicaTree): string {
  const hash = createHash('sha256');
  for (const { path, text } of walk(tree)) hash.update(path).update('\n').update(text).update('\n');
  return hash.digest('hex');
}

/** The objects of every kind a crawl sees, retirement drivers counted as drivers. */
function objectsByKind(tree: ReplicaTree): Map<string, Record<string, unknown>[]> {
  const kinds = new Map<string, Record<string, unknown>[]>();
  const add = (kind: string, value: object): void => {
    kinds.set(kind, [...(kinds.get(kind) ?? []), value as Record<string, unknown>]);
  };
  for (const { endpoint, text } of walk(tree)) {
    if (endpoint === 'series') for (const s of JSON.parse(text) as SeriesItem[]) add('series', s);
    if (endpoint === 'seasons') for (const s of JSON.parse(text) as SeasonItem[]) add('season', s);
    if (endpoint === 'calendar') {
      const calendar = JSON.parse(text) as Calendar;
      add('calendar', calendar);
      add('calendar.season', calendar.season);
      for (const event of calendar.events) {
        add('event', event);
        add('venue', event.venue);
        add('country', event.country);
        for (const session of event.sessions) add('session', session);
      }
    }
    if (endpoint === 'classification') {
      const classification = JSON.parse(text) as Classification;
      add('classification', classification);
      for (const detail of classification.details) {
        add('detail', detail);
        add('team', detail.team);
        add('country', detail.nationality);
        add('gap', detail.gap);
        add('best', detail.best);
        for (const driver of detail.drivers) add('driver', driver);
      }
      for (const retirement of classification.retirements) {
        add('retirement', retirement);
        add('driver', retirement.driver);
      }
    }
  }
  return kinds;
}

const typeName = (value: unknown): string => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);

/** Per kind: the key orders seen, and the value types seen per key. */
function shapes(tree: ReplicaTree): Record<string, { keyOrders: string[]; types: Record<string, string[]> }> {
  const out: Record<string, { keyOrders: string[]; types: Record<string, string[]> }> = {};
  for (const [kind, objects] of objectsByKind(tree)) {
    const keyOrders = new Set<string>();
    const types: Record<string, Set<string>> = {};
    for (const object of objects) {
      keyOrders.add(Object.keys(object).join(','));
      for (const [key, value] of Object.entries(object)) {
        types[key] ??= new Set();
        types[key].add(typeName(value));
      }
    }
    out[kind] = {
      keyOrders: [...keyOrders].sort(),
      types: Object.fromEntries(Object.entries(types).map(([key, set]) => [key, [...set].sort()])),
    };
  }
  return out;
}

async function fetchBytes(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
  const response = await fetch(url, init);
  return { status: response.status, headers: response.headers, bytes: Buffer.from(await response.arrayBuffer()) };
}

describe('recorded tree', () => {
  it('serves every recorded file byte for byte', async () => {
    const replica = await serve({ tree: recordedTree() });
    const files: Array<[string, string]> = [[apiPath.series(), 'series/all.json']];
    for (const [folder, toPath] of Object.entries(FIXTURE_ENDPOINTS)) {
      for (const file of readdirSync(new URL(`${folder}/`, FIXTURES))) {
        files.push([toPath(file.replace(/\.json$/, '')), `${folder}/${file}`]);
      }
    }
    expect(files).toHaveLength(25);
    for (const [path, file] of files) {
      const { status, headers, bytes } = await fetchBytes(replica.url + path);
      expect(status).toBe(200);
      expect(headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(bytes.equals(readFileSync(new URL(file, FIXTURES))), file).toBe(true);
    }
  });

  it('fills what the corpus reaches without a recording, and 404s the rest', () => {
    const tree = recordedTree();
    const series = parse<SeriesItem[]>(tree, apiPath.series());
    const f1 = series.find((s) => s.shortCode === 'F1');
    const unrecorded = series.find((s) => s.shortCode === 'SEBRING');
    expect(f1 && unrecorded).toBeTruthy();
    expect(tree.body(apiPath.seasons(unrecorded?.uuid ?? ''))).toBe('[]');

    const seasons = parse<SeasonItem[]>(tree, apiPath.seasons(f1?.uuid ?? ''));
    const season2019 = seasons.find((s) => s.year === 2019);
    expect(season2019).toBeDefined();
    const { name, uuid, year, endYear } = season2019 as SeasonItem;
    expect(tree.body(apiPath.calendar(uuid))).toBe(
      JSON.stringify({ season: { name, uuid, year, endYear }, events: [] }),
    );

    const calendar = parse<Calendar>(tree, apiPath.calendar('c620fbb8-7169-4f6a-af74-13f6cd80a233'));
    const sessions = calendar.events.flatMap((e) => e.sessions);
    const withResults = sessions.find((s) => s.hasResults === true);
    const withoutResults = sessions.find((s) => s.hasResults === false);
    expect(tree.body(apiPath.classification(withResults?.uuid ?? ''))).toBe('{"details":[],"retirements":[]}');
    expect(tree.body(apiPath.classification(withoutResults?.uuid ?? ''))).toBeUndefined();

    const stranger = '00000000-0000-4000-8000-000000000000';
    for (const toPath of [apiPath.seasons, apiPath.calendar, apiPath.classification]) {
      expect(tree.body(toPath(stranger))).toBeUndefined();
    }
    // A series uuid is not a season uuid: ids only resolve on their own endpoint.
    expect(tree.body(apiPath.calendar(f1?.uuid ?? ''))).toBeUndefined();
    expect(tree.body('/widgets/1.0.0/series/')).toBeUndefined();
  });

  it('expects the counts an independent python walk of the corpus found', () => {
    const tree = recordedTree();
    expect(expectedCounts(tree)).toEqual({
      requests: { series: 1, seasons: 86, calendar: 156, classification: 1443, total: 1686 },
      rows: {
        series: 86,
        seasons: 156,
        events: 192,
        venues: 47,
        countries: 39,
        sessions: 1510,
        drivers: 129,
        teams: 26,
        entries: 112,
        entry_drivers: 254,
        classifications: 112,
        retirements: 7,
      },
    });
    expect(expectedCounts(tree, { series: ['f1'] })).toEqual({
      requests: { series: 1, seasons: 1, calendar: 76, classification: 932, total: 1010 },
      rows: {
        series: 86,
        seasons: 76,
        events: 124,
        venues: 31,
        countries: 29,
        sessions: 995,
        drivers: 20,
        teams: 10,
        entries: 40,
        entry_drivers: 40,
        classifications: 40,
        retirements: 7,
      },
    });
    expect(
      expectedCounts(tree, { series: ['fia world endurance championship'], fromYear: 2024, toYear: 2024 }).requests,
    ).toEqual({ series: 1, seasons: 1, calendar: 1, classification: 73, total: 76 });
    expect(expectedCounts(tree, { fromYear: 2025 }).requests).toEqual({
      series: 1,
      seasons: 86,
      calendar: 7,
      classification: 571,
      total: 665,
    });
    const byUuidAndCode = expectedCounts(tree, {
      series: ['10904579-6E07-4a99-9b1f-19725110ceef', 'F1Academy'],
      toYear: 2024,
    });
    expect(byUuidAndCode.requests).toEqual({ series: 1, seasons: 2, calendar: 37, classification: 31, total: 71 });
    expect(byUuidAndCode.rows.seasons).toBe(39);
    expect(expectedCounts(tree, { series: ['nope'] }).requests.total).toBe(1);
  });

  it('serves mutations until unmutateAll, through the server cache too', async () => {
    const tree = recordedTree();
    const original = tree.body(apiPath.series());
    const replica = await serve({ tree });
    const first = async () => ((await (await fetch(replica.url + apiPath.series())).json()) as SeriesItem[])[0];

    expect((await first())?.shortCode).toBe('SEBRING');
    tree.mutate<SeriesItem[]>(apiPath.series(), (list) => list.slice(1));
    tree.mutate<SeriesItem[]>(apiPath.series(), (list) =>
      list.map((s, i) => (i === 0 ? { ...s, name: 'Renamed' } : s)),
    );
    expect(await first()).toMatchObject({ shortCode: 'DAYTONA24', name: 'Renamed' });
    expect(expectedCounts(tree).rows.series).toBe(85);

    const newSeason = '11111111-1111-4111-8111-111111111111';
    const sebring = 'fb459032-a8e4-42bb-ac54-5c2f06dcea5a';
    tree.mutate(apiPath.seasons(sebring), () => [
      { name: 'Sebring 2026', uuid: newSeason, year: 2026, endYear: 2026, status: '' },
    ]);
    expect(tree.body(apiPath.calendar(newSeason))).toBeUndefined();
    tree.mutate(
      apiPath.calendar(newSeason),
      (payload) =>
        payload ?? { season: { name: 'Sebring 2026', uuid: newSeason, year: 2026, endYear: 2026 }, events: [] },
    );
    expect((await fetch(replica.url + apiPath.calendar(newSeason))).status).toBe(200);
    tree.mutate(apiPath.calendar(newSeason), () => undefined);
    expect((await fetch(replica.url + apiPath.calendar(newSeason))).status).toBe(404);

    tree.unmutateAll();
    expect(tree.body(apiPath.series())).toBe(original);
    expect((await first())?.shortCode).toBe('SEBRING');
  });
});

describe('synthetic tree', () => {
  it('is deterministic: same options, same bytes; another seed, other bytes', () => {
    const a = digestOf(syntheticTree());
    // Pinned so that benches and crawler baselines built on this tree notice when it changes:
    // update it only on purpose.
    expect(a).toBe('823c8ee33cf2bba69cf2b9203843c337134c2c3a0cec1b69a694957d34561a0a');
    expect(digestOf(syntheticTree({ seed: 1 }))).toBe(a);
    expect(digestOf(syntheticTree({ seed: 2 }))).not.toBe(a);
    const tree = syntheticTree({ driversPerCar: 3 });
    const paths = [...walk(tree)].map((w) => w.path);
    const again = syntheticTree({ driversPerCar: 3 });
    // Lazy generation must not depend on request order.
    for (const path of [...paths].reverse()) expect(again.body(path)).toBe(tree.body(path));
  });

  it('has the size its options ask for, with valid v4 uuids', () => {
    const tree = syntheticTree({
      series: 2,
      seasonsPerSeries: 2,
      eventsPerSeason: 5,
      sessionsPerEvent: 4,
      carsPerSession: 7,
      driversPerCar: 2,
    });
    const { rows } = expectedCounts(tree);
    expect(rows).toMatchObject({ series: 2, seasons: 4, events: 20, sessions: 80 });
    const uuids = new Set<string>();
    for (const { text } of walk(tree)) {
      for (const match of text.matchAll(/"uuid":"([^"]*)"/g)) {
        expect(match[1]).toMatch(UUID_V4);
        uuids.add(match[1] ?? '');
      }
    }
    expect(uuids.size).toBeGreaterThan(100);
    for (const { text } of [...walk(tree)].filter((w) => w.endpoint === 'classification')) {
      const { details } = JSON.parse(text) as Classification;
      expect(details).toHaveLength(7);
      for (const detail of details) expect(detail.drivers.length).toBeGreaterThanOrEqual(1);
    }
  });

  it('builds payloads of exactly the recorded shapes', () => {
    const recorded = shapes(recordedTree());
    const synthetic = shapes(syntheticTree({ series: 6, eventsPerSeason: 6, carsPerSession: 10, driversPerCar: 3 }));
    expect(Object.keys(synthetic).sort()).toEqual(Object.keys(recorded).sort());
    for (const kind of Object.keys(recorded)) expect([kind, synthetic[kind]]).toEqual([kind, recorded[kind]]);
  });

  it('carries the quirks of the real data', () => {
    for (const seed of [1, 2, 3]) {
      const tree = syntheticTree({ seed });
      const all = [...walk(tree)];
      const seasons = all.filter((w) => w.endpoint === 'seasons').flatMap((w) => JSON.parse(w.text) as SeasonItem[]);
      expect(new Set(seasons.map((s) => s.status))).toEqual(new Set(['Current', 'Historic', '']));

      const events = all
        .filter((w) => w.endpoint === 'calendar')
        .flatMap((w) => (JSON.parse(w.text) as Calendar).events);
      const cancelled = events.filter((e) => e.status === 'Cancelled');
      expect(cancelled.length).toBeGreaterThan(0);
      for (const e of cancelled)
        expect([e.startDate, e.startTimeUtc, e.endDate, e.endTimeUtc]).toEqual([null, null, null, null]);
      expect(events.flatMap((e) => e.sessions).some((s) => s.hasResults === false)).toBe(true);
      expect(all.some((w) => w.text.includes('\uFFFD'))).toBe(true);

      const classifications = all
        .filter((w) => w.endpoint === 'classification')
        .map((w) => JSON.parse(w.text) as Classification);
      expect(classifications.some((c) => c.retirements.length > 0)).toBe(true);
      for (const { details } of classifications) {
        const names = new Map<string, Set<string | null>>();
        for (const d of details) names.set(d.team.uuid, (names.get(d.team.uuid) ?? new Set()).add(d.team.name));
        expect([...names.values()].some((set) => set.size === 2)).toBe(true);
        const numbers = details.map((d) => d.carNumber);
        expect(new Set(numbers).size).toBe(numbers.length);
        expect(numbers.some((n) => n.startsWith('0') && numbers.includes(String(Number(n))))).toBe(true);
      }
      // Drivers come back across sessions and seasons, and their nationalities are countries too.
      const appearances = classifications.flatMap((c) => c.details.flatMap((d) => d.drivers.map((dr) => dr.uuid)));
      expect(new Set(appearances).size).toBeLessThan(appearances.length / 5);
      const eventCountries = new Set(events.map((e) => e.country.uuid));
      const nationalities = classifications.flatMap((c) => c.details.map((d) => d.nationality.uuid));
      expect(nationalities.some((n) => !eventCountries.has(n))).toBe(true);
    }
  });

  it('generates lazily: a 6,000-session tree is cheap until fetched', () => {
    const started = performance.now();
    const tree = syntheticTree({
      series: 10,
      seasonsPerSeries: 10,
      eventsPerSeason: 12,
      sessionsPerEvent: 5,
      carsPerSession: 37,
    });
    const series = parse<SeriesItem[]>(tree, apiPath.series());
    const seasons = parse<SeasonItem[]>(tree, apiPath.seasons(series.at(-1)?.uuid ?? ''));
    const calendar = parse<Calendar>(tree, apiPath.calendar(seasons.at(-1)?.uuid ?? ''));
    const session = calendar.events.flatMap((e) => e.sessions).find((s) => s.hasResults === true);
    expect(parse<Classification>(tree, apiPath.classification(session?.uuid ?? '')).details).toHaveLength(37);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('rejects impossible options', () => {
    expect(() => syntheticTree({ driversPerCar: 5 })).toThrow(RangeError);
    expect(() => syntheticTree({ carsPerSession: 0 })).toThrow(RangeError);
    expect(() => syntheticTree({ series: -1 })).toThrow(RangeError);
    expect(() => syntheticTree({ seasonsPerSeries: 1.5 })).toThrow(RangeError);
  });
});

describe('server', () => {
  it('answers anything else with a JSON 404 and records requests and headers', async () => {
    const replica = await serve({ tree: syntheticTree() });
    const notFound = await fetchBytes(`${replica.url}/widgets/1.0.0/nope`);
    expect(notFound.status).toBe(404);
    expect(JSON.parse(notFound.bytes.toString())).toEqual({ message: 'Not found' });
    expect((await fetch(replica.url + apiPath.series(), { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${replica.url}${apiPath.series()}?lang=en`)).status).toBe(200);

    const headers = {
      Origin: 'https://widgets.motorsportstats.com',
      'X-Parent-Referer': 'https://motorsportstats.com/',
    };
    const ok = await fetch(replica.url + apiPath.series(), { headers });
    expect(ok.headers.get('connection')).toBe('keep-alive');
    await ok.arrayBuffer();
    expect(replica.lastHeaders).toMatchObject({
      origin: headers.Origin,
      'x-parent-referer': headers['X-Parent-Referer'],
    });
    expect(replica.stats.total).toBe(4);
    expect(replica.stats.byPath.get(apiPath.series())).toBe(3);
    expect(replica.stats.getsByPath.get(apiPath.series())).toBe(2);
    expect(replica.stats.byEndpoint).toEqual({ series: 3, seasons: 0, calendar: 0, classification: 0, other: 1 });
    expect(replica.stats.faults.size).toBe(0);
  });

  it('serves at least 2,000 small requests per second over keep-alive', async () => {
    const replica = await serve({ tree: recordedTree() });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const get = (path: string) =>
      new Promise<void>((resolve, reject) => {
        http.get(replica.url + path, { agent }, (res) => res.resume().on('end', resolve)).on('error', reject);
      });
    const series = parse<SeriesItem[]>(recordedTree(), apiPath.series());
    const paths = Array.from({ length: 4000 }, (_, i) => apiPath.seasons(series[i % series.length]?.uuid ?? ''));
    const run = async (batch: string[]): Promise<number> => {
      const started = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < batch.length) await get(batch[next++] ?? '');
        }),
      );
      return batch.length / ((performance.now() - started) / 1000);
    };
    await run(paths.slice(0, 1000)); // JIT warm-up; both ends of the socket live in this process
    // Best of three, so one scheduling hiccup on a busy machine does not fail the suite.
    const perSecond = Math.max(
      await run(paths.slice(1000, 2000)),
      await run(paths.slice(2000, 3000)),
      await run(paths.slice(3000)),
    );
    agent.destroy();
    expect(perSecond).toBeGreaterThan(2000);
  });
});

describe('faults', () => {
  const seriesPath = apiPath.series();

  it('plans random faults deterministically and never more than maxConsecutive in a row', () => {
    const options = {
      seed: 7,
      rate500: 0.3,
      rate503: 0.2,
      rate429: 0.1,
      rateReset: 0.1,
      rateTruncate: 0.1,
      rateSlow: 0.1,
    };
    const plans = (injector: FaultInjector) =>
      Array.from({ length: 400 }, (_, i) => injector.plan(`/p${i % 4}`)).map((p) => `${p.failure}/${p.delayMs}`);
    const a = plans(new FaultInjector(options));
    expect(plans(new FaultInjector(options))).toEqual(a);
    expect(plans(new FaultInjector({ ...options, seed: 8 }))).not.toEqual(a);

    const injector = new FaultInjector({ ...options, rate500: 0.5 });
    let streak = 0;
    for (let i = 0; i < 1000; i++) {
      const plan = injector.plan('/same');
      streak = plan.failure !== undefined || plan.delayMs > 0 ? streak + 1 : 0;
      expect(streak).toBeLessThanOrEqual(3);
    }
    expect(() => new FaultInjector({ rate500: 0.7, rate503: 0.7 })).toThrow(RangeError);
  });

  it('500, 503 and 429 (with Retry-After) until the path has failed maxConsecutive times', async () => {
    for (const [rate, status] of [
      ['rate500', 500],
      ['rate503', 503],
      ['rate429', 429],
    ] as const) {
      const replica = await serve({ tree: syntheticTree(), faults: { [rate]: 1, retryAfterSeconds: 2 } });
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) {
        const response = await fetch(replica.url + seriesPath);
        statuses.push(response.status);
        if (response.status === 429) expect(response.headers.get('retry-after')).toBe('2');
        await response.arrayBuffer();
      }
      expect(statuses).toEqual([status, status, status, 200, status, status, status, 200]);
      expect(replica.stats.faults.get(String(status) as '500' | '503' | '429')).toBe(6);
    }
  });

  it('resets the socket, or truncates the body under a full Content-Length', async () => {
    const reset = await serve({ tree: syntheticTree(), faults: { rateReset: 1, maxConsecutive: 1 } });
    await expect(fetch(reset.url + seriesPath)).rejects.toThrow();
    expect((await fetch(reset.url + seriesPath)).status).toBe(200);
    expect(reset.stats.faults.get('reset')).toBe(1);

    const truncate = await serve({ tree: syntheticTree(), faults: { rateTruncate: 1 } });
    const response = await fetch(truncate.url + seriesPath);
    expect(response.status).toBe(200);
    expect(Number(response.headers.get('content-length'))).toBe(
      Buffer.byteLength(syntheticTree().body(seriesPath) ?? ''),
    );
    await expect(response.arrayBuffer()).rejects.toThrow();
  });

  it('slows responses down', async () => {
    const replica = await serve({ tree: syntheticTree(), faults: { rateSlow: 1, slowMs: 120 } });
    const started = performance.now();
    expect((await fetch(replica.url + seriesPath)).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(110);
    expect(replica.stats.faults.get('slow')).toBe(1);
  });

  describe('per path', () => {
    const tree = recordedTree();
    const seasonPath = apiPath.calendar('fc520a5c-1a42-4cb4-915c-5885a173cd05');
    const classificationPath = apiPath.classification('6c24d47d-cb93-48e7-afbf-6a0389b829e4');
    const json = async (replica: Replica, path: string) => (await fetch(replica.url + path)).json() as Promise<unknown>;

    it('drift-type, drift-missing and bad-id corrupt the first item only', async () => {
      const replica = await serve({
        tree,
        faults: {
          perPath: {
            [seriesPath]: 'drift-type',
            [seasonPath]: 'drift-missing',
            [classificationPath]: { kind: 'bad-id', id: BAD_IDS.sql },
            [apiPath.seasons('a33f8b4a-2b22-41ce-8e7d-0aea08f0e176')]: 'bad-id',
            [apiPath.classification('443b426f-cc54-4d42-a05a-2da3c3059e26')]: 'drift-type',
          },
        },
      });
      const series = parse<SeriesItem[]>(tree, seriesPath);
      const driftedSeries = (await json(replica, seriesPath)) as unknown[];
      expect(driftedSeries[0]).toEqual({ ...series[0], name: 42 });
      expect(driftedSeries.slice(1)).toEqual(series.slice(1));

      const calendar = parse<Calendar>(tree, seasonPath);
      const drifted = (await json(replica, seasonPath)) as Calendar;
      expect(drifted.events[0]).not.toHaveProperty('uuid');
      expect(drifted.events[0]).toEqual(
        Object.fromEntries(Object.entries(calendar.events[0] ?? {}).filter(([k]) => k !== 'uuid')),
      );
      expect(drifted.events.slice(1)).toEqual(calendar.events.slice(1));
      expect(drifted.season).toEqual(calendar.season);

      const badDriver = (await json(replica, classificationPath)) as Classification;
      expect(badDriver.details[0]?.drivers[0]?.uuid).toBe("x'; DROP TABLE series;--");
      expect(badDriver.details.slice(1)).toEqual(parse<Classification>(tree, classificationPath).details.slice(1));

      const badSeason = (await json(replica, apiPath.seasons('a33f8b4a-2b22-41ce-8e7d-0aea08f0e176'))) as SeasonItem[];
      expect(badSeason[0]?.uuid).toBe('../../etc');
      expect(badSeason[1]?.uuid).toMatch(UUID_V4);

      const driftedDetail = (await json(
        replica,
        apiPath.classification('443b426f-cc54-4d42-a05a-2da3c3059e26'),
      )) as Classification;
      expect(driftedDetail.details[0]?.carNumber).toBe(42);
      expect(replica.stats.faults.get('drift-type')).toBe(2);
      expect(replica.stats.faults.get('bad-id')).toBe(2);
    });

    it('duplicate-item appends a copy of the first item: differing by default, exact when asked', async () => {
      const seasonsPath = apiPath.seasons('a33f8b4a-2b22-41ce-8e7d-0aea08f0e176');
      const replica = await serve({
        tree,
        faults: {
          perPath: {
            [seriesPath]: 'duplicate-item',
            [seasonsPath]: { kind: 'duplicate-item', identical: true },
            [classificationPath]: 'duplicate-item',
          },
        },
      });
      const series = parse<SeriesItem[]>(tree, seriesPath);
      expect(await json(replica, seriesPath)).toEqual([
        ...series,
        { ...series[0], name: `${series[0]!.name} (duplicate)` },
      ]);
      const seasons = parse<SeasonItem[]>(tree, seasonsPath);
      expect(await json(replica, seasonsPath)).toEqual([...seasons, seasons[0]]);
      const classification = parse<Classification>(tree, classificationPath);
      const served = (await json(replica, classificationPath)) as Classification;
      expect(served.details).toEqual([
        ...classification.details,
        { ...classification.details[0], laps: (classification.details[0]!.laps ?? 0) + 1 },
      ]);
      expect(served.retirements).toEqual(classification.retirements);
      expect(replica.stats.faults.get('duplicate-item')).toBe(3);
    });

    it('malformed-json and invalid-utf8 break the whole body', async () => {
      const calendarPath = apiPath.calendar('cf3f973d-8f82-4b01-a33f-a2ef1d08ae80');
      const replica = await serve({
        tree,
        faults: { perPath: { [seriesPath]: 'malformed-json', [calendarPath]: 'invalid-utf8' } },
      });
      const malformed = await fetchBytes(replica.url + seriesPath);
      expect(malformed.status).toBe(200);
      expect(Number(malformed.headers.get('content-length'))).toBe(malformed.bytes.length);
      expect(() => JSON.parse(malformed.bytes.toString())).toThrow(SyntaxError);

      const invalid = await fetchBytes(replica.url + calendarPath);
      expect(() => new TextDecoder('utf-8', { fatal: true }).decode(invalid.bytes)).toThrow(TypeError);
      const lenient = JSON.parse(invalid.bytes.toString('utf8')) as Calendar;
      expect(lenient.season.name).toMatch(/^\uFFFD\(\uFFFD/);
      expect(lenient.events).toEqual(parse<Calendar>(tree, calendarPath).events);
    });

    it('oversized pads to the size asked, 25 MiB by default, and stays valid JSON', async () => {
      const calendarPath = apiPath.calendar('cf3f973d-8f82-4b01-a33f-a2ef1d08ae80');
      const replica = await serve({
        tree,
        faults: { perPath: { [seriesPath]: 'oversized', [calendarPath]: { kind: 'oversized', bytes: 1_000_000 } } },
      });
      const big = await fetchBytes(replica.url + seriesPath);
      expect(big.bytes.length).toBe(OVERSIZED_DEFAULT_BYTES);
      expect(Number(big.headers.get('content-length'))).toBe(OVERSIZED_DEFAULT_BYTES);
      expect(JSON.parse(big.bytes.toString())).toEqual(parse(tree, seriesPath));
      expect((await fetchBytes(replica.url + calendarPath)).bytes.length).toBe(1_000_000);
    });

    it('404 and 500-always, whatever the tree holds', async () => {
      const stranger = apiPath.seasons('00000000-0000-4000-8000-000000000000');
      const replica = await serve({ tree, faults: { perPath: { [seriesPath]: '404', [stranger]: '500-always' } } });
      for (let i = 0; i < 5; i++) {
        expect((await fetch(replica.url + seriesPath)).status).toBe(404);
        expect((await fetch(replica.url + stranger)).status).toBe(500);
      }
      expect(replica.stats.faults.get('404')).toBe(5);
      expect(replica.stats.faults.get('500-always')).toBe(5);
    });

    it('says so when an item fault has no item to corrupt', async () => {
      const empty = apiPath.seasons('fb459032-a8e4-42bb-ac54-5c2f06dcea5a');
      const replica = await serve({ tree, faults: { perPath: { [empty]: 'drift-type' } } });
      const response = await fetchBytes(replica.url + empty);
      expect(response.status).toBe(500);
      expect(response.bytes.toString()).toMatch(/non-empty list/);
    });
  });
});
