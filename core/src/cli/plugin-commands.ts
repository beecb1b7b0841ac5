import { loadConfig } from '../config/load.ts';
import type { CliIO } from './args.ts';

/** `--config FILE` / `-c FILE` / `--config=FILE` anywhere in argv, and argv without it. */
function takeConfig(argv: readonly string[]): { file?: string; rest: string[] } {
  const rest: string[] = [];
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--config' || a === '-c') file = argv[++i];
    else if (a.startsWith('--config=')) file = a.slice('--config='.length);
    else rest.push(a);
  }
  return { ...(file !== undefined ? { file } : {}), rest };
}

/**
 * Runs a command a configured plugin ships (`trellis <name> --config FILE [args]`). Returns undefined when no
 * configured plugin has a command of that name, so the caller reports an unknown command.
 */
export async function runPluginCommand(argv: readonly string[], io: CliIO, builtins: ReadonlySet<string>): Promise<number | undefined> {
  const { file, rest } = takeConfig(argv);
  const [name, ...args] = rest;
  if (!file || !name) return undefined;
  const config = await loadConfig(file);
  for (const cp of config.plugins) {
    const cmd = cp.definition.commands?.find((c) => c.name === name);
    if (!cmd) continue;
    if (builtins.has(name)) {
      io.err(`plugin "${cp.instanceName}" (${cp.path}) ships a command "${name}", which is a built-in command\n`);
      return 2;
    }
    return cmd.run(args, { config: cp.config, baseDir: config.baseDir, io });
  }
  return undefined;
}

/** Commands the configured plugins ship, for `trellis --help --config FILE`. */
export async function pluginCommandList(file: string): Promise<{ name: string; summary: string; plugin: string }[]> {
  const config = await loadConfig(file);
  return config.plugins.flatMap((cp) => (cp.definition.commands ?? []).map((c) => ({ name: c.name, summary: c.summary, plugin: cp.instanceName })));
}
