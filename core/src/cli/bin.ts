#!/usr/bin/env node
// The `trellis` command (package.json `bin`; built to dist/cli/bin.js). The workspace's bin/trellis.js runs
// this same file from source through tsx.
import { runCli, stdio } from './main.ts';

process.exitCode = await runCli(process.argv.slice(2), stdio);
