/**
 * Where the built mesh page lives. The browser sources in `src/app/` are bundled by `scripts/build.mjs` (run by
 * the root `npm run build`, hence by `npm ci`'s prepare) into `dist/assets/`, which the admin API serves at `/ui`.
 * The path is the same from `src/` (tests) and from `dist/` (the build): both sit one level below the package.
 */
import { fileURLToPath } from 'node:url';

export const uiAssetsDir: string = fileURLToPath(new URL('../dist/assets/', import.meta.url));

/** The files the page consists of; the admin API serves only these. */
export const uiAssetFiles: readonly string[] = ['index.html', 'app.js', 'app.css'];
