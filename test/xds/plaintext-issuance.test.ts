import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controllerRef } from '@trellis/core';
import { formatNodeId, TypeUrls } from '@trellis/plugin-sdk';
import { objects as o, startTestMesh, type TestMesh } from '@trellis/plugin-sdk/testing';
import selfsigned from '@trellis/plugin-certs-selfsigned';
import { AdsConnection } from '../support/ads-client.ts';
import testBackend from '../controller/test-backend.ts';

/**
 * The plaintext listener takes node ids on trust. A local process claiming many identities must not make the
 * controller mint (and keep) a certificate for each.
 */
describe('plaintext listener: certificate minting by claimed identities', () => {
  let mesh: TestMesh;
  let conn: AdsConnection;

  beforeAll(async () => {
    mesh = await startTestMesh({
      plugins: [{ definition: selfsigned, config: { stateDir: mkdtempSync(join(tmpdir(), 'trellis-mint-ca-')) } }, { definition: testBackend }],
      settings: {
        xds: { address: '127.0.0.1:0', plaintextAddress: '127.0.0.1:0', plaintextIssuance: { rate: 0.001, burst: 10 } },
        certificates: { evictUnusedAfter: '300ms' },
      },
      objects: [o.ns('shop'), ...o.workload('shop', 'buyer', '10.0.0.1')],
    });
    conn = new AdsConnection({ address: `127.0.0.1:${mesh.resolve(controllerRef).ports().plaintextPort}` });
  });
  afterAll(async () => {
    conn?.close();
    await mesh?.stop();
  });

  const workloadCerts = () => mesh.resolve(controllerRef).certificates().debugCerts().filter((c) => c.kind === 'workload' && c.identity?.namespace === 'fake');

  it('rate-limits issuance per source, ending the streams past it with RESOURCE_EXHAUSTED and the reason', async () => {
    const streams = Array.from({ length: 40 }, (_, i) => {
      const s = conn.sotw();
      const id = formatNodeId({ uuid: randomUUID(), kind: 'sidecar', namespace: 'fake', serviceAccount: `sa-${i}`, trustDomain: 'cluster.local' });
      s.send({ node: { id }, type_url: TypeUrls.cluster });
      return s;
    });
    const outcomes = await Promise.all(
      streams.map((s) =>
        Promise.race([
          s.status.then((st) => st),
          s.next(5000).then(() => 'served' as const, () => 'hung' as const),
        ]),
      ),
    );
    const exhausted = outcomes.filter((x) => typeof x === 'object' && x.code === grpc.status.RESOURCE_EXHAUSTED);
    expect(outcomes.filter((x) => x === 'served').length).toBeLessThanOrEqual(10);
    expect(exhausted.length).toBeGreaterThanOrEqual(30);
    expect(exhausted[0]).toMatchObject({ details: expect.stringContaining('certificate issuance for new identities from plaintext source 127.0.0.1 is at its rate limit') });
    expect(workloadCerts().length).toBeLessThanOrEqual(10);
    for (const s of streams) s.cancel();
  });

  it('drops cached certificates of identities with no connected proxy', async () => {
    const deadline = Date.now() + 5000;
    while (workloadCerts().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(workloadCerts()).toEqual([]);
  });
});
