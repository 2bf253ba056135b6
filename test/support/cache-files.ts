/**
 * Finding a cached record's file on disk, whatever store it
 * was sharded into, and reading or changing the body it holds.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { deflateSync, gunzipSync, gzipSync, inflateSync } from 'node:zlib';
import { RECORD_DICTIONARIES } from '../../src/crawl/record-dictionaries.js';

/** The file of the cache record for `key` (`<label>-<uuid>`) under `<storage>/key_value_stores`. */
export function cacheRecordFile(storage: string, key: string): string {
  const root = path.join(storage, 'key_value_stores');
  const found: string[] = [];
  for (const store of readdirSync(root)) {
    if (!store.startsWith('responses')) continue;
    for (const file of readdirSync(path.join(root, store)))
      if (file === `${key}.bin` || file === `${key}.txt`) found.push(path.join(root, store, file));
  }
  if (found.length !== 1) throw new Error(`expected one cache record for ${key}, found ${found.length}`);
  return found[0]!;
}

/** A cache record's header and the body it holds, decompressed when the record is compressed. */
export function readCacheRecord(file: string): { readonly header: Record<string, unknown>; readonly body: Buffer } {
  const record = readFileSync(file);
  const newline = record.indexOf(0x0a);
  const header = JSON.parse(record.subarray(0, newline).toString('utf8')) as Record<string, unknown>;
  const payload = record.subarray(newline + 1);
  if (header.encoding === 'gzip') return { header, body: gunzipSync(payload) };
  if (header.encoding === 'deflate') return { header, body: inflateSync(payload, presetOf(header)) };
  return { header, body: payload };
}

/** The preset dictionary a deflate record names, as zlib's options. */
function presetOf(header: Record<string, unknown>): { dictionary?: Buffer } {
  const name = header.dictionary;
  if (name === undefined) return {};
  const dictionary = typeof name === 'string' ? RECORD_DICTIONARIES[name] : undefined;
  if (!dictionary) throw new Error(`unknown dictionary ${JSON.stringify(name)}`);
  return { dictionary };
}

/** A body compressed as a record with this header holds it. */
function encodeAs(header: Record<string, unknown>, body: Buffer): Buffer {
  if (header.encoding === 'gzip') return gzipSync(body);
  if (header.encoding === 'deflate') return deflateSync(body, presetOf(header));
  return body;
}

/**
 * Replaces the body a record holds, leaving its header's `bytes` and `sha256` as they were (a
 * change on disk the record's own framing does not show): the new body is compressed as the
 * record's was, and `stored` follows it, so only the content hash can tell.
 */
export function rewriteCacheBody(file: string, body: Buffer): void {
  const { header } = readCacheRecord(file);
  const payload = encodeAs(header, body);
  const rewritten = header.encoding === undefined ? header : { ...header, stored: payload.length };
  writeFileSync(file, Buffer.concat([Buffer.from(`${JSON.stringify(rewritten)}\n`), payload]));
}

/** Changes fields of a record's header (as a bug or an earlier version may have written them), leaving the body be. */
export function rewriteCacheHeader(file: string, fields: Record<string, unknown>): void {
  const record = readFileSync(file);
  const newline = record.indexOf(0x0a);
  const header = JSON.parse(record.subarray(0, newline).toString('utf8')) as Record<string, unknown>;
  writeFileSync(
    file,
    Buffer.concat([Buffer.from(`${JSON.stringify({ ...header, ...fields })}\n`), record.subarray(newline)]),
  );
}
