/**
 * Per-identity cost of a mesh-wide change, in process and without sockets: `node --expose-gc bin/run-ts.js
 * bench/identities-micro.ts [--services N] [--streams-per-identity K] [--change egress|permissive]`. One mesh of
 * N services (N identities), one warm Envoy generator, real SotW streams over in-memory calls that take every
 * write at once (CDS and LDS wildcard, EDS and RDS by name, as Envoy asks). The change is applied through the
 * store; then every identity's view is regenerated, its snapshot set and its streams pushed, as the controller
 * does. Prints CPU ms for the whole change and per identity, bytes written, and the heap the snapshots and
 * streams keep afterwards (after GC). Complements `npm run bench`: no HTTP/2, TLS or client process, so it
 * isolates the controller's own per-identity work from the wire and from the other processes on the machine.
 */
import 'reflect-metadata';
import { Duplex } from 'node:stream';
import { parseArgs } from 'node:util';
import { Bus, MetricsRegistry, silentLogger } from '@trellis/core';
import { createEnvoyGenerator } from '@trellis/plugin-proxy-envoy';
import { TypeUrls } from '@trellis/plugin-sdk';
import type { KubeObject, Logger, NodeIdentity } from '@trellis/plugin-sdk';
// eslint-disable-next-line no-restricted-imports -- @trellis/core does not export the store and catalog; the bench drives them directly.
import { Catalog } from '../core/src/catalog/index.ts';
// eslint-disable-next-line no-restricted-imports -- (same)
import { MeshStore } from '../core/src/store/index.ts';
// eslint-disable-next-line no-restricted-imports -- (same)
import { createResourceFactory, KeyedConcurrencyLimiter, ProxyRegistry, Snapshot, SnapshotCache } from '../core/src/xds/index.ts';
// eslint-disable-next-line no-restricted-imports -- (same: the stream classes are internal to the xDS server)
import { SotwStream } from '../core/src/xds/server/sotw.ts';
// eslint-disable-next-line no-restricted-imports -- (same)
import { RateLimitedLog } from '../core/src/xds/server/log-limit.ts';
// eslint-disable-next-line no-restricted-imports -- (same)
import { XdsMetrics } from '../core/src/xds/server/xds-metrics.ts';
// eslint-disable-next-line no-restricted-imports -- (same)
import type { StreamEnv } from '../core/src/xds/server/stream-base.ts';
// eslint-disable-next-line no-restricted-imports -- (same)
import type { SotwCall } from '../core/src/xds/server/codec.ts';
import { buildMesh, meshConfigObject, type MeshSettings } from './mesh-gen.ts';

const { values } = parseArgs({
  options: { services: { type: 'string', default: '1000' }, 'streams-per-identity': { type: 'string', default: '2' }, change: { type: 'string', default: 'egress' } },
});
const services = Number(values.services);
const perIdentity = Number(values['streams-per-identity']);
const change = values.change === 'permissive' ? 'permissive' : 'egress';
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

let bytesWritten = 0;
let pending = 0;
let drained: (() => void) | undefined;
/** A server call whose transport takes every write at once (counted, then dropped). */
class SinkCall extends Duplex {
  constructor() {
    super({ objectMode: true, read() {} });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    bytesWritten += chunk.length;
    pending++;
    setImmediate(() => {
      done();
      if (--pending === 0) drained?.();
    });
  }
  getAuthContext() {
    return {};
  }
  getPeer() {
    return 'micro';
  }
}
const settle = async () => {
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setImmediate(r));
    if (pending === 0) await new Promise((r) => setTimeout(r, 5));
    if (pending === 0) return;
    await new Promise<void>((r) => (drained = r));
  }
};

const logger: Logger = silentLogger();
const metrics = new MetricsRegistry();
const store = new MeshStore({ bus: new Bus(logger, metrics), logger, metrics });
const catalog = new Catalog(store);
const sink = store.sinkFor('micro');
const mesh = buildMesh(services);
for (const o of [...mesh.files.values()].flat() as KubeObject[]) sink.apply(o);
const apply = (s: MeshSettings) => sink.apply(meshConfigObject(s) as KubeObject);
apply({ permissive: false, egress: false });

const cache = new SnapshotCache();
const env: StreamEnv = {
  cache,
  registry: new ProxyRegistry(),
  limiter: new KeyedConcurrencyLimiter(64),
  limits: { maxBufferedBytes: 1024 * 1024, maxSubscriptions: 100_000, maxTypes: 16 },
  metrics: new XdsMetrics(),
  hooks: {},
  logger,
  logLimit: new RateLimitedLog(10),
  closed: () => {},
};
const factory = createResourceFactory();
const generator = createEnvoyGenerator();
const identities = mesh.services.map((s) => ({ namespace: s.namespace, serviceAccount: s.serviceAccount }));
const nodes: NodeIdentity[] = identities.map((id, i) => ({ uuid: `00000000-0000-4000-8000-${i.toString().padStart(12, '0')}`, kind: 'sidecar', ...id, trustDomain: 'cluster.local' }));

function rebuildAll(): void {
  for (const node of nodes) {
    const view = catalog.viewFor(node);
    const snapshot = new Snapshot(generator.generate(view, { node, resources: factory }));
    const r = cache.setSnapshot(cache.keyOf(node), snapshot);
    if (!r.ok) throw new Error(r.problems.join('; '));
  }
}

// Envoy subscribes EDS and RDS by name after each CDS/LDS response; these streams subscribe once, to their own
// names in both modes (permissive names: one identity's permissive view; shared by every identity).
apply({ permissive: true, egress: false });
const wide = new Snapshot(generator.generate(catalog.viewFor(nodes[0]!), { node: nodes[0]!, resources: factory }));
const wideNames = (t: string) => wide.resources(t).map((r) => r.name);
apply({ permissive: false, egress: false });
rebuildAll();
const calls: SinkCall[] = [];
for (const [i, node] of nodes.entries()) {
  const snap = cache.getSnapshot(cache.keyOf(node))!;
  for (let k = 0; k < perIdentity; k++) {
    const call = new SinkCall();
    calls.push(call);
    new SotwStream(env, call as unknown as SotwCall, 'plaintext');
    const id = `${node.uuid.slice(0, -4)}${(k * 1000 + i).toString().padStart(4, '0').slice(-4)}.sidecar.${node.serviceAccount}.${node.namespace}.cluster.local`;
    call.emit('data', { node: { id }, type_url: TypeUrls.cluster });
    call.emit('data', { type_url: TypeUrls.endpoint, resource_names: [...new Set([...snap.resources(TypeUrls.endpoint).map((r) => r.name), ...wideNames(TypeUrls.endpoint)])] });
    call.emit('data', { type_url: TypeUrls.listener });
    call.emit('data', { type_url: TypeUrls.route, resource_names: [...new Set([...snap.resources(TypeUrls.route).map((r) => r.name), ...wideNames(TypeUrls.route)])] });
  }
}
await settle();

async function measure(label: string, settings: MeshSettings): Promise<void> {
  gc();
  const heap0 = process.memoryUsage();
  bytesWritten = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  apply(settings);
  rebuildAll();
  await settle();
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  gc();
  const heap1 = process.memoryUsage();
  const cpuMs = (cpu.user + cpu.system) / 1000;
  // What the snapshots hold: distinct resource objects and bytes per type, and distinct per-type lists.
  const distinct = new Map<string, { objects: Set<object>; bytes: number; lists: Set<object>; refs: number }>();
  for (const node of nodes) {
    const snap = cache.getSnapshot(cache.keyOf(node))!;
    for (const t of snap.typeUrls()) {
      let d = distinct.get(t);
      if (!d) distinct.set(t, (d = { objects: new Set(), bytes: 0, lists: new Set(), refs: 0 }));
      d.lists.add(snap.resources(t));
      for (const r of snap.resources(t)) {
        d.refs++;
        if (!d.objects.has(r)) {
          d.objects.add(r);
          d.bytes += r.body.byteLength;
        }
      }
    }
  }
  const held = [...distinct].map(([t, d]) => `${t.split('.').at(-1)} ${d.refs} refs/${d.objects.size} objects/${(d.bytes / 1048576).toFixed(1)} MiB/${d.lists.size} lists`);
  const mb = (n: number) => (n / 1048576).toFixed(1);
  console.log(
    `${label}: ${cpuMs.toFixed(0)} ms CPU (${(cpuMs / nodes.length).toFixed(2)} ms per identity), ${wall.toFixed(0)} ms wall, ${mb(bytesWritten)} MiB written to ${calls.length} streams; ` +
      `heap after GC ${mb(heap1.heapUsed)} MiB (${heap1.heapUsed >= heap0.heapUsed ? '+' : ''}${mb(heap1.heapUsed - heap0.heapUsed)}), external+arrayBuffers ${mb(heap1.external + heap1.arrayBuffers)} MiB, rss ${mb(heap1.rss)} MiB`,
  );
  console.log(`  held: ${held.join('; ')}`);
}

console.log(`${services} services/identities, ${perIdentity} streams each, change: ${change}`);
if (change === 'egress') {
  await measure('egress on ', { permissive: false, egress: true });
  await measure('egress off', { permissive: false, egress: false });
} else {
  await measure('permissive on ', { permissive: true, egress: false });
  await measure('permissive off', { permissive: false, egress: false });
}
catalog.dispose();
process.exit(0);
