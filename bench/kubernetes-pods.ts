/**
 * Memory per pod in the kubernetes source: N realistic pods (a Deployment's pod with managed fields, env,
 * volumes, probes and status conditions, about 4 KiB of JSON each) served by the fake API server, listed
 * and watched by the source: the JSON size served and stored per pod, the first full list's time, and the heap
 * change (after GC) across it. Prints figures; asserts nothing. Run: `node --expose-gc bin/run-ts.js bench/kubernetes-pods.ts [pods]`.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLogger, RecordingSink } from '@trellis/plugin-sdk/testing';
import { ApiClient, BUILTIN_KINDS, KubernetesSource, loadKubeConfig } from '@trellis/plugin-source-kubernetes';
import { FakeApiServer } from '../test/support/fake-apiserver/index.ts';

const N = Number(process.argv[2] ?? 5000);
const gc = (globalThis as { gc?: (o?: { type: string; execution: string }) => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const heap = async (): Promise<number> => {
  for (let i = 0; i < 3; i++) {
    gc({ type: 'major', execution: 'sync' });
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed;
};

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

const api = await FakeApiServer.start();
api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { 'trellis.io/monitored-by': 'trellis' } } });
for (let i = 0; i < N; i++) api.create(pod(i));
const rawBytes = JSON.stringify(api.objects('v1', 'Pod')[0]).length;
const path = join(mkdtempSync(join(tmpdir(), 'trellis-bench-kube-')), 'kubeconfig');
await api.kubeconfig(path);
const sink = new RecordingSink();
const source = new KubernetesSource({
  api: new ApiClient(loadKubeConfig({ kubeconfig: path }), { qps: 1000, burst: 1000, requestTimeoutMs: 60_000 }),
  kinds: BUILTIN_KINDS,
  meshName: () => 'trellis',
  sink,
  logger: new MemoryLogger(),
  source: 'kubernetes',
  staleAfterMs: 120_000,
  resyncMs: 0,
});
const before = await heap();
const t0 = performance.now();
source.start();
while (!source.readiness().ready) await new Promise((r) => setTimeout(r, 20));
const listMs = performance.now() - t0;
const after = await heap();
const reducedBytes = JSON.stringify(sink.objects.get('/Pod/shop/' + String(pod(0).metadata.name))).length;
// The heap figure includes the fake API server in this process (its copies existed before; its transient list
// buffers may not be collected yet): read it as an upper bound.
process.stdout.write(
  `${N} pods: first full list ${listMs.toFixed(0)} ms; JSON per pod ${rawBytes} B served, ${reducedBytes} B stored; ` +
    `heap change ${((after - before) / 1024 / 1024).toFixed(1)} MiB (${((after - before) / N).toFixed(0)} B per pod, upper bound)\n`,
);
await source.stop();
await api.stop();
