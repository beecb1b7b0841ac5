/**
 * Independent real clients against the fake API server: Debian's kubectl 1.20 and python3-kubernetes 22.6
 * (`/usr/bin/python3`). Each call runs the real program with a kubeconfig for the server.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool, tools } from '../tools.ts';
import type { FakeApiServer } from './server.ts';

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv, input?: string, timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

async function kubeconfigFile(server: FakeApiServer): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'trellis-kubeconfig-'));
  const path = join(dir, 'config');
  await server.kubeconfig(path);
  return path;
}

/** Runs `kubectl <args>` against the server (`--kubeconfig` and a private cache dir added). */
export async function kubectl(server: FakeApiServer, args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const bin = requireTool(tools.kubectl);
  const config = await kubeconfigFile(server);
  const cache = await mkdtemp(join(tmpdir(), 'trellis-kubectl-cache-'));
  return run(bin, ['--kubeconfig', config, '--cache-dir', cache, ...args], { PATH: process.env.PATH ?? '', HOME: cache }, opts.input, opts.timeoutMs);
}

/** Runs a python3-kubernetes script; `kube` holds the loaded kubeconfig path as `KUBECONFIG`. */
export async function python3Kubernetes(server: FakeApiServer, script: string, timeoutMs = 60_000): Promise<RunResult> {
  const bin = requireTool(tools.python3);
  const config = await kubeconfigFile(server);
  const dir = await mkdtemp(join(tmpdir(), 'trellis-py-'));
  const file = join(dir, 'script.py');
  await writeFile(file, `from kubernetes import client, config, watch\nconfig.load_kube_config(${JSON.stringify(config)})\n${script}\n`);
  return run(bin, [file], { PATH: process.env.PATH ?? '', HOME: dir }, undefined, timeoutMs);
}
