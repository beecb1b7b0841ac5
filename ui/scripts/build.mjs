// Bundles the mesh page (src/app) into static files with esbuild: dist/assets/{index.html,app.js,app.css}.
// Run by the root `npm run build` (and so by `npm ci`'s prepare); tests call buildUi() to build a fresh copy.
// Files are written to a temporary name and renamed, so a build never leaves a half-written file to a reader.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const defaultOutDir = join(pkgDir, 'dist', 'assets');

function writeAtomic(file, contents) {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, file);
}

/** Builds the page into `outDir` (default dist/assets); returns the files written. */
export async function buildUi(outDir = defaultOutDir) {
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    entryPoints: { app: join(pkgDir, 'src/app/main.ts'), 'app-style': join(pkgDir, 'src/app/app.css') },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['chrome110', 'firefox110', 'safari16'],
    minify: true,
    sourcemap: false,
    legalComments: 'eof',
    write: false,
    outdir: outDir,
    logLevel: 'silent',
  });
  const written = [];
  for (const f of result.outputFiles) {
    const name = f.path.endsWith('.css') ? 'app.css' : 'app.js';
    writeAtomic(join(outDir, name), f.contents);
    written.push(name);
  }
  writeAtomic(join(outDir, 'index.html'), readFileSync(join(pkgDir, 'src/app/index.html')));
  written.push('index.html');
  return written.sort();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files = await buildUi(process.argv[2] ? resolve(process.argv[2]) : defaultOutDir);
  // stderr: stdout belongs to the caller (`npm pack --json` prints its JSON there).
  process.stderr.write(`ui: built ${files.join(', ')} in ${process.argv[2] ?? 'ui/dist/assets'}\n`);
}
