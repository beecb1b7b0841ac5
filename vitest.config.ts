import { defineConfig } from 'vitest/config';

// One root config; each workspace is a project so `vitest --project core` narrows a run.
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'plugin-sdk', root: './plugin-sdk', include: ['src/**/*.test.ts'] } },
      { test: { name: 'core', root: './core', include: ['src/**/*.test.ts'] } },
      { test: { name: 'plugins', root: './plugins', include: ['*/src/**/*.test.ts'] } },
      {
        test: {
          name: 'integration',
          root: './test',
          include: ['**/*.test.ts'],
          exclude: ['**/node_modules/**', 'fixtures/**/node_modules/**'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
    setupFiles: [],
  },
});
