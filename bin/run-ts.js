#!/usr/bin/env node
// Runs a TypeScript entry point (benchmarks, the demo) from the sources through tsx: node bin/run-ts.js FILE [args].
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import './dev.js';

const [file, ...rest] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node bin/run-ts.js FILE.ts [args]\n');
  process.exit(2);
}
process.argv = [process.argv[0], resolve(file), ...rest];
await import(pathToFileURL(resolve(file)).href);
