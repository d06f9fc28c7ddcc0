import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: tfjs-heavy files compete for CPU, so run at most two files at once.
    maxWorkers: 2,
    minWorkers: 1,
    pool: 'forks',
  },
});
