import * as grpc from '@grpc/grpc-js';
import type { IssuedCertificate } from '@trellis/plugin-sdk';
import { objects } from '@trellis/plugin-sdk/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpcTestMesh } from '../support/grpc-controller.ts';
import { eventually, freePort, loadGrpcXds } from '../support/grpc-workloads.ts';
import type { EchoClient, EchoServer, GrpcWorkload } from '../support/grpc-workloads.ts';

/**
 * Certificate rotation end to end: 5 s workload certificates, re-issued by the controller at half-life and
 * rewritten into the workloads' directories (as `trellis agent` does); grpc-js-xds re-reads them every second.
 * Calls on a long-lived channel and on fresh channels (new TLS handshakes, so expired files would fail) keep
 * succeeding across several rotations of both client and server certificates.
 */

const NS = 'rot';
const IPS = { a: '127.0.0.31', b: '127.0.0.32' } as const;

let ctl: GrpcTestMesh;
let a: GrpcWorkload;
let b: GrpcWorkload;
let server: EchoServer;
let longLived: EchoClient;
const written = { a: [] as IssuedCertificate[], b: [] as IssuedCertificate[] };
let initial: IssuedCertificate;

beforeAll(async () => {
  await loadGrpcXds();
  const ports = { a: await freePort(), b: await freePort() };
  ctl = await GrpcTestMesh.start({
    certificateValidity: '5s',
    objects: [
      ...objects.workload(NS, 'a', IPS.a, 8080, ports.a, 'grpc-echo'),
      ...objects.workload(NS, 'b', IPS.b, 8080, ports.b, 'grpc-echo'),
      objects.meshConfig({ traffic: { enablePermissiveTrafficPolicyMode: true } }),
    ],
  });
  a = await ctl.workload({ namespace: NS, serviceAccount: 'a' });
  initial = await ctl.certificate({ namespace: NS, serviceAccount: 'b' });
  b = await ctl.workload({ namespace: NS, serviceAccount: 'b' }, initial);
  ctl.keepFresh(a, (c) => written.a.push(c));
  ctl.keepFresh(b, (c) => written.b.push(c));
  server = await b.serve(IPS.b, ports.b, 'b');
  longLived = await a.client('b:8080');
});

afterAll(async () => {
  longLived?.close();
  await server?.close();
  await a?.close();
  await b?.close();
  await ctl?.stop();
});

describe('certificate rotation', () => {
  it('keeps calls succeeding across several rotations, on a long-lived channel and on fresh handshakes', async () => {
    await eventually(async () => {
      const r = await longLived.call();
      if (!r.ok) throw new Error(grpc.status[r.code]);
    });
    const failures: string[] = [];
    let calls = 0;
    // Until each side was rotated at least 3 times and the server's first certificate has expired (so fresh
    // handshakes with it would fail).
    // On a loaded machine setup can take long enough that the rotations are already done when the loop starts:
    // it also runs until it made enough calls, so calls across at least one more rotation are always checked.
    const deadline = Date.now() + 20_000;
    const start = written.a.length + written.b.length;
    const done = () =>
      written.a.length >= 3 && written.b.length >= 3 && written.a.length + written.b.length > start && Date.now() > initial.notAfter.getTime() + 500 && calls > 20;
    while (!done() && Date.now() < deadline) {
      const fresh = await a.client('b:8080');
      for (const c of [longLived, fresh]) {
        const r = await c.call(undefined, 2000);
        calls++;
        if (!r.ok) failures.push(`${grpc.status[r.code]}: ${r.details}`);
      }
      fresh.close();
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(written.a.length).toBeGreaterThanOrEqual(3);
    expect(written.b.length).toBeGreaterThanOrEqual(3);
    // Rotation really replaced the certificates, and the first one has expired by now.
    expect(new Set([initial, ...written.b].map((c) => c.serialNumber)).size).toBe(written.b.length + 1);
    expect(initial.notAfter.getTime()).toBeLessThan(Date.now());
    expect(calls).toBeGreaterThan(20);
    expect(failures).toEqual([]);
  });
});
