// Regenerates the key tables of docs/config.md from the config schemas (core + built-in plugins):
// npm run docs:config. test/cli/config-docs.test.ts fails when the file is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { builtinPlugins, configJsonSchema, renderConfigReference, updateConfigDoc } from '@trellis/core';

const file = fileURLToPath(new URL('../docs/config.md', import.meta.url));
const plugins = await builtinPlugins();
const next = updateConfigDoc(readFileSync(file, 'utf8'), renderConfigReference(configJsonSchema(plugins), plugins));
writeFileSync(file, next);
process.stdout.write(`wrote ${file}\n`);
