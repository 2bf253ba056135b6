/**
 * How a cache record stores its body (see cache.ts for the record and its header): gzip-compressed
 * with node's zlib, or, below DEFAULTS.cacheCompressMinBytes, as it came.
 *
 * Why gzip (measured on the bench tree's 1,693 bodies, 62 MB; see the README's Performance
 * section): gzip level 6 stores 16.4 % of the bytes and decompresses at 141 MB/s; brotli quality 4
 * 15.6 % at 97 MB/s, quality 6 14.5 % at 83 MB/s. A record is written once and read by every warm
 * crawl, so the fastest read wins for a few per cent of size. Node 20 has no zstd.
 *
 * Why small bodies are not compressed: a record under a file system block (4 KiB) takes one block
 * either way, so compressing it saves no disk, and gzip's 18 bytes of framing make a tiny body
 * larger (most bodies of the recorded tree are 31-byte empty lists). Such a record is written as
 * records of earlier versions were (no `encoding`), and read by the same path.
 *
 * Why decompression is synchronous up to DEFAULTS.syncInflateMaxBytes: zlib's asynchronous
 * one-shot call builds a stream around each buffer and hands it to libuv's thread pool; for bodies
 * of ~40 KB that costs more than the inflate itself (bench tree, all 1,693 records: 430–780 ms of
 * CPU async, 190–300 ms synchronously; uncompressed 100–140 ms). The output buffer is sized from
 * the header's `bytes`, so the body is inflated into one allocation and not copied (zlib's own
 * chunks are 16 KiB each, garbage that held 15–28 MB of a warm crawl's memory). Larger bodies,
 * or a header without a plausible length, go to the thread pool so the event loop goes on.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { DEFAULTS } from '../config.js';
import { errorCode } from '../errors.js';

export const RECORD_ENCODING = 'gzip';

const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);

/** What a record's payload holds: `encoding` absent for a body stored as it came. */
export interface EncodedBody {
  readonly encoding: typeof RECORD_ENCODING | undefined;
  readonly stored: Buffer;
}

export async function encodeBody(
  body: Buffer,
  compressMinBytes: number = DEFAULTS.cacheCompressMinBytes,
): Promise<EncodedBody> {
  if (body.length < compressMinBytes) return { encoding: undefined, stored: body };
  return { encoding: RECORD_ENCODING, stored: await gzip(body, { level: 6 }) };
}

export type DecodedBody =
  | { readonly state: 'body'; readonly body: Buffer }
  | { readonly state: 'damaged'; readonly reason: string };

/**
 * The body a record's payload holds: `encoding`, `stored` and `bytes` as its header gives them
 * (`encoding` and `stored` absent in a record stored as it came). A payload that is not `stored`
 * bytes long was cut short; one that does not decompress is damaged. `bytes` only sizes the
 * output; the caller checks the body against it.
 */
export async function decodeBody(
  payload: Buffer,
  encoding: unknown,
  stored: unknown,
  bytes: unknown,
): Promise<DecodedBody> {
  if (encoding === undefined) return { state: 'body', body: payload };
  if (encoding !== RECORD_ENCODING) return { state: 'damaged', reason: `unknown encoding ${JSON.stringify(encoding)}` };
  if (stored !== payload.length)
    return { state: 'damaged', reason: `cut short: ${payload.length} of ${String(stored)} stored bytes` };
  try {
    const sync = typeof bytes === 'number' && Number.isInteger(bytes) && bytes >= 0;
    return {
      state: 'body',
      body:
        sync && bytes <= DEFAULTS.syncInflateMaxBytes
          ? // One spare byte: inflate ends the stream with output room left, so no second chunk is made.
            zlib.gunzipSync(payload, { chunkSize: Math.max(bytes + 1, zlib.constants.Z_MIN_CHUNK) })
          : await gunzip(payload),
    };
  } catch (error) {
    return { state: 'damaged', reason: `does not decompress (${errorCode(error) ?? String(error)})` };
  }
}
