import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    exclude: ['test/bench/**', 'node_modules/**'],
    // Each test file gets its own process and its own temp-file database.
    pool: 'forks',
    // Vitest's default leaves one core free: on a 2-core CI machine that is one file at a time.
    // Tests wait on child processes and servers as much as on the CPU, so two files share a core well.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
