#!/usr/bin/env node
// The workspace's `trellis` for development and tests: the CLI from its TypeScript sources (tsx). The published
// command is @trellis/core's bin, core/dist/cli/bin.js (`npm start`, `npx trellis`).
import './dev.js';

await import('../core/src/cli/bin.ts');
