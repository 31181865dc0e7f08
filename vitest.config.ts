import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // expect.poll waits for live UI and feed updates; 1 s (the default) is too tight on a loaded 2-core CI.
    expect: { poll: { timeout: 10_000 } },
    // Suites start real servers on ephemeral loopback ports; two workers match CI's two cores.
    pool: 'forks',
    maxWorkers: 2,
  },
});
