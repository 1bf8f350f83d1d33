import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Vite does not resolve a package's import of its own name ('kiln'): point it at the source,
  // as the kiln-source export condition does for Node and tsx.
  resolve: {
    conditions: ['kiln-source'],
    alias: [{ find: /^kiln$/, replacement: fileURLToPath(new URL('./compiler/index.ts', import.meta.url)) }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // vitest's default is one worker fewer than the cores: on CI's 2 cores, one file at a time while the
    // native tests mostly wait on opt/llc child processes (measured: 1.2 cores busy over a 592 s run)
    maxWorkers: 2,
  },
});
