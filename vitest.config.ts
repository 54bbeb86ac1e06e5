import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/build.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // End-to-end files each start their own emulator and spawn the built binary; two
    // cores, so two files at a time.
    maxWorkers: 2,
    pool: 'forks',
  },
});
