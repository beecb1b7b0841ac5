import { afterEach, describe, expect, it } from 'vitest';
import { BUILTIN_KINDS, watchedKinds } from '@trellis/plugin-source-kubernetes';
import { FakeApiServer, kubectl, type KubeObj } from '../support/fake-apiserver/index.ts';
import { eventually } from '../support/grpc-workloads.ts';
import { MESH, expectedView, kubeSource, storedView, viewDiff, type SourceUnderTest } from '../support/kube-source.ts';

/**
 * The kubernetes source against the fake API server: membership, reduction, readiness, and the faults its
 * supervisor must survive (each ends with the stored view compared object by object with the server's).
 */

let api: FakeApiServer | undefined;
let sut: SourceUnderTest | undefined;

afterEach(async () => {
  await sut?.source.stop();
  await api?.stop();
  sut = api = undefined;
});

const ns = (name: string, labels?: Record<string, string>): KubeObj => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, ...(labels && { labels }) } });
const sa = (namespace: string, name: string): KubeObj => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } });
const split = (namespace: string, name: string, w: number): KubeObj => ({
  apiVersion: 'split.smi-spec.io/v1alpha2',
  kind: 'TrafficSplit',
  metadata: { name, namespace },
  spec: { service: 'root', backends: [{ service: 'a', weight: w }] },
});

async function converged(): Promise<void> {
  await eventually(async () => {
    const d = viewDiff(expectedView(api!), storedView(sut!.sink));
    if (d.length > 0) throw new Error(d.slice(0, 5).join('; '));
  }, 20_000);
}

async function seed(): Promise<void> {
  api = await FakeApiServer.start({ bookmarkIntervalMs: 100 });
  api.create(ns('in', { 'trellis.io/monitored-by': MESH }));
  api.create(ns('osm', { 'openservicemesh.io/monitored-by': MESH }));
  api.create(ns('other-mesh', { 'trellis.io/monitored-by': 'someone-else' }));
  api.create(ns('out'));
  for (const n of ['in', 'osm', 'other-mesh', 'out']) {
    api.create(sa(n, 'app'));
    api.create(split(n, 's', 1));
  }
}

describe('kubernetes source', () => {
  it('stores only the mesh namespaces objects, after every informer listed, and follows the label', async () => {
    await seed();
    sut = await kubeSource(api!);
    expect(sut.source.readiness().ready).toBe(false);
    sut.source.start();
    await eventually(async () => {
      if (!sut!.source.readiness().ready) throw new Error(sut!.source.readiness().reason);
    });
    expect(sut.source.stats.replaceAll).toBe(1);
    const keys = [...sut.sink.objects.keys()].sort();
    expect(keys).toEqual(['/Namespace//in', '/Namespace//osm', '/ServiceAccount/in/app', '/ServiceAccount/osm/app', 'split.smi-spec.io/TrafficSplit/in/s', 'split.smi-spec.io/TrafficSplit/osm/s']);
    await converged();

    // kubectl label: joining and leaving the mesh.
    expect((await kubectl(api!, ['label', 'namespace', 'out', `trellis.io/monitored-by=${MESH}`])).code).toBe(0);
    await eventually(async () => {
      if (!sut!.sink.objects.has('/ServiceAccount/out/app')) throw new Error('out not joined');
    });
    expect((await kubectl(api!, ['label', 'namespace', 'in', 'trellis.io/monitored-by-'])).code).toBe(0);
    await eventually(async () => {
      if ([...sut!.sink.objects.keys()].some((k) => k.includes('/in/') || k.endsWith('//in'))) throw new Error('in still stored');
    });
    await converged();
  });

  it('reduces pods to what the catalog reads', async () => {
    api = await FakeApiServer.start();
    api.create(ns('in', { 'trellis.io/monitored-by': MESH }));
    const big = 'x'.repeat(4000);
    api.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'in', labels: { app: 'a' }, annotations: { 'kubectl.kubernetes.io/last-applied-configuration': big, keep: 'me' }, managedFields: [{ manager: big }], ownerReferences: [{ kind: 'ReplicaSet', name: 'rs', uid: 'u' }] },
      spec: { serviceAccountName: 'a', containers: [{ name: 'c', image: 'img', env: [{ name: 'E', value: big }], ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }] }], volumes: [{ name: 'v', emptyDir: {} }] },
      status: { podIP: '10.0.0.1', podIPs: [{ ip: '10.0.0.1' }], phase: 'Running', conditions: [{ type: 'Ready', status: 'True', message: big }] },
    });
    sut = await kubeSource(api);
    sut.source.start();
    await eventually(async () => {
      if (!sut!.sink.objects.has('/Pod/in/p')) throw new Error('no pod');
    });
    const pod = sut.sink.objects.get('/Pod/in/p')!;
    expect(pod).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'in', uid: expect.any(String), resourceVersion: expect.any(String), labels: { app: 'a' }, annotations: { keep: 'me' } },
      spec: { serviceAccountName: 'a', containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }] }] },
      status: { podIP: '10.0.0.1', podIPs: [{ ip: '10.0.0.1' }], phase: 'Running' },
    });
  });

  it('API server down at start: not ready, with the reason; ready once it is up', async () => {
    await seed();
    await api!.down();
    sut = await kubeSource(api!);
    sut.source.start();
    await eventually(async () => {
      const r = sut!.source.readiness();
      if (r.ready || !/first full list from https:\/\/127\.0\.0\.1:\d+ not done for .*Namespace \(backoff: GET \/api\/v1\/namespaces\?limit=500: .*ECONNREFUSED/.test(r.reason ?? '')) throw new Error(`reason: ${r.reason}`);
    });
    expect(sut.sink.operations).toBe(0);
    await api!.up();
    await eventually(async () => {
      if (!sut!.source.readiness().ready) throw new Error(sut!.source.readiness().reason);
    });
    await converged();
  });

  it('a watch that dies silently is detected by the staleness watchdog and re-listed', async () => {
    await seed();
    sut = await kubeSource(api!, { staleAfterMs: 1000 });
    sut.source.start();
    await converged();
    await eventually(async () => {
      if (api!.openWatches < BUILTIN_KINDS.length) throw new Error(`${api!.openWatches} watches open`);
    });
    api!.faults.stallWatches();
    api!.create(sa('in', 'during-stall'));
    api!.remove('v1', 'ServiceAccount', 'in', 'app');
    await converged();
    expect(sut.logger.lines.some((l) => l.msg === 'watch went silent; re-listing')).toBe(true);
    expect(sut.source.health().find((h) => h.kind === 'ServiceAccount')!.restarts).toBeGreaterThan(0);
  });

  it('410 mid-stream: re-lists and applies only the differences', async () => {
    await seed();
    sut = await kubeSource(api!);
    sut.source.start();
    await converged();
    const before = sut.sink.operations;
    api!.put(split('in', 's', 7)); // changed while the watch is being expired
    api!.expireWatches();
    api!.create(sa('osm', 'after-expiry'));
    await converged();
    expect(sut.logger.lines.some((l) => l.msg === 'watch expired (410); re-listing')).toBe(true);
    // Only the two changed objects were written, not the whole view again.
    expect(sut.sink.operations - before).toBe(2);
    expect(sut.source.stats.replaceAll).toBe(1);
  });

  it('a 5xx storm and reset watches: backs off, retries and converges', async () => {
    await seed();
    sut = await kubeSource(api!);
    sut.source.start();
    await converged();
    api!.faults.fail(60, 500);
    api!.faults.resetWatches();
    api!.create(sa('in', 'during-storm'));
    api!.put(split('osm', 's', 3));
    await eventually(async () => {
      if (!sut!.source.health().some((h) => h.state === 'backoff')) throw new Error('no informer backing off');
    });
    expect(sut.source.readiness()).toMatchObject({ ready: true, reason: expect.stringContaining('serving the last good state') });
    await converged();
  });

  it('API server down during operation: the last good state is kept; back up: converges', async () => {
    await seed();
    sut = await kubeSource(api!);
    sut.source.start();
    await converged();
    const held = storedView(sut.sink);
    await api!.down();
    await eventually(async () => {
      if (!sut!.source.health().some((h) => h.state === 'backoff')) throw new Error('no informer noticed');
    });
    expect(storedView(sut.sink)).toEqual(held);
    expect(sut.source.readiness().ready).toBe(true);
    // Changes made while the controller cannot see them.
    api!.create(sa('in', 'while-down'));
    api!.remove('split.smi-spec.io/v1alpha2', 'TrafficSplit', 'osm', 's');
    api!.put(ns('out', { 'trellis.io/monitored-by': MESH }));
    api!.compact(); // and the history it would need is gone
    await api!.up();
    await converged();
    expect(sut.sink.objects.has('/ServiceAccount/out/app')).toBe(true);
  });

  it('a kind the server does not serve counts as listed and empty, and is picked up once served', async () => {
    api = await FakeApiServer.start({ withoutGroups: ['access.smi-spec.io'] });
    api.create(ns('in', { 'trellis.io/monitored-by': MESH }));
    sut = await kubeSource(api);
    sut.source.start();
    await eventually(async () => {
      if (!sut!.source.readiness().ready) throw new Error(sut!.source.readiness().reason);
    });
    expect(sut.source.health().find((h) => h.kind === 'TrafficTarget.access.smi-spec.io')?.state).toBe('absent');
    api.serveGroup('access.smi-spec.io');
    const subject = { kind: 'ServiceAccount', name: 'a', namespace: 'in' };
    api.create({ apiVersion: 'access.smi-spec.io/v1alpha3', kind: 'TrafficTarget', metadata: { name: 't', namespace: 'in' }, spec: { destination: subject, sources: [subject], rules: [] } });
    await eventually(async () => {
      if (!sut!.sink.objects.has('access.smi-spec.io/TrafficTarget/in/t')) throw new Error('not picked up');
    });
  });

  it('watches the policy kinds plugins contribute, finding their resource name by discovery', async () => {
    api = await FakeApiServer.start();
    api.create(ns('in', { 'trellis.io/monitored-by': MESH }));
    api.create({ apiVersion: 'policy.openservicemesh.io/v1alpha1', kind: 'Retry', metadata: { name: 'r', namespace: 'in' }, spec: { retryPolicy: { numRetries: 3 } } });
    sut = await kubeSource(api, { kinds: watchedKinds([{ apiVersion: 'policy.openservicemesh.io/v1alpha1', kind: 'Retry', namespaced: true }]) });
    sut.source.start();
    await eventually(async () => {
      if (!sut!.sink.objects.has('policy.openservicemesh.io/Retry/in/r')) throw new Error('Retry not stored');
    });
    expect(sut.source.health().find((h) => h.kind === 'Retry.policy.openservicemesh.io')).toMatchObject({ apiVersion: 'policy.openservicemesh.io/v1alpha1', synced: true, objects: 1 });
  });
});
