import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { controllerRef } from '@trellis/core';
import { coreServices, formatNodeId, TypeUrls, type NodeIdentity } from '@trellis/plugin-sdk';
import { objects as o, startTestMesh, type TestMesh } from '@trellis/plugin-sdk/testing';
import selfsigned from '@trellis/plugin-certs-selfsigned';
import { AdsConnection, type SotwClient } from '../support/ads-client.ts';
import testBackend from './test-backend.ts';

const http = [{ kind: 'HTTPRouteGroup', name: 'all' }];

describe('controller: store -> catalog -> backend -> ADS', () => {
  let mesh: TestMesh;
  let conn: AdsConnection;

  // Every test gets its own mesh (each one changes policy), so any one of them can run alone or in any order.
  beforeEach(async () => {
    mesh = await startTestMesh({
      plugins: [
        { definition: selfsigned, config: { stateDir: mkdtempSync(join(tmpdir(), 'trellis-ctl-ca-')) } },
        { definition: testBackend },
      ],
      settings: { xds: { address: '127.0.0.1:0', debounce: { quiet: '10ms', max: '100ms' } } },
      objects: [
        o.ns('shop'),
        ...o.workload('shop', 'buyer', '10.0.0.1'),
        ...o.workload('shop', 'store', '10.0.0.2'),
        ...o.workload('shop', 'audit', '10.0.0.3'),
        o.routeGroup('shop', 'all', [{ name: 'any', pathRegex: '.*' }]),
        o.target('shop', 'buyer-to-store', 'store', ['buyer'], http),
      ],
    });
  });
  afterEach(async () => {
    conn?.close();
    await mesh?.stop();
  });

  const connect = async (node: NodeIdentity, certNode = node) => {
    const handle = mesh.resolve(controllerRef);
    const cert = await handle.certificates().bootstrap(certNode);
    conn = new AdsConnection({
      address: `127.0.0.1:${handle.ports().port}`,
      tls: { caPem: cert.trustBundlePem, certPem: cert.chainPem, keyPem: cert.privateKey.reveal() },
    });
    return conn.sotw();
  };
  const node = (sa: string): NodeIdentity => ({ uuid: randomUUID(), kind: 'sidecar', namespace: 'shop', serviceAccount: sa, trustDomain: 'cluster.local' });
  const names = (r: { resources?: unknown[] }) => r.resources?.length ?? 0;

  it('serves a connected proxy its policy and pushes only to the identities a change affects', async () => {
    const buyer = node('buyer');
    const stream: SotwClient = await connect(buyer);
    stream.send({ node: { id: formatNodeId(buyer) }, type_url: TypeUrls.cluster });
    const first = await stream.next(5000);
    expect(first.type_url).toBe(TypeUrls.cluster);
    expect(names(first)).toBe(1); // buyer may reach store only
    stream.send({ type_url: TypeUrls.cluster, version_info: first.version_info, response_nonce: first.nonce });

    const handle = mesh.resolve(controllerRef);
    const builds = async () => (/trellis_snapshot_builds_total\{kind="sidecar"\} (\d+)/.exec(await mesh.resolve(coreServices.metrics).exposition())?.[1] ?? '0');
    const before = await builds();
    // A policy for another identity (audit) must not rebuild buyer's snapshot.
    mesh.apply(o.target('shop', 'store-to-audit', 'audit', ['store'], http));
    await handle.controller().settle();
    expect(await builds()).toBe(before);

    // Allowing buyer to reach audit changes buyer's view: a new CDS version with two clusters arrives.
    mesh.apply(o.target('shop', 'buyer-to-audit', 'audit', ['buyer'], http));
    const second = await stream.next(5000);
    expect(names(second)).toBe(2);
    expect(second.version_info).not.toBe(first.version_info);
    stream.cancel();
  });

  it('lists every policy object with its status and reason at /debug/policies and counts them in /metrics', async () => {
    mesh.apply(o.target('other', 'misplaced', 'store', ['buyer'], http, 'shop'));
    mesh.apply(o.routeGroup('shop', 'broken', [{ name: 'x', pathRegex: '(?<=a)b' }]));
    const r = await mesh.getJson<{ policies: { kind: string; namespace: string; name: string; status: string; reason?: string }[] }>('/debug/policies');
    const find = (name: string) => r.body.policies.find((p) => p.name === name);
    expect(find('buyer-to-store')).toMatchObject({ kind: 'TrafficTarget', namespace: 'shop', status: 'accepted' });
    expect(find('misplaced')).toMatchObject({ status: 'ignored', reason: expect.stringContaining('spec.destination.namespace') });
    expect(find('broken')).toMatchObject({ kind: 'HTTPRouteGroup', status: 'invalid', reason: expect.stringContaining('pathRegex') });
    const metrics = await mesh.resolve(coreServices.metrics).exposition();
    expect(metrics).toMatch(/trellis_policy_objects\{kind="HTTPRouteGroup",status="invalid"\} 1/);
    expect(metrics).toMatch(/trellis_policy_objects\{kind="TrafficTarget",status="ignored"\} 1/);
  });

  it('refuses a stream whose node id disagrees with its certificate', async () => {
    const stream = await connect(node('buyer'), node('store'));
    stream.send({ node: { id: formatNodeId(node('buyer')) }, type_url: TypeUrls.cluster });
    const status = await stream.status;
    expect(status.code).toBe(7); // PERMISSION_DENIED
  });

  it('ends the stream of a node kind no backend serves with FAILED_PRECONDITION and the reason', async () => {
    const grpcNode: NodeIdentity = { ...node('buyer'), kind: 'grpc' };
    const stream = await connect(grpcNode);
    stream.send({ node: { id: formatNodeId(grpcNode) }, type_url: TypeUrls.cluster });
    const hung = new Promise<'hung'>((r) => setTimeout(() => r('hung'), 3000).unref());
    const status = await Promise.race([stream.status, hung]);
    expect(status).toMatchObject({ code: 9, details: expect.stringContaining('no proxy backend serves node kind "grpc"') });
  });

  it("never sends a proxy another identity's secret, and shows its own only redacted at /debug/proxies", async () => {
    const buyer = node('buyer');
    const stream = await connect(buyer);
    stream.send({ node: { id: formatNodeId(buyer) }, type_url: TypeUrls.secret, resource_names: ['service-cert:shop/buyer', 'service-cert:shop/store'] });
    const r = await stream.next(5000);
    expect(names(r)).toBe(1);
    stream.send({ type_url: TypeUrls.secret, version_info: r.version_info, response_nonce: r.nonce, resource_names: ['service-cert:shop/buyer', 'service-cert:shop/store'] });

    const list = await mesh.getJson<{ nodeId: string; identity: string }[]>('/debug/proxies');
    const id = formatNodeId(buyer);
    expect(list.body.map((p) => p.nodeId)).toContain(id);
    const detail = await (await fetch(`${mesh.adminUrl}/debug/proxies/${encodeURIComponent(id)}`)).text();
    expect(detail).toContain('service-cert:shop/buyer');
    expect(detail).toContain('[redacted]');
    expect(detail).not.toContain('PRIVATE KEY');
    stream.cancel();
  });
});
