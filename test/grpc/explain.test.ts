import * as grpc from '@grpc/grpc-js';
import { keyOf } from '@trellis/plugin-sdk';
import type { KubeObject, ObjectKey } from '@trellis/plugin-sdk';
import type { ExplainResult } from '@trellis/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objects } from '@trellis/plugin-sdk/testing';
import { GrpcTestMesh } from '../support/grpc-controller.ts';
import { ECHO_PATH, METRICS_PATH, eventually, freePort, loadGrpcXds } from '../support/grpc-workloads.ts';
import type { EchoClient, EchoServer, GrpcWorkload } from '../support/grpc-workloads.ts';

const { gatewayRoute, meshConfig, pod, routeGroup, sa, serviceParent, slice, split, svc, target, tcpRoute } = objects;

/**
 * Acceptance of `policy explain`: for a table of (from, to, path) cases, the answer of `/debug/explain` equals
 * what real grpc-js-xds calls through the controller get — allowed and denied, route-level, split backends,
 * a GRPCRoute over a TrafficSplit, permissive mode and an ignored policy. Workloads a (client), b and c (servers, also clients) in namespace t;
 * the service `root` selects b and c, for the split. Each scenario waits until every proxy ACKed what the
 * controller sent, then compares each case until the data path agrees (a wrong explain never converges).
 */

const NS = 't';
const IPS = { a: '127.0.0.41', b: '127.0.0.42', c: '127.0.0.43' } as const;
type Name = keyof typeof IPS;

let ctl: GrpcTestMesh;
const wl = {} as Record<Name, GrpcWorkload>;
const servers: EchoServer[] = [];
const clients = {} as Record<'aToB' | 'cToB' | 'aToRoot', EchoClient>;
const clientOf = { 'a>b': 'aToB', 'c>b': 'cToB', 'a>root': 'aToRoot' } as const;
let applied: ObjectKey[] = [];

function member(name: 'b' | 'c', port: number): KubeObject[] {
  return [
    sa(NS, name),
    svc(NS, name, [{ port: 8080, targetPort: port, name: 'grpc-echo' }]),
    pod(NS, `${name}-0`, name, IPS[name], { app: name, group: 'root' }),
    slice(NS, name, [{ ip: IPS[name], pod: `${name}-0` }], [{ name: 'grpc-echo', port }]),
    slice(NS, 'root', [{ ip: IPS[name], pod: `${name}-0` }], [{ name: 'grpc-echo', port }], `root-${name}`),
  ];
}

async function explain(from: string, to: string, path: string): Promise<ExplainResult> {
  const res = await fetch(`${ctl.mesh.adminUrl}/debug/explain?from=${NS}/${from}&to=${NS}/${to}&path=${encodeURIComponent(path)}`);
  expect(res.status).toBe(200);
  return (await res.json()) as ExplainResult;
}

/** Replaces the scenario's policy and waits until every proxy ACKed the versions the controller sent after it. */
async function scenario(...objs: KubeObject[]): Promise<void> {
  ctl.delete(...applied);
  ctl.apply(...objs);
  applied = objs.map(keyOf);
  await ctl.handle.controller().settle();
  await eventually(async () => {
    for (const p of ctl.handle.server().registry.list())
      for (const [type, st] of Object.entries(p.types))
        if (st.lastSent && st.lastAcked?.version !== st.lastSent.version) throw new Error(`${p.nodeId} has not ACKed ${type} yet`);
  });
}

type Case = readonly [from: 'a' | 'c', to: 'b' | 'root', path: string];

/** Checks every case: explain's verdict equals the real call's; for a split or route, the servers reached are its allowed backends. */
async function expectAgreement(cases: readonly Case[]): Promise<ExplainResult[]> {
  const answers: ExplainResult[] = [];
  for (const [from, to, path] of cases) {
    const ex = await explain(from, to, path);
    answers.push(ex);
    const name = clientOf[`${from}>${to}` as keyof typeof clientOf];
    if (!name) throw new Error(`no client for ${from} -> ${to}`);
    const client = clients[name];
    await eventually(async () => {
      const r = await client.call(path, 1000);
      if (r.ok !== ex.allowed) throw new Error(`${from} -> ${to} ${path}: explain says ${ex.allowed ? 'allowed' : 'denied'}, the call ${r.ok ? `reached ${r.reply.server}` : grpc.status[r.code]}`);
      if (ex.allowed && (ex.split || ex.route)) {
        const expected = ex.backends.filter((b) => (b.weight ?? 0) > 0).map((b) => b.service.split(':')[0]?.split('/')[1]);
        const seen = Object.keys(await client.tally(20, path)).sort();
        expect(seen).toEqual(expected.sort());
      }
    }, 15_000);
  }
  return answers;
}

beforeAll(async () => {
  await loadGrpcXds();
  ctl = await GrpcTestMesh.start();
  const ports = { a: await freePort(), b: await freePort(), c: await freePort() };
  ctl.apply(
    sa(NS, 'a'),
    svc(NS, 'a', [{ port: 8080, targetPort: ports.a, name: 'grpc-echo' }]),
    pod(NS, 'a-0', 'a', IPS.a, { app: 'a' }),
    ...member('b', ports.b),
    ...member('c', ports.c),
    svc(NS, 'root', [{ port: 8080, targetPort: 'grpc-echo', name: 'grpc-echo' }], { group: 'root' }),
  );
  for (const n of ['a', 'b', 'c'] as const) wl[n] = await ctl.workload({ namespace: NS, serviceAccount: n });
  servers.push(await wl.b.serve(IPS.b, ports.b, 'b'), await wl.c.serve(IPS.c, ports.c, 'c'));
  clients.aToB = await wl.a.client('b:8080');
  clients.cToB = await wl.c.client('b:8080');
  clients.aToRoot = await wl.a.client('root:8080');
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  for (const w of Object.values(wl)) await w.close();
  await ctl?.stop();
});

describe('policy explain agrees with real grpc-js-xds calls', () => {
  it('no policy: denied, naming the missing TrafficTarget', async () => {
    await scenario();
    const [ab] = await expectAgreement([
      ['a', 'b', ECHO_PATH],
      ['c', 'b', ECHO_PATH],
    ]);
    expect(ab?.allowed).toBe(false);
    expect(ab?.reasons).toContain('no TrafficTarget has destination t/b with source t/a');
  });

  it('route level: the HTTPRouteGroup path is allowed, another method of the service denied, another source denied', async () => {
    await scenario(routeGroup(NS, 'metrics', [{ name: 'metrics', pathRegex: METRICS_PATH, methods: ['*'] }]), target(NS, 'a-to-b', 'b', ['a'], [{ kind: 'HTTPRouteGroup', name: 'metrics' }]));
    const [metrics, echo, other] = await expectAgreement([
      ['a', 'b', METRICS_PATH],
      ['a', 'b', ECHO_PATH],
      ['c', 'b', METRICS_PATH],
    ]);
    expect([metrics?.allowed, echo?.allowed, other?.allowed]).toEqual([true, false, false]);
    expect(metrics?.backends[0]?.identities[0]?.trafficTargets).toEqual(['t/a-to-b']);
    expect(echo?.reasons).toContain(`TrafficTarget t/a-to-b admits ${METRICS_PATH}, not POST ${ECHO_PATH}`);
  });

  it('an ignored TrafficTarget (other namespace than its destination) grants nothing and is reported', async () => {
    await scenario(tcpRoute('other', 'all', []), target('other', 'c-to-b', 'b', [[NS, 'c']], [{ kind: 'TCPRoute', name: 'all' }], NS));
    const [cb] = await expectAgreement([['c', 'b', ECHO_PATH]]);
    expect(cb?.allowed).toBe(false);
    expect(cb?.ignored.map((i) => i.name)).toEqual(['other/c-to-b']);
    expect(cb?.reasons.some((r) => r.startsWith('TrafficTarget other/c-to-b is ignored: destination namespace differs'))).toBe(true);
  });

  it('split: the backends explain names with a positive weight are the servers calls reach', async () => {
    const access = [
      tcpRoute(NS, 'all', []),
      target(NS, 'a-to-b', 'b', ['a'], [{ kind: 'TCPRoute', name: 'all' }]),
      target(NS, 'a-to-c', 'c', ['a'], [{ kind: 'TCPRoute', name: 'all' }]),
    ];
    await scenario(...access, split(NS, 'root-split', 'root', [{ service: 'b', weight: 1 }, { service: 'c', weight: 0 }]));
    const [toB] = await expectAgreement([['a', 'root', ECHO_PATH]]);
    expect(toB?.split?.name).toBe('t/root-split');
    await scenario(...access, split(NS, 'root-split', 'root', [{ service: 'b', weight: 0 }, { service: 'c', weight: 1 }]));
    await expectAgreement([['a', 'root', ECHO_PATH]]);
    // Only b admits a: the view leaves c out of a's split, so every call goes to b, as explain says.
    await scenario(access[0] as KubeObject, access[1] as KubeObject, split(NS, 'root-split', 'root', [{ service: 'b', weight: 1 }, { service: 'c', weight: 1 }]));
    const [onlyB] = await expectAgreement([['a', 'root', ECHO_PATH]]);
    expect(onlyB?.split?.backends).toEqual([{ service: 't/b:8080', weight: 1 }]);
  });

  it('GRPCRoute: explain names the rule and backend calls reach (over the TrafficSplit), and a call no rule matches is denied', async () => {
    await scenario(
      tcpRoute(NS, 'all', []),
      target(NS, 'a-to-b', 'b', ['a'], [{ kind: 'TCPRoute', name: 'all' }]),
      target(NS, 'a-to-c', 'c', ['a'], [{ kind: 'TCPRoute', name: 'all' }]),
      split(NS, 'root-split', 'root', [{ service: 'c', weight: 1 }]),
      gatewayRoute('GRPCRoute', NS, 'root-route', {
        parentRefs: [serviceParent('root', 8080)],
        rules: [{ name: 'echo', matches: [{ method: { service: 'trellis.test.Echo', method: 'Echo' } }], backendRefs: [{ name: 'b', port: 8080 }] }],
      }),
    );
    const [echo, metrics] = await expectAgreement([
      ['a', 'root', ECHO_PATH],
      ['a', 'root', METRICS_PATH],
    ]);
    expect(echo?.route).toMatchObject({ kind: 'GRPCRoute', matched: true, name: 't/root-route', rule: 0, ruleName: 'echo', match: `path Exact ${ECHO_PATH}`, backends: [{ service: 't/b:8080', weight: 1 }] });
    expect(echo?.split).toBeUndefined();
    expect(echo?.reasons).toContain('TrafficSplit t/root-split does not apply: GRPCRoute t/root-route attached to t/root:8080 take precedence (docs/gamma.md)');
    expect(metrics).toMatchObject({ allowed: false, reachable: true, route: { matched: false } });
    expect(metrics?.reasons).toContain(`no rule of GRPCRoute t/root-route matches POST ${METRICS_PATH}: Envoy answers 404, a proxyless gRPC client fails with UNAVAILABLE`);
    const r = await clients.aToRoot.call(METRICS_PATH, 1000);
    expect(r.ok ? 'reached a server' : grpc.status[r.code]).toBe('UNAVAILABLE');
  });

  it('permissive mode: allowed without any TrafficTarget, and explain says permissive', async () => {
    await scenario(meshConfig({ traffic: { enablePermissiveTrafficPolicyMode: true } }));
    const [cb, ab] = await expectAgreement([
      ['c', 'b', ECHO_PATH],
      ['a', 'b', ECHO_PATH],
    ]);
    expect(cb).toMatchObject({ allowed: true, permissive: true });
    expect(ab?.allowed).toBe(true);
  });
});
