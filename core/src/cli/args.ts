import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseIdentityKey, type Identity } from '@trellis/plugin-sdk';

export class UsageError extends Error {}

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  /** One line per option name, shown by `--help`. */
  readonly optionHelp?: Readonly<Record<string, string>>;
  /** Command lines shown under "Examples:" by `--help`. */
  readonly examples?: readonly string[];
  run(values: Record<string, string | boolean | string[] | boolean[] | undefined>, positionals: string[], io: CliIO): Promise<number>;
}

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** Whether stdout is a terminal (tables by default there, JSON otherwise). */
  readonly isTTY?: boolean;
}

export function parse(cmd: Command, argv: string[]): { values: Record<string, string | boolean | string[] | boolean[] | undefined>; positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options: { ...cmd.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    return { values: r.values, positionals: r.positionals };
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${helpText(cmd)}`);
  }
}

export function helpText(cmd: Command): string {
  const opts = Object.entries(cmd.options)
    .map(([name, o]) => {
      const flag = `  --${name}${o.type === 'string' ? ' <value>' : ''}${o.short ? `, -${o.short}` : ''}`;
      const help = cmd.optionHelp?.[name];
      return help ? `${flag.padEnd(28)} ${help}` : flag;
    })
    .join('\n');
  const examples = cmd.examples?.length ? `\nExamples:\n${cmd.examples.map((e) => `  ${e}`).join('\n')}\n` : '';
  return `${cmd.summary}\n\nUsage: ${cmd.usage}\n${opts ? `\nOptions:\n${opts}\n` : ''}  --help, -h${examples ? `\n${examples}` : ''}`;
}

export function requireString(values: Record<string, unknown>, name: string, cmd: Command): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required\n\n${helpText(cmd)}`);
  return v;
}

/** `--identity <namespace>/<serviceaccount>`, required and well-formed. */
export function requireIdentity(values: Record<string, unknown>, cmd: Command): Identity {
  const text = requireString(values, 'identity', cmd);
  const identity = parseIdentityKey(text);
  if (!identity) throw new UsageError(`--identity must be <namespace>/<serviceaccount>, got "${text}"`);
  return identity;
}
