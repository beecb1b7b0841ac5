import * as grpc from '@grpc/grpc-js';
import type { KubeObject } from '@trellis/plugin-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objects } from '@trellis/plugin-sdk/testing';
import { GrpcTestMesh } from '../support/grpc-controller.ts';
import { eventually, freePort, loadGrpcXds } from '../support/grpc-workloads.ts';
import type { CallResult, EchoClient, EchoServer, GrpcWorkload } from '../support/grpc-workloads.ts';

const { target, tcpRoute, workload } = objects;

/**
 * Retry and UpstreamTrafficSetting with real grpc-js-xds workloads against the real controller: client a calls
 * server b, whose behaviour each test sets (fail every other attempt, or answer slowly).
 */

const NS = 't';
const IPS = { a: '127.0.0.31', b: '127.0.0.32' } as const;

let ctl: GrpcTestMesh;
let server: EchoServer;
const wl: GrpcWorkload[] = [];
let toB: EchoClient;
/** What b does with the next attempt it receives. */
let behave: () => Promise<grpc.status | undefined> = () => Promise.resolve(undefined);
let attempts = 0;

const retry = (numRetries: number): KubeObject => ({
  apiVersion: 'policy.openservicemesh.io/v1alpha1',
  kind: 'Retry',
  metadata: { name: 'a-to-b', namespace: NS },
  spec: {
    source: { kind: 'ServiceAccount', name: 'a', namespace: NS },
    destinations: [{ kind: 'Service', name: 'b', namespace: NS }],
    // An Envoy condition: gRPC gets it as `unavailable`.
    retryPolicy: { retryOn: '5xx', numRetries, perTryTimeout: '2s', retryBackoffBaseInterval: '10ms' },
  },
});
const settings = (spec: Record<string, unknown>): KubeObject => ({
  apiVersion: 'policy.trellis.io/v1alpha1',
  kind: 'UpstreamTrafficSetting',
  metadata: { name: 'b', namespace: NS },
  spec: { host: `b.${NS}.svc.cluster.local`, ...spec },
});
const RETRY_KEY = { apiVersion: 'policy.openservicemesh.io/v1alpha1', kind: 'Retry', namespace: NS, name: 'a-to-b' };
const SETTINGS_KEY = { apiVersion: 'policy.trellis.io/v1alpha1', kind: 'UpstreamTrafficSetting', namespace: NS, name: 'b' };
const outcome = (r: CallResult): string => (r.ok ? 'ok' : grpc.status[r.code]);

beforeAll(async () => {
  await loadGrpcXds();
  ctl = await GrpcTestMesh.start();
  const ports = { a: await freePort(), b: await freePort() };
  ctl.apply(
    ...workload(NS, 'a', IPS.a, 8080, ports.a, 'grpc-echo'),
    ...workload(NS, 'b', IPS.b, 8080, ports.b, 'grpc-echo'),
    tcpRoute(NS, 'all-ports', []),
    target(NS, 'a-to-b', 'b', ['a'], [{ kind: 'TCPRoute', name: 'all-ports' }]),
  );
  for (const n of ['a', 'b'] as const) wl.push(await ctl.workload({ namespace: NS, serviceAccount: n }));
  server = await wl[1]!.serve(IPS.b, ports.b, 'b', () => {
    attempts++;
    return behave();
  });
  toB = await wl[0]!.client('b:8080');
  await eventually(async () => {
    const r = await toB.call();
    if (!r.ok) throw new Error(grpc.status[r.code]);
  });
});

afterAll(async () => {
  await server?.close();
  for (const w of wl) await w.close();
  await ctl?.stop();
});

describe('traffic policies on proxyless gRPC', () => {
  it('Retry: a server that fails every first attempt succeeds once the Retry arrives', async () => {
    // Odd attempts fail UNAVAILABLE, even ones succeed: without retries, every other call fails.
    behave = () => Promise.resolve(attempts % 2 === 1 ? grpc.status.UNAVAILABLE : undefined);
    attempts = 0;
    const before = [];
    for (let i = 0; i < 6; i++) before.push(outcome(await toB.call()));
    expect(before).toEqual(['UNAVAILABLE', 'ok', 'UNAVAILABLE', 'ok', 'UNAVAILABLE', 'ok']);

    ctl.apply(retry(1));
    // Once the policy is in force, each call's failed first attempt is retried: 20 calls in a row succeed.
    await eventually(async () => {
      attempts = 0;
      const outcomes = [];
      for (let i = 0; i < 20; i++) outcomes.push(outcome(await toB.call()));
      expect(outcomes).toEqual(Array(20).fill('ok'));
      expect(attempts).toBe(40); // every call took two attempts
    });
    const status = ctl.handle.store.policyStatuses().find((p) => p.kind === 'Retry');
    expect(status).toMatchObject({ status: 'accepted', name: 'a-to-b' });

    ctl.delete(RETRY_KEY);
    await eventually(async () => {
      attempts = 0;
      expect([outcome(await toB.call()), outcome(await toB.call())]).toEqual(['UNAVAILABLE', 'ok']);
    });
  });

  it('UpstreamTrafficSetting maxRequests: calls beyond the limit in flight are rejected', async () => {
    let release: () => void = () => undefined;
    let held = new Promise<void>((r) => (release = r));
    behave = async () => {
      await held;
      return undefined;
    };
    ctl.apply(settings({ connectionSettings: { http: { maxRequests: 1 } } }));
    await eventually(async () => {
      held = new Promise<void>((r) => (release = r));
      attempts = 0;
      const firstCall = toB.call();
      // grpc-js counts a call once it started on a connection: the excess calls go out when b holds the first.
      await eventually(() => (attempts === 1 ? Promise.resolve() : Promise.reject(new Error('first call not at b yet'))));
      // The rejected ones come back while the first is still held.
      const early = await Promise.all([toB.call(), toB.call()]);
      release();
      const first = await firstCall;
      expect([outcome(first), ...early.map(outcome)]).toEqual(['ok', 'UNAVAILABLE', 'UNAVAILABLE']);
      expect(early.every((r) => !r.ok && /dropped/i.test(r.details))).toBe(true);
    });
    // Held, yet released in time: one call at a time passes.
    release();
    behave = () => Promise.resolve(undefined);
    expect(outcome(await toB.call())).toBe('ok');
  });

  it('UpstreamTrafficSetting requestTimeout: a slow call ends with DEADLINE_EXCEEDED at the configured time', async () => {
    const TIMEOUT_MS = 400;
    const SLOW_MS = 3000;
    const timers: NodeJS.Timeout[] = [];
    behave = () => new Promise((r) => timers.push(setTimeout(() => r(undefined), SLOW_MS)));
    ctl.apply(settings({ connectionSettings: { http: { requestTimeout: `${TIMEOUT_MS}ms` } } }));
    try {
      const elapsed = await eventually(async () => {
        const t0 = Date.now();
        const r = await toB.call(undefined, SLOW_MS + 2000);
        const ms = Date.now() - t0;
        expect(outcome(r)).toBe('DEADLINE_EXCEEDED');
        return ms;
      }, 20_000);
      // Not before the configured timeout, and well before the client's own deadline or the server's answer.
      expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
      expect(elapsed).toBeLessThan(SLOW_MS);
    } finally {
      for (const t of timers) clearTimeout(t);
      behave = () => Promise.resolve(undefined);
      ctl.delete(SETTINGS_KEY);
    }
  });
});
