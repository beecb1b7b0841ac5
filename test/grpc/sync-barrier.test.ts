import * as grpc from '@grpc/grpc-js';
import { coreServices } from '@trellis/plugin-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objects } from '@trellis/plugin-sdk/testing';
import lateSource, { type LateSource } from '../kernel/plugins/late-source.ts';
import { GrpcTestMesh } from '../support/grpc-controller.ts';
import { ECHO_PATH, eventually, freePort, loadGrpcXds } from '../support/grpc-workloads.ts';
import type { EchoClient, EchoServer, GrpcWorkload } from '../support/grpc-workloads.ts';

const { tcpRoute, target, workload } = objects;
const NS = 't';

/**
 * The readiness barrier with real @grpc/grpc-js-xds workloads: while a source has not synced, their ADS
 * streams are refused (UNAVAILABLE) and they retry on their own; once it syncs they get the whole mesh.
 */
let ctl: GrpcTestMesh;
let a: GrpcWorkload;
let b: GrpcWorkload;
let port = 0;
let server: EchoServer | undefined;
let aToB: EchoClient;

const refused = async () => Number(/trellis_xds_rejected_streams_total\{reason="not_synced"\} (\d+)/.exec(await ctl.mesh.resolve(coreServices.metrics).exposition())?.[1] ?? 0);

beforeAll(async () => {
  await loadGrpcXds();
  ctl = await GrpcTestMesh.start({ plugins: [{ definition: lateSource, name: 'late', config: { what: 'the fake API' } }] });
  port = await freePort();
  ctl.apply(...workload(NS, 'a', '127.0.0.21', 8080, await freePort(), 'grpc-echo'), ...workload(NS, 'b', '127.0.0.22', 8080, port, 'grpc-echo'));
  a = await ctl.workload({ namespace: NS, serviceAccount: 'a' });
  b = await ctl.workload({ namespace: NS, serviceAccount: 'b' });
  aToB = await a.client('b:8080');
});

afterAll(async () => {
  await server?.close();
  await a?.close();
  await b?.close();
  await ctl?.stop();
});

describe('sync barrier with grpc-js-xds', () => {
  it('refuses the workloads until the late source syncs; they retry and then reach b under its policy', async () => {
    // b's xDS server starts serving only once it has its Listener: not before the barrier opens.
    let listening = false;
    const serving = b.serve('127.0.0.22', port, 'b').then((s) => ((listening = true), (server = s)));
    const before = await aToB.call(ECHO_PATH, 1000);
    expect(before.ok).toBe(false);
    // Both workloads' ADS streams get refused (however long their first connect takes on a loaded machine).
    await eventually(async () => expect(await refused()).toBeGreaterThanOrEqual(2), 20_000, 100);
    expect(listening).toBe(false);
    expect((await aToB.call(ECHO_PATH, 500)).ok).toBe(false);
    ctl.mesh.instance<LateSource>('late')?.sync([tcpRoute(NS, 'all-ports', []), target(NS, 'a-to-b', 'b', ['a'], [{ kind: 'TCPRoute', name: 'all-ports' }])]);
    const r = await eventually(async () => {
      const res = await aToB.call(ECHO_PATH, 1000);
      if (!res.ok) throw new Error(`still failing: ${grpc.status[res.code]} ${res.details}`);
      return res.reply;
    }, 30_000, 200);
    expect(r.server).toBe('b');
    await serving;
  });
});
