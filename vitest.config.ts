import { defineConfig } from 'vitest/config';

// Tests run the workspace packages from their sources: `@trellis/source` is the export condition that maps each
// package to `src/` (without it, `@trellis/*` resolves to the build in `dist/`).
// Vite replaces its defaults when conditions are given, so they are repeated (vite's defaultServerConditions, less `module`).
// `module` is left out: Node never uses it, and OpenTelemetry's `module` builds (prom-client loads
// @opentelemetry/api when it is installed) have extension-less imports only bundlers resolve.
const conditions = ['@trellis/source', 'node', 'development|production'];

// One root config; each workspace is a project so `vitest --project core` narrows a run.
export default defineConfig({
  resolve: { conditions },
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
