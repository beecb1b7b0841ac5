import * as grpc from '@grpc/grpc-js';
import { keyOf, spiffeId } from '@trellis/plugin-sdk';
import type { IssuedCertificate, KubeObject, ObjectKey } from '@trellis/plugin-sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { objects } from '@trellis/plugin-sdk/testing';
import { GrpcTestMesh } from '../support/grpc-controller.ts';
import { ECHO_PATH, METRICS_PATH, eventually, freePort, loadGrpcXds, plainClient } from '../support/grpc-workloads.ts';
import type { CallResult, EchoClient, EchoServer, GrpcWorkload } from '../support/grpc-workloads.ts';

const { meshConfig, routeGroup, target, tcpRoute, workload } = objects;

/**
 * SMI access and spec conformance, permissive switching and mTLS with real @grpc/grpc-js-xds clients and
 * servers against the real controller: workloads a, b, c (and d, served with a certificate of the wrong
 * identity) in namespace t. The workloads are shared (they are slow to start); the policy is not: each test
 * applies what it needs through `apply`, and `afterEach` removes it and waits for the policy-free baseline, so
 * any test can run alone or in any order.
 */

const NS = 't';
const TD = 'cluster.local';
const IPS = { a: '127.0.0.11', b: '127.0.0.12', c: '127.0.0.13', d: '127.0.0.14' } as const;
type Name = keyof typeof IPS;

let ctl: GrpcTestMesh;
const ports = {} as Record<Name, number>;
const wl = {} as Record<Name, GrpcWorkload>;
const servers: EchoServer[] = [];
let aToB: EchoClient;
let cToB: EchoClient;
let aToD: EchoClient;
/** d's certificate of the wrong identity (a test swaps in the right one and restores this). */
let dWrongCert: IssuedCertificate;
/** What the running test applied, removed after it. */
const applied = new Map<string, ObjectKey>();
const apply = (...objs: KubeObject[]): void => {
  for (const o of objs) applied.set(JSON.stringify(keyOf(o)), keyOf(o));
  ctl.apply(...objs);
};

const ok = (r: CallResult): string => {
  if (!r.ok) throw new Error(`call failed: ${grpc.status[r.code]} ${r.details}`);
  return r.reply.server;
};
const fails = (r: CallResult): grpc.status => {
  if (r.ok) throw new Error(`call unexpectedly reached ${r.reply.server}`);
  return r.code;
};

beforeAll(async () => {
  await loadGrpcXds();
  ctl = await GrpcTestMesh.start();
  const objs: KubeObject[] = [];
  for (const n of Object.keys(IPS) as Name[]) {
    ports[n] = await freePort();
    objs.push(...workload(NS, n, IPS[n], 8080, ports[n], 'grpc-echo'));
  }
  ctl.apply(...objs);
  for (const n of Object.keys(IPS) as Name[]) {
    // d's server presents a certificate of another identity: clients must refuse it (SAN check).
    const id = { namespace: NS, serviceAccount: n };
    if (n === 'd') dWrongCert = await ctl.issueWithUri(id, spiffeId({ namespace: NS, serviceAccount: 'mallory' }, TD));
    wl[n] = await ctl.workload(id, n === 'd' ? dWrongCert : undefined);
  }
  servers.push(...(await Promise.all((['b', 'c', 'd'] as const).map((n) => wl[n].serve(IPS[n], ports[n], n)))));
  aToB = await wl.a.client('b:8080');
  cToB = await wl.c.client(`b.${NS}.svc.cluster.local:8080`);
  aToD = await wl.a.client('d:8080');
});

afterEach(async () => {
  if (applied.size === 0) return;
  ctl.delete(...applied.values());
  applied.clear();
  // Baseline: no policy, SMI mode; b's RBAC refuses both clients again.
  await eventually(async () => fails(await aToB.call(ECHO_PATH, 500)));
  await eventually(async () => fails(await cToB.call(ECHO_PATH, 500)));
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  for (const w of Object.values(wl)) await w.close();
  await ctl?.stop();
});

describe('SMI access (conformance: access)', () => {
  it('blocks a -> b without policy, allows it with TrafficTarget + TCPRoute (b sees a), blocks it again once deleted', async () => {
    expect(await eventually(async () => fails(await aToB.call(ECHO_PATH, 500)))).toBeDefined();
    const policy = [tcpRoute(NS, 'all-ports', []), target(NS, 'a-to-b', 'b', ['a'], [{ kind: 'TCPRoute', name: 'all-ports' }])];
    apply(...policy);
    const r = await eventually(async () => {
      const res = await aToB.call();
      ok(res);
      return res;
    });
    expect(r.ok && r.reply).toEqual({ server: 'b', peer: spiffeId({ namespace: NS, serviceAccount: 'a' }, TD) });
    // c has no TrafficTarget: still refused.
    expect(fails(await cToB.call(ECHO_PATH, 500))).not.toBe(grpc.status.OK);
    ctl.delete(...policy.map(keyOf));
    // The client keeps its last config (bootstrap ignores resource deletion); b's RBAC refuses a.
    expect(await eventually(async () => fails(await aToB.call(ECHO_PATH, 500)))).toBe(grpc.status.PERMISSION_DENIED);
  });

  it('ignores a TrafficTarget in another namespace than its destination', async () => {
    const policy = [tcpRoute('other', 'all-ports', []), target('other', 'a-to-b', 'b', [[NS, 'a']], [{ kind: 'TCPRoute', name: 'all-ports' }], NS)];
    apply(...policy);
    expect(ctl.view(NS, 'b').inbound[0]?.routes).toEqual([]);
    // Give a wrongly applied policy time to arrive, then check it did not.
    await new Promise((r) => setTimeout(r, 200));
    fails(await aToB.call(ECHO_PATH, 500));
    ctl.delete(...policy.map(keyOf));
  });
});

describe('SMI routes (conformance: spec)', () => {
  const httpTarget = target(NS, 'a-to-b', 'b', ['a'], [{ kind: 'HTTPRouteGroup', name: 'metrics' }]);

  it('allows only the gRPC method an HTTPRouteGroup path names; others get PERMISSION_DENIED from the server', async () => {
    apply(routeGroup(NS, 'metrics', [{ name: 'metrics', pathRegex: METRICS_PATH, methods: ['*'] }]), httpTarget);
    expect(await eventually(async () => ok(await aToB.call(METRICS_PATH)))).toBe('b');
    expect(fails(await aToB.call(ECHO_PATH))).toBe(grpc.status.PERMISSION_DENIED);
  });

  it('matches methods: a GET-only route denies gRPC calls (always POST); adding POST allows them', async () => {
    apply(routeGroup(NS, 'metrics', [{ name: 'everything-get', pathRegex: '.*', methods: ['GET'] }]), httpTarget);
    expect(await eventually(async () => fails(await aToB.call(METRICS_PATH)))).toBe(grpc.status.PERMISSION_DENIED);
    apply(routeGroup(NS, 'metrics', [{ name: 'everything-post', pathRegex: '.*', methods: ['GET', 'POST'] }]));
    expect(await eventually(async () => ok(await aToB.call(ECHO_PATH)))).toBe('b');
  });
});

describe('permissive <-> SMI', () => {
  it('lets every meshed workload call every other in permissive mode, and enforces SMI again when it is switched off', async () => {
    apply(meshConfig({ traffic: { enablePermissiveTrafficPolicyMode: true } }));
    expect(await eventually(async () => ok(await aToB.call()))).toBe('b');
    expect(await eventually(async () => ok(await cToB.call()))).toBe('b');
    apply(meshConfig({ traffic: { enablePermissiveTrafficPolicyMode: false } }));
    await eventually(async () => fails(await aToB.call(ECHO_PATH, 500)));
    await eventually(async () => fails(await cToB.call(ECHO_PATH, 500)));
  });
});

describe('mTLS', () => {
  const permissive = async (): Promise<void> => {
    apply(meshConfig({ traffic: { enablePermissiveTrafficPolicyMode: true } }));
    await eventually(async () => ok(await aToB.call()));
  };

  it('refuses a plaintext client at a meshed server', async () => {
    await permissive();
    const plain = plainClient(`${IPS.b}:${ports.b}`);
    try {
      expect(fails(await plain.call(ECHO_PATH, 1000))).toBe(grpc.status.UNAVAILABLE);
    } finally {
      plain.close();
    }
  });

  it("refuses a server whose certificate is not one of the service's identities (SAN check), until it gets the right one", async () => {
    // Permissive: policy allows a -> d; only the certificate check stands in the way.
    await permissive();
    expect(ctl.view(NS, 'a').outbound.some((o) => o.service.name === 'd')).toBe(true);
    expect(await eventually(async () => fails(await aToD.call(ECHO_PATH, 1000)))).toBe(grpc.status.UNAVAILABLE);
    expect(fails(await aToD.call(ECHO_PATH, 1000))).toBe(grpc.status.UNAVAILABLE);
    // Control: the same server with d's own certificate (rewritten in place; grpc-js-xds re-reads it) is accepted.
    await wl.d.rotate(await ctl.certificate({ namespace: NS, serviceAccount: 'd' }));
    try {
      expect(await eventually(async () => ok(await aToD.call(ECHO_PATH, 1000)), 15_000)).toBe('d');
    } finally {
      await wl.d.rotate(dWrongCert);
    }
  });
});
