import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { controllerRef } from '@trellis/core';
import { formatNodeId, TypeUrls, type NodeIdentity } from '@trellis/plugin-sdk';
import { objects as o, startTestMesh, type TestMesh } from '@trellis/plugin-sdk/testing';
import selfsigned from '@trellis/plugin-certs-selfsigned';
import { AdsConnection } from '../support/ads-client.ts';
import lateSource, { type LateSource } from '../kernel/plugins/late-source.ts';
import testBackend from './test-backend.ts';

type Checks = { status: string; checks: { name: string; ready: boolean; reason?: string }[] };

describe('sync barrier: no proxy is served a partial mesh', () => {
  let mesh: TestMesh;
  const conns: AdsConnection[] = [];
  const buyer: NodeIdentity = { uuid: randomUUID(), kind: 'sidecar', namespace: 'shop', serviceAccount: 'buyer', trustDomain: 'cluster.local' };

  beforeAll(async () => {
    mesh = await startTestMesh({
      plugins: [
        { definition: selfsigned, config: { stateDir: mkdtempSync(join(tmpdir(), 'trellis-barrier-ca-')) } },
        { definition: testBackend },
        { definition: lateSource, name: 'late', config: { what: 'the fake API' } },
      ],
      settings: { xds: { address: '127.0.0.1:0', debounce: { quiet: '10ms', max: '100ms' } } },
      // Workloads are in (another source); the policy that lets buyer reach store comes from the late source.
      objects: [o.ns('shop'), ...o.workload('shop', 'buyer', '10.0.0.1'), ...o.workload('shop', 'store', '10.0.0.2'), o.routeGroup('shop', 'all', [{ name: 'any', pathRegex: '.*' }])],
    });
  });
  afterAll(async () => {
    for (const c of conns) c.close();
    await mesh?.stop();
  });

  const openStream = async () => {
    const handle = mesh.resolve(controllerRef);
    const cert = await handle.certificates().bootstrap(buyer);
    const conn = new AdsConnection({ address: `127.0.0.1:${handle.ports().port}`, tls: { caPem: cert.trustBundlePem, certPem: cert.chainPem, keyPem: cert.privateKey.reveal() } });
    conns.push(conn);
    const stream = conn.sotw();
    stream.send({ node: { id: formatNodeId(buyer) }, type_url: TypeUrls.cluster });
    return stream;
  };
  /** The stream's final status; fails if the proxy is served anything (a partial mesh) instead. */
  const refusedOrServed = async (): Promise<grpc.StatusObject> => {
    const stream = await openStream();
    const served = stream.next(5000).then((r) => `served ${r.resources?.length ?? 0} clusters (a partial mesh)`, () => 'no answer');
    const outcome = await Promise.race([stream.status, served]);
    if (typeof outcome === 'string') throw new Error(`expected the stream to be refused, but it was ${outcome}`);
    return outcome;
  };
  const readyz = () => mesh.getJson<Checks>('/readyz?verbose', { allowError: true });

  it('refuses ADS with UNAVAILABLE and says at /readyz?verbose which source is not synced and why', async () => {
    const r = await readyz();
    expect(r.status).toBe(503);
    expect(r.body.checks).toContainEqual({ name: 'late', type: 'plugin', state: 'running', ready: false, reason: 'first list of the fake API not done' });
    expect(r.body.checks).toContainEqual({
      name: 'sources-synced',
      type: 'core',
      state: 'running',
      ready: false,
      reason: 'waiting for the first full sync of source "late" (first list of the fake API not done)',
    });
    const status = await refusedOrServed();
    expect(status.code).toBe(grpc.status.UNAVAILABLE);
    expect(status.details).toBe('control plane not ready to serve proxies: waiting for the first full sync of source "late" (first list of the fake API not done); retry with backoff');
  });

  it('a source whose first sync fails stays not ready, with its reason, and ADS stays closed', async () => {
    mesh.instance<LateSource>('late')?.fail('connection refused');
    const r = await readyz();
    expect(r.status).toBe(503);
    expect(r.body.checks.find((c) => c.name === 'sources-synced')?.reason).toBe('waiting for the first full sync of source "late" (first list of the fake API failed: connection refused)');
    const status = await refusedOrServed();
    expect(status.code).toBe(grpc.status.UNAVAILABLE);
    expect(status.details).toContain('failed: connection refused');
  });

  it('once every source has synced, a proxy gets the whole mesh from its first response', async () => {
    mesh.instance<LateSource>('late')?.sync([o.target('shop', 'buyer-to-store', 'store', ['buyer'], [{ kind: 'HTTPRouteGroup', name: 'all' }])]);
    const r = await readyz();
    expect(r.body.checks.find((c) => c.name === 'sources-synced')).toMatchObject({ ready: true });
    expect(r.status).toBe(200);
    const stream = await openStream();
    const first = await stream.next(5000);
    expect(first.type_url).toBe(TypeUrls.cluster);
    // The late source's TrafficTarget is in the very first answer: buyer may reach store.
    expect(first.resources?.length).toBe(1);
    stream.cancel();
  });
});
