/**
 * Memory per pod in the kubernetes source. The parent serves N realistic pods (a Deployment's pod with managed
 * fields, env, volumes, probes and status conditions, about 3.5 KiB of JSON each) from the fake API server; a
 * separate child process (`--expose-gc`) runs what the controller runs for them — the kubernetes source into the
 * core MeshStore — and reports its heap after GC once the first full list is stored. Heap per pod is the heap
 * with N pods minus the heap with none (same child, same code), divided by N: the fake server's copies and the
 * bench's own allocations are in the other process. Prints figures; asserts nothing.
 * Run: `node bin/run-ts.js bench/kubernetes-pods.ts [pods] [--runs R] [--no-store]` (`--no-store`: the source alone).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Bus, MeshStore, MetricsRegistry, silentLogger } from '@trellis/core';
import { ApiClient, BUILTIN_KINDS, KubernetesSource, loadKubeConfig } from '@trellis/plugin-source-kubernetes';
import type { SourceSink } from '@trellis/plugin-sdk';
import { FakeApiServer } from '../test/support/fake-apiserver/index.ts';

interface ChildResult {
  pods: number;
  listMs: number;
  heapBefore: number;
  heapAfter: number;
  rss: number;
  storedBytes: number;
}

const heap = async (): Promise<number> => {
  // Plain gc() is a full collection; gc({ type: 'major', execution: 'sync' }) left garbage (11 KiB a pod vs 1.8 in a heap snapshot).
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('the child runs with node --expose-gc');
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed;
};

/** The measured process: the source's informers listing into the store, nothing else of the bench. */
async function child(kubeconfig: string, expect: number, withStore: boolean): Promise<ChildResult> {
  const logger = silentLogger();
  const metrics = new MetricsRegistry();
  const store = new MeshStore({ bus: new Bus(logger, metrics), logger, metrics });
  // `--no-store`: the source alone (its reflector cache and applied map), objects counted and dropped.
  let dropped = 0;
  const drop: SourceSink = {
    apply: () => void dropped++,
    delete: () => undefined,
    replaceAll: (objs) => void (dropped += objs.filter((o) => o.obj.kind === 'Pod').length),
    reportError: () => undefined,
    clearErrors: () => undefined,
  };
  const pods = () => (withStore ? store.list('Pod').length : dropped);
  const source = new KubernetesSource({
    api: new ApiClient(loadKubeConfig({ kubeconfig }), { qps: 1000, burst: 1000, requestTimeoutMs: 60_000 }),
    kinds: BUILTIN_KINDS,
    meshName: () => 'trellis',
    sink: withStore ? store.sinkFor('kubernetes') : drop,
    logger,
    source: 'kubernetes',
    staleAfterMs: 120_000,
    resyncMs: 0,
  });
  const heapBefore = await heap();
  const t0 = performance.now();
  source.start();
  while (!source.readiness().ready || pods() < expect) await new Promise((r) => setTimeout(r, 20));
  const listMs = performance.now() - t0;
  // Let the list's transient buffers go before reading the heap.
  await new Promise((r) => setTimeout(r, 200));
  const heapAfter = await heap();
  // KPODS_HEAP_SNAPSHOT=file: a heap snapshot of the child at this point, to see what a pod costs.
  if (process.env.KPODS_HEAP_SNAPSHOT) (await import('node:v8')).writeHeapSnapshot(process.env.KPODS_HEAP_SNAPSHOT);
  const first = store.list('Pod')[0];
  const result = { pods: pods(), listMs, heapBefore, heapAfter, rss: process.memoryUsage().rss, storedBytes: first ? JSON.stringify(first).length : 0 };
  await source.stop();
  return result;
}

function pod(i: number): Parameters<FakeApiServer['create']>[0] {
  const name = `web-7d9f8c6b5-${i.toString(36).padStart(5, '0')}`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'shop',
      generateName: 'web-7d9f8c6b5-',
      labels: { app: 'web', 'pod-template-hash': '7d9f8c6b5', version: 'v1' },
      annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d9f8c6b5', uid: '6f1c2a4e-0b7d-4f59-9c1e-2b8a7d3e5f10', controller: true, blockOwnerDeletion: true }],
      managedFields: [
        { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', time: '2026-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:generateName': {}, 'f:labels': { '.': {}, 'f:app': {}, 'f:pod-template-hash': {} } }, 'f:spec': { 'f:containers': { 'k:{"name":"web"}': { '.': {}, 'f:env': {}, 'f:image': {}, 'f:ports': {} } } } } },
        { manager: 'kubelet', operation: 'Update', apiVersion: 'v1', time: '2026-01-01T00:00:05Z', fieldsType: 'FieldsV1', subresource: 'status', fieldsV1: { 'f:status': { 'f:conditions': {}, 'f:containerStatuses': {}, 'f:podIP': {}, 'f:podIPs': {} } } },
      ],
    },
    spec: {
      serviceAccountName: 'web',
      serviceAccount: 'web',
      nodeName: `node-${i % 50}`,
      containers: [
        {
          name: 'web',
          image: 'registry.example.com/shop/web:1.42.0',
          ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }, { name: 'metrics', containerPort: 9090, protocol: 'TCP' }],
          env: Array.from({ length: 8 }, (_, k) => ({ name: `SETTING_${k}`, value: `value-${k}-${'x'.repeat(20)}` })),
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
          readinessProbe: { httpGet: { path: '/ready', port: 8080 }, periodSeconds: 5 },
          livenessProbe: { httpGet: { path: '/live', port: 8080 }, periodSeconds: 10 },
          volumeMounts: [{ name: 'kube-api-access-abcde', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }],
        },
      ],
      volumes: [{ name: 'kube-api-access-abcde', projected: { sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } }, { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } }] } }],
      tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }],
    },
    status: {
      phase: 'Running',
      podIP: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      podIPs: [{ ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` }],
      hostIP: '192.168.0.10',
      startTime: '2026-01-01T00:00:01Z',
      conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({ type, status: 'True', lastTransitionTime: '2026-01-01T00:00:04Z' })),
      containerStatuses: [{ name: 'web', ready: true, restartCount: 0, image: 'registry.example.com/shop/web:1.42.0', imageID: `registry.example.com/shop/web@sha256:${'ab'.repeat(32)}`, containerID: `containerd://${'cd'.repeat(32)}`, state: { running: { startedAt: '2026-01-01T00:00:03Z' } } }],
    },
  };
}

async function serve(n: number): Promise<{ api: FakeApiServer; kubeconfig: string; dir: string }> {
  const api = await FakeApiServer.start();
  api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { 'trellis.io/monitored-by': 'trellis' } } });
  for (let i = 0; i < n; i++) api.create(pod(i));
  const dir = mkdtempSync(join(tmpdir(), 'trellis-bench-kube-'));
  const kubeconfig = join(dir, 'kubeconfig');
  await api.kubeconfig(kubeconfig);
  return { api, kubeconfig, dir };
}

/** Runs the child against a server with `n` pods; the parent only serves (its event loop must stay free). */
async function measureIn(n: number, withStore: boolean): Promise<ChildResult> {
  const { api, kubeconfig, dir } = await serve(n);
  try {
    const run = resolve(import.meta.dirname, '..', 'bin', 'run-ts.js');
    // Asynchronously: the fake server answering the child lives in this process's event loop.
    const out = await new Promise<string>((res, rej) =>
      execFile(process.execPath, ['--expose-gc', run, import.meta.filename, '--child', kubeconfig, String(n), withStore ? 'store' : 'no-store'], { maxBuffer: 1 << 20 }, (err, stdout, stderr) =>
        err ? rej(new Error(`child failed: ${err.message}\n${stderr}`)) : res(stdout),
      ),
    );
    return JSON.parse(out.trim().split('\n').pop() ?? '{}') as ChildResult;
  } finally {
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') {
  process.stdout.write(`${JSON.stringify(await child(argv[1]!, Number(argv[2]), argv[3] === 'store'))}\n`);
} else {
  const N = Number(argv.find((a) => /^\d+$/.test(a)) ?? 5000);
  const runsAt = argv.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(argv[runsAt + 1]) : 2;
  const withStore = !argv.includes('--no-store');
  const rawBytes = JSON.stringify(pod(0)).length;
  for (let r = 0; r < runs; r++) {
    const empty = await measureIn(0, withStore);
    const full = await measureIn(N, withStore);
    const perPod = (full.heapAfter - empty.heapAfter) / N;
    process.stdout.write(
      `run ${r + 1} (${withStore ? 'source + store' : 'source alone'}): ${N} pods, first full list ${full.listMs.toFixed(0)} ms; JSON per pod ${rawBytes} B served, ${full.storedBytes} B stored; ` +
        `heap after GC ${(empty.heapAfter / 1048576).toFixed(1)} MiB with 0 pods, ${(full.heapAfter / 1048576).toFixed(1)} MiB with ${full.pods}: ` +
        `${perPod.toFixed(0)} B per pod (within the ${N}-pod child: ${((full.heapAfter - full.heapBefore) / N).toFixed(0)} B); child RSS ${(empty.rss / 1048576).toFixed(0)} / ${(full.rss / 1048576).toFixed(0)} MiB\n`,
    );
  }
}
