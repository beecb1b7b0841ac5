import { isTrellisError } from '@trellis/plugin-sdk';
import { helpText, parse, UsageError, type CliIO, type Command } from './args.ts';
import { agentCommand } from './commands/agent.ts';
import { bootstrapCommand } from './commands/bootstrap.ts';
import { certsCommand } from './commands/certs.ts';
import { checkCommand } from './commands/check.ts';
import { configPrintCommand } from './commands/config-print.ts';
import { configSchemaCommand } from './commands/config-schema.ts';
import { controllerCommand } from './commands/controller.ts';
import { installCommand, uninstallCommand } from './commands/install.ts';
import { namespaceCommand } from './commands/namespace.ts';
import { pluginsCommand } from './commands/plugins.ts';
import { policyDiffCommand } from './commands/policy-diff.ts';
import { policyExplainCommand } from './commands/policy-explain.ts';
import { proxyConfigCommand } from './commands/proxy-config.ts';
import { proxyStatusCommand } from './commands/proxy-status.ts';
import { supportBundleCommand } from './commands/support-bundle.ts';
import { tokenCreateCommand, tokenListCommand } from './commands/token.ts';
import { validateCommand } from './commands/validate.ts';
import { versionCommand } from './commands/version.ts';
import { CliFailure } from './output.ts';
import { pluginCommandList, runPluginCommand } from './plugin-commands.ts';

const COMMANDS: readonly Command[] = [
  controllerCommand,
  validateCommand,
  bootstrapCommand,
  agentCommand,
  tokenCreateCommand,
  tokenListCommand,
  installCommand,
  uninstallCommand,
  namespaceCommand,
  proxyConfigCommand,
  certsCommand,
  pluginsCommand,
  configPrintCommand,
  configSchemaCommand,
  versionCommand,
  policyExplainCommand,
  policyDiffCommand,
  checkCommand,
  proxyStatusCommand,
  supportBundleCommand,
];

function usage(plugin: readonly { name: string; summary: string; plugin: string }[] = []): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length), ...plugin.map((c) => c.name.length));
  const fromPlugins = plugin.length ? `\n\nCommands of the configured plugins:\n${plugin.map((c) => `  ${c.name.padEnd(w)}  ${c.summary} (${c.plugin})`).join('\n')}` : '';
  return `trellis — a lightweight SMI service mesh control plane\n\nUsage: trellis <command> [options]\n\nCommands:\n${COMMANDS.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`).join('\n')}${fromPlugins}\n\nRun 'trellis <command> --help' for a command's options; 'trellis --help --config FILE' also lists the commands of that file's plugins.\n`;
}

const BUILTIN_NAMES = new Set(COMMANDS.map((c) => c.name.split(' ')[0] as string));

/** Runs the CLI; returns the exit code (0 ok, 1 failure, 2 invalid input or usage). */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    const i = argv.findIndex((a) => a === '--config' || a === '-c');
    const file = i >= 0 ? argv[i + 1] : undefined;
    io.out(usage(file ? await pluginCommandList(file) : []));
    return 0;
  }
  // Longest command name first so `config print` wins over a shorter prefix.
  const cmd = [...COMMANDS].sort((a, b) => b.name.length - a.name.length).find((c) => {
    const words = c.name.split(' ');
    return words.every((w, i) => argv[i] === w);
  });
  if (!cmd) {
    try {
      const code = await runPluginCommand(argv, io, BUILTIN_NAMES);
      if (code !== undefined) return code;
    } catch (err) {
      if (!isTrellisError(err)) throw err;
      io.err(`${err.code}: ${err.message}\n`);
      return 2;
    }
    io.err(`unknown command "${argv.join(' ')}"\n\n${usage()}`);
    return 2;
  }
  const rest = argv.slice(cmd.name.split(' ').length);
  try {
    const { values, positionals } = parse(cmd, rest);
    if (values.help) {
      io.out(`${helpText(cmd)}\n`);
      return 0;
    }
    return await cmd.run(values, positionals, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`${err.message}\n`);
      return 2;
    }
    if (err instanceof CliFailure) {
      io.err(`${err.message}\n`);
      return err.code;
    }
    if (isTrellisError(err)) {
      io.err(`${err.code}: ${err.message}\n`);
      return err.code === 'TRELLIS_ERR_CONFIG_INVALID' || err.code === 'TRELLIS_ERR_PLUGIN_CONFIG_INVALID' ? 2 : 1;
    }
    io.err(`error: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}

export const stdio: CliIO = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
  isTTY: process.stdout.isTTY === true,
};
