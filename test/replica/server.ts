import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  FAILURE_BODIES,
  FaultInjector,
  NOT_FOUND_BODY,
  applyPathFault,
  pathFaultKind,
  type FaultKind,
  type FaultOptions,
  type FaultedResponse,
} from './faults.js';
import { ByteLru } from './lru.js';
import { routeOf, type Endpoint, type ReplicaTree } from './tree.js';

export interface ReplicaOptions {
  tree: ReplicaTree;
  faults?: FaultOptions;
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** Bound of the cache of encoded bodies. Default 64 MiB. */
  cacheBytes?: number;
  /**
   * Send `ETag` and `Last-Modified` with every body and answer `304` to a matching
   * `If-None-Match` (or, without it, `If-Modified-Since`). Default true; false plays a server
   * without validators.
   */
  validators?: boolean;
}

export interface ReplicaStats {
  /** Requests received, faulted ones included. */
  total: number;
  byPath: Map<string, number>;
  /** GET requests only, by path: what a crawl fetched. */
  getsByPath: Map<string, number>;
  /** When each GET arrived (Date.now()), in order: the request log rates are measured from. */
  getTimes: number[];
  byEndpoint: Record<Endpoint | 'other', number>;
  /** Faults actually injected, by kind. */
  faults: Map<FaultKind, number>;
  /** GETs answered with a full body (200), and with `304 Not Modified`. */
  fullBodies: number;
  notModified: number;
}

export interface Replica {
  /** `http://127.0.0.1:PORT`, without a trailing slash. */
  readonly url: string;
  readonly port: number;
  readonly stats: ReplicaStats;
  /** Headers of the latest request, names lower-cased as node delivers them. */
  readonly lastHeaders: IncomingHttpHeaders | undefined;
  close(): Promise<void>;
}

const JSON_TYPE = 'application/json; charset=utf-8';

function send(res: ServerResponse, { status, chunks }: FaultedResponse, headers: Record<string, string> = {}): void {
  const length = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': length, ...headers });
  for (const chunk of chunks.slice(0, -1)) res.write(chunk);
  res.end(chunks.at(-1));
}

/** Announces the whole body, sends half of it, then drops the connection. */
function sendTruncated(res: ServerResponse, { status, chunks }: FaultedResponse): void {
  const body = Buffer.concat(chunks);
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': body.length });
  res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.destroy());
}

/** RFC 9110: If-None-Match decides when present; otherwise If-Modified-Since (whole seconds). */
function isNotModified(headers: IncomingHttpHeaders, etag: string, since: Date): boolean {
  const noneMatch = headers['if-none-match'];
  if (noneMatch !== undefined)
    return noneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag || tag.trim() === '*');
  const modifiedSince = Date.parse(headers['if-modified-since'] ?? '');
  return Number.isFinite(modifiedSince) && since.getTime() <= modifiedSince;
}

export async function startReplica(options: ReplicaOptions): Promise<Replica> {
  const { tree } = options;
  const injector = options.faults && new FaultInjector(options.faults);
  const cache = new ByteLru(options.cacheBytes ?? 64 * 1024 * 1024);
  let cachedRevision = tree.revision;
  let lastHeaders: IncomingHttpHeaders | undefined;
  const stats: ReplicaStats = {
    total: 0,
    byPath: new Map(),
    getsByPath: new Map(),
    getTimes: [],
    byEndpoint: { series: 0, seasons: 0, calendar: 0, classification: 0, other: 0 },
    faults: new Map(),
    fullBodies: 0,
    notModified: 0,
  };
  const validators = options.validators ?? true;
  // Per path: the ETag of the body last served and since when it is served (its Last-Modified).
  const versions = new Map<string, { etag: string; since: Date }>();
  const etags = new WeakMap<Buffer, string>();
  const versionOf = (path: string, body: Buffer): { etag: string; since: Date } => {
    // Hashed once per encoded body (the LRU hands out the same Buffer until the tree changes).
    let etag = etags.get(body);
    if (etag === undefined) {
      etag = `"${createHash('sha1').update(body).digest('base64url').slice(0, 20)}"`;
      etags.set(body, etag);
    }
    let version = versions.get(path);
    if (version?.etag !== etag) {
      // HTTP dates have whole seconds: a body changed within the second must still look newer.
      const since = new Date(Math.max(Math.floor(Date.now() / 1000) * 1000, (version?.since.getTime() ?? 0) + 1000));
      version = { etag, since };
      versions.set(path, version);
    }
    return version;
  };
  const countFault = (kind: FaultKind): void => {
    stats.faults.set(kind, (stats.faults.get(kind) ?? 0) + 1);
  };

  const encoded = (path: string): Buffer | null => {
    if (tree.revision !== cachedRevision) {
      cache.clear();
      cachedRevision = tree.revision;
    }
    let body = cache.get(path);
    if (body === undefined) {
      const text = tree.body(path);
      body = text === undefined ? null : Buffer.from(text);
      cache.set(path, body);
    }
    return body;
  };

  const respond = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    stats.total++;
    stats.byPath.set(path, (stats.byPath.get(path) ?? 0) + 1);
    if (req.method === 'GET') {
      stats.getsByPath.set(path, (stats.getsByPath.get(path) ?? 0) + 1);
      stats.getTimes.push(Date.now());
    }
    stats.byEndpoint[routeOf(path)?.endpoint ?? 'other']++;
    lastHeaders = req.headers;

    const plan = injector?.plan(path);
    if (plan && plan.delayMs > 0) {
      countFault('slow');
      await sleep(plan.delayMs);
    }
    const failure = plan?.failure;
    if (failure !== undefined) countFault(failure);
    if (failure === 'reset') {
      req.socket.destroy();
      return;
    }
    if (failure === '500' || failure === '503' || failure === '429') {
      const retryAfter: Record<string, string> =
        failure === '429' ? { 'retry-after': String(injector?.retryAfterSeconds ?? 1) } : {};
      send(res, { status: Number(failure), chunks: [FAILURE_BODIES[failure]] }, retryAfter);
      return;
    }

    const body = req.method === 'GET' ? encoded(path) : null;
    let response: FaultedResponse =
      body === null ? { status: 404, chunks: [NOT_FOUND_BODY] } : { status: 200, chunks: [body] };
    const pathFault = plan?.pathFault;
    if (pathFault !== undefined) {
      const kind = pathFaultKind(pathFault);
      // Faults that rewrite a body need one; status faults apply to any path.
      const text = body === null ? undefined : body.toString('utf8');
      if (kind === '404' || kind === '500-always' || text !== undefined) {
        countFault(kind);
        response = applyPathFault(pathFault, text ?? '');
      }
    }
    let headers: Record<string, string> = {};
    if (validators && response.status === 200 && pathFault === undefined && body !== null) {
      const { etag, since } = versionOf(path, body);
      headers = { etag, 'last-modified': since.toUTCString() };
      if (isNotModified(req.headers, etag, since) && failure !== 'truncate') {
        stats.notModified++;
        res.writeHead(304, headers);
        res.end();
        return;
      }
    }
    if (req.method === 'GET' && response.status === 200) stats.fullBodies++;
    if (failure === 'truncate') sendTruncated(res, response);
    else send(res, response, headers);
  };

  const server = createServer((req, res) => {
    respond(req, res).catch((error: unknown) => {
      // A broken replica must be loud in the test that hit it, not a hang.
      const message = error instanceof Error ? error.message : String(error);
      if (!res.headersSent)
        send(res, { status: 500, chunks: [Buffer.from(JSON.stringify({ message: `replica: ${message}` }))] });
      else res.destroy();
    });
  });
  // Longer than typical client idle timeouts, so clients, not the replica, close idle sockets.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${host}:${port}`,
    port,
    stats,
    get lastHeaders() {
      return lastHeaders;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
