/**
 * The controller under test, in its own process: `node bin/trellis.js controller --config <generated yaml>`
 * with the file source on the generated mesh, a temporary self-signed CA, the Envoy backend, free ports and
 * `log.level: warn`. Measured from outside (/proc) and through its admin API (/readyz, /metrics).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { parseConfig } from '@trellis/core';
import { procStats, type ProcStats } from './proc-stats.ts';

export interface ControllerOptions {
  workDir: string;
  meshDir: string;
  caDir: string;
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
  maxStreams: number;
  fileDebounceMs?: number;
  debounceMaxMs?: number;
  connectionsPerSecond?: number;
  /** An OTLP/HTTP endpoint: adds the otel plugin (every change traced, metrics every 15 s). */
  otelEndpoint?: string;
  /** A kubeconfig: the kubernetes source on that API server instead of the file source on `meshDir`. */
  kubeconfig?: string;
}

/** The debounce windows the controller runs with (ms), decoded from its config by the controller's own parser. */
export interface DebounceInEffect {
  /** The file source's `debounce` (0 for the kubernetes source, which has none). */
  fileSourceMs: number;
  xdsQuietMs: number;
  xdsMaxMs: number;
}

/** What the controller decodes `text` to: the schema defaults are the truth, not a copy of them here. */
async function debounceOf(text: string, file: string): Promise<DebounceInEffect> {
  const loaded = await parseConfig(text, file);
  const source = loaded.plugins.find((p) => p.kind === 'source');
  let fileSourceMs = 0;
  if (source?.use === 'file') {
    // Plugin configs come back decoded by their schema (durations in ms, defaults filled in).
    const v = (source.config as { debounce?: unknown }).debounce;
    if (typeof v !== 'number') throw new Error('bench: cannot read the file source debounce from the generated config');
    fileSourceMs = v;
  }
  return { fileSourceMs, xdsQuietMs: loaded.settings.xds.debounce.quiet, xdsMaxMs: loaded.settings.xds.debounce.max };
}

class EarlyExit extends Error {}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => res(port));
    });
  });
}

export class ControllerProcess {
  readonly adminUrl: string;
  readonly xdsAddress: string;
  readonly logFile: string;
  /** The debounce windows in effect (the scenarios record them and subtract them from convergence figures). */
  debounce: DebounceInEffect = { fileSourceMs: 0, xdsQuietMs: 0, xdsMaxMs: 0 };
  readonly #child: ChildProcess;
  #exited: Promise<number | null>;
  exitCode: number | null | undefined;

  private constructor(child: ChildProcess, adminUrl: string, xdsAddress: string, logFile: string) {
    this.#child = child;
    this.adminUrl = adminUrl;
    this.xdsAddress = xdsAddress;
    this.logFile = logFile;
    this.#exited = new Promise((r) =>
      child.once('exit', (code) => {
        this.exitCode = code;
        r(code);
      }),
    );
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  /** Starts the controller; retried on new ports when it dies early (a free port can be taken meanwhile). */
  static async start(o: ControllerOptions): Promise<ControllerProcess> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await ControllerProcess.#startOnce(o);
      } catch (err) {
        if (attempt >= 3 || !(err instanceof EarlyExit)) throw err;
      }
    }
  }

  static async #startOnce(o: ControllerOptions): Promise<ControllerProcess> {
    const [adminPort, xdsPort] = [await freePort(), await freePort()];
    const config = {
      mesh: { name: 'bench', trustDomain: 'cluster.local' },
      plugins: {
        sources: [
          o.kubeconfig !== undefined
            ? // qps/burst above the defaults: the first list of every kind at start is not what is measured.
              { use: 'kubernetes', config: { kubeconfig: o.kubeconfig, qps: 1000, burst: 1000 } }
            : { use: 'file', config: { dir: o.meshDir, ...(o.fileDebounceMs !== undefined && { debounce: `${o.fileDebounceMs}ms` }) } },
        ],
        proxies: [{ use: 'envoy' }],
        certificates: { use: 'selfsigned', config: { stateDir: o.caDir } },
        ...(o.otelEndpoint !== undefined && { observability: [{ use: 'otel', config: { endpoint: o.otelEndpoint, samplingRatio: 1 } }] }),
      },
      xds: {
        address: `127.0.0.1:${xdsPort}`,
        maxStreams: o.maxStreams,
        ...(o.connectionsPerSecond !== undefined && { connectionsPerSecond: o.connectionsPerSecond }),
        ...(o.debounceMaxMs !== undefined && { debounce: { max: `${o.debounceMaxMs}ms` } }),
      },
      admin: { address: `127.0.0.1:${adminPort}` },
      log: { level: 'warn' },
    };
    const configFile = join(o.workDir, 'trellis.yaml');
    const text = YAML.stringify(config);
    writeFileSync(configFile, text);
    const debounce = await debounceOf(text, configFile);
    const logFile = join(o.workDir, 'controller.log');
    const log = createWriteStream(logFile);
    const bin = resolve(import.meta.dirname, '..', 'bin', 'trellis.js');
    const child = spawn(process.execPath, [...(o.nodeArgs ?? []), bin, 'controller', '--config', configFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: o.workDir,
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    const proc = new ControllerProcess(child, `http://127.0.0.1:${adminPort}`, `127.0.0.1:${xdsPort}`, logFile);
    proc.debounce = debounce;
    try {
      await proc.#waitReady(120_000);
    } catch (err) {
      await proc.stop();
      throw err;
    }
    return proc;
  }

  async #waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      if (this.exitCode !== undefined) {
        const log = readFileSync(this.logFile, 'utf8').slice(-2000);
        throw new EarlyExit(`controller exited with ${this.exitCode} before it was ready; ${this.logFile} ends with:\n${log}`);
      }
      try {
        const res = await fetch(`${this.adminUrl}/readyz`);
        if (res.ok) return;
        last = `${res.status} ${await res.text()}`;
      } catch (err) {
        last = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`controller not ready within ${timeoutMs} ms (last /readyz: ${last.slice(0, 300)}); see ${this.logFile}`);
  }

  stats(): ProcStats {
    return procStats(this.pid);
  }

  /** Prometheus text exposition parsed to `name{labels}` -> value. */
  async metrics(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    try {
      const text = await (await fetch(`${this.adminUrl}/metrics`)).text();
      for (const line of text.split('\n')) {
        if (!line || line.startsWith('#')) continue;
        const sp = line.lastIndexOf(' ');
        const v = Number(line.slice(sp + 1));
        if (Number.isFinite(v)) out.set(line.slice(0, sp), v);
      }
    } catch {
      // metrics are best effort; an empty map shows as zero deltas
    }
    return out;
  }

  /** Asks the controller (started with --heapsnapshot-signal=SIGUSR2) for a heap snapshot in its work dir. */
  requestHeapSnapshot(): void {
    this.#child.kill('SIGUSR2');
  }

  async stop(): Promise<void> {
    if (this.exitCode !== undefined) return;
    this.#child.kill('SIGTERM');
    const t = setTimeout(() => this.#child.kill('SIGKILL'), 15_000);
    await this.#exited;
    clearTimeout(t);
  }
}

/** Counters that moved between two scrapes (summed over labels), for the families a push touches. */
export function metricDeltas(before: Map<string, number>, after: Map<string, number>, pattern = /push|snapshot|response|build|sent|ack|nack|cert|gc_duration/): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const [k, v] of after) {
    const family = k.replace(/\{.*$/, '');
    if (!pattern.test(family) || family.endsWith('_bucket')) continue;
    const d = v - (before.get(k) ?? 0);
    if (d !== 0) sums[family] = (sums[family] ?? 0) + d;
  }
  return sums;
}

/**
 * p50/p99 (upper bucket bounds, in ms) and count of a histogram family between two scrapes, summed over
 * every label but `le`. Coarse by construction (bucket resolution), but measured inside the controller.
 */
export function histogramDelta(before: Map<string, number>, after: Map<string, number>, family: string): { count: number; meanMs: number; p50Ms: number; p99Ms: number } | undefined {
  const buckets = new Map<number, number>();
  for (const [k, v] of after) {
    if (!k.startsWith(`${family}_bucket{`)) continue;
    const le = /le="([^"]+)"/.exec(k)?.[1];
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + v - (before.get(k) ?? 0));
  }
  const sumOf = (m: Map<string, number>, suffix: string) => [...m].filter(([k]) => k.startsWith(`${family}_${suffix}`)).reduce((a, [, v]) => a + v, 0);
  const count = sumOf(after, 'count') - sumOf(before, 'count');
  if (count <= 0) return undefined;
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const q = (p: number) => {
    const want = count * p;
    const hit = sorted.find(([, c]) => c >= want);
    return hit ? hit[0] * 1000 : NaN;
  };
  return { count, meanMs: Math.round(((sumOf(after, 'sum') - sumOf(before, 'sum')) / count) * 1e6) / 1000, p50Ms: q(0.5), p99Ms: q(0.99) };
}
