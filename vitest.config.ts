import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/console-global-setup.ts', 'test/support/moto-global-setup.ts'],
    // Synthesizing a stack with bundled Lambdas takes seconds; two cores run two files at once.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
