import { CORE_VERSION } from '../../version.ts';
import type { Command } from '../args.ts';

export const versionCommand: Command = {
  name: 'version',
  summary: 'Print the Trellis version.',
  usage: 'trellis version [-o json]',
  options: { output: { type: 'string', short: 'o' } },
  async run(values, _pos, io) {
    const info = { version: CORE_VERSION, node: process.version, platform: `${process.platform}/${process.arch}` };
    io.out(values.output === 'json' ? `${JSON.stringify(info)}\n` : `trellis ${info.version} (node ${info.node}, ${info.platform})\n`);
    return 0;
  },
};
