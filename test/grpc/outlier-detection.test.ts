import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objects } from '@trellis/plugin-sdk/testing';
import { GrpcTestMesh } from '../support/grpc-controller.ts';
import { ECHO_PATH, eventually, freePort, loadGrpcXds } from '../support/grpc-workloads.ts';
import type { CallResult, EchoClient, EchoServer, GrpcWorkload } from '../support/grpc-workloads.ts';
import type { IssuedCertificate } from '@trellis/plugin-sdk';

const { pod, sa, slice, svc, target, tcpRoute, workload } = objects;

/**
 * UpstreamTrafficSetting `outlierDetection.failurePercentage` with real grpc-js-xds against the real
 * controller: service b has two pods, one failing every call. gRPC (gRFC A50) ejects it once the policy
 * arrives, and every call then lands on the healthy pod. The healthy pod is an xDS server; the failing one is a
 * plain grpc-js server with b's certificate on another port (in its own EndpointSlice): grpc-js-xds servers
 * bind their port on every address, so two in one process cannot share a port.
 */

const NS = 'od';
const IPS = { a: '127.0.0.41', good: '127.0.0.42', bad: '127.0.0.43' } as const;

let ctl: GrpcTestMesh;
const servers: EchoServer[] = [];
const wl: GrpcWorkload[] = [];
let toB: EchoClient;
const outcome = (r: CallResult): string => (r.ok ? r.reply.server : grpc.status[r.code]);

beforeAll(async () => {
  await loadGrpcXds();
  ctl = await GrpcTestMesh.start();
  const ports = { a: await freePort(), good: await freePort(), bad: await freePort() };
  ctl.apply(
    ...workload(NS, 'a', IPS.a, 8080, ports.a, 'grpc-echo'),
    sa(NS, 'b'),
    svc(NS, 'b', [{ port: 8080, targetPort: ports.good, name: 'grpc-echo' }]),
    pod(NS, 'b-good', 'b', IPS.good, { app: 'b' }),
    pod(NS, 'b-bad', 'b', IPS.bad, { app: 'b' }),
    slice(NS, 'b', [{ ip: IPS.good, pod: 'b-good' }], [{ name: 'grpc-echo', port: ports.good }], 'b-good'),
    slice(NS, 'b', [{ ip: IPS.bad, pod: 'b-bad' }], [{ name: 'grpc-echo', port: ports.bad }], 'b-bad'),
    tcpRoute(NS, 'all-ports', []),
    target(NS, 'a-to-b', 'b', ['a'], [{ kind: 'TCPRoute', name: 'all-ports' }]),
  );
  for (const n of ['a', 'b'] as const) wl.push(await ctl.workload({ namespace: NS, serviceAccount: n }));
  servers.push(await wl[1]!.serve(IPS.good, ports.good, 'good'));
  servers.push(await failingServer(`${IPS.bad}:${ports.bad}`, await ctl.certificate({ namespace: NS, serviceAccount: 'b' })));
  toB = await wl[0]!.client('b:8080');
  // Both pods in the round robin: some calls reach the healthy one, some the failing one.
  await eventually(async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) seen.add(outcome(await toB.call()));
    expect([...seen].sort()).toEqual(['INTERNAL', 'good']);
  }, 20_000);
});

/** A TLS gRPC server with `cert` (so the client's SAN check passes) that fails every call with INTERNAL. */
async function failingServer(address: string, cert: IssuedCertificate): Promise<EchoServer> {
  const server = new grpc.Server();
  const fail = (_call: unknown, cb: grpc.sendUnaryData<unknown>): void => cb({ code: grpc.status.INTERNAL, details: 'bad pod' });
  const method: grpc.MethodDefinition<unknown, unknown> = {
    path: ECHO_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: (v) => Buffer.from(JSON.stringify(v)),
    requestDeserialize: (b) => JSON.parse(b.toString() || 'null') as unknown,
    responseSerialize: (v) => Buffer.from(JSON.stringify(v)),
    responseDeserialize: (b) => JSON.parse(b.toString() || 'null') as unknown,
  };
  server.addService({ Echo: method }, { Echo: fail });
  const creds = grpc.ServerCredentials.createSsl(Buffer.from(cert.trustBundlePem), [{ cert_chain: Buffer.from(cert.chainPem), private_key: Buffer.from(cert.privateKey.reveal()) }], false);
  await new Promise<void>((resolve, reject) => server.bindAsync(address, creds, (err) => (err ? reject(err) : resolve())));
  return { address, close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())) };
}

afterAll(async () => {
  for (const s of servers) await s.close();
  for (const w of wl) await w.close();
  await ctl?.stop();
});

describe('outlier detection on proxyless gRPC', () => {
  it('consecutive-error settings are reported as not applied; failurePercentage ejects the failing pod from a running client', async () => {
    const uts = (outlierDetection: Record<string, unknown>) => ({
      apiVersion: 'policy.trellis.io/v1alpha1',
      kind: 'UpstreamTrafficSetting',
      metadata: { name: 'b', namespace: NS },
      spec: { host: `b.${NS}.svc.cluster.local`, outlierDetection },
    });
    ctl.apply(uts({ consecutive5xxErrors: 1, interval: '1s', baseEjectionTime: '5m', maxEjectionPercent: 50 }));
    expect(ctl.handle.store.policyStatuses().find((p) => p.kind === 'UpstreamTrafficSetting')?.reason).toMatch(/proxyless gRPC: outlierDetection \(gRPC has no consecutive-error ejection/);

    ctl.apply(uts({ consecutive5xxErrors: 1, interval: '1s', baseEjectionTime: '5m', maxEjectionPercent: 50, failurePercentage: { threshold: 50, minimumHosts: 2, requestVolume: 4 } }));
    expect(ctl.handle.store.policyStatuses().find((p) => p.kind === 'UpstreamTrafficSetting')?.reason).toMatch(/proxyless gRPC: outlierDetection\.consecutive5xxErrors not supported/);
    // The running client: Trellis always sends a (no-op) outlier_detection so grpc-js-xds sees the change.
    // Calls keep flowing so each 1 s interval sees the request volume; once ejected, the failing pod gets none.
    await eventually(async () => {
      const outcomes = [];
      for (let i = 0; i < 20; i++) outcomes.push(outcome(await toB.call()));
      expect(outcomes).toEqual(Array(20).fill('good'));
    }, 30_000);
  });
});
