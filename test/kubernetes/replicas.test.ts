import { X509Certificate } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatNodeId, type CertificatesPlugin } from '@trellis/plugin-sdk';
import kubernetesSource from '@trellis/plugin-source-kubernetes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdsConnection } from '../support/ads-client.ts';
import { FakeApiServer, kubectl } from '../support/fake-apiserver/index.ts';
import { GrpcTestMesh } from '../support/grpc-controller.ts';
import { eventually, loadGrpcXds, type GrpcWorkload } from '../support/grpc-workloads.ts';

/**
 * Replicas, against the fake API server: two controllers reading the same API server hold byte-identical xDS
 * resources with equal versions for the same proxy, so a proxy that reconnects from one to the other is sent
 * the state it already has. The replicas share one CA through a Secret (`caSecret`): equal trust bundles, so
 * a workload certificate from one verifies with the other's. Workload certificates themselves differ (each
 * controller issues its own, fresh keys), so the resource comparisons exclude SDS.
 */

const BOOKSTORE = join(import.meta.dirname, '../../examples/bookstore');
const SECRET = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';
let api: FakeApiServer;
const ctls: GrpcTestMesh[] = [];
const wl: GrpcWorkload[] = [];

beforeAll(async () => {
  await loadGrpcXds();
  api = await FakeApiServer.start();
  const run = async (args: string[]): Promise<void> => {
    const r = await kubectl(api, args);
    if (r.code !== 0) throw new Error(r.stderr);
  };
  await run(['apply', '--validate=false', '-f', join(BOOKSTORE, 'namespaces.yaml')]);
  await run(['label', 'namespace', 'bookstore', 'bookbuyer', 'bookthief', 'bookwarehouse', 'trellis-system', 'trellis.io/monitored-by=trellis']);
  await run(['apply', '--validate=false', '-R', '-f', BOOKSTORE]);
  const kubeconfig = join(await mkdtemp(join(tmpdir(), 'trellis-replicas-')), 'kubeconfig');
  await api.kubeconfig(kubeconfig);
  for (let i = 0; i < 2; i++) {
    // Both replicas keep the CA in one Secret (use: selfsigned, caSecret): one root for the mesh.
    const ctl = await GrpcTestMesh.start({ plugins: [{ definition: kubernetesSource, config: { kubeconfig } }], caConfig: { caSecret: { namespace: 'trellis-system', name: 'trellis-ca', kubeconfig } } });
    ctls.push(ctl);
    await eventually(async () => {
      if (!ctl.mesh.ready()) throw new Error('not ready');
    }, 20_000);
    const w = await ctl.workload({ namespace: 'bookbuyer', serviceAccount: 'bookbuyer' });
    wl.push(w);
    // Dialing makes the workload subscribe to its listener, routes, clusters and endpoints.
    const c = await w.client('bookstore.bookstore.svc.cluster.local:14001');
    void c.call(undefined, 2000);
  }
}, 120_000);

afterAll(async () => {
  for (const w of wl) await w.close();
  for (const c of ctls) await c.stop();
  await api?.stop();
});

function state(ctl: GrpcTestMesh, w: GrpcWorkload): Map<string, { version: string; body: string }> {
  const { cache } = ctl.handle;
  const snap = cache.getSnapshot(cache.keyOf(w.node));
  const out = new Map<string, { version: string; body: string }>();
  for (const t of snap?.typeUrls() ?? [])
    if (t !== SECRET) for (const r of snap!.resources(t)) out.set(`${t} ${r.name}`, { version: r.version, body: Buffer.from(r.body).toString('base64') });
  return out;
}

describe('two controllers on one API server', () => {
  it('hold byte-identical resources with equal versions for the same proxy', async () => {
    for (const i of [0, 1])
      await eventually(async () => {
        const s = state(ctls[i]!, wl[i]!);
        if (![...s.keys()].some((k) => k.includes('bookstore/bookstore-v1|14011'))) throw new Error(`controller ${i} has ${[...s.keys()].join(', ')}`);
      }, 20_000);
    const a = state(ctls[0]!, wl[0]!);
    const b = state(ctls[1]!, wl[1]!);
    expect(a.size).toBeGreaterThan(3);
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [k, v] of a) expect([k, b.get(k)]).toEqual([k, v]);
  });
});

/** Resources of every non-secret type the node holds on a controller, by type: name -> version. */
function subscriptions(ctl: GrpcTestMesh, w: GrpcWorkload): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  for (const [key, { version }] of state(ctl, w)) {
    const [typeUrl, name] = [key.slice(0, key.indexOf(' ')), key.slice(key.indexOf(' ') + 1)];
    if (!out.has(typeUrl)) out.set(typeUrl, new Map());
    out.get(typeUrl)!.set(name, version);
  }
  return out;
}

describe('one CA for both replicas (caSecret)', () => {
  it('one Secret, equal trust bundles; a workload certificate of one verifies with the other\'s bundle', async () => {
    expect(api.objects('v1', 'Secret').filter((s) => s.metadata.namespace === 'trellis-system' && s.metadata.name === 'trellis-ca')).toHaveLength(1);
    const bundles = await Promise.all(ctls.map((c) => c.mesh.instance<CertificatesPlugin>('selfsigned')!.trustBundle()));
    expect(bundles[1]).toEqual(bundles[0]);
    const id = { namespace: 'bookbuyer', serviceAccount: 'bookbuyer' };
    const leaf = new X509Certificate((await ctls[0]!.certificate(id)).certificatePem);
    expect(bundles[1]!.roots.some((r) => leaf.verify(new X509Certificate(r).publicKey))).toBe(true);
  });
});

describe('a proxy reconnecting from one controller to the other (the ADS wire, delta)', () => {
  /**
   * Opens a delta stream to `ctl` as `node`, subscribing to every name of `subs` and claiming `held` as
   * initial_resource_versions; then subscribes a sentinel name that exists nowhere, whose answer (removed) closes
   * the exchange: everything the server had to send for the claimed state comes before it on the stream.
   */
  async function reconnect(ctl: GrpcTestMesh, nodeId: string, subs: Map<string, Map<string, string>>, held: (typeUrl: string) => Record<string, string>) {
    const conn = new AdsConnection({ address: ctl.address });
    const s = conn.delta();
    const received: { typeUrl: string; names: string[]; versions: Record<string, string>; removed: string[]; nonce: string }[] = [];
    try {
      const types = [...subs.keys()];
      types.forEach((typeUrl, i) =>
        s.send({ ...(i === 0 && { node: { id: nodeId } }), type_url: typeUrl, resource_names_subscribe: [...subs.get(typeUrl)!.keys()], initial_resource_versions: held(typeUrl) }),
      );
      const last = types[types.length - 1]!;
      s.send({ type_url: last, resource_names_subscribe: ['sentinel.does-not-exist'] });
      for (;;) {
        const r = await s.next(10_000);
        const resources = r.resources ?? [];
        const removed = r.removed_resources ?? [];
        received.push({
          typeUrl: r.type_url ?? '',
          names: resources.map((x) => x.name ?? ''),
          versions: Object.fromEntries(resources.map((x) => [x.name ?? '', x.version ?? ''])),
          removed,
          nonce: r.nonce ?? '',
        });
        s.send({ type_url: r.type_url ?? '', response_nonce: r.nonce ?? '' });
        if (removed.includes('sentinel.does-not-exist')) break;
      }
    } finally {
      s.cancel();
      conn.close();
    }
    return received;
  }

  it('receives nothing new from the second controller; a stale claimed version is answered (control)', async () => {
    const nodeId = formatNodeId(wl[0]!.node);
    // First connection, to controller 0: everything arrives, with its versions.
    const subs = subscriptions(ctls[0]!, wl[0]!);
    expect(subs.size).toBeGreaterThanOrEqual(4); // listeners, routes, clusters, endpoints
    const first = await reconnect(ctls[0]!, nodeId, subs, () => ({}));
    const got = new Map<string, Record<string, string>>();
    for (const r of first) got.set(r.typeUrl, { ...got.get(r.typeUrl), ...r.versions });
    for (const [typeUrl, names] of subs) expect([typeUrl, got.get(typeUrl)]).toEqual([typeUrl, Object.fromEntries(names)]);
    // Reconnect to controller 1 claiming what controller 0 sent: the only answer is the sentinel's removal.
    const second = await reconnect(ctls[1]!, nodeId, subs, (t) => got.get(t) ?? {});
    expect(second.flatMap((r) => r.names)).toEqual([]);
    expect(second.flatMap((r) => r.removed)).toEqual(['sentinel.does-not-exist']);
    // Control: claiming one stale version makes controller 1 send exactly that resource.
    const [typeUrl, versions] = [...got][0]!;
    const [name] = Object.keys(versions);
    const third = await reconnect(ctls[1]!, nodeId, subs, (t) => (t === typeUrl ? { ...versions, [name!]: 'stale' } : (got.get(t) ?? {})));
    expect(third.flatMap((r) => r.names)).toEqual([name]);
  });
});
