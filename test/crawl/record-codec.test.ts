/** The cache record's body encoding: gzip above the threshold, as it came below, both read back byte-exact. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config.js';
import { decodeBody, encodeBody } from '../../src/crawl/record-codec.js';

/** JSON-like text with some incompressible bytes, `length` bytes long. */
function bodyOf(length: number): Buffer {
  const text = Buffer.from('{"cars":[{"carNumber":"44","status":"Finished"}],'.repeat(Math.ceil(length / 48)));
  const mixed = Buffer.concat([text, randomBytes(64)]);
  return mixed.subarray(mixed.length - length);
}

describe('record codec', () => {
  it('keeps a body just under the threshold as it came, and compresses one at the threshold', async () => {
    const small = bodyOf(DEFAULTS.cacheCompressMinBytes - 1);
    const kept = await encodeBody(small);
    expect(kept.encoding).toBeUndefined();
    expect(kept.stored.equals(small)).toBe(true);
    const decodedSmall = await decodeBody(kept.stored, undefined, undefined, small.length);
    expect(decodedSmall.state === 'body' && decodedSmall.body.equals(small)).toBe(true);

    const large = bodyOf(DEFAULTS.cacheCompressMinBytes);
    const compressed = await encodeBody(large);
    expect(compressed.encoding).toBe('gzip');
    expect(compressed.stored.length).toBeLessThan(large.length);
  });

  it('reads a compressed body back byte-exact whether its length is known (inflated in place) or not', async () => {
    const body = bodyOf(50_000);
    const { encoding, stored } = await encodeBody(body);
    for (const bytes of [body.length, undefined, 'nonsense']) {
      const decoded = await decodeBody(stored, encoding, stored.length, bytes);
      expect(decoded.state).toBe('body');
      expect(decoded.state === 'body' && decoded.body.equals(body)).toBe(true);
    }
  });

  it('reads a body whose header understates its length in full (the caller then finds the length wrong)', async () => {
    const body = bodyOf(20_000);
    const { encoding, stored } = await encodeBody(body);
    const decoded = await decodeBody(stored, encoding, stored.length, 100);
    expect(decoded.state === 'body' && decoded.body.equals(body)).toBe(true);
  });

  it('says damaged for a payload that does not decompress, and for an unknown encoding', async () => {
    const body = bodyOf(10_000);
    const { encoding, stored } = await encodeBody(body);
    const broken = Buffer.from(stored);
    broken[20]! ^= 0xff;
    expect(await decodeBody(broken, encoding, broken.length, body.length)).toMatchObject({ state: 'damaged' });
    expect(await decodeBody(stored, 'br', stored.length, body.length)).toEqual({
      state: 'damaged',
      reason: 'unknown encoding "br"',
    });
  });
});
