/**
 * A purpose-built hostile API for the network tests: it serves a replica tree's bodies, but on
 * chosen paths it misbehaves in ways the replica's fault injector does not — redirects to another
 * host and same-origin redirect chains, one invalid UTF-8 byte in one name, bodies cut short under
 * clean framing (chunked, or a Content-Length matching the cut), an HTML error page, an empty
 * body, a gzip-encoded body that is not gzip, another parent's body, schema-breaking JSON, a body
 * trickled out a byte at a time, 429s asking for a wait, an ETag of raw bytes outside ASCII,
 * compressed bodies (sound, cut short under a matching Content-Length, cut short on the wire, or
 * labelled with an encoding they are not in), redirects within the origin to another path, and a
 * 304 to an unconditional request.
 */
import { createServer, type ServerResponse } from 'node:http';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import type { ReplicaTree } from '../replica/index.js';

export type Hostility =
  /** 302 to the same path on `foreignUrl` (another origin serving valid, foreign JSON). */
  | { readonly kind: 'redirect-foreign' }
  /** `hops` same-origin 302s (`?hop=1`, `?hop=2`…), then the body. */
  | { readonly kind: 'redirect-chain'; readonly hops: number }
  /** Byte 0xFF put into the `name` of list item `item` (a series or season list). */
  | { readonly kind: 'invalid-utf8-name'; readonly item: number }
  /** The first `times` answers (Infinity: all) are the first half of the body, chunked, ending cleanly. */
  | { readonly kind: 'cut-chunked'; readonly times: number }
  /** The first `times` answers are the first half of the body with a Content-Length of that half. */
  | { readonly kind: 'cut-length'; readonly times: number }
  /** The first `times` answers are a proxy's HTML error page, status 200. */
  | { readonly kind: 'html'; readonly times: number }
  /** The first `times` answers are an empty 200. */
  | { readonly kind: 'empty'; readonly times: number }
  /** The first `times` answers say `Content-Encoding: gzip` over bytes that are not gzip. */
  | { readonly kind: 'gzip-garbage'; readonly times: number }
  /** The tree's body of another path (valid JSON of the same endpoint, about another parent), status 200. */
  | { readonly kind: 'body-of'; readonly path: string }
  /** Well-formed JSON that fails the endpoint's schema. */
  | { readonly kind: 'wrong-json' }
  /** The body, chunked, one byte every `intervalMs` (default 1000), on every request. */
  | { readonly kind: 'trickle'; readonly intervalMs?: number }
  /** The first `times` answers (Infinity: all) are a 429 with `Retry-After: <seconds>`. */
  | { readonly kind: 'retry-after'; readonly seconds: number; readonly times: number }
  /**
   * The body with `ETag: <bytes>`, byte for byte (bytes ≥ 0x80 and control bytes included); a 304
   * only to an If-None-Match of exactly those bytes.
   */
  | { readonly kind: 'etag'; readonly bytes: readonly number[] }
  /** The body compressed in `encoding` (deflate-raw: no zlib wrapper), its Content-Length the compressed size. */
  | { readonly kind: 'compressed'; readonly encoding: Compression }
  /**
   * The first `times` answers are compressed and cut to 70 %: `length`, under a Content-Length of
   * the cut (clean framing); `wire`, under the whole length, the connection then closed.
   */
  | {
      readonly kind: 'compressed-cut';
      readonly encoding: Compression;
      readonly how: 'length' | 'wire';
      readonly times: number;
    }
  /** The plain body labelled `Content-Encoding: <encoding>`, on every request. */
  | { readonly kind: 'encoding-lie'; readonly encoding: Compression }
  /** 308 to `location` (a path on the same origin, or a URL), on every request. */
  | { readonly kind: 'redirect-to'; readonly location: string }
  /** A 304 with no body, whatever the request's conditions. */
  | { readonly kind: 'not-modified' };

export type Compression = 'gzip' | 'deflate' | 'deflate-raw' | 'br';

const COMPRESS: Readonly<Record<Compression, (body: Buffer) => Buffer>> = {
  gzip: gzipSync,
  deflate: deflateSync,
  'deflate-raw': deflateRawSync,
  br: brotliCompressSync,
};
/** What each compression is called on the wire: raw deflate is sent as `deflate`, as some servers do. */
const ENCODING_HEADER: Readonly<Record<Compression, string>> = {
  gzip: 'gzip',
  deflate: 'deflate',
  'deflate-raw': 'deflate',
  br: 'br',
};

export interface HostileOptions {
  readonly tree: ReplicaTree;
  readonly hostile?: Readonly<Record<string, Hostility>>;
  /** Origin the redirect-foreign hostility sends to. */
  readonly foreignUrl?: string;
  /** Other trees served under a path prefix (`/other` → `/other/widgets/…`), with no hostility. */
  readonly mounts?: Readonly<Record<string, ReplicaTree>>;
}

export interface HostileServer {
  readonly url: string;
  /** GET requests received, by path (query left off). */
  readonly gets: Map<string, number>;
  /** If-None-Match values received, as raw bytes in hex, by path. */
  readonly ifNoneMatch: Map<string, string[]>;
  /** 304s sent, by path. */
  readonly notModified: Map<string, number>;
  /** Request headers of the latest GET, by path (query left off). */
  readonly lastHeaders: Map<string, Readonly<Record<string, string | string[] | undefined>>>;
  close(): Promise<void>;
}

export const PROXY_PAGE =
  '<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>';

export async function startHostileServer(options: HostileOptions): Promise<HostileServer> {
  const gets = new Map<string, number>();
  const ifNoneMatch = new Map<string, string[]>();
  const notModified = new Map<string, number>();
  const lastHeaders = new Map<string, Readonly<Record<string, string | string[] | undefined>>>();
  const timers = new Set<NodeJS.Timeout>();
  let url = '';

  const server = createServer((req, res) => {
    const [requested = '/', query = ''] = (req.url ?? '/').split('?', 2);
    const mount = Object.keys(options.mounts ?? {}).find((prefix) => requested.startsWith(`${prefix}/`));
    const tree = mount === undefined ? options.tree : options.mounts![mount]!;
    const path = mount === undefined ? requested : requested.slice(mount.length);
    // Counted by the path as requested (a mounted tree's with its prefix).
    const seen = (gets.get(requested) ?? 0) + 1;
    if (req.method === 'GET') gets.set(requested, seen);
    if (req.method === 'GET') lastHeaders.set(requested, { ...req.headers });
    // Node's parser hands header values over as latin1 text: one char per byte, so the bytes come back exactly.
    const condition = req.rawHeaders.find((_, i, all) => i % 2 === 1 && all[i - 1]!.toLowerCase() === 'if-none-match');
    if (condition !== undefined)
      ifNoneMatch.set(requested, [
        ...(ifNoneMatch.get(requested) ?? []),
        Buffer.from(condition, 'latin1').toString('hex'),
      ]);
    // A trailing slash names the same resource (a redirect may add one).
    const body = req.method === 'GET' ? (tree.body(path) ?? tree.body(path.replace(/\/+$/, ''))) : undefined;
    const hostility = mount === undefined ? options.hostile?.[path] : undefined;
    if (body === undefined) return send(res, 404, Buffer.from('{"message":"Not found"}'));
    const whole = Buffer.from(body);
    const half = whole.subarray(0, Math.floor(whole.length / 2));
    const within = (times: number) => seen <= times;
    switch (hostility?.kind) {
      case undefined:
        return send(res, 200, whole);
      case 'redirect-foreign':
        return redirect(res, `${options.foreignUrl}${path}`);
      case 'redirect-chain': {
        const hop = Number(/hop=(\d+)/.exec(query)?.[1] ?? 0);
        if (hop < hostility.hops) return redirect(res, `${path}?hop=${hop + 1}`);
        return send(res, 200, whole);
      }
      case 'invalid-utf8-name': {
        const list = JSON.parse(body) as { name: string }[];
        list[hostility.item]!.name = `${list[hostility.item]!.name}\u0001`;
        // The control character is a placeholder only this name holds, swapped for the raw byte.
        const text = Buffer.from(JSON.stringify(list));
        const at = text.indexOf(Buffer.from('\\u0001'));
        return send(res, 200, Buffer.concat([text.subarray(0, at), Buffer.from([0xff]), text.subarray(at + 6)]));
      }
      case 'cut-chunked':
        if (!within(hostility.times)) return send(res, 200, whole);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(half);
        return void res.end();
      case 'cut-length':
        return send(res, 200, within(hostility.times) ? half : whole);
      case 'html':
        if (!within(hostility.times)) return send(res, 200, whole);
        res.writeHead(200, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(PROXY_PAGE) });
        return void res.end(PROXY_PAGE);
      case 'empty':
        return send(res, 200, within(hostility.times) ? Buffer.alloc(0) : whole);
      case 'gzip-garbage': {
        if (!within(hostility.times)) return send(res, 200, whole);
        const garbage = Buffer.from('this is not gzip at all');
        res.writeHead(200, {
          'content-type': 'application/json',
          'content-encoding': 'gzip',
          'content-length': garbage.length,
        });
        return void res.end(garbage);
      }
      case 'body-of':
        return send(res, 200, Buffer.from(options.tree.body(hostility.path) ?? ''));
      case 'wrong-json':
        return send(res, 200, Buffer.from('{"status":"ok","data":null}'));
      case 'retry-after':
        if (!within(hostility.times)) return send(res, 200, whole);
        res.writeHead(429, {
          'retry-after': String(hostility.seconds),
          'content-type': 'application/json',
          'content-length': 2,
        });
        return void res.end('{}');
      case 'etag': {
        const etag = Buffer.from(hostility.bytes);
        if (condition !== undefined && Buffer.from(condition, 'latin1').equals(etag)) {
          notModified.set(path, (notModified.get(path) ?? 0) + 1);
          res.writeHead(304, { etag: etag.toString('latin1') });
          return void res.end();
        }
        if (etag.some((byte) => (byte < 0x20 && byte !== 0x09) || byte === 0x7f)) {
          // Node's server refuses such a header: the answer is written to the socket as raw bytes.
          const head = Buffer.concat([
            Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${whole.length}\r\n`),
            Buffer.from('connection: close\r\netag: '),
            etag,
            Buffer.from('\r\n\r\n'),
          ]);
          return void res.socket?.end(Buffer.concat([head, whole]));
        }
        res.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': whole.length,
          etag: etag.toString('latin1'),
        });
        return void res.end(whole);
      }
      case 'compressed': {
        const packed = COMPRESS[hostility.encoding](whole);
        return send(res, 200, packed, { 'content-encoding': ENCODING_HEADER[hostility.encoding] });
      }
      case 'compressed-cut': {
        const packed = COMPRESS[hostility.encoding](whole);
        const encoding = { 'content-encoding': ENCODING_HEADER[hostility.encoding] };
        if (!within(hostility.times)) return send(res, 200, packed, encoding);
        const cut = packed.subarray(0, Math.floor(packed.length * 0.7));
        if (hostility.how === 'length') return send(res, 200, cut, encoding);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': packed.length, ...encoding });
        res.write(cut);
        const timer = setTimeout(() => res.socket?.destroy(), 50);
        timers.add(timer);
        return;
      }
      case 'encoding-lie':
        return send(res, 200, whole, { 'content-encoding': ENCODING_HEADER[hostility.encoding] });
      case 'redirect-to':
        res.writeHead(308, { location: hostility.location, 'content-length': 0 });
        return void res.end();
      case 'not-modified':
        notModified.set(path, (notModified.get(path) ?? 0) + 1);
        res.writeHead(304);
        return void res.end();
      case 'trickle': {
        res.writeHead(200, { 'content-type': 'application/json' });
        let sent = 0;
        const timer = setInterval(() => {
          if (res.destroyed || sent >= whole.length) {
            clearInterval(timer);
            timers.delete(timer);
            if (!res.destroyed) res.end();
            return;
          }
          res.write(whole.subarray(sent, sent + 1));
          sent += 1;
        }, hostility.intervalMs ?? 1000);
        timers.add(timer);
        return;
      }
    }
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    gets,
    ifNoneMatch,
    notModified,
    lastHeaders,
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const timer of timers) clearInterval(timer);
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function send(res: ServerResponse, status: number, body: Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': body.length,
    ...headers,
  });
  res.end(body);
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { location, 'content-length': 0 });
  res.end();
}
