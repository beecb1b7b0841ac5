import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controllerRef } from '@trellis/core';
import { coreServices, formatNodeId, TypeUrls, type NodeIdentity } from '@trellis/plugin-sdk';
import { objects as o, startTestMesh, type TestMesh } from '@trellis/plugin-sdk/testing';
import selfsigned from '@trellis/plugin-certs-selfsigned';
import { xds } from '@trellis/core';
import { AdsConnection, type SotwClient } from '../support/ads-client.ts';
import testBackend from './test-backend.ts';

/** The URI SAN of the certificate inside a served `service-cert` Secret. */
function spiffeOf(resource: { value?: Buffer } | undefined): string | undefined {
  const secret = xds.messageType(TypeUrls.secret).decode(resource?.value ?? Buffer.alloc(0)) as unknown as { tls_certificate?: { certificate_chain?: { inline_string?: string } } };
  const pem = secret.tls_certificate?.certificate_chain?.inline_string ?? '';
  return /URI:(spiffe:\/\/[^,\s]+)/.exec(new X509Certificate(pem).subjectAltName ?? '')?.[1];
}

// The case: the config file says example.org, then a MeshConfig says cluster.local. Views, workload
// certificates and plugins' ctx.mesh must all follow the MeshConfig, and every proxy must be told.
describe('trust domain: config example.org, MeshConfig cluster.local', () => {
  let mesh: TestMesh;
  let conn: AdsConnection | undefined;
  const buyer: NodeIdentity = { uuid: randomUUID(), kind: 'sidecar', namespace: 'shop', serviceAccount: 'buyer', trustDomain: 'example.org' };
  const secretName = 'service-cert:shop/buyer';

  beforeAll(async () => {
    mesh = await startTestMesh({
      plugins: [{ definition: selfsigned, config: { stateDir: mkdtempSync(join(tmpdir(), 'trellis-td-ca-')) } }, { definition: testBackend }],
      settings: { mesh: { trustDomain: 'example.org' }, xds: { address: '127.0.0.1:0', debounce: { quiet: '10ms', max: '100ms' } } },
      objects: [o.ns('shop'), ...o.workload('shop', 'buyer', '10.0.0.1'), ...o.workload('shop', 'store', '10.0.0.2')],
    });
  });
  afterAll(async () => {
    conn?.close();
    await mesh?.stop();
  });

  const ack = (s: SotwClient, r: { version_info?: string; nonce?: string }) => s.send({ type_url: TypeUrls.secret, version_info: r.version_info, response_nonce: r.nonce, resource_names: [secretName] });

  it('re-issues the workload certificate, updates views and plugin settings, and keeps serving the proxy bootstrapped for example.org', async () => {
    const handle = mesh.resolve(controllerRef);
    const cert = await handle.certificates().bootstrap(buyer);
    conn = new AdsConnection({ address: `127.0.0.1:${handle.ports().port}`, tls: { caPem: cert.trustBundlePem, certPem: cert.chainPem, keyPem: cert.privateKey.reveal() } });
    const stream = conn.sotw();
    stream.send({ node: { id: formatNodeId(buyer) }, type_url: TypeUrls.secret, resource_names: [secretName] });
    const first = await stream.next(5000);
    expect(spiffeOf(first.resources?.[0])).toBe('spiffe://example.org/ns/shop/sa/buyer');
    ack(stream, first);
    expect((await mesh.getJson<{ trustDomain: string }>('/debug/views/shop%2Fbuyer')).body.trustDomain).toBe('example.org');

    mesh.apply(o.meshConfig({ certificate: { trustDomain: 'cluster.local' } }));
    const second = await stream.next(5000);
    expect(spiffeOf(second.resources?.[0])).toBe('spiffe://cluster.local/ns/shop/sa/buyer');
    ack(stream, second);
    expect((await mesh.getJson<{ trustDomain: string }>('/debug/views/shop%2Fbuyer')).body.trustDomain).toBe('cluster.local');
    expect((await mesh.getJson<{ trustDomain: string }>('/debug/views/shop%2Fstore')).body.trustDomain).toBe('cluster.local');
    expect(mesh.resolve(coreServices.mesh).trustDomain).toBe('cluster.local');
    // Every cached workload certificate now names cluster.local.
    const store = await handle.certificates().workload({ namespace: 'shop', serviceAccount: 'store' });
    expect(new X509Certificate(store.certificatePem).subjectAltName).toContain('URI:spiffe://cluster.local/ns/shop/sa/store');
    stream.cancel();
  });

  it('refuses a node of a trust domain the mesh never served, even with a certificate from the mesh CA', async () => {
    const handle = mesh.resolve(controllerRef);
    const stranger: NodeIdentity = { ...buyer, uuid: randomUUID(), trustDomain: 'other.org' };
    const cert = await handle.certificates().bootstrap(stranger);
    const c = new AdsConnection({ address: `127.0.0.1:${handle.ports().port}`, tls: { caPem: cert.trustBundlePem, certPem: cert.chainPem, keyPem: cert.privateKey.reveal() } });
    try {
      const stream = c.sotw();
      stream.send({ node: { id: formatNodeId(stranger) }, type_url: TypeUrls.secret, resource_names: [secretName] });
      const status = await stream.status;
      expect(status.code).toBe(7); // PERMISSION_DENIED
      expect(status.details).toContain('names trust domain "other.org", which this mesh does not serve (example.org, cluster.local)');
    } finally {
      c.close();
    }
  });
});
