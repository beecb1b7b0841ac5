import { loadConfig } from '../../config/load.ts';
import { defaultParts } from '../../controller/parts.ts';
import { startMesh } from '../../kernel/mesh.ts';
import { createLogger } from '../../kernel/logger.ts';
import { requireString, UsageError, type Command } from '../args.ts';

export const controllerCommand: Command = {
  name: 'controller',
  summary: 'Run the control plane: load plugins, serve ADS and the admin API; stops cleanly on SIGINT/SIGTERM.',
  usage: 'trellis controller --config FILE [--log-format pretty|json]',
  options: { config: { type: 'string', short: 'c' }, 'log-format': { type: 'string' } },
  optionHelp: { config: 'the config file', 'log-format': 'pretty (default on a terminal) or json (one object per line, the default otherwise)' },
  examples: ['trellis controller --config config/local.yaml', 'trellis controller --config trellis.yaml --log-format json 2>>controller.log'],
  async run(values, _pos, io) {
    const fmt = (values['log-format'] as string | undefined) ?? (process.stderr.isTTY ? 'pretty' : 'json');
    if (fmt !== 'pretty' && fmt !== 'json') throw new UsageError(`--log-format must be pretty or json, got ${JSON.stringify(fmt)}`);
    const config = await loadConfig(requireString(values, 'config', this));
    const logger = createLogger({ level: config.settings.log.level, format: fmt });
    const mesh = await startMesh({ config, parts: defaultParts, logger });
    for (const w of config.warnings ?? []) mesh.logger.child({ component: 'config' }).warn(w.message, { code: w.code, path: w.path });
    io.err(`trellis controller running (admin ${mesh.adminUrl ?? 'off'}); Ctrl-C to stop\n`);
    await new Promise<void>((resolve) => {
      let stopping = false;
      const onSignal = (sig: NodeJS.Signals) => {
        if (stopping) {
          mesh.logger.child({ component: 'cli' }).warn('second signal: exiting now', { signal: sig });
          process.exit(130);
        }
        stopping = true;
        mesh.logger.child({ component: 'cli' }).info('signal received; shutting down', { signal: sig });
        mesh.stop().then(resolve, resolve);
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
    });
    return 0;
  },
};
