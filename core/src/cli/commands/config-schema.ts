import { builtinPlugins, chosenPlugins, configJsonSchema } from '../../config/json-schema.ts';
import { loadConfig } from '../../config/load.ts';
import type { Command } from '../args.ts';

export const configSchemaCommand: Command = {
  name: 'config schema',
  summary: "Print the config file's JSON Schema: with --config, for the plugins that file chooses; else with every built-in plugin.",
  usage: 'trellis config schema [--config FILE]',
  options: { config: { type: 'string', short: 'c' } },
  async run(values, _pos, io) {
    const file = values.config;
    const plugins = typeof file === 'string' && file !== '' ? chosenPlugins(await loadConfig(file)) : await builtinPlugins();
    io.out(`${JSON.stringify(configJsonSchema(plugins), null, 2)}\n`);
    return 0;
  },
};
