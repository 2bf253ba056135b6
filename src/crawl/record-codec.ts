/**
 * How a cache record stores its body (see cache.ts for the record and its header): deflate-compressed
 * (zlib format, level 9) with a preset dictionary of its endpoint (record-dictionaries.ts), or,
 * below DEFAULTS.cacheCompressMinBytes, as it came. Records of earlier versions are read as they
 * were written: gzip (`"encoding":"gzip"`), or as the body came (no `encoding`).
 *
 * Why deflate with a dictionary (issue 14, measured with `npx tsx bench/record-encodings.ts`; see
 * the README's Performance section, *Disk*): what took the blocks was a few hundred bytes per
 * record. The live-shaped synthetic tree's classifications (~21 KB) gzip to ~3.8 KB, and with
 * their header line over half of them went just past one 4 KiB block. On its 3,946 bodies (86.8
 * MB), then on the 25 recorded bodies of the real API (test/replica/fixtures): bytes stored, the
 * records' 4 KiB blocks with their headers, CPU to inflate all synthetic ones (load average ~13):
 *
 *   gzip level 6 (earlier versions)   17.3 %   29.3 % in blocks   real 21.6 %   364 ms
 *   deflate level 9                   17.0 %   24.9 % in blocks   real 21.3 %   287 ms
 *   brotli quality 6, mode text       15.5 %   18.8 % in blocks   real 20.0 %   385 ms
 *   deflate level 9 + dictionary      15.2 %   18.8 % in blocks   real 20.5 %   376 ms
 *
 * A dictionary saves the first item's field names and URL templates, ~400 bytes a classification,
 * real or synthetic alike: every synthetic classification now fits in one block. Brotli stores as
 * little but inflated up to 12 % slower and writes 1.8× slower (quality 11: 14.1 %, ~100× slower
 * to write); node 20 has no zstd, and its brotli takes no custom dictionary.
 *
 * Why the zlib format and not raw deflate: its 6 bytes carry the dictionary's Adler-32, so a
 * record inflated with other bytes than it was written with fails as "does not decompress"
 * instead of producing a body that only the SHA-256 would reject.
 *
 * Why small bodies are not compressed: a record under a file system block (4 KiB) takes one block
 * either way, so compressing it saves no disk, and the framing makes a tiny body larger (most
 * bodies of the recorded tree are 31-byte empty lists).
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
import { CURRENT_DICTIONARY, RECORD_DICTIONARIES } from './record-dictionaries.js';

/** The encoding of new records. */
export const RECORD_ENCODING = 'deflate';
/** The encoding of records of earlier versions, still read. */
const GZIP = 'gzip';

const DEFLATE_OPTIONS = { level: 9, memLevel: 9 } as const;

const deflate = promisify(zlib.deflate);
const inflate = promisify(zlib.inflate);
const gunzip = promisify(zlib.gunzip);

/**
 * What a record's payload holds: `encoding` absent for a body stored as it came; `dictionary` the
 * name of the preset dictionary it was deflated with, absent for none.
 */
export interface EncodedBody {
  readonly encoding: typeof RECORD_ENCODING | undefined;
  readonly dictionary: string | undefined;
  readonly stored: Buffer;
}

/** What of a record's header decoding reads (values as parsed: anything). */
export interface EncodingFields {
  readonly encoding?: unknown;
  readonly dictionary?: unknown;
  readonly stored?: unknown;
  readonly bytes?: unknown;
}

/** `label`: the endpoint of the record's key (`classification`), which picks its dictionary. */
export async function encodeBody(
  body: Buffer,
  label: string,
  compressMinBytes: number = DEFAULTS.cacheCompressMinBytes,
): Promise<EncodedBody> {
  if (body.length < compressMinBytes) return { encoding: undefined, dictionary: undefined, stored: body };
  const dictionary = Object.hasOwn(CURRENT_DICTIONARY, label) ? CURRENT_DICTIONARY[label] : undefined;
  const preset = dictionary === undefined ? {} : { dictionary: RECORD_DICTIONARIES[dictionary] };
  return { encoding: RECORD_ENCODING, dictionary, stored: await deflate(body, { ...DEFLATE_OPTIONS, ...preset }) };
}

export type DecodedBody =
  | { readonly state: 'body'; readonly body: Buffer }
  | { readonly state: 'damaged'; readonly reason: string };

/**
 * The body a record's payload holds, as its header's `encoding`, `dictionary`, `stored` and
 * `bytes` describe it (`encoding` and `stored` absent in a record stored as it came). A payload
 * that is not `stored` bytes long was cut short; one that does not decompress is damaged. `bytes`
 * only sizes the output; the caller checks the body against it.
 */
export async function decodeBody(payload: Buffer, header: EncodingFields): Promise<DecodedBody> {
  const { encoding, dictionary, stored, bytes } = header;
  if (encoding === undefined) return { state: 'body', body: payload };
  if (encoding !== RECORD_ENCODING && encoding !== GZIP)
    return { state: 'damaged', reason: `unknown encoding ${JSON.stringify(encoding)}` };
  if (stored !== payload.length)
    return { state: 'damaged', reason: `cut short: ${payload.length} of ${String(stored)} stored bytes` };
  let preset: { dictionary?: Buffer } = {};
  if (encoding === RECORD_ENCODING && dictionary !== undefined) {
    const known = typeof dictionary === 'string' && Object.hasOwn(RECORD_DICTIONARIES, dictionary);
    if (!known) return { state: 'damaged', reason: `unknown dictionary ${JSON.stringify(dictionary)}` };
    preset = { dictionary: RECORD_DICTIONARIES[dictionary] };
  }
  try {
    const sync =
      typeof bytes === 'number' && Number.isInteger(bytes) && bytes >= 0 && bytes <= DEFAULTS.syncInflateMaxBytes;
    if (!sync)
      return { state: 'body', body: encoding === GZIP ? await gunzip(payload) : await inflate(payload, preset) };
    // One spare byte: inflate ends the stream with output room left, so no second chunk is made.
    const options = { ...preset, chunkSize: Math.max(bytes + 1, zlib.constants.Z_MIN_CHUNK) };
    return {
      state: 'body',
      body: encoding === GZIP ? zlib.gunzipSync(payload, options) : zlib.inflateSync(payload, options),
    };
  } catch (error) {
    return { state: 'damaged', reason: `does not decompress (${errorCode(error) ?? String(error)})` };
  }
}
