import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: two test files at a time; each may run crawls and an embedded database.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
