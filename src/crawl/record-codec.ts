/**
 * How a cache record stores its body (see cache.ts for the record and its header): compressed
 * with gzip from node's zlib, on libuv's thread pool so the event loop goes on meanwhile.
 *
 * Why gzip (measured on the bench tree's 1,693 bodies, 62 MB; see the README's Performance
 * section): gzip level 6 stores 16.4 % of the bytes and decompresses at 141 MB/s; brotli quality 4
 * 15.6 % at 97 MB/s, quality 6 14.5 % at 83 MB/s. A record is written once and read by every warm
 * crawl, so the fastest read wins for a few per cent of size. Node 20 has no zstd.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { errorCode } from '../errors.js';

export const RECORD_ENCODING = 'gzip';

const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);

export function encodeBody(body: Buffer): Promise<Buffer> {
  return gzip(body, { level: 6 });
}

export type DecodedBody =
  | { readonly state: 'body'; readonly body: Buffer }
  | { readonly state: 'damaged'; readonly reason: string };

/**
 * The body a record's payload holds: `encoding` and `stored` as its header gives them (both
 * absent in records of earlier versions, which hold the body as it came). A payload that is not
 * `stored` bytes long was cut short; one that does not decompress is damaged.
 */
export async function decodeBody(payload: Buffer, encoding: unknown, stored: unknown): Promise<DecodedBody> {
  if (encoding === undefined) return { state: 'body', body: payload };
  if (encoding !== RECORD_ENCODING) return { state: 'damaged', reason: `unknown encoding ${JSON.stringify(encoding)}` };
  if (stored !== payload.length)
    return { state: 'damaged', reason: `cut short: ${payload.length} of ${String(stored)} stored bytes` };
  try {
    return { state: 'body', body: await gunzip(payload) };
  } catch (error) {
    return { state: 'damaged', reason: `does not decompress (${errorCode(error) ?? String(error)})` };
  }
}
