import type { ProxyInfo } from '../../xds/index.ts';
import type { Command } from '../args.ts';
import { ADMIN_HELP, OUTPUT_HELP, adminGet, adminOptions, adminUrl, outputFormat, outputOptions, render, table } from '../output.ts';
import { TYPE_SHORT, proxyStatus } from '../proxy-state.ts';

export const proxyStatusCommand: Command = {
  name: 'proxy-status',
  summary: 'List connected proxies with their per-type sync state (SYNCED, STALE, NACK) and last NACK reason.',
  usage: 'trellis proxy-status [PROXY] [--admin URL | --config FILE] [-o table|json|yaml]',
  options: { ...adminOptions, ...outputOptions },
  optionHelp: { ...ADMIN_HELP, ...OUTPUT_HELP },
  examples: ['trellis proxy-status', 'trellis proxy-status bookstore -o yaml'],
  async run(values, positionals, io) {
    const format = outputFormat(values, io);
    const filter = positionals[0];
    const list = await adminGet<ProxyInfo[]>(await adminUrl(values), '/debug/proxies');
    const rows = list.map(proxyStatus).filter((r) => !filter || r.nodeId.includes(filter) || r.identity.includes(filter));
    render(io, format, rows, () =>
      rows.length === 0
        ? 'no proxies connected\n'
        : table(
            ['name', 'kind', 'identity', ...TYPE_SHORT.map(([s]) => s), 'last nack'],
            rows.map((r) => [r.nodeId, r.kind, r.identity, ...TYPE_SHORT.map(([s]) => r.types[s]?.state ?? '-'), r.lastNack ? `${r.lastNack.type}: ${r.lastNack.message}` : '']),
          ),
    );
    return 0;
  },
};
