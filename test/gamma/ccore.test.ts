import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '@trellis/plugin-sdk';
import { objects } from '@trellis/plugin-sdk/testing';
import { GrpcTestMesh } from '../support/grpc-controller.ts';
import { ECHO_PATH, METRICS_PATH, eventually, freePort, loadGrpcXds } from '../support/grpc-workloads.ts';
import type { EchoClient, EchoServer, GrpcWorkload } from '../support/grpc-workloads.ts';
import { ccoreClient, ccoreServe } from '../support/ccore-workloads.ts';
import type { CCoreClient, CCoreServer } from '../support/ccore-workloads.ts';

/**
 * gRPC C-core (Debian's python3-grpcio 1.51) as a second real xDS implementation, across with grpc-js-xds:
 * echo-v1 is a grpc-js server, echo-v2 a C-core server; one client of each implementation calls `echo:7070`.
 * GAMMA routes (GRPCRoute weights, header and method matches), SMI v1alpha4 TrafficSplit matches, and SMI
 * access by method (PERMISSION_DENIED from both servers), with zero NACKs from any proxy.
 */

const { GAMMA_NS: NS, gammaConformanceMesh, gatewayRoute, serviceParent, routeGroup, split, target } = objects;
const IPS = { v1: '127.0.0.51', v2: '127.0.0.52', client: '127.0.0.53' } as const;
const CALLS = 200;

let ctl: GrpcTestMesh;
let fixture: KubeObject[];
const jsServers: EchoServer[] = [];
let cServer: CCoreServer;
const wl: GrpcWorkload[] = [];
let jsClient: EchoClient;
let cClient: CCoreClient;

type Tally = (calls: number, path?: string, headers?: Record<string, string>) => Promise<Record<string, number>>;
const clients = (): [string, Tally][] => [
  ['grpc-js', (n, p, h) => jsClient.tally(n, p, h)],
  ['C-core', (n, p, h) => cClient.tally(n, p, h)],
];

const grpcRoute = (rules: unknown[]): KubeObject => gatewayRoute('GRPCRoute', NS, 'route', { parentRefs: [serviceParent('echo', 7070)], rules });
const be = (name: string, weight?: number) => ({ name, port: 7070, ...(weight !== undefined && { weight }) });

function expectShare(hits: number, n: number, p: number): void {
  const sd = Math.sqrt(n * p * (1 - p));
  expect(hits).toBeGreaterThanOrEqual(n * p - 5 * sd);
  expect(hits).toBeLessThanOrEqual(n * p + 5 * sd);
}

function nacks(): string[] {
  return ctl.handle
    .server()
    .registry.list()
    .flatMap((p) => Object.entries(p.types).flatMap(([t, s]) => (s.lastNack ? [`${p.identity} (${p.node.uuid}) ${t}: ${s.lastNack.message}`] : [])));
}

beforeAll(async () => {
  await loadGrpcXds();
  ctl = await GrpcTestMesh.start();
  const ports = { v1: await freePort(), v2: await freePort() };
  fixture = gammaConformanceMesh({ podIPs: { v1: IPS.v1, v2: IPS.v2 }, grpcTargetPorts: ports, clientIPs: { mesh: IPS.client, consumer: '127.0.0.54' } });
  ctl.apply(...fixture);
  for (const sa of ['echo-v1', 'echo-v2', 'client']) wl.push(await ctl.workload({ namespace: NS, serviceAccount: sa }));
  jsServers.push(await wl[0]!.serve(IPS.v1, ports.v1, 'echo-v1'));
  cServer = await ccoreServe(wl[1]!, IPS.v2, ports.v2, 'echo-v2');
  jsClient = await wl[2]!.client('echo:7070');
  cClient = await ccoreClient(wl[2]!, 'echo:7070');
}, 120_000);

afterAll(async () => {
  await cClient?.close();
  await cServer?.close();
  await Promise.all(jsServers.map((s) => s.close()));
  for (const w of wl) await w.close();
  await ctl?.stop();
});

describe('proxyless gRPC across implementations: C-core (python3-grpcio 1.51) and grpc-js-xds', () => {
  it('both clients reach both servers (grpc-js <-> C-core, mTLS from certificate providers)', async () => {
    for (const [name, tally] of clients())
      await eventually(async () => {
        const t = await tally(20);
        expect(`${name}: ${(t['echo-v1'] ?? 0) > 0 && (t['echo-v2'] ?? 0) > 0}`).toBe(`${name}: true`);
      }, 40_000, 200);
  });

  it('MeshGRPCRouteWeight on both clients: 70/30, the missing zero-weight backend gets nothing', async () => {
    ctl.apply(grpcRoute([{ backendRefs: [be('echo-v2', 1), be('echo-v3', 0)] }]));
    for (const [name, tally] of clients()) await eventually(async () => expect([name, await tally(20)]).toEqual([name, { 'echo-v2': 20 }]), 30_000, 200);
    ctl.apply(grpcRoute([{ backendRefs: [be('echo-v1', 70), be('echo-v2', 30), be('echo-v3', 0)] }]));
    for (const [name, tally] of clients()) {
      await eventually(async () => expect([name, ((await tally(10))['echo-v1'] ?? 0) > 0]).toEqual([name, true]), 30_000, 200);
      const t = await tally(CALLS);
      expect([name, (t['echo-v1'] ?? 0) + (t['echo-v2'] ?? 0)]).toEqual([name, CALLS]);
      expectShare(t['echo-v1'] ?? 0, CALLS, 0.7);
    }
  });

  it('GRPCRoute header and method matches on both clients', async () => {
    ctl.apply(
      grpcRoute([
        // GRPCRoute precedence: service characters, then method characters, then header count.
        { matches: [{ method: { service: 'trellis.test.Echo' }, headers: [{ name: 'x-test-case', value: 'multi' }] }], backendRefs: [be('echo-v2')] },
        { matches: [{ method: { service: 'trellis.test.Echo', method: 'Metrics' } }], backendRefs: [be('echo-v2')] },
        { matches: [{ method: { service: 'trellis.test.Echo' } }], backendRefs: [be('echo-v1')] },
      ]),
    );
    for (const [name, tally] of clients()) {
      await eventually(async () => expect([name, await tally(10, ECHO_PATH, { 'x-test-case': 'multi' })]).toEqual([name, { 'echo-v2': 10 }]), 30_000, 200);
      await eventually(async () => expect([name, await tally(10, ECHO_PATH)]).toEqual([name, { 'echo-v1': 10 }]), 30_000, 200);
      expect([name, await tally(10, METRICS_PATH)]).toEqual([name, { 'echo-v2': 10 }]);
    }
  });

  it('SMI v1alpha4 TrafficSplit matches on both clients (the route removed: SMI applies again)', async () => {
    ctl.delete({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GRPCRoute', namespace: NS, name: 'route' });
    ctl.apply(routeGroup(NS, 'metrics', [{ name: 'metrics', pathRegex: METRICS_PATH, methods: ['*'] }]), split(NS, 'echo-split', 'echo', [{ service: 'echo-v1', weight: 1 }], ['metrics']));
    for (const [name, tally] of clients()) {
      await eventually(async () => expect([name, await tally(20, METRICS_PATH)]).toEqual([name, { 'echo-v1': 20 }]), 30_000, 200);
      await eventually(async () => expect([name, ((await tally(20, ECHO_PATH))['echo-v2'] ?? 0) > 0]).toEqual([name, true]), 30_000, 200);
    }
  });

  it('SMI access by method: an allowed method passes, a denied one gets PERMISSION_DENIED from both servers', async () => {
    const allowEcho = [{ kind: 'HTTPRouteGroup', name: 'echo-only' }];
    ctl.delete({ apiVersion: 'split.smi-spec.io/v1alpha4', kind: 'TrafficSplit', namespace: NS, name: 'echo-split' });
    ctl.apply(
      routeGroup(NS, 'echo-only', [{ name: 'echo', pathRegex: ECHO_PATH, methods: ['*'] }]),
      target(NS, 'client-to-v1', 'echo-v1', ['client'], allowEcho),
      target(NS, 'client-to-v2', 'echo-v2', ['client'], allowEcho),
    );
    const mc = fixture.find((o) => o.kind === 'MeshConfig');
    if (mc) ctl.delete({ apiVersion: mc.apiVersion, kind: mc.kind, namespace: mc.metadata.namespace, name: mc.metadata.name });
    for (const [name, tally] of clients()) {
      await eventually(async () => expect([name, await tally(20, METRICS_PATH)]).toEqual([name, { PERMISSION_DENIED: 20 }]), 30_000, 200);
      const ok = await tally(20, ECHO_PATH);
      expect([name, (ok['echo-v1'] ?? 0) > 0 && (ok['echo-v2'] ?? 0) > 0 && (ok['echo-v1'] ?? 0) + (ok['echo-v2'] ?? 0) === 20]).toEqual([name, true]);
    }
  });

  it('SMI access by header: a header-matched HTTPRouteGroup admits calls carrying it, on both servers', async () => {
    ctl.apply(routeGroup(NS, 'echo-only', [{ name: 'echo', pathRegex: ECHO_PATH, methods: ['POST'], headers: { 'x-user': 'bob|alice' } }]));
    for (const [name, tally] of clients()) {
      await eventually(async () => expect([name, await tally(10, ECHO_PATH)]).toEqual([name, { PERMISSION_DENIED: 10 }]), 30_000, 200);
      const ok = await tally(20, ECHO_PATH, { 'x-user': 'alice' });
      expect([name, (ok['echo-v1'] ?? 0) + (ok['echo-v2'] ?? 0)]).toEqual([name, 20]);
    }
  });

  it('no proxy of either implementation NACKed anything', () => {
    expect(nacks()).toEqual([]);
  });
});
