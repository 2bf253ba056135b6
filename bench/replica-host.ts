/**
 * The synthetic replica in a process of its own (forked by bench/replica.ts, run under tsx): the
 * measured crawler gets the event loop of its process to itself, and the replica's body generation
 * runs on the other core. Commands arrive over IPC:
 *
 *   start {tree,lazy} build the tree, listen on a free port, walk it and GET every path once (not
 *                     when lazy: for trees too big to generate whole) → {url, expected, paths}
 *   warm              GET every path of the tree once, so bodies are generated before a measurement
 *   stats             requests received so far → {total, byEndpoint}
 *   getTimes {from}   arrival times (Date.now()) of the GETs received, from the from-th on → {count, times}
 *   mutate {share}    change one classification result in that share of all payloads → {changed}
 *   unmutate          serve the original bodies again
 *   watchFirst        report {event: 'first', endpoint} as soon as the next request (to `endpoint`,
 *                     if given) arrives
 */
import http from 'node:http';
import {
  apiPath,
  expectedCounts,
  startReplica,
  syntheticTree,
  type Calendar,
  type Classification,
  type ExpectedCounts,
  type Replica,
  type ReplicaTree,
  type SeasonItem,
  type SeriesItem,
  type SyntheticOptions,
} from '../test/replica/index.js';

export type HostCommand =
  | { cmd: 'start'; tree: Partial<SyntheticOptions>; lazy: boolean }
  | { cmd: 'warm' }
  | { cmd: 'stats' }
  | { cmd: 'getTimes'; from: number }
  | { cmd: 'mutate'; share: number }
  | { cmd: 'unmutate' }
  | { cmd: 'watchFirst'; endpoint?: 'series' | 'seasons' | 'calendar' | 'classification' };

export interface StartReply {
  readonly url: string;
  /** The replica's oracle for this tree; undefined for a lazy host. */
  readonly expected: ExpectedCounts | undefined;
  readonly paths: number;
  readonly classificationPaths: number;
  readonly bodyBytes: number;
}

let tree: ReplicaTree | undefined;
let replica: Replica | undefined;
let paths: { all: string[]; classification: string[] } = { all: [], classification: [] };
let watcher: NodeJS.Timeout | undefined;

/** The paths a complete crawl fetches, in crawl order. */
function walk(t: ReplicaTree): { all: string[]; classification: string[] } {
  const all: string[] = [];
  const classification: string[] = [];
  const get = <T>(path: string): T => {
    const text = t.body(path);
    if (text === undefined) throw new Error(`replica host: the tree has no ${path}`);
    all.push(path);
    return JSON.parse(text) as T;
  };
  for (const series of get<SeriesItem[]>(apiPath.series())) {
    for (const season of get<SeasonItem[]>(apiPath.seasons(series.uuid))) {
      for (const event of get<Calendar>(apiPath.calendar(season.uuid)).events) {
        for (const session of event.sessions) {
          if (session.hasResults !== true) continue;
          const path = apiPath.classification(session.uuid);
          all.push(path);
          classification.push(path);
        }
      }
    }
  }
  return { all, classification };
}

async function warm(url: string, list: readonly string[]): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  let next = 0;
  let bytes = 0;
  const worker = async (): Promise<void> => {
    while (next < list.length) {
      const path = list[next++]!;
      // Not `bytes += await …`: that reads `bytes` before the await, losing the other workers' additions.
      const received = await new Promise<number>((resolve, reject) => {
        http
          .get(url + path, { agent }, (res) => {
            let n = 0;
            res.on('data', (chunk: Buffer) => (n += chunk.length));
            res.on('end', () => resolve(n));
            res.on('error', reject);
          })
          .on('error', reject);
      });
      bytes += received;
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  agent.destroy();
  return bytes;
}

async function handle(message: HostCommand): Promise<unknown> {
  switch (message.cmd) {
    case 'start': {
      tree = syntheticTree(message.tree);
      // Big enough for every body of the largest tree the bench uses: a warmed replica never regenerates.
      replica = await startReplica({ tree, cacheBytes: 4 * 1024 ** 3 });
      if (message.lazy)
        return {
          url: replica.url,
          expected: undefined,
          paths: 0,
          classificationPaths: 0,
          bodyBytes: 0,
        } satisfies StartReply;
      paths = walk(tree);
      const bodyBytes = await warm(replica.url, paths.all);
      const reply: StartReply = {
        url: replica.url,
        expected: expectedCounts(tree),
        paths: paths.all.length,
        classificationPaths: paths.classification.length,
        bodyBytes,
      };
      return reply;
    }
    case 'warm':
      return { bytes: await warm(replica!.url, paths.all) };
    case 'stats':
      return { total: replica!.stats.total, byEndpoint: { ...replica!.stats.byEndpoint } };
    case 'getTimes': {
      const times = replica!.stats.getTimes;
      return { count: times.length, times: times.slice(message.from) };
    }
    case 'mutate': {
      const count = Math.max(1, Math.round(paths.all.length * message.share));
      if (count > paths.classification.length)
        throw new Error(`cannot change ${count} payloads: only ${paths.classification.length} classifications`);
      const step = paths.classification.length / count;
      for (let i = 0; i < count; i++) {
        // One result of one car: exactly one classifications row changes per payload.
        tree!.mutate<Classification>(paths.classification[Math.floor(i * step)]!, (payload) => {
          const detail = payload.details[0]!;
          detail.laps = (detail.laps ?? 0) + 1000;
          return payload;
        });
      }
      return { changed: count, expectedUpdated: { classifications: count } };
    }
    case 'unmutate':
      tree!.unmutateAll();
      return {};
    case 'watchFirst': {
      const count = () => (message.endpoint ? replica!.stats.byEndpoint[message.endpoint] : replica!.stats.total);
      const before = count();
      clearInterval(watcher);
      watcher = setInterval(() => {
        if (count() > before) {
          clearInterval(watcher);
          process.send!({ event: 'first', endpoint: message.endpoint });
        }
      }, 1);
      return {};
    }
  }
}

process.on('message', (raw: { id: number } & HostCommand) => {
  handle(raw).then(
    (result) => process.send!({ id: raw.id, result }),
    (error: unknown) =>
      process.send!({ id: raw.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  );
});
process.on('disconnect', () => {
  void replica?.close().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
