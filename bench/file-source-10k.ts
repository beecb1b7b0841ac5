/**
 * Loads ~10k objects through the file source into the mesh store, then measures the catalog on that mesh
 * and one live edit. Run: `npx tsx bench/file-source-10k.ts [objects]`. Prints figures; asserts nothing.
 *
 * Mesh: W workloads of 7 objects (ServiceAccount, Service, 2 Pods, EndpointSlice, TrafficTarget admitting the
 * previous two workloads of the namespace, one HTTPRouteGroup per workload) in namespaces of 50 workloads,
 * written 50 objects per multi-document YAML file.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { Bus, Catalog, MeshStore, MetricsRegistry, meshChanged, silentLogger } from '@trellis/core';
import type { StoreChange } from '@trellis/core';
import { FileSource } from '@trellis/plugin-source-file';

const target = Number(process.argv[2] ?? 10_000);
const PER_WORKLOAD = 7;
const workloads = Math.ceil(target / PER_WORKLOAD);
const PER_NS = 50;

function workload(i: number): unknown[] {
  const ns = `ns-${Math.floor(i / PER_NS)}`;
  const name = `svc-${i}`;
  const j = i % PER_NS;
  const ip = (k: number) => `10.${(i >> 8) & 255}.${i & 255}.${k + 1}`;
  const sources = [j - 1, j - 2].filter((x) => x >= 0).map((x) => ({ kind: 'ServiceAccount', name: `svc-${i - j + x}`, namespace: ns }));
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { selector: { app: name }, ports: [{ name: 'http', port: 8080, targetPort: 8080 }] } },
    ...[0, 1].map((k) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `${name}-${k}`, namespace: ns, labels: { app: name } }, spec: { serviceAccountName: name }, status: { podIP: ip(k) } })),
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${name}-x`, namespace: ns, labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080 }],
      endpoints: [0, 1].map((k) => ({ addresses: [ip(k)], conditions: { ready: true }, targetRef: { kind: 'Pod', name: `${name}-${k}`, namespace: ns } })),
    },
    { apiVersion: 'specs.smi-spec.io/v1alpha4', kind: 'HTTPRouteGroup', metadata: { name: `${name}-routes`, namespace: ns }, spec: { matches: [{ name: 'api', pathRegex: '/api/.*', methods: ['GET', 'POST'] }] } },
    {
      apiVersion: 'access.smi-spec.io/v1alpha3',
      kind: 'TrafficTarget',
      metadata: { name, namespace: ns },
      spec: { destination: { kind: 'ServiceAccount', name, namespace: ns }, sources: sources.length ? sources : [{ kind: 'ServiceAccount', name: 'nobody', namespace: ns }], rules: [{ kind: 'HTTPRouteGroup', name: `${name}-routes` }] },
    },
  ];
}

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const mb = () => (process.memoryUsage().heapUsed / 1048576).toFixed(1);

const dir = mkdtempSync(join(tmpdir(), 'trellis-bench-file-'));
try {
  let t0 = process.hrtime.bigint();
  const all = Array.from({ length: workloads }, (_, i) => workload(i)).flat();
  const files: string[] = [];
  for (let f = 0; f * 50 < all.length; f++) {
    const sub = join(dir, `ns-${Math.floor((f * 50) / (PER_NS * PER_WORKLOAD))}`);
    mkdirSync(sub, { recursive: true });
    const file = join(sub, `part-${f}.yaml`);
    writeFileSync(file, all.slice(f * 50, f * 50 + 50).map((o) => YAML.stringify(o)).join('---\n'));
    files.push(file);
  }
  console.log(`generated ${all.length} objects in ${files.length} files (${ms(t0).toFixed(0)} ms)`);

  const logger = silentLogger();
  const metrics = new MetricsRegistry();
  const bus = new Bus(logger, metrics);
  const store = new MeshStore({ bus, logger, metrics });
  const heap0 = mb();
  const src = new FileSource({ dir, watch: true, debounceMs: 50, sink: store.sinkFor('file'), logger, source: 'file' });
  t0 = process.hrtime.bigint();
  await src.start();
  const loadMs = ms(t0);
  const counted = store.list('Service').length + store.list('Pod').length + store.list('ServiceAccount').length + store.list('EndpointSlice').length + store.list('TrafficTarget').length + store.list('HTTPRouteGroup').length;
  console.log(`initial load: ${counted} objects in ${loadMs.toFixed(0)} ms (${((counted / loadMs) * 1000).toFixed(0)} objects/s), heap ${heap0} -> ${mb()} MB, errors ${store.sourceErrors().length}`);

  const catalog = new Catalog(store);
  t0 = process.hrtime.bigint();
  const ids = catalog.identities();
  for (const id of ids) catalog.viewFor(id);
  const allViewsMs = ms(t0);
  console.log(`catalog: ${ids.length} identities, first viewFor for all in ${allViewsMs.toFixed(0)} ms (${(allViewsMs / ids.length).toFixed(3)} ms/view incl. index build), heap ${mb()} MB`);
  t0 = process.hrtime.bigint();
  for (const id of ids) catalog.viewFor(id);
  console.log(`catalog: cached viewFor for all in ${ms(t0).toFixed(1)} ms`);

  // One live edit: scale a workload (add a pod in its file) and wait for the store event.
  const changes: StoreChange[] = [];
  let resolveChange: () => void = () => {};
  const got = new Promise<void>((r) => (resolveChange = r));
  bus.subscribe(meshChanged, (c) => {
    changes.push(c);
    resolveChange();
  });
  const file = files[Math.floor(files.length / 2)]!;
  const extra = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'late-comer', namespace: 'ns-0' } };
  const editedAt = process.hrtime.bigint();
  writeFileSync(`${file}.tmp`, `${YAML.stringify(extra)}---\n${(await import('node:fs')).readFileSync(file, 'utf8')}`);
  renameSync(`${file}.tmp`, file);
  await got;
  await src.settled();
  console.log(`live edit (atomic save of a 50-object file, +1 object): ${changes.length} store event(s) ${ms(editedAt).toFixed(0)} ms after the rename (incl. 50 ms debounce), files read by the rescan: ${src.stats.filesRead - files.length}`);

  // Affected set and recomputation for a workload change in the middle of the mesh.
  const mid = Math.floor(workloads / 2);
  const pod = store.get('Pod', `ns-${Math.floor(mid / PER_NS)}`, `svc-${mid}-0`)!;
  const seen: (Set<string> | 'all')[] = [];
  const off = store.onChange((c) => void seen.push(catalog.affected(c)));
  const before = catalog.computed;
  t0 = process.hrtime.bigint();
  store.sinkFor('bench').apply({ ...pod, metadata: { ...pod.metadata, name: `svc-${mid}-9` }, status: { podIP: '10.250.0.1' } });
  const applyMs = ms(t0);
  t0 = process.hrtime.bigint();
  for (const id of ids) catalog.viewFor(id);
  off();
  const last = seen.at(-1);
  const size = last === undefined ? 0 : last === 'all' ? 'all' : last.size;
  console.log(`pod added to one service: affected ${size} of ${ids.length} identities (apply+affected ${applyMs.toFixed(2)} ms); re-serving every view recomputed ${catalog.computed - before} in ${ms(t0).toFixed(0)} ms`);
  src.stop();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
