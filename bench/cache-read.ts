/**
 * `npx tsx bench/cache-read.ts <storage dir>`: the CPU and wall time of reading every cache record
 * of a storage dir as the crawl does (decode, length, SHA-256), 48 at a time, 7 rounds, medians,
 * for the same bodies in three encodings, re-encoded from the records found (whatever version
 * wrote them): this version's (deflate with the endpoint's dictionary, see
 * src/crawl/record-codec.ts), the previous version's (gzip level 6), and uncompressed (the format
 * of earlier versions). Bodies under DEFAULTS.cacheCompressMinBytes stay uncompressed in all three.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { DEFAULTS } from '../src/config.js';
import { decodeBody, encodeBody } from '../src/crawl/record-codec.js';

interface StoredRecord {
  readonly header: Record<string, unknown>;
  readonly payload: Buffer;
}

function records(storage: string): { label: string; record: Buffer }[] {
  const root = path.join(storage, 'key_value_stores');
  return readdirSync(root)
    .filter((store) => store.startsWith('responses-'))
    .flatMap((store) =>
      readdirSync(path.join(root, store)).map((file) => ({
        label: /^responses-([a-z]+)/.exec(store)?.[1] ?? '',
        record: readFileSync(path.join(root, store, file)),
      })),
    );
}

function split(record: Buffer): StoredRecord {
  const newline = record.indexOf(0x0a);
  // why: the header is the cache's own JSON object line (see src/crawl/cache.ts).
  const header = JSON.parse(record.subarray(0, newline).toString('utf8')) as Record<string, unknown>;
  return { header, payload: record.subarray(newline + 1) };
}

async function bodyOf(record: Buffer): Promise<{ header: Record<string, unknown>; body: Buffer }> {
  const { header, payload } = split(record);
  const decoded = await decodeBody(payload, header);
  if (decoded.state !== 'body') throw new Error(`a record is damaged: ${decoded.reason}`);
  return { header, body: decoded.body };
}

/** The header's fields other than those of its encoding, with the new ones. */
function withEncoding(header: Record<string, unknown>, fields: Record<string, unknown>): Record<string, unknown> {
  const { encoding: _encoding, dictionary: _dictionary, stored: _stored, ...rest } = header;
  return { ...rest, ...fields };
}

async function readAll(all: StoredRecord[]): Promise<void> {
  const readOne = async ({ header, payload }: StoredRecord) => {
    const decoded = await decodeBody(payload, header);
    const sha256 = decoded.state === 'body' ? createHash('sha256').update(decoded.body).digest('hex') : undefined;
    if (decoded.state !== 'body' || decoded.body.length !== header.bytes || sha256 !== header.sha256)
      throw new Error('a record did not read back whole');
  };
  for (let i = 0; i < all.length; i += 48) await Promise.all(all.slice(i, i + 48).map(readOne));
}

const storage = process.argv[2];
if (!storage) throw new Error('usage: tsx bench/cache-read.ts <storage dir>');
const thisVersion: StoredRecord[] = [];
const gzip: StoredRecord[] = [];
const raw: StoredRecord[] = [];
for (const { label, record } of records(storage)) {
  const { header, body } = await bodyOf(record);
  const full = { ...header, bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') };
  raw.push({ header: withEncoding(full, {}), payload: body });
  const encoded = await encodeBody(body, label);
  thisVersion.push({
    header: withEncoding(full, {
      encoding: encoded.encoding,
      dictionary: encoded.dictionary,
      stored: encoded.stored.length,
    }),
    payload: encoded.stored,
  });
  const gzipped = body.length < DEFAULTS.cacheCompressMinBytes ? undefined : zlib.gzipSync(body, { level: 6 });
  gzip.push(
    gzipped
      ? { header: withEncoding(full, { encoding: 'gzip', stored: gzipped.length }), payload: gzipped }
      : { header: withEncoding(full, {}), payload: body },
  );
}
const cases: [string, StoredRecord[]][] = [
  ['deflate + dictionary (this version)', thisVersion],
  ['gzip level 6 (previous version)', gzip],
  ['uncompressed', raw],
];
const samples = new Map<string, { wall: number[]; cpu: number[] }>();
for (let round = 0; round < 7; round++)
  for (const [name, input] of cases) {
    const cpu = process.cpuUsage();
    const start = performance.now();
    await readAll(input);
    const used = process.cpuUsage(cpu);
    const entry = samples.get(name) ?? { wall: [], cpu: [] };
    entry.wall.push(performance.now() - start);
    entry.cpu.push((used.user + used.system) / 1000);
    samples.set(name, entry);
  }
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
const mb = (all: StoredRecord[]) => (all.reduce((sum, r) => sum + r.payload.length, 0) / 1e6).toFixed(2);
console.log(`${raw.length} records, ${mb(raw)} MB of bodies`);
for (const [name, input] of cases) {
  const { wall, cpu } = samples.get(name)!;
  const times = `CPU ${median(cpu).toFixed(0)} ms, wall ${median(wall).toFixed(0)} ms (medians of 7)`;
  console.log(`${name.padEnd(36)} ${mb(input).padStart(7)} MB stored · ${times}`);
}
