/** Whether node was given a flag: its command line or NODE_OPTIONS, `_` and `-` alike. */
import { afterEach, describe, expect, it } from 'vitest';
import { nodeWasGiven } from '../src/node-flags.js';

const saved = process.env.NODE_OPTIONS;
afterEach(() => {
  if (saved === undefined) delete process.env.NODE_OPTIONS;
  else process.env.NODE_OPTIONS = saved;
});

describe('nodeWasGiven', () => {
  it('finds a flag in NODE_OPTIONS written with underscores, and not one that is absent', () => {
    process.env.NODE_OPTIONS = '--enable-source-maps --max_semi_space_size=8';
    expect(nodeWasGiven(/^--max-semi-space-size\b/)).toBe(true);
    expect(nodeWasGiven(/^--semi-space-growth-factor\b/)).toBe(false);
    delete process.env.NODE_OPTIONS;
    expect(nodeWasGiven(/^--max-semi-space-size\b/)).toBe(false);
  });
});
