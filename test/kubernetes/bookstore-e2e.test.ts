import { mkdtemp, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import kubernetesSource from '@trellis/plugin-source-kubernetes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeApiServer, kubectl } from '../support/fake-apiserver/index.ts';
import { GrpcTestMesh } from '../support/grpc-controller.ts';
import { METRICS_PATH, eventually, freePort, loadGrpcXds, type EchoClient, type EchoServer, type GrpcWorkload } from '../support/grpc-workloads.ts';

/**
 * Acceptance, against the fake API server: the bookstore manifests (the YAML the file source reads), applied
 * by kubectl 1.20 → the controller with `use: kubernetes` → real grpc-js-xds workloads get the split and the
 * access policy; `kubectl apply` of an edited TrafficSplit changes traffic; `kubectl label` removing a
 * namespace's mesh label removes its objects from the store and its services from every proxy's config.
 *
 * The copy applied differs from examples/bookstore only where a test must: the workloads' ports are free ports,
 * and the HTTPRouteGroup allows the echo service's method (the workloads are echo servers, not bookstores).
 */

const BOOKSTORE = join(import.meta.dirname, '../../examples/bookstore');
const ROOT = 'bookstore.bookstore.svc.cluster.local:14001';
const NAMESPACES = ['bookstore', 'bookbuyer', 'bookthief', 'bookwarehouse', 'trellis-system'];

let api: FakeApiServer;
let ctl: GrpcTestMesh;
let dir: string;
const wl: GrpcWorkload[] = [];
const servers: EchoServer[] = [];
let buyer: EchoClient;
let thief: EchoClient;

async function copyBookstore(ports: { v1: number; v2: number }): Promise<string> {
  const out = await mkdtemp(join(tmpdir(), 'trellis-bookstore-'));
  for (const sub of ['', 'policies']) {
    await mkdir(join(out, sub), { recursive: true });
    for (const f of await readdir(join(BOOKSTORE, sub))) {
      if (!f.endsWith('.yaml')) continue;
      const text = (await readFile(join(BOOKSTORE, sub, f), 'utf8'))
        .replaceAll('14011', String(ports.v1))
        .replaceAll('14012', String(ports.v2))
        .replace(/pathRegex: \/bookstore\\\.Bookstore\/BuyBook/, 'pathRegex: /trellis\\.test\\.Echo/Echo');
      await writeFile(join(out, sub, f), text);
    }
  }
  return out;
}

interface PolicyStatus {
  kind: string;
  namespace: string;
  name: string;
  status: string;
  reason?: string;
  source: string;
}
const policies = async (): Promise<PolicyStatus[]> => (await ctl.mesh.getJson<{ policies: PolicyStatus[] }>('/debug/policies')).body.policies;

async function run(args: string[], input?: string): Promise<string> {
  const r = await kubectl(api, args, input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

beforeAll(async () => {
  await loadGrpcXds();
  api = await FakeApiServer.start();
  const ports = { v1: await freePort(), v2: await freePort() };
  dir = await copyBookstore(ports);
  await run(['apply', '--validate=false', '-f', join(dir, 'namespaces.yaml')]);
  await run(['label', 'namespace', ...NAMESPACES, 'trellis.io/monitored-by=trellis']);
  await run(['apply', '--validate=false', '-R', '-f', dir]);
  const kubeconfig = join(dir, 'kubeconfig');
  await api.kubeconfig(kubeconfig);
  ctl = await GrpcTestMesh.start({ plugins: [{ definition: kubernetesSource, config: { kubeconfig, staleAfterSeconds: 30 } }] });
  await eventually(async () => {
    if (!ctl.mesh.ready()) throw new Error('controller not ready');
  }, 20_000);
  const id = (namespace: string, serviceAccount: string) => ({ namespace, serviceAccount });
  for (const [ns, sa] of [['bookbuyer', 'bookbuyer'], ['bookthief', 'bookthief'], ['bookstore', 'bookstore-v1'], ['bookstore', 'bookstore-v2']] as const) wl.push(await ctl.workload(id(ns, sa)));
  servers.push(await wl[2]!.serve('127.0.0.1', ports.v1, 'v1'), await wl[3]!.serve('127.0.0.1', ports.v2, 'v2'));
  buyer = await wl[0]!.client(ROOT);
  thief = await wl[1]!.client(ROOT);
}, 120_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  for (const w of wl) await w.close();
  await ctl?.stop();
  await api?.stop();
});

describe('bookstore through the kubernetes source (against the fake API server)', () => {
  it('the store holds what kubectl applied, object by object', async () => {
    const ours = (await policies()).filter((p) => p.source === 'kubernetes');
    expect(ours.map((p) => `${p.kind} ${p.namespace}/${p.name} ${p.status}`).sort()).toEqual(
      [
        'HTTPRouteGroup bookstore/bookstore-service-routes accepted',
        'HTTPRouteGroup bookwarehouse/bookwarehouse-service-routes accepted',
        'MeshConfig trellis-system/trellis-mesh-config accepted',
        'TrafficSplit bookstore/bookstore-split accepted',
        'TrafficTarget bookstore/bookstore-v1 accepted',
        'TrafficTarget bookstore/bookstore-v2 accepted',
        'TrafficTarget bookwarehouse/bookwarehouse accepted',
      ].sort(),
    );
  });

  it('per-informer health in /readyz?verbose, /debug/kubernetes and metrics', async () => {
    const ready = await ctl.mesh.getJson<{ status: string; checks: { name: string; ready: boolean }[] }>('/readyz?verbose');
    expect(ready.body.status).toBe('ready');
    expect(ready.body.checks.find((c) => c.name.includes('kubernetes'))).toMatchObject({ ready: true });
    const dbg = await ctl.mesh.getJson<{ informers: { kind: string; synced: boolean; state: string; objects: number }[] }>('/debug/kubernetes');
    expect(dbg.body.informers.every((i) => i.synced && i.state === 'watching')).toBe(true);
    expect(dbg.body.informers.find((i) => i.kind === 'Pod')?.objects).toBe(api.objects('v1', 'Pod').length);
    const metrics = await fetch(`${ctl.mesh.adminUrl}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(new RegExp(`trellis_kubernetes_informer_objects\\{[^}]*kind="Pod"[^}]*\\} ${api.objects('v1', 'Pod').length}`));
    expect(metrics).toMatch(/trellis_kubernetes_informer_synced\{[^}]*kind="TrafficSplit.split.smi-spec.io"[^}]*\} 1/);
  });

  it('bookbuyer gets the 50/50 split; a method the route group does not allow is denied; bookthief is denied', async () => {
    await eventually(async () => {
      const t = await buyer.tally(40);
      if (!(t.v1 && t.v2 && t.v1 + t.v2 === 40)) throw new Error(`tally ${JSON.stringify(t)}`);
    }, 30_000);
    expect(await buyer.call(METRICS_PATH)).toMatchObject({ ok: false, code: grpc.status.PERMISSION_DENIED });
    const r = await thief.call();
    expect(r.ok).toBe(false);
  });

  it('kubectl apply of an edited TrafficSplit changes traffic', async () => {
    const text = (await readFile(join(dir, 'policies/split.yaml'), 'utf8')).replace('{ service: bookstore-v1, weight: 50 }', '{ service: bookstore-v1, weight: 0 }').replace('{ service: bookstore-v2, weight: 50 }', '{ service: bookstore-v2, weight: 100 }');
    expect(text).toContain('weight: 100');
    expect(await run(['apply', '--validate=false', '-f', '-'], text)).toContain('configured');
    await eventually(async () => {
      const t = await buyer.tally(20);
      if (t.v2 !== 20) throw new Error(`tally ${JSON.stringify(t)}`);
    }, 30_000);
  });

  it('an invalid TrafficSplit is reported as the file source reports it, and the last good one is kept', async () => {
    const bad = `apiVersion: split.smi-spec.io/v1alpha2
kind: TrafficSplit
metadata: { name: bookstore-split, namespace: bookstore }
spec:
  service: bookstore
  backends: [{ service: bookstore-v1, weight: -5 }]
`;
    expect(await run(['apply', '--validate=false', '-f', '-'], bad)).toContain('configured');
    await eventually(async () => {
      const p = (await policies()).find((x) => x.kind === 'TrafficSplit' && x.name === 'bookstore-split');
      if (p?.status !== 'invalid') throw new Error(`status ${JSON.stringify(p)}`);
      expect(p.reason).toMatch(/weight/);
    }, 20_000);
    const t = await buyer.tally(10);
    expect(t.v2).toBe(10);
  });

  it("removing a namespace's mesh label removes its objects from the store and its services from every proxy", async () => {
    expect(ctl.view('bookbuyer', 'bookbuyer').outbound.some((o) => o.clusterName.startsWith('bookstore/'))).toBe(true);
    await run(['label', 'namespace', 'bookstore', 'trellis.io/monitored-by-']);
    await eventually(async () => {
      const leftovers = (await policies()).filter((p) => p.namespace === 'bookstore' && p.source === 'kubernetes');
      if (leftovers.length > 0) throw new Error(`${leftovers.length} bookstore policies still stored`);
      for (const [ns, sa] of [['bookbuyer', 'bookbuyer'], ['bookthief', 'bookthief'], ['bookwarehouse', 'bookwarehouse']] as const) {
        const names = ctl.view(ns, sa).outbound.map((o) => o.clusterName);
        if (names.some((n) => n.startsWith('bookstore/'))) throw new Error(`${ns}/${sa} still sees ${names.join(', ')}`);
      }
    }, 20_000);
  });
});
