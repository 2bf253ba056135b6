import { describe, expect, it } from 'vitest';
import { count } from '../../src/words.js';

describe('count', () => {
  it('says one thing in the singular and any other count in the plural', () => {
    expect(count(1, 'request')).toBe('1 request');
    expect(count(0, 'request')).toBe('0 requests');
    expect(count(12, 'failure record')).toBe('12 failure records');
    expect(count(2, 'entry', 'entries')).toBe('2 entries');
  });
});
