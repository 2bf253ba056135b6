/**
 * `npx tsx bench/record-encodings.ts <dir>… [--slow]`: the candidate encodings of cache records
 * (src/crawl/record-codec.ts) on the bodies of each dir, a crawled storage dir (its records, of
 * whatever version) or a folder of bodies by endpoint (`<dir>/<endpoint>/<file>`, as
 * test/replica/fixtures holds the real API's): bytes stored, the 4 KiB blocks the records take
 * with their header line (the storage dir's records' own headers; 300 bytes for a bare body), and
 * the CPU of inflating them all synchronously into a buffer of the body's length (medians of 7
 * rounds, each candidate in every round).
 * Bodies under DEFAULTS.cacheCompressMinBytes stay as they came in every row. --slow adds brotli
 * at quality 11 (about 100× the CPU of the others to write). It holds every body and each
 * candidate's payloads in memory: 2.4 GB for the 476 MB of an 11-series live-shaped crawl.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { DEFAULTS } from '../src/config.js';
import { decodeBody } from '../src/crawl/record-codec.js';
import { CURRENT_DICTIONARY, RECORD_DICTIONARIES } from '../src/crawl/record-dictionaries.js';

interface Body {
  readonly label: string;
  readonly body: Buffer;
  /** The record's header line without its encoding fields, newline included. */
  readonly headerBytes: number;
}

interface Candidate {
  readonly name: string;
  /** The header fields the encoding adds, as JSON text. */
  readonly fields: (label: string, stored: number) => string;
  readonly encode: (body: Buffer, label: string) => Buffer;
  readonly decode: (payload: Buffer, bytes: number, label: string) => Buffer;
}

const BLOCK = 4096;
const ROUNDS = 7;
const BARE_HEADER_BYTES = 300;

async function bodiesOf(dir: string): Promise<Body[]> {
  const stores = path.join(dir, 'key_value_stores');
  const bodies: Body[] = [];
  if (!statSync(stores, { throwIfNoEntry: false })?.isDirectory()) {
    for (const label of readdirSync(dir))
      for (const file of readdirSync(path.join(dir, label)))
        bodies.push({ label, body: readFileSync(path.join(dir, label, file)), headerBytes: BARE_HEADER_BYTES });
    return bodies;
  }
  for (const store of readdirSync(stores)) {
    const label = /^responses-([a-z]+)/.exec(store)?.[1];
    if (label === undefined) continue;
    for (const file of readdirSync(path.join(stores, store))) {
      const record = readFileSync(path.join(stores, store, file));
      const newline = record.indexOf(0x0a);
      // why: the header is the cache's own JSON object line (see src/crawl/cache.ts).
      const header = JSON.parse(record.subarray(0, newline).toString('utf8')) as Record<string, unknown>;
      const decoded = await decodeBody(record.subarray(newline + 1), header);
      if (decoded.state !== 'body') throw new Error(`${file}: ${decoded.reason}`);
      const { encoding: _encoding, dictionary: _dictionary, stored: _stored, ...rest } = header;
      bodies.push({ label, body: decoded.body, headerBytes: JSON.stringify(rest).length + 1 });
    }
  }
  return bodies;
}

const B = zlib.constants;
const out = (bytes: number) => ({ chunkSize: Math.max(bytes + 1, B.Z_MIN_CHUNK) });
const dictionaryOf = (label: string) => {
  const name = CURRENT_DICTIONARY[label];
  return name === undefined ? undefined : RECORD_DICTIONARIES[name];
};

function brotli(quality: number): Candidate {
  return {
    name: `brotli quality ${quality}, mode text`,
    fields: (_label, stored) => `,"encoding":"br","stored":${stored}`,
    encode: (body) =>
      zlib.brotliCompressSync(body, {
        params: {
          [B.BROTLI_PARAM_QUALITY]: quality,
          [B.BROTLI_PARAM_MODE]: B.BROTLI_MODE_TEXT,
          [B.BROTLI_PARAM_SIZE_HINT]: body.length,
        },
      }),
    decode: (payload, bytes) => zlib.brotliDecompressSync(payload, out(bytes)),
  };
}

const candidates: Candidate[] = [
  {
    name: 'gzip level 6 (previous version)',
    fields: (_label, stored) => `,"encoding":"gzip","stored":${stored}`,
    encode: (body) => zlib.gzipSync(body, { level: 6 }),
    decode: (payload, bytes) => zlib.gunzipSync(payload, out(bytes)),
  },
  {
    name: 'deflate level 9',
    fields: (_label, stored) => `,"encoding":"deflate","stored":${stored}`,
    encode: (body) => zlib.deflateSync(body, { level: 9, memLevel: 9 }),
    decode: (payload, bytes) => zlib.inflateSync(payload, out(bytes)),
  },
  brotli(4),
  brotli(6),
  ...(process.argv.includes('--slow') ? [brotli(11)] : []),
  {
    name: 'deflate level 9 + dictionary (this version)',
    fields: (label, stored) =>
      `,"encoding":"deflate","dictionary":${JSON.stringify(CURRENT_DICTIONARY[label])},"stored":${stored}`,
    encode: (body, label) => zlib.deflateSync(body, { level: 9, memLevel: 9, dictionary: dictionaryOf(label) }),
    decode: (payload, bytes, label) => zlib.inflateSync(payload, { ...out(bytes), dictionary: dictionaryOf(label) }),
  },
];

const percent = (part: number, whole: number) => `${((100 * part) / whole).toFixed(1)} %`;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

for (const dir of process.argv.slice(2).filter((arg) => !arg.startsWith('--'))) {
  const bodies = await bodiesOf(dir);
  const raw = bodies.reduce((sum, { body }) => sum + body.length, 0);
  console.log(`\n${dir}: ${bodies.length} bodies, ${(raw / 1e6).toFixed(2)} MB`);
  const encoded = candidates.map((candidate) => {
    let stored = 0;
    let blocks = 0;
    const payloads = bodies.map(({ label, body, headerBytes }) => {
      const compress = body.length >= DEFAULTS.cacheCompressMinBytes;
      const payload = compress ? candidate.encode(body, label) : body;
      const fields = compress ? candidate.fields(label, payload.length).length : 0;
      stored += payload.length;
      blocks += Math.max(1, Math.ceil((headerBytes + fields + payload.length) / BLOCK));
      return compress ? payload : undefined;
    });
    return { candidate, stored, blocks, payloads, cpu: [] as number[] };
  });
  // Round by round, every candidate in each: a change in the machine's load falls on all of them.
  for (let round = 0; round < ROUNDS; round++)
    for (const { candidate, payloads, cpu } of encoded) {
      const start = process.cpuUsage();
      payloads.forEach((payload, i) => {
        const { label, body } = bodies[i]!;
        if (payload && candidate.decode(payload, body.length, label).length !== body.length)
          throw new Error(`${candidate.name} did not give a body back whole`);
      });
      const used = process.cpuUsage(start);
      cpu.push((used.user + used.system) / 1000);
    }
  for (const { candidate, stored, blocks, cpu } of encoded)
    console.log(
      `${candidate.name.padEnd(44)} stored ${percent(stored, raw).padStart(6)} · in 4 KiB blocks ` +
        `${percent(blocks * BLOCK, raw).padStart(7)} · inflate CPU ${median(cpu).toFixed(0)} ms`,
    );
}
