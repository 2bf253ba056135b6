/** Decoding bodies: bad bytes repaired and located, genuine U+FFFD left alone, non-JSON named. */
import { describe, expect, it } from 'vitest';
import { decodeBody, invalidRanges, repairedItems } from '../../src/crawl/decode.js';
import { UnparseableBodyError } from '../../src/errors.js';

const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

describe('decodeBody', () => {
  it('takes valid UTF-8 as is, a genuine U+FFFD included', () => {
    expect(decodeBody(Buffer.from('[{"name":"N\ufffdrburgring"}]'))).toEqual({
      value: [{ name: 'N\ufffdrburgring' }],
      repaired: [],
    });
  });

  it('replaces bad bytes with U+FFFD and names only the strings that held them', () => {
    const body = bytes(
      '[{"name":"ok \ufffd"},{"name":"bad ',
      [0xc3, 0x28, 0xff],
      '","team":{"n',
      [0xe0, 0x80],
      'me":1}}]',
    );
    const { value, repaired } = decodeBody(body);
    expect(value).toEqual([{ name: 'ok \ufffd' }, { name: 'bad \ufffd(\ufffd', team: { 'n\ufffd\ufffdme': 1 } }]);
    expect(repaired).toEqual(['/1/name', '/1/team/n\ufffd\ufffdme']);
  });

  it('replaces as many U+FFFD as TextDecoder would', () => {
    for (const sample of [
      [0xff],
      [0xc3],
      [0xe2, 0x82],
      [0xf0, 0x9f, 0x98],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xc0, 0xaf],
      [0x80, 0x80],
    ]) {
      const raw = Buffer.from(sample);
      const marks = [...invalidRanges(raw)].length;
      expect(marks).toBe([...new TextDecoder().decode(raw)].filter((c) => c === '\ufffd').length);
    }
  });

  it.each([
    ['an empty body', '', /^body is empty$/],
    ['a body cut short', '{"events":[{"uuid":"a', /^body is not JSON \(.*; 21 bytes starting "\{\\"events/],
    ['an HTML page', '<html><body>502</body></html>', /^body is not JSON \(.*"<html><body>502/],
  ])('throws a retryable UnparseableBodyError for %s', (_, text, message) => {
    expect(() => decodeBody(Buffer.from(text))).toThrow(UnparseableBodyError);
    expect(() => decodeBody(Buffer.from(text))).toThrow(message);
  });

  it('shows the invalid bytes of a binary body as U+FFFD in its preview, never its internal marker', () => {
    // The first bytes of a gzip stream: 0x1f 0x8b (invalid UTF-8) 0x08.
    const binary = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x61, 0x62]);
    expect(() => decodeBody(binary)).toThrow(/; 6 bytes starting "\\u001f\ufffd\\b\\u0000ab"\)$/);
  });
});

describe('repairedItems', () => {
  it('groups repaired strings by list item, the rest under the payload', () => {
    const grouped = repairedItems(
      ['/events/2/name', '/events/2/venue/name', '/season/name', '/events/10/name'],
      ['/events'],
    );
    expect([...grouped]).toEqual([
      ['/events/2', ['/events/2/name', '/events/2/venue/name']],
      ['', ['/season/name']],
      ['/events/10', ['/events/10/name']],
    ]);
  });
});
