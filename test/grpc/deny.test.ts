import * as grpc from '@grpc/grpc-js';
import { TypeUrls, keyOf } from '@trellis/plugin-sdk';
import type { KubeObject } from '@trellis/plugin-sdk';
import { objects } from '@trellis/plugin-sdk/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpcTestMesh } from '../support/grpc-controller.ts';
import { ECHO_PATH, eventually, freePort, loadGrpcXds } from '../support/grpc-workloads.ts';
import type { CallResult, EchoServer, GrpcWorkload } from '../support/grpc-workloads.ts';

const { target, tcpRoute, workload } = objects;

/**
 * Issue 16 item 5 with real @grpc/grpc-js-xds clients: a call policy denies fails with PERMISSION_DENIED and
 * the reason from the controller's deny responder (not DEADLINE_EXCEEDED), the client never receives the
 * denied service's endpoints, and a TrafficTarget added later lets the same channel through.
 */
const NS = 't';
const IPS = { a: '127.0.0.21', b: '127.0.0.22' } as const;
/** Generous: the assertion is that the call does not wait it out, never how fast it failed. */
const DEADLINE_MS = 10_000;

let ctl: GrpcTestMesh;
let a: GrpcWorkload;
let b: GrpcWorkload;
let server: EchoServer;
let portB: number;

const denied = (r: CallResult): string => {
  if (r.ok) throw new Error(`call unexpectedly reached ${r.reply.server}`);
  if (r.code !== grpc.status.PERMISSION_DENIED) throw new Error(`expected PERMISSION_DENIED, got ${grpc.status[r.code]}: ${r.details}`);
  return r.details;
};

/** What the controller sent a's streams, per type (the ADS responses as the registry recorded them). */
const sentToA = (): Record<string, { name: string; value: unknown }[]> => {
  const out: Record<string, { name: string; value: unknown }[]> = {};
  for (const p of ctl.handle.server().registry.list().filter((x) => x.node.uuid === a.node.uuid)) {
    const d = ctl.handle.server().registry.describe(p.streamId);
    for (const [t, rs] of Object.entries(d?.resources ?? {})) (out[t] ??= []).push(...rs);
  }
  return out;
};
const nacksOf = (w: GrpcWorkload): string[] =>
  ctl.handle
    .server()
    .registry.list()
    .filter((p) => p.node.uuid === w.node.uuid)
    .flatMap((p) => Object.entries(p.types).flatMap(([t, s]) => (s.lastNack ? [`${t}: ${s.lastNack.message}`] : [])));

beforeAll(async () => {
  await loadGrpcXds();
  ctl = await GrpcTestMesh.start();
  portB = await freePort();
  const objs: KubeObject[] = [...workload(NS, 'a', IPS.a, 8080, await freePort(), 'grpc-echo'), ...workload(NS, 'b', IPS.b, 8080, portB, 'grpc-echo')];
  ctl.apply(...objs);
  a = await ctl.workload({ namespace: NS, serviceAccount: 'a' });
  b = await ctl.workload({ namespace: NS, serviceAccount: 'b' });
  server = await b.serve(IPS.b, portB, 'b');
});

afterAll(async () => {
  await server?.close();
  await a?.close();
  await b?.close();
  await ctl?.stop();
});

describe('a denied proxyless call (grpc-js-xds)', () => {
  it('fails with PERMISSION_DENIED naming the missing TrafficTarget, sees no endpoint of b, and succeeds once a TrafficTarget allows it', async () => {
    expect(ctl.view(NS, 'a').outbound.some((o) => o.service.name === 'b')).toBe(false);
    const toB = await a.client('b:8080');
    const details = denied(await toB.call(ECHO_PATH, DEADLINE_MS));
    expect(details).toContain('no TrafficTarget has destination t/b with source t/a');
    expect(details).toContain('t/b:8080');

    const sent = sentToA();
    expect(sent[TypeUrls.listener]?.map((r) => r.name)).toEqual(['b:8080']);
    expect(sent[TypeUrls.cluster]?.map((r) => r.name)).toEqual(['trellis-denied']);
    // The only endpoint a holds is the deny responder's; nothing of b (its pod IP or port) reached a.
    const adsText = JSON.stringify(sent);
    expect(adsText).not.toContain(IPS.b);
    expect(adsText).not.toContain(`"port_value":${portB}`);
    expect(ctl.handle.denyResponderAddress()).toBeDefined();
    expect(adsText).toContain(`"port_value":${ctl.handle.denyResponderAddress()?.split(':').pop()}`);

    const policy = [tcpRoute(NS, 'all-ports', []), target(NS, 'a-to-b', 'b', ['a'], [{ kind: 'TCPRoute', name: 'all-ports' }])];
    ctl.apply(...policy);
    const r = await eventually(async () => {
      const res = await toB.call(ECHO_PATH, 2000);
      if (!res.ok) throw new Error(`${grpc.status[res.code]} ${res.details}`);
      return res;
    });
    expect(r.ok && r.reply.server).toBe('b');

    // Once the policy is gone b's RBAC refuses a at first ("Unauthorized RPC rejected"); then the stand-in
    // replaces the real Listener and the reason comes from the controller again.
    ctl.delete(...policy.map(keyOf));
    const again = await eventually(async () => {
      const d = denied(await toB.call(ECHO_PATH, DEADLINE_MS));
      if (!d.includes('no TrafficTarget')) throw new Error(`not yet the controller's answer: ${d}`);
      return d;
    });
    expect(again).toContain('no TrafficTarget has destination t/b with source t/a');
    expect(JSON.stringify(sentToA())).not.toContain(IPS.b);
    expect(nacksOf(a)).toEqual([]);
    expect(nacksOf(b)).toEqual([]);
  });

  it('answers a name that is no Service the same way on the wire, with a reason saying so', async () => {
    const c = await a.client('nosuch.t:8080');
    expect(denied(await c.call(ECHO_PATH, DEADLINE_MS))).toBe('denied: xds:///nosuch.t:8080 is not a mesh Service t/a may call');
    expect(sentToA()[TypeUrls.listener]?.map((r) => r.name)).toContain('nosuch.t:8080');
    expect(nacksOf(a)).toEqual([]);
  });
});
