/**
 * gRPC C-core (Debian's python3-grpcio 1.51) as a second real xDS client and server: each workload is a
 * `ccore/echo_xds.py` process reading the bootstrap the grpc plugin wrote for a GrpcWorkload, speaking the same
 * echo service as the grpc-js workloads (so the two implementations call each other).
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireTool, tools } from './tools.ts';
import type { GrpcWorkload } from './grpc-workloads.ts';
import { ECHO_PATH } from './grpc-workloads.ts';

const SCRIPT = fileURLToPath(new URL('./ccore/echo_xds.py', import.meta.url));

class Proc {
  readonly #lines: string[] = [];
  readonly #waiters: ((line: string) => void)[] = [];
  readonly #stderr: string[] = [];
  #exited: string | undefined;

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (l) => {
      const w = this.#waiters.shift();
      if (w) w(l);
      else this.#lines.push(l);
    });
    child.stderr.on('data', (d: Buffer) => {
      this.#stderr.push(d.toString());
      if (this.#stderr.length > 200) this.#stderr.shift();
    });
    child.on('exit', (code, signal) => {
      this.#exited = `exited with ${code ?? signal}`;
      for (const w of this.#waiters.splice(0)) w(JSON.stringify({ error: `${this.#exited}: ${this.stderr().slice(-2000)}` }));
    });
  }

  stderr(): string {
    return this.#stderr.join('');
  }

  next(timeoutMs: number): Promise<Record<string, unknown>> {
    const line = this.#lines.shift();
    if (line !== undefined) return Promise.resolve(JSON.parse(line) as Record<string, unknown>);
    if (this.#exited) return Promise.reject(new Error(`C-core workload ${this.#exited}: ${this.stderr().slice(-2000)}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`C-core workload: no answer in ${timeoutMs} ms; stderr: ${this.stderr().slice(-2000)}`)), timeoutMs);
      this.#waiters.push((l) => {
        clearTimeout(timer);
        const v = JSON.parse(l) as Record<string, unknown>;
        if (typeof v.error === 'string') reject(new Error(v.error));
        else resolve(v);
      });
    });
  }

  send(obj: unknown): void {
    this.child.stdin.write(`${JSON.stringify(obj)}\n`);
  }

  async stop(): Promise<void> {
    if (this.#exited) return;
    const done = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.stdin.end();
    const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await done;
    clearTimeout(t);
  }
}

function start(w: GrpcWorkload, args: string[], env: Record<string, string> = {}): Proc {
  const python = requireTool(tools.python3);
  const child = spawn(python, [SCRIPT, ...args], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      GRPC_XDS_BOOTSTRAP: join(w.dir, 'bootstrap.json'),
      // A sync-API process services its xDS stream only during calls or on this poller (default 5 s).
      GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS: '100',
      GRPC_VERBOSITY: 'ERROR',
      ...env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return new Proc(child);
}

export interface CCoreServer {
  readonly address: string;
  close(): Promise<void>;
}

/** A C-core xDS server on `ip:port` as workload `w`; it binds once the controller sent a valid Listener. */
export async function ccoreServe(w: GrpcWorkload, ip: string, port: number, name: string): Promise<CCoreServer> {
  const p = start(w, ['server', `${ip}:${port}`, name]);
  await p.next(30_000);
  return { address: `${ip}:${port}`, close: () => p.stop() };
}

export interface CCoreTally {
  readonly tally: Record<string, number>;
  readonly details: readonly string[];
}

export class CCoreClient {
  constructor(private readonly p: Proc) {}

  async run(calls: number, path: string = ECHO_PATH, headers: Readonly<Record<string, string>> = {}, timeoutS = 3): Promise<CCoreTally> {
    this.p.send({ calls, path, headers, timeout: timeoutS });
    const r = await this.p.next(calls * (timeoutS + 1) * 1000 + 10_000);
    return { tally: r.tally as Record<string, number>, details: (r.details as string[] | undefined) ?? [] };
  }

  /** Counts per serving workload name, or per status code name for failures (as EchoClient.tally). */
  async tally(calls: number, path: string = ECHO_PATH, headers: Readonly<Record<string, string>> = {}): Promise<Record<string, number>> {
    return (await this.run(calls, path, headers)).tally;
  }

  close(): Promise<void> {
    return this.p.stop();
  }
}

/** A C-core client dialing `xds:///<target>` as workload `w`. */
export async function ccoreClient(w: GrpcWorkload, target: string): Promise<CCoreClient> {
  const p = start(w, ['client', target]);
  await p.next(30_000);
  return new CCoreClient(p);
}
