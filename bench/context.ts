/** What every scenario gets: the running controller, the simulated proxies, the mesh and the result sink. */
import type { Clients } from './client-pool.ts';
import type { ClientStats, ProxySpec } from './clients-protocol.ts';
import type { ControllerProcess } from './controller-proc.ts';
import { histogramDelta, metricDeltas } from './controller-proc.ts';
import type { GenMesh } from './mesh-gen.ts';
import { round } from './stats.ts';
import { wallNow } from './sim-proxy.ts';

export interface BenchArgs {
  proxies: number;
  services: number;
  scenarios: ReadonlySet<string>;
  delta: boolean;
  /** xDS protocols to run the controller scenarios with, one after the other, into one report. */
  protocols: ('sotw' | 'delta')[];
  out: string;
  quick: boolean;
  /** Seconds the ceiling scenario may take. */
  ceilingBudgetS: number;
  /** The file source's `debounce` (its default, 100 ms, when absent). */
  fileDebounceMs?: number;
  /** The controller's `xds.connectionsPerSecond` (its default, 1000, when absent). */
  connectionsPerSecond?: number;
  /** The controller's `xds.debounce.max` (its schema default, 250 ms, when absent). */
  debounceMaxMs?: number;
  /** Write a heap snapshot of the controller after the idle-memory measurement (into the kept work dir). */
  heapSnapshot: boolean;
  /** Simulated-proxy processes (proxies are spread over them); default one per 2500 proxies. */
  clientProcesses: number;
  /** Passed to the controller's node (e.g. --cpu-prof). */
  controllerNodeArgs: string[];
  /** Run the controller with the otel plugin (100% sampling, traces and metrics) exporting to a local sink. */
  otel?: boolean;
  /** Where the controller reads the mesh: generated YAML (file source) or the fake API server (kubernetes source). */
  source?: 'file' | 'kubernetes';
}

export interface ScenarioResult {
  scenario: string;
  parameters: Record<string, unknown>;
  figures: Record<string, unknown>;
  goal?: string;
  /** true / false against the goal; null when this run cannot say (too small, or skipped). */
  goalMet?: boolean | null;
  notes?: string[];
}

export interface BenchContext {
  args: BenchArgs;
  workDir: string;
  mesh: GenMesh;
  controller: ControllerProcess;
  clients: Clients;
  /** Proxy i runs as the identity of service `serviceOf[i]`. */
  proxies: ProxySpec[];
  serviceOf: number[];
  /** The self-signed CA state directory the controller and the proxies' certificates share. */
  controllerCaDir: string;
  /** The controller's RSS with the mesh loaded and no proxy connected. */
  baselineRssBytes: number;
}

/** Controller/client CPU, memory, bytes and metric deltas around `fn`. */
export interface Usage {
  wallMs: number;
  controllerCpuSeconds: number;
  /** Of which the controller's main thread (the rest: V8's GC and compiler threads, libuv's pool). */
  controllerMainThreadCpuSeconds: number;
  clientCpuSeconds: number;
  controllerRssBytes: number;
  controllerPeakRssBytes: number;
  clientRssBytes: number;
  bytesSent: number;
  responses: number;
  metrics: Record<string, number>;
  /** Histograms measured inside the controller (bucket resolution). */
  histograms: Record<string, ReturnType<typeof histogramDelta>>;
}

const HISTOGRAMS = [
  'trellis_certificates_issuance_duration_seconds',
  'trellis_snapshot_build_duration_seconds',
  'trellis_xds_push_duration_seconds',
  // Where a change's time goes (endpoint churn): held by the debouncer, then snapshot built -> response written.
  'trellis_xds_debounce_wait_seconds',
  'trellis_xds_push_latency_seconds',
];

export async function measure<T>(ctx: BenchContext, fn: () => Promise<T>): Promise<{ value: T; usage: Usage }> {
  const c0 = ctx.controller.stats();
  const s0 = await ctx.clients.call<ClientStats>({ op: 'stats' });
  const m0 = await ctx.controller.metrics();
  const t0 = wallNow();
  const value = await fn();
  const wallMs = wallNow() - t0;
  const c1 = ctx.controller.stats();
  const s1 = await ctx.clients.call<ClientStats>({ op: 'stats' });
  const m1 = await ctx.controller.metrics();
  return {
    value,
    usage: {
      wallMs: round(wallMs, 1),
      controllerCpuSeconds: round(c1.cpuSeconds - c0.cpuSeconds),
      controllerMainThreadCpuSeconds: round(c1.mainThreadCpuSeconds - c0.mainThreadCpuSeconds),
      clientCpuSeconds: round(s1.cpuSeconds - s0.cpuSeconds),
      controllerRssBytes: c1.rssBytes,
      controllerPeakRssBytes: c1.peakRssBytes,
      clientRssBytes: s1.rssBytes,
      bytesSent: s1.bytesReceived - s0.bytesReceived,
      responses: s1.responses - s0.responses,
      metrics: metricDeltas(m0, m1),
      histograms: Object.fromEntries(HISTOGRAMS.map((h) => [h, histogramDelta(m0, m1, h)]).filter(([, v]) => v !== undefined)),
    },
  };
}

export function proxiesOfService(ctx: BenchContext, svc: number): number[] {
  const out: number[] = [];
  ctx.serviceOf.forEach((s, i) => s === svc && out.push(i));
  return out;
}

/** The debounce settings in effect, as the controller decoded its config (the scenarios record them with their parameters). */
export function debounceSettings(ctx: BenchContext): { fileSourceMs: number; xdsQuietMs: number; xdsMaxMs: number } {
  return { ...ctx.controller.debounce };
}
