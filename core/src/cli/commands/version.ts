import { serverVersion } from '../../admin/version.ts';
import type { Command } from '../args.ts';
import { ADMIN_HELP, OUTPUT_HELP, CliFailure, adminGet, adminOptions, adminUrl, outputFormat, outputOptions, render } from '../output.ts';

type Info = ReturnType<typeof serverVersion>;

export const versionCommand: Command = {
  name: 'version',
  summary: "Print the client's version and the running controller's (from its admin API).",
  usage: 'trellis version [--client] [--admin URL | --config FILE] [-o table|json|yaml]',
  options: { client: { type: 'boolean' }, ...adminOptions, ...outputOptions },
  optionHelp: { client: 'only the client version (do not ask the controller)', ...ADMIN_HELP, ...OUTPUT_HELP },
  examples: ['trellis version', 'trellis version --client -o json', 'trellis version --admin http://10.0.0.5:9091'],
  async run(values, _pos, io) {
    const format = outputFormat(values, io);
    const client = serverVersion();
    let server: Info | { unavailable: string } | undefined;
    if (!values.client) {
      try {
        server = await adminGet<Info>(await adminUrl(values), '/version');
      } catch (err) {
        if (!(err instanceof CliFailure)) throw err;
        server = { unavailable: err.message };
      }
    }
    const data = { client, ...(server && { server }) };
    const line = (who: string, i: Info) => `${who} version: ${i.version} (node ${i.node}, ${i.platform})`;
    render(io, format, data, () =>
      [line('Client', client), ...(server ? ['version' in server ? line('Server', server) : `Server version: unavailable (${server.unavailable})`] : [])].join('\n') + '\n',
    );
    return 0;
  },
};
