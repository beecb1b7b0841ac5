// The `trellis` command run in process, as the CLI tests drive it.
import { runCli } from '@trellis/core';

export interface CliResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs `trellis ARGS` and returns its exit code and what it wrote to stdout and stderr. */
export async function runTrellis(args: string[], opts: { isTTY?: boolean } = {}): Promise<CliResult> {
  let out = '';
  let err = '';
  const code = await runCli(args, { out: (t) => void (out += t), err: (t) => void (err += t), ...(opts.isTTY !== undefined && { isTTY: opts.isTTY }) });
  return { code, out, err };
}
