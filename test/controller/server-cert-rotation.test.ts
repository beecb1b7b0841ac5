import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID, X509Certificate } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { controllerRef } from '@trellis/core';
import { formatNodeId, TypeUrls, type NodeIdentity } from '@trellis/plugin-sdk';
import { objects as o, startTestMesh, type TestMesh } from '@trellis/plugin-sdk/testing';
import selfsigned from '@trellis/plugin-certs-selfsigned';
import { AdsConnection } from '../support/ads-client.ts';
import testBackend from './test-backend.ts';

describe("the controller's ADS certificate", () => {
  let mesh: TestMesh;
  afterAll(async () => mesh?.stop());

  it('is rotated before it expires, so proxies can still connect after the first one ran out', async () => {
    mesh = await startTestMesh({
      plugins: [{ definition: selfsigned, config: { stateDir: mkdtempSync(join(tmpdir(), 'trellis-srv-ca-')) } }, { definition: testBackend }],
      settings: { certificates: { validity: '3s', renewBefore: 0.4, jitter: 0 } },
      objects: [o.ns('shop'), ...o.workload('shop', 'buyer', '10.0.0.1')],
    });
    const handle = mesh.resolve(controllerRef);
    const first = await handle.certificates().server(['trellis-controller', 'localhost']);
    const node: NodeIdentity = { uuid: randomUUID(), kind: 'sidecar', namespace: 'shop', serviceAccount: 'buyer', trustDomain: 'cluster.local' };
    await new Promise((r) => setTimeout(r, first.notAfter.getTime() - Date.now() + 1500));
    expect(Date.now()).toBeGreaterThan(first.notAfter.getTime()); // the first serving certificate has expired

    const client = await handle.certificates().bootstrap(node);
    const conn = new AdsConnection({
      address: `127.0.0.1:${handle.ports().port}`,
      tls: { caPem: client.trustBundlePem, certPem: client.chainPem, keyPem: client.privateKey.reveal() },
    });
    try {
      const s = conn.sotw();
      s.send({ node: { id: formatNodeId(node) }, type_url: TypeUrls.cluster });
      const r = await s.next(5000);
      expect(r.type_url).toBe(TypeUrls.cluster);
      s.cancel();
    } finally {
      conn.close();
    }
    const current = await handle.certificates().server(['trellis-controller', 'localhost']);
    expect(new X509Certificate(current.certificatePem).serialNumber).not.toBe(new X509Certificate(first.certificatePem).serialNumber);
  });
});
