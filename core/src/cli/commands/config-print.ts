import { stringify } from 'yaml';
import { effectiveConfig } from '../../config/redact.ts';
import { loadConfig } from '../../config/load.ts';
import { requireString, UsageError, type Command } from '../args.ts';

export const configPrintCommand: Command = {
  name: 'config print',
  summary: 'Print the effective config (defaults filled in, secrets redacted).',
  usage: 'trellis config print --config FILE [-o yaml|json]',
  options: { config: { type: 'string', short: 'c' }, output: { type: 'string', short: 'o' } },
  async run(values, _pos, io) {
    const cfg = await loadConfig(requireString(values, 'config', this));
    const eff = effectiveConfig(cfg);
    const fmt = (values.output as string | undefined) ?? 'yaml';
    if (fmt !== 'yaml' && fmt !== 'json') throw new UsageError(`-o must be yaml or json, got ${fmt}`);
    io.out(fmt === 'json' ? `${JSON.stringify(eff, null, 2)}\n` : stringify(eff));
    return 0;
  },
};
