import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kubernetesSource from '@trellis/plugin-source-kubernetes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeApiServer, kubectl } from '../support/fake-apiserver/index.ts';
import { GrpcTestMesh } from '../support/grpc-controller.ts';
import { eventually, loadGrpcXds, type GrpcWorkload } from '../support/grpc-workloads.ts';

/**
 * Replicas, against the fake API server: two controllers reading the same API server hold byte-identical xDS
 * resources with equal versions for the same proxy, so a proxy that reconnects from one to the other is sent
 * the state it already has. (Each controller has its own CA here; secrets are compared only when the CA is
 * shared, which needs the CA-in-a-Secret work not done yet, so SDS secrets are excluded.)
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
    const ctl = await GrpcTestMesh.start({ plugins: [{ definition: kubernetesSource, config: { kubeconfig } }] });
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
