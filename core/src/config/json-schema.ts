import { ErrorCodes, isTrellisError, PLUGIN_KINDS, type AnyPluginDefinition, type JsonSchema, type PluginKind } from '@trellis/plugin-sdk';
import { BUILTIN_PLUGINS } from '../kernel/builtins.ts';
import { loadPlugin } from '../kernel/plugin-loader.ts';
import type { LoadedConfig } from './load.ts';
import { configSchema } from './schema.ts';

/** A plugin whose `config` schema goes under its `use:` value in the file's JSON Schema. */
export interface PluginSchemaEntry {
  readonly use: string;
  readonly definition: AnyPluginDefinition;
}

const SECTION: Readonly<Record<PluginKind, string>> = { source: 'sources', proxy: 'proxies', certificates: 'certificates', observability: 'observability' };

type Mutable = Record<string, unknown>;
const plain = (j: JsonSchema): Mutable => JSON.parse(JSON.stringify(j)) as Mutable;

/** The plugin entry `{ use, name, config }`, with each listed plugin's config schema selected by `use`. */
function entrySchema(base: Mutable, plugins: readonly PluginSchemaEntry[]): Mutable {
  const entry = plain(base);
  if (plugins.length === 0) return entry;
  entry.allOf = plugins.map((p) => ({
    if: { properties: { use: { const: p.use } }, required: ['use'] },
    then: {
      ...(p.definition.description ? { description: p.definition.description } : {}),
      properties: { config: p.definition.configSchema ? plain(p.definition.configSchema.jsonSchema) : { type: 'object', additionalProperties: false } },
    },
  }));
  return entry;
}

/**
 * The JSON Schema (draft-07) of a config file: the core's keys, and under each `plugins.*` section the
 * `config` schema of the given plugins, chosen by their `use:` value. What `trellis config schema` prints and
 * docs/config.md is generated from.
 */
export function configJsonSchema(plugins: readonly PluginSchemaEntry[]): Mutable {
  const root = plain(configSchema.jsonSchema);
  const pluginsBlock = (root.properties as Record<string, Mutable>).plugins as Mutable;
  const sections = pluginsBlock.properties as Record<string, Mutable>;
  const entryBase = (sections.sources as { items: Mutable }).items;
  for (const kind of PLUGIN_KINDS) {
    const key = SECTION[kind];
    const mine = plugins.filter((p) => p.definition.kind === kind);
    const current = sections[key] ?? {};
    if (kind === 'certificates') {
      // The loader also takes a list (to report "only one" clearly); the documented shape is one entry.
      sections[key] = { ...entrySchema(entryBase, mine), description: current.description };
    } else {
      sections[key] = { ...current, items: entrySchema(entryBase, mine) };
    }
  }
  // The loader requires exactly one certificates plugin (a cross-check, so the core schema cannot say it).
  pluginsBlock.required = ['certificates'];
  delete pluginsBlock.default;
  root.required = ['plugins'];
  delete root.default;
  return { $schema: 'http://json-schema.org/draft-07/schema#', title: 'Trellis config file', ...root };
}

/** Every built-in plugin with its definition (kind found by trying each; a built-in never fails to load). */
export async function builtinPlugins(baseDir = process.cwd()): Promise<PluginSchemaEntry[]> {
  const out: PluginSchemaEntry[] = [];
  for (const use of Object.keys(BUILTIN_PLUGINS)) {
    for (const kind of PLUGIN_KINDS) {
      try {
        out.push({ use, definition: await loadPlugin(use, kind, { baseDir, path: 'plugins' }) });
        break;
      } catch (err) {
        if (!isTrellisError(err) || err.code !== ErrorCodes.PLUGIN_KIND_MISMATCH) throw err;
      }
    }
  }
  return out;
}

/** The plugins a loaded config chose (one entry per distinct `use:`). */
export function chosenPlugins(cfg: LoadedConfig): PluginSchemaEntry[] {
  const seen = new Map<string, PluginSchemaEntry>();
  for (const p of cfg.plugins) if (!seen.has(p.use)) seen.set(p.use, { use: p.use, definition: p.definition });
  return [...seen.values()];
}
