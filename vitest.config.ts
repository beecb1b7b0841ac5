import { defineConfig } from 'vitest/config';

// Tests run the workspace packages from their sources: `@trellis/source` is the export condition that maps each
// package to `src/` (without it, `@trellis/*` resolves to the build in `dist/`).
// Vite replaces its defaults when conditions are given, so they are repeated (vite's defaultServerConditions)
// without 'module': @opentelemetry/api 1.9's 'module' build has extension-less ESM imports Node cannot load, and
// prom-client requires that package (every test importing the metrics registry failed to load).
const conditions = ['@trellis/source', 'node', 'development|production'];

// One root config; each workspace is a project so `vitest --project core` narrows a run.
export default defineConfig({
  resolve: { conditions },
  // Vitest also hands the SSR conditions to Node (`--conditions`), so they too must leave `module` out.
  ssr: { resolve: { conditions } },
  test: {
    projects: [
      { extends: true, test: { name: 'plugin-sdk', root: './plugin-sdk', include: ['src/**/*.test.ts'] } },
      { extends: true, test: { name: 'core', root: './core', include: ['src/**/*.test.ts'] } },
      { extends: true, test: { name: 'plugins', root: './plugins', include: ['*/src/**/*.test.ts'] } },
      {
        extends: true,
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
