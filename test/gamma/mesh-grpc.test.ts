import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '@trellis/plugin-sdk';
import { objects } from '@trellis/plugin-sdk/testing';
import { GrpcTestMesh } from '../support/grpc-controller.ts';
import { ECHO_PATH, METRICS_PATH, eventually, freePort, loadGrpcXds } from '../support/grpc-workloads.ts';
import type { EchoClient, EchoServer, GrpcWorkload } from '../support/grpc-workloads.ts';

/**
 * The Gateway API Mesh conformance gRPC scenarios with real proxyless gRPC (grpc-js-xds) clients and
 * xDS-enabled servers against the real controller: the conformance fixture (echo-v1, echo-v2 behind `echo`),
 * GRPCRoutes on `echo:7070`. Weighted picks are random per call, so shares are checked against a binomial
 * bound (5 standard deviations), not counts. Header *edits* (MeshGRPCRouteRequestHeaderModifier's filters) have
 * no gRPC xDS equivalent; its header matches are tested here, the edits in mesh-http.test.ts (Envoy).
 */

const { GAMMA_NS: NS, gammaConformanceMesh, gatewayRoute, serviceParent } = objects;
const IPS = { v1: '127.0.0.41', v2: '127.0.0.42', client: '127.0.0.43' } as const;
const CALLS = 200;

let ctl: GrpcTestMesh;
const servers: EchoServer[] = [];
const wl: GrpcWorkload[] = [];
let toEcho: EchoClient;

const grpcRoute = (name: string, rules: unknown[]): KubeObject => gatewayRoute('GRPCRoute', NS, name, { parentRefs: [serviceParent('echo', 7070)], rules });
const be = (name: string, weight?: number) => ({ name, port: 7070, ...(weight !== undefined && { weight }) });

function expectShare(hits: number, n: number, p: number): void {
  const sd = Math.sqrt(n * p * (1 - p));
  expect(hits).toBeGreaterThanOrEqual(n * p - 5 * sd);
  expect(hits).toBeLessThanOrEqual(n * p + 5 * sd);
}

/** Every NACK any connected proxy sent (the acceptance asks for none). */
function nacks(): string[] {
  return ctl.handle
    .server()
    .registry.list()
    .flatMap((p) => Object.entries(p.types).flatMap(([t, s]) => (s.lastNack ? [`${p.identity} ${t}: ${s.lastNack.message}`] : [])));
}

beforeAll(async () => {
  await loadGrpcXds();
  ctl = await GrpcTestMesh.start();
  const ports = { v1: await freePort(), v2: await freePort() };
  ctl.apply(...gammaConformanceMesh({ podIPs: { v1: IPS.v1, v2: IPS.v2 }, grpcTargetPorts: ports, clientIPs: { mesh: IPS.client, consumer: '127.0.0.44' } }));
  for (const sa of ['echo-v1', 'echo-v2', 'client']) wl.push(await ctl.workload({ namespace: NS, serviceAccount: sa }));
  servers.push(await wl[0]!.serve(IPS.v1, ports.v1, 'echo-v1'), await wl[1]!.serve(IPS.v2, ports.v2, 'echo-v2'));
  toEcho = await wl[2]!.client('echo:7070');
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  for (const w of wl) await w.close();
  await ctl?.stop();
});

describe('Gateway API Mesh conformance (gRPC) with grpc-js-xds', () => {
  it('MeshBasic (gRPC): without a route, calls to echo reach both versions', async () => {
    await eventually(async () => {
      const t = await toEcho.tally(20);
      expect((t['echo-v1'] ?? 0) > 0 && (t['echo-v2'] ?? 0) > 0).toBe(true);
    }, 20_000);
  });

  it('MeshGRPCRouteWeight: 70/30, the zero-weight backend echo-v3 (which does not exist) gets nothing', async () => {
    ctl.apply(grpcRoute('mesh-grpc-weighted-backends', [{ backendRefs: [be('echo-v1', 70), be('echo-v2', 30), be('echo-v3', 0)] }]));
    // From 50/50 round robin to 70/30 is not observable call by call: wait for the route's 100/0 first.
    ctl.apply(grpcRoute('mesh-grpc-weighted-backends', [{ backendRefs: [be('echo-v1', 1), be('echo-v3', 0)] }]));
    await eventually(async () => expect(await toEcho.tally(30)).toEqual({ 'echo-v1': 30 }), 20_000);
    ctl.apply(grpcRoute('mesh-grpc-weighted-backends', [{ backendRefs: [be('echo-v1', 70), be('echo-v2', 30), be('echo-v3', 0)] }]));
    await eventually(async () => expect((await toEcho.tally(10))['echo-v2'] ?? 0).toBeGreaterThan(0), 20_000);
    const t = await toEcho.tally(CALLS);
    expect((t['echo-v1'] ?? 0) + (t['echo-v2'] ?? 0)).toBe(CALLS);
    expectShare(t['echo-v1'] ?? 0, CALLS, 0.7);
    const st = ctl.handle.store.policyStatuses().find((s) => s.kind === 'GRPCRoute');
    expect(st?.parents?.[0]?.conditions).toEqual([
      { type: 'Accepted', status: 'True', reason: 'Accepted' },
      { type: 'ResolvedRefs', status: 'False', reason: 'BackendNotFound', message: 'spec.rules[0].backendRefs[2]: Service gateway-conformance-mesh/echo-v3 does not exist (its share gets HTTP 500 until it does)' },
    ]);
  });

  it('MeshGRPCRouteRequestHeaderModifier (matching): header matches choose the rule; unmatched calls fail fast', async () => {
    const rule = (value: string, backend: string) => ({ matches: [{ headers: [{ name: 'x-test-case', value }] }], filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-header-set', value: 'v' }] } }], backendRefs: [be(backend)] });
    ctl.apply(grpcRoute('mesh-grpc-weighted-backends', [rule('set', 'echo-v1'), rule('add', 'echo-v1'), rule('multi', 'echo-v2')]));
    await eventually(async () => expect(await toEcho.tally(20, ECHO_PATH, { 'x-test-case': 'multi' })).toEqual({ 'echo-v2': 20 }), 20_000);
    expect(await toEcho.tally(20, ECHO_PATH, { 'x-test-case': 'set' })).toEqual({ 'echo-v1': 20 });
    const r = await toEcho.call(ECHO_PATH, 3000, { 'x-test-case': 'none' });
    expect(r.ok ? 'ok' : grpc.status[r.code]).toBe('UNAVAILABLE');
  });

  it('GRPCRoute method matches: service + method exact beats service only; live updates apply', async () => {
    ctl.apply(grpcRoute('mesh-grpc-weighted-backends', [{ matches: [{ method: { service: 'trellis.test.Echo' } }], backendRefs: [be('echo-v1')] }, { matches: [{ method: { service: 'trellis.test.Echo', method: 'Metrics' } }], backendRefs: [be('echo-v2')] }]));
    await eventually(async () => expect(await toEcho.tally(20, METRICS_PATH)).toEqual({ 'echo-v2': 20 }), 20_000);
    expect(await toEcho.tally(20, ECHO_PATH)).toEqual({ 'echo-v1': 20 });
    // A method-only match (any service) as a regex on the path.
    ctl.apply(grpcRoute('mesh-grpc-weighted-backends', [{ matches: [{ method: { method: 'Echo' } }], backendRefs: [be('echo-v2')] }, { backendRefs: [be('echo-v1')] }]));
    await eventually(async () => expect(await toEcho.tally(20, ECHO_PATH)).toEqual({ 'echo-v2': 20 }), 20_000);
    expect(await toEcho.tally(20, METRICS_PATH)).toEqual({ 'echo-v1': 20 });
  });

  it('an HTTPRoute on the gRPC port routes gRPC too (gRPC-relevant features: path and header matches, weights)', async () => {
    ctl.delete({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GRPCRoute', namespace: NS, name: 'mesh-grpc-weighted-backends' });
    ctl.apply(gatewayRoute('HTTPRoute', NS, 'http-on-grpc', { parentRefs: [serviceParent('echo', 7070)], rules: [{ matches: [{ path: { type: 'Exact', value: METRICS_PATH } }], backendRefs: [be('echo-v2')] }, { matches: [{ path: { type: 'PathPrefix', value: '/trellis.test.Echo' } }], backendRefs: [be('echo-v1')] }] }));
    await eventually(async () => expect(await toEcho.tally(20, METRICS_PATH)).toEqual({ 'echo-v2': 20 }), 20_000);
    expect(await toEcho.tally(20, ECHO_PATH)).toEqual({ 'echo-v1': 20 });
  });

  it('no proxy NACKed anything', () => {
    expect(nacks()).toEqual([]);
  });
});
