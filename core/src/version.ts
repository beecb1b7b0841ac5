import { createRequire } from 'node:module';

const pkg = createRequire(import.meta.url)('../package.json') as { version: string };

/** The version of @trellis/core, checked against each plugin's `coreRange`. */
export const CORE_VERSION: string = pkg.version;
