/**
 * The simulated proxies spread over several client processes (bench/clients.ts), behind the same commands as
 * one: proxy i lives in process i % n at its local index floor(i / n). One process drives a few thousand
 * proxies; past that its event loop (TLS handshakes, certificates, ACKs) becomes the bottleneck being measured.
 */
import { ChildRpc, type WithoutId } from './child-rpc.ts';
import type { ClientCommand, ClientStats, CollectResult, ConnectResult } from './clients-protocol.ts';
import { wallNow } from './sim-proxy.ts';

/** What scenarios talk to: one client process or a pool of them. */
export interface Clients {
  call<T>(cmd: WithoutId<ClientCommand>): Promise<T>;
  close(): Promise<void>;
  /** Ends the processes at once (after a phase missed its deadline). */
  kill(): void;
  readonly processes: number;
  readonly pids: number[];
}

/** Proxies one client process drives by default (`--client-processes` overrides). */
export const PROXIES_PER_CLIENT_PROCESS = 2500;

/** Local indexes j of shard s (of n) whose global index j * n + s lies in [from, to). */
export function shardRange(s: number, n: number, from: number, to: number): { from: number; to: number } {
  return { from: Math.max(0, Math.ceil((from - s) / n)), to: Math.max(0, Math.ceil((to - s) / n)) };
}

export class ClientPool implements Clients {
  readonly #rpcs: ChildRpc<ClientCommand>[];
  /** Proxies added so far (global indexes are assigned in order). */
  #total = 0;

  constructor(processes: number) {
    this.#rpcs = Array.from({ length: Math.max(1, processes) }, () => new ChildRpc<ClientCommand>('clients.ts'));
  }

  get processes(): number {
    return this.#rpcs.length;
  }

  get pids(): number[] {
    return this.#rpcs.map((r) => r.pid);
  }

  #range(s: number, from: number, to: number): { from: number; to: number } {
    return shardRange(s, this.#rpcs.length, from, to);
  }

  #global(s: number, j: number): number {
    return j * this.#rpcs.length + s;
  }

  async call<T>(cmd: WithoutId<ClientCommand>): Promise<T> {
    const n = this.#rpcs.length;
    const all = <R>(make: (s: number) => WithoutId<ClientCommand>) => Promise.all(this.#rpcs.map((r, s) => r.call<R>(make(s))));
    switch (cmd.op) {
      case 'add': {
        const base = this.#total;
        this.#total += cmd.proxies.length;
        const parts = await all<{ issued: number; ms: number; maxLoopBlockMs: number }>((s) => ({ ...cmd, proxies: cmd.proxies.filter((_, k) => (base + k) % n === s) }));
        return { issued: parts.reduce((a, p) => a + p.issued, 0), ms: Math.max(...parts.map((p) => p.ms)), maxLoopBlockMs: Math.max(...parts.map((p) => p.maxLoopBlockMs)) } as T;
      }
      case 'connect': {
        const startedAt = cmd.startedAt ?? wallNow();
        const parts = await all<ConnectResult>((s) => ({ ...cmd, ...this.#range(s, cmd.from, cmd.to), startedAt }));
        const readyMs = new Array<number>(cmd.to - cmd.from).fill(NaN);
        parts.forEach((p, s) => {
          const r = this.#range(s, cmd.from, cmd.to);
          p.readyMs.forEach((ms, k) => (readyMs[this.#global(s, r.from + k) - cmd.from] = ms));
        });
        const notReady = parts.reduce((a, p) => a + p.notReady, 0);
        return {
          readyMs,
          allReadyMs: notReady === 0 ? Math.max(0, ...parts.map((p) => p.allReadyMs)) : NaN,
          notReady,
          errors: parts.reduce((a, p) => a + p.errors, 0),
          resets: parts.reduce((a, p) => a + p.resets, 0),
          sampleErrors: [...new Set(parts.flatMap((p) => p.sampleErrors))].slice(0, 5),
          refusedAndRetried: parts.reduce((a, p) => a + p.refusedAndRetried, 0),
          lostAfterReady: parts.reduce((a, p) => a + p.lostAfterReady, 0),
          maxLoopBlockMs: Math.max(...parts.map((p) => p.maxLoopBlockMs)),
        } satisfies ConnectResult as T;
      }
      case 'collect': {
        const parts = await all<CollectResult>((s) => ({ ...cmd, expect: cmd.expect.filter((i) => i % n === s).map((i) => Math.floor(i / n)) }));
        return {
          markedAt: Math.min(...parts.map((p) => p.markedAt)),
          events: parts.flatMap((p, s) => p.events.map((e) => ({ ...e, i: this.#global(s, e.i) }))),
          missing: parts.flatMap((p, s) => p.missing.map((j) => this.#global(s, j))),
          bytesReceived: parts.reduce((a, p) => a + p.bytesReceived, 0),
        } satisfies CollectResult as T;
      }
      case 'stats': {
        const parts = await all<ClientStats>(() => cmd);
        const sum = (k: keyof ClientStats) => parts.reduce((a, p) => a + p[k], 0);
        return {
          pid: parts[0]!.pid,
          rssBytes: sum('rssBytes'),
          cpuSeconds: sum('cpuSeconds'),
          bytesReceived: sum('bytesReceived'),
          responses: sum('responses'),
          ready: sum('ready'),
          proxies: sum('proxies'),
          errors: sum('errors'),
          referenceDecodes: sum('referenceDecodes'),
          maxLoopBlockMs: Math.max(...parts.map((p) => p.maxLoopBlockMs)),
        } satisfies ClientStats as T;
      }
      case 'subscriptions': {
        const parts = await all<string[][]>(() => cmd);
        const out: string[][] = [];
        parts.forEach((p, s) => p.forEach((names, j) => (out[this.#global(s, j)] = names)));
        return Array.from(out, (x) => x ?? []) as T;
      }
      case 'mark': {
        const parts = await all<number>(() => cmd);
        return Math.min(...parts) as T;
      }
      case 'close':
      case 'exit': {
        await all(() => cmd);
        return true as T;
      }
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.#rpcs.map((r) => r.close()));
  }

  kill(): void {
    for (const r of this.#rpcs) r.kill();
  }
}
