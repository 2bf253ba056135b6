/**
 * `npx tsx bench/cache-read.ts <storage dir>`: the CPU and wall time of reading every cache record
 * of a storage dir as the crawl does (decode, length, SHA-256), 48 at a time, 7 rounds, medians:
 * the records as stored; the same bodies uncompressed (inflated beforehand, the format of
 * earlier versions); and the compressed ones through zlib's asynchronous one-shot gunzip, which
 * the previous version used. Run it on a crawled storage dir (the bench tree's: bodies of ~40 KB).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { type DecodedBody, decodeBody } from '../src/crawl/record-codec.js';

const gunzip = promisify(zlib.gunzip);
type Decode = (payload: Buffer, encoding: unknown, stored: unknown, bytes: unknown) => Promise<DecodedBody>;

function records(storage: string): Buffer[] {
  const root = path.join(storage, 'key_value_stores');
  return readdirSync(root)
    .filter((store) => store.startsWith('responses-'))
    .flatMap((store) => readdirSync(path.join(root, store)).map((file) => readFileSync(path.join(root, store, file))));
}

function split(record: Buffer): { header: Record<string, unknown>; payload: Buffer } {
  const newline = record.indexOf(0x0a);
  // why: the header is the cache's own JSON object line (see src/crawl/cache.ts).
  const header = JSON.parse(record.subarray(0, newline).toString('utf8')) as Record<string, unknown>;
  return { header, payload: record.subarray(newline + 1) };
}

function uncompressed(record: Buffer): Buffer {
  const { header, payload } = split(record);
  if (header.encoding !== 'gzip') return record;
  const { encoding: _encoding, stored: _stored, ...rest } = header;
  return Buffer.concat([Buffer.from(`${JSON.stringify(rest)}\n`), zlib.gunzipSync(payload)]);
}

const asyncGunzip: Decode = async (payload, encoding) => ({
  state: 'body',
  body: encoding === 'gzip' ? await gunzip(payload) : payload,
});

async function readAll(all: Buffer[], decode: Decode): Promise<void> {
  const readOne = async (record: Buffer) => {
    const { header, payload } = split(record);
    const decoded = await decode(payload, header.encoding, header.stored, header.bytes);
    const sha256 = decoded.state === 'body' ? createHash('sha256').update(decoded.body).digest('hex') : undefined;
    if (decoded.state !== 'body' || decoded.body.length !== header.bytes || sha256 !== header.sha256)
      throw new Error('a record did not read back whole');
  };
  for (let i = 0; i < all.length; i += 48) await Promise.all(all.slice(i, i + 48).map(readOne));
}

const storage = process.argv[2];
if (!storage) throw new Error('usage: tsx bench/cache-read.ts <storage dir>');
const stored = records(storage);
const raw = stored.map(uncompressed);
const cases: [string, Buffer[], Decode][] = [
  ['as stored (this version)', stored, decodeBody],
  ['uncompressed', raw, decodeBody],
  ['compressed, async gunzip', stored, asyncGunzip],
];
const samples = new Map<string, { wall: number[]; cpu: number[] }>();
for (let round = 0; round < 7; round++)
  for (const [name, input, decode] of cases) {
    const cpu = process.cpuUsage();
    const start = performance.now();
    await readAll(input, decode);
    const used = process.cpuUsage(cpu);
    const entry = samples.get(name) ?? { wall: [], cpu: [] };
    entry.wall.push(performance.now() - start);
    entry.cpu.push((used.user + used.system) / 1000);
    samples.set(name, entry);
  }
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
const mb = (buffers: Buffer[]) => (buffers.reduce((sum, b) => sum + b.length, 0) / 1e6).toFixed(1);
console.log(`${stored.length} records, ${mb(stored)} MB as stored, ${mb(raw)} MB uncompressed`);
for (const [name, { wall, cpu }] of samples)
  console.log(`${name.padEnd(26)} CPU ${median(cpu).toFixed(0)} ms, wall ${median(wall).toFixed(0)} ms (medians of 7)`);
