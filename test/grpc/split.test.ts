import * as grpc from '@grpc/grpc-js';
import type { KubeObject } from '@trellis/plugin-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objects } from '@trellis/plugin-sdk/testing';
import { GrpcTestMesh } from '../support/grpc-controller.ts';
import { ECHO_PATH, METRICS_PATH, eventually, freePort, loadGrpcXds } from '../support/grpc-workloads.ts';
import type { EchoClient, EchoServer, GrpcWorkload } from '../support/grpc-workloads.ts';

const { pod, routeGroup, sa, slice, split, svc, target, tcpRoute, workload } = objects;

/**
 * SMI TrafficSplit conformance with real grpc-js-xds workloads against the real controller: client a calls the root service `root`
 * (selecting the pods of b and c); backends b and c. Weighted picks are random per call, so shares are checked
 * against a binomial bound (5 standard deviations: a false failure is about 1 in 3.5 million), not counts.
 */

const NS = 't';
const IPS = { a: '127.0.0.21', b: '127.0.0.22', c: '127.0.0.23' } as const;
const CALLS = 200;

let ctl: GrpcTestMesh;
const servers: EchoServer[] = [];
const wl: GrpcWorkload[] = [];
let toRoot: EchoClient;

function backend(name: 'b' | 'c', port: number): KubeObject[] {
  return [
    sa(NS, name),
    svc(NS, name, [{ port: 8080, targetPort: port, name: 'grpc-echo' }]),
    pod(NS, `${name}-0`, name, IPS[name], { app: name, group: 'root' }),
    slice(NS, name, [{ ip: IPS[name], pod: `${name}-0` }], [{ name: 'grpc-echo', port }]),
    // The root service's endpoint for this pod (a named targetPort resolves per pod).
    slice(NS, 'root', [{ ip: IPS[name], pod: `${name}-0` }], [{ name: 'grpc-echo', port }], `root-${name}`),
  ];
}

/** Asserts `hits` of `n` calls are consistent with probability `p` (within 5 binomial standard deviations). */
function expectShare(hits: number, n: number, p: number): void {
  const sd = Math.sqrt(n * p * (1 - p));
  expect(hits).toBeGreaterThanOrEqual(n * p - 5 * sd);
  expect(hits).toBeLessThanOrEqual(n * p + 5 * sd);
}

/** Applies a split and waits until a call lands on `marker`, which the previous weights never chose. */
async function switchTo(weights: { b: number; c: number }, marker: 'b' | 'c'): Promise<void> {
  ctl.apply(split(NS, 'root-split', 'root', [{ service: 'b', weight: weights.b }, { service: 'c', weight: weights.c }]));
  await eventually(async () => {
    const r = await toRoot.call();
    if (!r.ok || r.reply.server !== marker) throw new Error(`not yet on ${marker}: ${r.ok ? r.reply.server : grpc.status[r.code]}`);
  });
}

beforeAll(async () => {
  await loadGrpcXds();
  ctl = await GrpcTestMesh.start();
  const ports = { a: await freePort(), b: await freePort(), c: await freePort() };
  ctl.apply(
    ...workload(NS, 'a', IPS.a, 8080, ports.a, 'grpc-echo'),
    ...backend('b', ports.b),
    ...backend('c', ports.c),
    svc(NS, 'root', [{ port: 8080, targetPort: 'grpc-echo', name: 'grpc-echo' }], { group: 'root' }),
    tcpRoute(NS, 'all-ports', []),
    target(NS, 'a-to-b', 'b', ['a'], [{ kind: 'TCPRoute', name: 'all-ports' }]),
    target(NS, 'a-to-c', 'c', ['a'], [{ kind: 'TCPRoute', name: 'all-ports' }]),
  );
  for (const n of ['a', 'b', 'c'] as const)
    wl.push(await ctl.workload({ namespace: NS, serviceAccount: n }));
  servers.push(await wl[1]!.serve(IPS.b, ports.b, 'b'), await wl[2]!.serve(IPS.c, ports.c, 'c'));
  toRoot = await wl[0]!.client('root:8080');
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  for (const w of wl) await w.close();
  await ctl?.stop();
});

describe('SMI TrafficSplit (conformance: split)', () => {
  it('sends root traffic to both backends without a split', async () => {
    await eventually(async () => {
      const r = await toRoot.call();
      if (!r.ok) throw new Error(grpc.status[r.code]);
    });
    const t = await toRoot.tally(40);
    expect(t.b ?? 0).toBeGreaterThan(0);
    expect(t.c ?? 0).toBeGreaterThan(0);
    expect((t.b ?? 0) + (t.c ?? 0)).toBe(40);
  });

  it('b:1 c:0 sends every call to b; b:0 c:1 every call to c', async () => {
    await switchTo({ b: 1, c: 0 }, 'b');
    // Every call of a 50-call window must be b (the split is in force once the first b came back after c).
    await eventually(async () => expect(await toRoot.tally(50)).toEqual({ b: 50 }));
    await switchTo({ b: 0, c: 1 }, 'c');
    await eventually(async () => expect(await toRoot.tally(50)).toEqual({ c: 50 }));
  });

  it('75/25 and 25/75 give b and c shares within a binomial bound, the heavier backend receiving more', async () => {
    await switchTo({ b: 75, c: 25 }, 'b'); // from c-only: the first b proves the new weights arrived
    const t1 = await toRoot.tally(CALLS);
    expect((t1.b ?? 0) + (t1.c ?? 0)).toBe(CALLS);
    expectShare(t1.b ?? 0, CALLS, 0.75);
    expect(t1.b ?? 0).toBeGreaterThan(t1.c ?? 0);

    await switchTo({ b: 0, c: 1 }, 'c');
    await eventually(async () => expect(await toRoot.tally(20)).toEqual({ c: 20 }));
    await switchTo({ b: 25, c: 75 }, 'b');
    const t2 = await toRoot.tally(CALLS);
    expect((t2.b ?? 0) + (t2.c ?? 0)).toBe(CALLS);
    expectShare(t2.c ?? 0, CALLS, 0.75);
    expect(t2.c ?? 0).toBeGreaterThan(t2.b ?? 0);
  });

  it('v1alpha4: splits only requests matching the HTTPRouteGroup; the rest go to the root service', async () => {
    ctl.apply(
      routeGroup(NS, 'metrics-only', [{ name: 'metrics', pathRegex: METRICS_PATH, methods: ['*'] }]),
      split(NS, 'root-split', 'root', [{ service: 'c', weight: 1 }], ['metrics-only']),
    );
    // Echo is not split: the root service round-robins over b and c, so b shows up again.
    await eventually(async () => expect((await toRoot.tally(10, ECHO_PATH)).b ?? 0).toBeGreaterThan(0));
    expect(await toRoot.tally(50, METRICS_PATH)).toEqual({ c: 50 });
    const echo = await toRoot.tally(40, ECHO_PATH);
    expect(echo.b ?? 0).toBeGreaterThan(0);
    expect(echo.c ?? 0).toBeGreaterThan(0);
  });
});
