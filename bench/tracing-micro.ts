/**
 * Micro-measurement of what tracing one mesh-wide change costs the controller, in process: `node bin/run-ts.js
 * bench/tracing-micro.ts [--proxies N] [--identities K] [--types T] [--reps R] [--warmup W] [--tracer otel|none]`. Drives the
 * core's ChangeTracing as the controller does (one sink call queuing every snapshot key, a rebuild per key, then
 * per proxy T pushes, its push-done and T ACKs) with the real otel plugin exporting over OTLP/HTTP to the bench's
 * sink, and prints CPU ms and GC pause ms per change (after warm-up), so a change to the span shape is judged by
 * its own cost, outside the noise of the full benchmark.
 */
import 'reflect-metadata';
import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { silentLogger } from '@trellis/core';
import { OtelExporter } from '@trellis/plugin-observability-otel';
import type { NodeIdentity, SourceSink } from '@trellis/plugin-sdk';
// eslint-disable-next-line no-restricted-imports -- @trellis/core does not export the controller's tracing; the bench drives it directly.
import { ChangeTracing } from '../core/src/controller/change-tracing.ts';
import { OtlpSink } from './otlp-sink.ts';

const { values } = parseArgs({
  options: {
    proxies: { type: 'string', default: '300' },
    identities: { type: 'string', default: '100' },
    types: { type: 'string', default: '5' },
    reps: { type: 'string', default: '40' },
    warmup: { type: 'string', default: '10' },
    tracer: { type: 'string', default: 'otel' },
  },
});
const proxies = Number(values.proxies);
const identities = Number(values.identities);
const types = Array.from({ length: Number(values.types) }, (_, i) => `type.googleapis.com/envoy.T${i}`);
const reps = Number(values.reps);

const sink = await OtlpSink.start();
const exporter =
  values.tracer === 'otel'
    ? await OtelExporter.create({ endpoint: sink.url, protocol: 'http/protobuf', samplingRatio: 1, metricsIntervalMs: 60_000, logger: silentLogger(), resource: { 'service.name': 'bench' } })
    : undefined;
const nodes: NodeIdentity[] = Array.from({ length: proxies }, (_, i) => ({
  uuid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  kind: 'sidecar',
  namespace: 'bench',
  serviceAccount: `sa-${i % identities}`,
  trustDomain: 'cluster.local',
}));
const keyOf = (n: NodeIdentity) => `sidecar|${n.namespace}/${n.serviceAccount}`;
const keys = [...new Set(nodes.map(keyOf))];
const tracing = new ChangeTracing(keyOf);
tracing.use(exporter ? [exporter.tracer] : []);
const change = { kind: 'MeshConfig' as const, key: 'config.openservicemesh.io/MeshConfig/osm-system/osm-mesh-config' };
const noop = () => {};
const sinkCalls: SourceSink = tracing.wrapSink('file', {
  apply: () => {
    tracing.onStoreChange(change);
    tracing.affected(change, () => 'all' as const);
    for (const k of keys) tracing.queued(k);
  },
  delete: noop,
  replaceAll: noop,
  reportError: noop,
  clearErrors: noop,
});

let gcMs = 0;
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
});
gcObserver.observe({ entryTypes: ['gc'] });

let version = 0;
async function oneChange(): Promise<void> {
  sinkCalls.apply({ apiVersion: 'config.openservicemesh.io/v1alpha2', kind: 'MeshConfig', metadata: { name: 'osm-mesh-config', namespace: 'osm-system' } });
  await new Promise((r) => setImmediate(r)); // the run is sealed in a microtask
  tracing.flushed();
  const generatedAt = Date.now() + version++;
  const streams = new Map<string, number>();
  for (const n of nodes) streams.set(keyOf(n), (streams.get(keyOf(n)) ?? 0) + 1);
  for (const k of keys) {
    const changes = tracing.rebuildStarting(k);
    if (changes) tracing.rebuildDone(k, changes, { identity: k, kind: 'sidecar', startedAt: performance.timeOrigin + performance.now(), generatedAt, resources: 40, streams: streams.get(k) ?? 0 });
  }
  const v = String(version);
  for (const node of nodes) {
    for (const typeUrl of types) tracing.hooks.onPush({ node, typeUrl, version: v, nonce: v, generatedAt, sentAt: Date.now() });
    tracing.hooks.onPushDone({ node, generatedAt, responses: types.length });
  }
  for (const node of nodes) for (const typeUrl of types) tracing.hooks.onAck({ node, typeUrl, version: v, at: Date.now() });
  await exporter?.flush();
}

// warm-up 0 measures the first changes of a process, as the benchmark's few changes run: mostly unoptimized code.
const warmup = Number(values.warmup);
for (let i = 0; i < warmup; i++) await oneChange();
gcMs = 0;
const c0 = process.cpuUsage();
const t0 = performance.now();
for (let i = 0; i < reps; i++) await oneChange();
const wall = performance.now() - t0;
const cpu = process.cpuUsage(c0);
await new Promise((r) => setTimeout(r, 10)); // the observer's last entries
gcObserver.disconnect();
const per = (x: number) => (x / reps).toFixed(1);
console.log(
  `tracer=${values.tracer} proxies=${proxies} identities=${identities} types=${types.length} reps=${reps}: ` +
    `cpu ${per((cpu.user + cpu.system) / 1000)} ms/change, gc pause ${per(gcMs)} ms/change, wall ${per(wall)} ms/change; sink ${sink.requests} requests, ${sink.bytes} bytes`,
);
await exporter?.stop();
await sink.stop();
