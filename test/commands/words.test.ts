import { describe, expect, it } from 'vitest';
import { counted } from '../../src/words.js';

describe('counted', () => {
  it('says one thing in the singular and any other count in the plural', () => {
    expect(counted(1, 'request')).toBe('1 request');
    expect(counted(0, 'request')).toBe('0 requests');
    expect(counted(12, 'failure record')).toBe('12 failure records');
    expect(counted(2, 'entry', 'entries')).toBe('2 entries');
  });
});
