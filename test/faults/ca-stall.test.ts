import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controllerRef } from '@trellis/core';
import { formatNodeId, TypeUrls, type NodeIdentity } from '@trellis/plugin-sdk';
import { objects as o, startTestMesh, type TestMesh } from '@trellis/plugin-sdk/testing';
import { AdsConnection, type SotwClient } from '../support/ads-client.ts';
import { FaultyCa } from '../support/faulty-ca.ts';
import testBackend from '../controller/test-backend.ts';

const http = [{ kind: 'HTTPRouteGroup', name: 'all' }];
const dns = (sa: string) => `${sa}.shop.cluster.local`;

/** A CA that stalls or fails for one identity must not hold up any other identity's pushes. */
describe('faults: a CA that stalls or fails for one identity', () => {
  const ca = new FaultyCa();
  let mesh: TestMesh;
  const conns: AdsConnection[] = [];

  beforeAll(async () => {
    mesh = await startTestMesh({
      plugins: [{ definition: ca.plugin }, { definition: testBackend }],
      settings: { xds: { address: '127.0.0.1:0', debounce: { quiet: '10ms', max: '50ms' } } },
      objects: [
        o.ns('shop'),
        ...['buyer', 'store', 'audit', 'stock'].flatMap((sa, i) => o.workload('shop', sa, `10.0.0.${i + 1}`)),
        o.routeGroup('shop', 'all', [{ name: 'any', pathRegex: '.*' }]),
        o.target('shop', 'buyer-to-store', 'store', ['buyer'], http),
      ],
    });
  });
  afterAll(async () => {
    for (const c of conns) c.close();
    await mesh?.stop();
  });

  const node = (sa: string): NodeIdentity => ({ uuid: randomUUID(), kind: 'sidecar', namespace: 'shop', serviceAccount: sa, trustDomain: 'cluster.local' });
  const connect = async (n: NodeIdentity): Promise<SotwClient> => {
    const handle = mesh.resolve(controllerRef);
    const cert = await handle.certificates().bootstrap(n);
    const conn = new AdsConnection({ address: `127.0.0.1:${handle.ports().port}`, tls: { caPem: cert.trustBundlePem, certPem: cert.chainPem, keyPem: cert.privateKey.reveal() } });
    conns.push(conn);
    const stream = conn.sotw();
    stream.send({ node: { id: formatNodeId(n) }, type_url: TypeUrls.cluster });
    return stream;
  };
  const ack = (s: SotwClient, r: { version_info?: string; nonce?: string }) => s.send({ type_url: TypeUrls.cluster, version_info: r.version_info ?? '', response_nonce: r.nonce ?? '' });
  const clusters = (r: { resources?: unknown[] }) => r.resources?.length ?? 0;

  it('keeps pushing to other identities while one identity waits on a stalled issuance, and serves it once the CA answers', async () => {
    ca.stall(dns('audit'));
    const audit = await connect(node('audit')); // its first build waits on the CA
    const buyer = await connect(node('buyer'));
    const first = await buyer.next(5000);
    expect(clusters(first)).toBe(1);
    ack(buyer, first);

    // One change affecting both identities: audit's rebuild stalls on the CA, buyer's must not wait for it.
    mesh.apply(o.target('shop', 'buyer-to-audit', 'audit', ['buyer'], http));
    const second = await buyer.next(5000);
    expect(clusters(second)).toBe(2);
    ack(buyer, second);
    expect(audit.buffered).toBe(0);

    ca.release(dns('audit'));
    const auditFirst = await audit.next(5000);
    expect(auditFirst.type_url).toBe(TypeUrls.cluster);
    audit.cancel();
    buyer.cancel();
  });

  it('keeps pushing to other identities while issuance for one identity fails', async () => {
    ca.fail(dns('stock'));
    const stock = await connect(node('stock'));
    const buyer = await connect(node('buyer'));
    const first = await buyer.next(5000);
    ack(buyer, first);
    mesh.apply(o.target('shop', 'buyer-to-stock', 'stock', ['buyer'], http));
    const next = await buyer.next(5000);
    expect(clusters(next)).toBe(clusters(first) + 1);
    // The failed identity gets no half-built config (no snapshot without its certificate).
    expect(stock.buffered).toBe(0);
    ca.fail(dns('stock'), false);
    stock.cancel();
    buyer.cancel();
  });
});
