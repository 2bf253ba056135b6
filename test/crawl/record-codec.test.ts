/**
 * The cache record's body encoding: deflate with the endpoint's dictionary above the threshold, as
 * it came below; gzip records of the previous version still read; all back byte-exact, and a
 * payload that does not inflate (changed, or with other dictionary bytes) is damaged.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config.js';
import { decodeBody, encodeBody, type EncodingFields } from '../../src/crawl/record-codec.js';
import { CURRENT_DICTIONARY, RECORD_DICTIONARIES } from '../../src/crawl/record-dictionaries.js';

const FIXTURES = path.join(import.meta.dirname, '../replica/fixtures');

/** JSON-like text with some incompressible bytes, `length` bytes long. */
function bodyOf(length: number): Buffer {
  const text = Buffer.from('{"cars":[{"carNumber":"44","status":"Finished"}],'.repeat(Math.ceil(length / 48)));
  const mixed = Buffer.concat([text, randomBytes(64)]);
  return mixed.subarray(mixed.length - length);
}

/** The recorded bodies of the real API under test/replica/fixtures, by endpoint. */
function recordedBodies(label: string): Buffer[] {
  const dir = path.join(FIXTURES, label);
  return readdirSync(dir).map((file) => readFileSync(path.join(dir, file)));
}

async function encoded(body: Buffer, label: string): Promise<{ payload: Buffer; header: EncodingFields }> {
  const { encoding, dictionary, stored } = await encodeBody(body, label);
  return { payload: stored, header: { encoding, dictionary, stored: stored.length, bytes: body.length } };
}

async function roundTrip(payload: Buffer, header: EncodingFields): Promise<Buffer> {
  const decoded = await decodeBody(payload, header);
  if (decoded.state !== 'body') throw new Error(`damaged: ${decoded.reason}`);
  return decoded.body;
}

/**
 * The SHA-256 of every dictionary ever released: a record names its dictionary and inflates only
 * with those exact bytes, so one may never change (add a new name instead, and its hash here).
 */
const DICTIONARY_SHA256: Record<string, string> = {
  'classification.1': 'b2d3643bd05aeebc6d8c3ba1c72df3981cba12ad06ec9fe51ce5e85e66f9b01f',
  'calendar.1': '220c903b1778571cfd1634d8c980beb23c501e6ca8fbdcbaca0f094f2ceef05c',
  'seasons.1': 'dcffb2731cced14cfe8da9e7b6eb679071be8d9e6c807fb201a82fcf34e99092',
  'series.1': 'c2dc96ec0429141fb1415de73c229b46fc12bb63142b80d25c170fc342084fb6',
};

describe('record codec', () => {
  it('keeps a body just under the threshold as it came, and compresses one at the threshold', async () => {
    const small = bodyOf(DEFAULTS.cacheCompressMinBytes - 1);
    const kept = await encodeBody(small, 'classification');
    expect(kept).toMatchObject({ encoding: undefined, dictionary: undefined });
    expect(kept.stored.equals(small)).toBe(true);
    expect((await roundTrip(kept.stored, { bytes: small.length })).equals(small)).toBe(true);

    const large = bodyOf(DEFAULTS.cacheCompressMinBytes);
    const compressed = await encodeBody(large, 'classification');
    expect(compressed).toMatchObject({ encoding: 'deflate', dictionary: 'classification.1' });
    expect(compressed.stored.length).toBeLessThan(large.length);
  });

  it('compresses each endpoint with its own dictionary, and a key of no known endpoint with none', async () => {
    for (const label of ['classification', 'calendar', 'seasons', 'series']) {
      const [body] = recordedBodies(label).filter((b) => b.length >= DEFAULTS.cacheCompressMinBytes);
      const { payload, header } = await encoded(body!, label);
      expect(header).toMatchObject({ encoding: 'deflate', dictionary: `${label}.1` });
      expect((await roundTrip(payload, header)).equals(body!)).toBe(true);
    }
    const body = bodyOf(10_000);
    const { payload, header } = await encoded(body, 'standings');
    expect(header).toMatchObject({ encoding: 'deflate', dictionary: undefined });
    expect((await roundTrip(payload, header)).equals(body)).toBe(true);
  });

  it('reads every encoding back byte-exact whether its length is known (inflated in place) or not', async () => {
    const body = bodyOf(50_000);
    const deflated = await encoded(body, 'classification');
    const plain = await encoded(body, 'standings');
    const gzipped = zlib.gzipSync(body, { level: 6 });
    const encodings: [Buffer, EncodingFields][] = [
      [deflated.payload, deflated.header],
      [plain.payload, plain.header],
      [gzipped, { encoding: 'gzip', stored: gzipped.length }],
      [body, {}],
    ];
    for (const [payload, header] of encodings)
      for (const bytes of [body.length, undefined, 'nonsense', DEFAULTS.syncInflateMaxBytes + 1])
        expect((await roundTrip(payload, { ...header, bytes })).equals(body)).toBe(true);
  });

  it('reads a body whose header understates its length in full (the caller then finds the length wrong)', async () => {
    const body = bodyOf(20_000);
    const { payload, header } = await encoded(body, 'calendar');
    expect((await roundTrip(payload, { ...header, bytes: 100 })).equals(body)).toBe(true);
  });

  it('says damaged for a payload that does not inflate, is cut short, or names an unknown encoding', async () => {
    const body = bodyOf(10_000);
    const { payload, header } = await encoded(body, 'classification');
    const broken = Buffer.from(payload);
    broken[20]! ^= 0xff;
    expect(await decodeBody(broken, header)).toMatchObject({
      state: 'damaged',
      reason: expect.stringMatching(/^does not decompress/),
    });
    expect(await decodeBody(payload.subarray(0, -3), header)).toEqual({
      state: 'damaged',
      reason: `cut short: ${payload.length - 3} of ${payload.length} stored bytes`,
    });
    expect(await decodeBody(payload, { ...header, encoding: 'br' })).toEqual({
      state: 'damaged',
      reason: 'unknown encoding "br"',
    });
    expect(await decodeBody(payload, { ...header, dictionary: 'classification.0' })).toEqual({
      state: 'damaged',
      reason: 'unknown dictionary "classification.0"',
    });
    // Other dictionary bytes than it was written with: zlib's check of the dictionary's Adler-32.
    expect(await decodeBody(payload, { ...header, dictionary: 'calendar.1' })).toMatchObject({
      state: 'damaged',
      reason: expect.stringMatching(/^does not decompress/),
    });
    expect(await decodeBody(payload, { ...header, dictionary: undefined })).toMatchObject({ state: 'damaged' });
  });

  it('reads a gzip record the previous version wrote (a real record file) byte-exact', async () => {
    const record = readFileSync(path.join(import.meta.dirname, 'records/gzip-classification-443b426f.bin'));
    const newline = record.indexOf(0x0a);
    const header = JSON.parse(record.subarray(0, newline).toString()) as EncodingFields & { sha256: string };
    expect(header.encoding).toBe('gzip');
    const body = await roundTrip(record.subarray(newline + 1), header);
    const served = readFileSync(path.join(FIXTURES, 'classification/443b426f-cc54-4d42-a05a-2da3c3059e26.json'));
    expect(body.equals(served)).toBe(true);
    expect(createHash('sha256').update(body).digest('hex')).toBe(header.sha256);
  });

  it('compresses the real API bodies smaller with the dictionaries than without', async () => {
    for (const label of ['classification', 'calendar', 'seasons']) {
      const bodies = recordedBodies(label).filter((b) => b.length >= DEFAULTS.cacheCompressMinBytes);
      let withDictionary = 0;
      let without = 0;
      for (const body of bodies) {
        withDictionary += (await encodeBody(body, label)).stored.length;
        without += (await encodeBody(body, 'standings')).stored.length;
      }
      // Each body saves at least the field names of its first item (measured: 45-400 bytes).
      expect(without - withDictionary).toBeGreaterThan(40 * bodies.length);
    }
  });

  it('keeps every released dictionary byte for byte, and each endpoint compresses with one of them', () => {
    const hashes = Object.fromEntries(
      Object.entries(RECORD_DICTIONARIES).map(([name, bytes]) => [
        name,
        createHash('sha256').update(bytes).digest('hex'),
      ]),
    );
    expect(hashes).toEqual(DICTIONARY_SHA256);
    for (const name of Object.values(CURRENT_DICTIONARY)) expect(RECORD_DICTIONARIES).toHaveProperty([name]);
  });
});
