#!/usr/bin/env node
// The `trellis` command. Trellis runs its TypeScript directly through tsx's loader (no build step).
import { register } from 'tsx/esm/api';

register();
const { runCli, stdio } = await import('../core/src/cli/main.ts');
const code = await runCli(process.argv.slice(2), stdio);
process.exitCode = code;
