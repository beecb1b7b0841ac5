import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Snapshot, SnapshotCache, XdsServer, createResourceFactory } from '@trellis/core';
import { formatNodeId, spiffeId, TypeUrls, type NodeIdentity } from '@trellis/plugin-sdk';
import { AdsConnection } from '../support/ads-client.ts';
import { createTestCa, type TestCa } from '../support/pki.ts';

const node: NodeIdentity = { uuid: randomUUID(), kind: 'sidecar', namespace: 'ns', serviceAccount: 'sa', trustDomain: 'cluster.local' };
const factory = createResourceFactory();
const snapshot = new Snapshot([factory.create(TypeUrls.cluster, 'c', { name: 'c', type: 'STATIC', connect_timeout: { seconds: 1 } })]);

let server: XdsServer | undefined;
afterAll(async () => server?.stop(500));

/** Opens a stream as `node` with a client certificate from `clientCa`, trusting `serverCa`; returns the outcome. */
async function tryStream(port: number, clientCa: TestCa, serverCa: TestCa): Promise<'ok' | number> {
  const id = formatNodeId(node);
  const cert = await clientCa.client({ dns: [id], uri: [spiffeId(node, 'cluster.local')] });
  const conn = new AdsConnection({ address: `127.0.0.1:${port}`, tls: { caPem: serverCa.caPem, ...cert } });
  try {
    const s = conn.sotw();
    s.send({ node: { id }, type_url: TypeUrls.cluster });
    const r = await Promise.race([s.next(3000).then(() => 'ok' as const), s.status.then((st) => st.code)]);
    s.cancel();
    return r;
  } finally {
    conn.close();
  }
}

describe('the ADS listener rotates its certificate and client CA without a restart', () => {
  it('new connections use the new certificate and trust; the old CA is refused once dropped', async () => {
    const oldCa = await createTestCa('old root');
    const newCa = await createTestCa('new root');
    const cache = new SnapshotCache();
    server = new XdsServer({
      cache,
      address: '127.0.0.1:0',
      tls: { caPem: oldCa.caPem, ...(await oldCa.server()) },
      onNodeConnected: (n) => void cache.setSnapshot(cache.keyOf(n), snapshot),
    });
    const { port = 0 } = await server.start();
    expect(await tryStream(port, oldCa, oldCa)).toBe('ok');

    // Root rotation, step 1: both roots trusted, the server still presents the old root's certificate.
    server.updateTls({ caPem: `${oldCa.caPem.trim()}\n${newCa.caPem}`, ...(await oldCa.server()) });
    expect(await tryStream(port, newCa, oldCa)).toBe('ok');
    expect(await tryStream(port, oldCa, oldCa)).toBe('ok');

    // Step 2+3: the server presents a new-root certificate and trusts only the new root.
    server.updateTls({ caPem: newCa.caPem, ...(await newCa.server()) });
    expect(await tryStream(port, newCa, newCa)).toBe('ok');
    expect(await tryStream(port, oldCa, newCa)).not.toBe('ok'); // an old-root client certificate is refused
  });
});
