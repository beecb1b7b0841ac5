/** Request/reply over a forked child's IPC channel (the clients and wire-server processes). */
import { fork, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

interface Reply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}

/** Omit over each member of a union (a command without its id). */
export type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

export class ChildRpc<Cmd extends { op: string; id: number }> {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #next = 1;
  #exit?: string;

  constructor(file: string, nodeArgs: string[] = []) {
    this.#child = fork(resolve(import.meta.dirname, file), [], { execArgv: ['--import', 'tsx', ...nodeArgs], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#child.on('message', (m: Reply) => {
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(new Error(`${file}: ${m.error ?? 'failed'}`));
    });
    this.#child.on('exit', (code, signal) => {
      this.#exit = `${file} exited (${code ?? signal})`;
      for (const p of this.#pending.values()) p.reject(new Error(this.#exit));
      this.#pending.clear();
    });
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  call<T>(cmd: WithoutId<Cmd>): Promise<T> {
    if (this.#exit) return Promise.reject(new Error(this.#exit));
    const id = this.#next++;
    return new Promise<T>((res, rej) => {
      this.#pending.set(id, { resolve: res as (v: unknown) => void, reject: rej });
      this.#child.send({ ...cmd, id });
    });
  }

  async close(): Promise<void> {
    if (this.#exit) return;
    const exited = new Promise((r) => this.#child.once('exit', r));
    await this.call({ op: 'exit' } as WithoutId<Cmd>).catch(() => undefined);
    const t = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
}
