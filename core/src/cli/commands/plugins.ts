import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PLUGIN_KINDS } from '@trellis/plugin-sdk';
import { BUILTIN_PLUGINS } from '../../kernel/builtins.ts';
import { loadPlugin } from '../../kernel/plugin-loader.ts';
import type { Command } from '../args.ts';
import { OUTPUT_HELP, outputFormat, outputOptions, render, table } from '../output.ts';

interface Row {
  use: string;
  name: string;
  kind: string;
  version: string;
  stability: string;
  source: 'built-in' | 'package';
  description?: string;
}

/** Third-party plugins are packages named `trellis-plugin-*` or `@scope/trellis-plugin-*`. */
function installedPackages(root: string): string[] {
  const nm = join(root, 'node_modules');
  const names: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(nm);
  } catch {
    return names;
  }
  for (const e of entries) {
    if (e.startsWith('trellis-plugin-')) names.push(e);
    else if (e.startsWith('@')) {
      try {
        for (const sub of readdirSync(join(nm, e))) if (sub.startsWith('trellis-plugin-')) names.push(`${e}/${sub}`);
      } catch {
        // unreadable scope folder: skip it
      }
    }
  }
  return names.sort();
}

async function describe(use: string, source: Row['source'], cwd: string): Promise<Row> {
  for (const kind of PLUGIN_KINDS) {
    try {
      const def = await loadPlugin(use, kind, { baseDir: cwd, path: 'plugins' });
      return { use, name: def.name, kind: def.kind, version: def.version, stability: def.stability, source, ...(def.description ? { description: def.description } : {}) };
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== 'TRELLIS_ERR_PLUGIN_KIND_MISMATCH') return { use, name: use, kind: '-', version: '-', stability: `unavailable (${code ?? 'error'})`, source };
    }
  }
  return { use, name: use, kind: '-', version: '-', stability: 'unavailable', source };
}

export const pluginsCommand: Command = {
  name: 'plugins',
  summary: 'List installed plugins: built-ins and trellis-plugin-* packages (name, kind, version, stability).',
  usage: 'trellis plugins [-o table|json|yaml]',
  options: { ...outputOptions },
  optionHelp: { ...OUTPUT_HELP },
  examples: ['trellis plugins', 'trellis plugins -o json'],
  async run(values, _pos, io) {
    const format = outputFormat(values, io);
    const cwd = process.cwd();
    const rows: Row[] = [];
    for (const use of Object.keys(BUILTIN_PLUGINS)) rows.push(await describe(use, 'built-in', cwd));
    for (const pkg of installedPackages(cwd)) rows.push(await describe(pkg, 'package', cwd));
    render(io, format, rows, () => table(['use', 'kind', 'version', 'stability', 'source'], rows.map((r) => [r.use, r.kind, r.version, r.stability, r.source])));
    return 0;
  },
};
