/** Request/reply over a forked child's IPC channel (the clients and wire-server processes). */
import { fork, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

interface Reply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}

/** What a child sends once its message handler is installed: nothing is sent to it before. */
export const CHILD_READY = { ready: true } as const;

/** Omit over each member of a union (a command without its id). */
export type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** How long a command may take when it names no `timeoutMs` of its own (certificates for 10,000 proxies take ~15 s). */
export const DEFAULT_CALL_DEADLINE_MS = 300_000;
/** Added to a command's own `timeoutMs`: the child replies after it, with what it measured. */
const DEADLINE_MARGIN_MS = 60_000;

export class ChildRpc<Cmd extends { op: string; id: number }> {
  readonly #child: ChildProcess;
  readonly #file: string;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly #ready: Promise<void>;
  #next = 1;
  #exit?: string;

  constructor(file: string, nodeArgs: string[] = []) {
    this.#file = file;
    // TRELLIS_BENCH_CHILD_CPU_PROF=<dir>: CPU profiles of the client and wire-server processes (node refuses
    // --cpu-prof in NODE_OPTIONS).
    const prof = process.env.TRELLIS_BENCH_CHILD_CPU_PROF;
    const profArgs = prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : [];
    this.#child = fork(resolve(import.meta.dirname, file), [], { execArgv: ['--import', 'tsx', ...profArgs, ...nodeArgs], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let ready!: () => void;
    this.#ready = new Promise<void>((r) => (ready = r));
    this.#child.on('message', (m: Reply | typeof CHILD_READY) => {
      if ('ready' in m) return ready();
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(new Error(`${file}: ${m.error ?? 'failed'}`));
    });
    this.#child.on('exit', (code, signal) => {
      this.#exit = `${file} exited (${code ?? signal})`;
      ready();
      for (const p of this.#pending.values()) p.reject(new Error(this.#exit));
      this.#pending.clear();
    });
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  /**
   * Sends `cmd` once the child said it listens, and rejects when no reply came within the deadline: the
   * command's own `timeoutMs` plus a margin, else `DEFAULT_CALL_DEADLINE_MS`. A benchmark phase therefore
   * never waits forever on a child.
   */
  async call<T>(cmd: WithoutId<Cmd>, deadlineMs?: number): Promise<T> {
    await this.#ready;
    if (this.#exit) throw new Error(this.#exit);
    const id = this.#next++;
    const own = (cmd as { timeoutMs?: unknown }).timeoutMs;
    const limit = deadlineMs ?? (typeof own === 'number' ? own + DEADLINE_MARGIN_MS : DEFAULT_CALL_DEADLINE_MS);
    return new Promise<T>((res, rej) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        rej(new Error(`${this.#file} (pid ${this.pid}): "${cmd.op}" got no reply within ${limit} ms`));
      }, limit);
      this.#pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          res(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          rej(e);
        },
      });
      this.#child.send({ ...cmd, id });
    });
  }

  async close(): Promise<void> {
    if (this.#exit) return;
    const exited = new Promise((r) => this.#child.once('exit', r));
    await this.call({ op: 'exit' } as WithoutId<Cmd>, 10_000).catch(() => undefined);
    const t = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }

  /** Ends the child at once (a phase that missed its deadline leaves it in an unknown state). */
  kill(): void {
    if (!this.#exit) this.#child.kill('SIGKILL');
  }
}
