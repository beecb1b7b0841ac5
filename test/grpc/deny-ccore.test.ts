import { TypeUrls, keyOf } from '@trellis/plugin-sdk';
import { objects } from '@trellis/plugin-sdk/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpcTestMesh } from '../support/grpc-controller.ts';
import { ECHO_PATH, eventually, freePort } from '../support/grpc-workloads.ts';
import type { GrpcWorkload } from '../support/grpc-workloads.ts';
import { ccoreClient, ccoreServe } from '../support/ccore-workloads.ts';
import type { CCoreClient, CCoreServer } from '../support/ccore-workloads.ts';

const { target, tcpRoute, workload } = objects;

/**
 * Issue 16 item 5 with gRPC C-core (python3-grpcio 1.51) as client and server: a denied call gets
 * PERMISSION_DENIED with the controller's reason (not DEADLINE_EXCEEDED with a 10 s deadline), the client
 * holds no endpoint of the denied service, a TrafficTarget lets the same channel through, zero NACKs.
 */
const NS = 't';
const IPS = { a: '127.0.0.31', b: '127.0.0.32' } as const;
const DEADLINE_S = 10;

let ctl: GrpcTestMesh;
let a: GrpcWorkload;
let b: GrpcWorkload;
let server: CCoreServer;
let client: CCoreClient;
let portB: number;

const nacks = (): string[] =>
  ctl.handle
    .server()
    .registry.list()
    .flatMap((p) => Object.entries(p.types).flatMap(([t, s]) => (s.lastNack ? [`${p.identity} ${t}: ${s.lastNack.message}`] : [])));
const sentTo = (w: GrpcWorkload): string =>
  JSON.stringify(
    ctl.handle
      .server()
      .registry.list()
      .filter((p) => p.node.uuid === w.node.uuid)
      .map((p) => ctl.handle.server().registry.describe(p.streamId)?.resources ?? {}),
  );

beforeAll(async () => {
  ctl = await GrpcTestMesh.start();
  portB = await freePort();
  ctl.apply(...workload(NS, 'a', IPS.a, 8080, await freePort(), 'grpc-echo'), ...workload(NS, 'b', IPS.b, 8080, portB, 'grpc-echo'));
  a = await ctl.workload({ namespace: NS, serviceAccount: 'a' });
  b = await ctl.workload({ namespace: NS, serviceAccount: 'b' });
  server = await ccoreServe(b, IPS.b, portB, 'b');
  client = await ccoreClient(a, 'b.t:8080');
}, 120_000);

afterAll(async () => {
  await client?.close();
  await server?.close();
  await a?.close();
  await b?.close();
  await ctl?.stop();
});

describe('a denied proxyless call (gRPC C-core)', () => {
  it('fails with PERMISSION_DENIED naming the missing TrafficTarget, without b’s endpoints, and succeeds once allowed', async () => {
    const r = await client.run(1, ECHO_PATH, {}, DEADLINE_S);
    expect(r.tally).toEqual({ PERMISSION_DENIED: 1 });
    expect(r.details[0]).toContain('no TrafficTarget has destination t/b with source t/a');
    expect(r.details[0]).toContain('t/b:8080');
    const sent = sentTo(a);
    expect(sent).toContain('trellis-denied');
    expect(sent).not.toContain(IPS.b);
    expect(sent).not.toContain(`"port_value":${portB}`);
    expect(JSON.parse(sent)[0]?.[TypeUrls.listener]?.map((l: { name: string }) => l.name)).toEqual(['b.t:8080']);

    const policy = [tcpRoute(NS, 'all-ports', []), target(NS, 'a-to-b', 'b', ['a'], [{ kind: 'TCPRoute', name: 'all-ports' }])];
    ctl.apply(...policy);
    await eventually(async () => expect((await client.run(1, ECHO_PATH, {}, 2)).tally).toEqual({ b: 1 }), 30_000, 200);
    ctl.delete(...policy.map(keyOf));
    await eventually(async () => {
      const again = await client.run(1, ECHO_PATH, {}, DEADLINE_S);
      expect(again.tally).toEqual({ PERMISSION_DENIED: 1 });
      expect(again.details[0]).toContain('no TrafficTarget has destination t/b with source t/a');
    }, 30_000, 200);
    expect(nacks()).toEqual([]);
  });
});
