import { defineConfig } from 'vitest/config';

// Only the Keyv peers' own suite (@keyv/test-suite) runs under vitest; everything else is uvu (test/run.ts
// runs both). The files end in .vitest.ts so that test/run.ts does not take them for uvu files.
export default defineConfig({
  test: {
    include: ['test/keyv/*.vitest.ts'],
    // The two files start a redis-server each; one at a time keeps the 2 shared cores free for the servers.
    fileParallelism: false,
    testTimeout: 10_000,
  },
});
