/** The parent's handle on a replica host process (bench/replica-host.ts). */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ExpectedCounts, SyntheticOptions } from '../test/replica/index.js';
import { cleanEnv, REPO_ROOT } from './harness.js';
import type { HostCommand, StartReply } from './replica-host.js';

export interface ReplicaHost extends StartReply {
  readonly tree: Partial<SyntheticOptions>;
  /** The oracle; throws for a lazy host. */
  expectedCounts(): ExpectedCounts;
  /** Generated bodies are in the replica's cache again (after a mutation). */
  warm(): Promise<void>;
  requests(): Promise<number>;
  /** Requests received so far, by endpoint. */
  requestsByEndpoint(): Promise<Record<'series' | 'seasons' | 'calendar' | 'classification' | 'other', number>>;
  /** GETs received so far (the index the next one's arrival time will have). */
  getCount(): Promise<number>;
  /** Arrival times (Date.now(), ms) of the GETs received, from the `from`-th one on, in order. */
  getTimes(from: number): Promise<number[]>;
  /** Changes `share` of all payloads upstream; returns how many rows a crawl should update. */
  mutate(share: number): Promise<{ changed: number; expectedUpdated: Record<string, number> }>;
  unmutate(): Promise<void>;
  /**
   * Once watching: `arrived` resolves with performance.now() (this process's clock) when the next
   * request (to `endpoint`, if given) reaches the replica. One watch at a time.
   */
  firstRequest(endpoint?: 'series' | 'seasons' | 'calendar' | 'classification'): Promise<{ arrived: Promise<number> }>;
  close(): Promise<void>;
}

export async function startReplicaHost(
  tree: Partial<SyntheticOptions>,
  { lazy = false }: { lazy?: boolean } = {},
): Promise<ReplicaHost> {
  const tsx = import.meta.resolve('tsx');
  const child: ChildProcess = fork(fileURLToPath(new URL('./replica-host.ts', import.meta.url)), [], {
    cwd: REPO_ROOT,
    execArgv: ['--import', tsx],
    env: cleanEnv(),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let nextId = 0;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let onFirst: ((at: number) => void) | undefined;
  child.on('message', (raw: { id?: number; result?: unknown; error?: string; event?: string }) => {
    if (raw.event === 'first') {
      const at = performance.now();
      onFirst?.(at);
      return;
    }
    const w = waiting.get(raw.id!);
    waiting.delete(raw.id!);
    if (raw.error) w?.reject(new Error(`replica host: ${raw.error}`));
    else w?.resolve(raw.result);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', (code) => {
    for (const w of waiting.values()) w.reject(new Error(`replica host exited (${code})`));
    waiting.clear();
  });
  const call = <T>(command: HostCommand): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, ...command });
    });

  const started = await call<StartReply>({ cmd: 'start', tree, lazy });
  return {
    ...started,
    tree,
    expectedCounts: () => {
      if (!started.expected) throw new Error('a lazy replica host has no expected counts');
      return started.expected;
    },
    warm: async () => void (await call({ cmd: 'warm' })),
    requests: async () => (await call<{ total: number }>({ cmd: 'stats' })).total,
    requestsByEndpoint: async () =>
      (
        await call<{ byEndpoint: Record<'series' | 'seasons' | 'calendar' | 'classification' | 'other', number> }>({
          cmd: 'stats',
        })
      ).byEndpoint,
    getCount: async () => (await call<{ count: number }>({ cmd: 'getTimes', from: Number.MAX_SAFE_INTEGER })).count,
    getTimes: async (from) => (await call<{ times: number[] }>({ cmd: 'getTimes', from })).times,
    mutate: (share) => call({ cmd: 'mutate', share }),
    unmutate: async () => void (await call({ cmd: 'unmutate' })),
    firstRequest: async (endpoint) => {
      const arrived = new Promise<number>((resolve) => (onFirst = resolve));
      await call({ cmd: 'watchFirst', ...(endpoint ? { endpoint } : {}) });
      return { arrived };
    },
    close: async () => {
      if (child.connected) child.disconnect();
      await exited;
    },
  };
}
