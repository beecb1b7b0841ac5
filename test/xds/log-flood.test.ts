import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TypeUrls, formatNodeId, type NodeIdentity } from '@trellis/plugin-sdk';
import { MemoryLogger } from '@trellis/plugin-sdk/testing';
import { MetricsRegistry, Snapshot, SnapshotCache, XdsServer, createResourceFactory } from '@trellis/core';
import { AdsConnection } from '../support/ads-client.ts';

/** A client that floods the server with NACKs or bad streams must not flood its log (metrics still count all). */
const f = createResourceFactory();
const node = (): NodeIdentity => ({ uuid: randomUUID(), kind: 'grpc', serviceAccount: 'sa', namespace: 'ns', trustDomain: 'cluster.local' });

let server: XdsServer;
let conn: AdsConnection;
const logger = new MemoryLogger();
const metrics = new MetricsRegistry();
const count = (msg: string) => logger.lines.filter((l) => l.msg === msg).length;

beforeAll(async () => {
  const cache = new SnapshotCache({ nodeHash: () => 'k' });
  cache.setSnapshot('k', new Snapshot([f.create(TypeUrls.cluster, 'c', { name: 'c', type: 'STATIC', connect_timeout: { seconds: 1 } })]));
  server = new XdsServer({ cache, plaintextAddress: '127.0.0.1:0', logger, metrics, limits: { logLinesPerSecond: 10 } });
  const { plaintextPort } = await server.start();
  conn = new AdsConnection({ address: `127.0.0.1:${plaintextPort}` });
});
afterAll(async () => {
  conn?.close();
  await server?.stop(100);
});

describe('log flooding', () => {
  it('logs 2,000 NACKs as a rate-limited handful of lines plus a count of the rest', async () => {
    const s = conn.sotw();
    s.send({ node: { id: formatNodeId(node()) }, type_url: TypeUrls.cluster });
    const r = await s.next();
    for (let i = 0; i < 2000; i++) s.send({ type_url: TypeUrls.cluster, response_nonce: r.nonce, version_info: '', error_detail: { code: 3, message: `bad ${i}` } });
    const deadline = Date.now() + 5000;
    while (!/trellis_xds_nacks_total\{reason="other",type="cluster"\} 2000/.test(await metrics.exposition())) {
      if (Date.now() > deadline) throw new Error(`NACKs not all counted: ${await metrics.exposition()}`);
      await new Promise((res) => setTimeout(res, 20));
    }
    const lines = count('proxy rejected xDS response');
    expect(lines).toBeGreaterThan(0);
    expect(lines).toBeLessThan(100);
    // The rest are reported as a count, within a second.
    await new Promise((res) => setTimeout(res, 1100));
    const summarised = logger.lines.filter((l) => l.msg.includes('"nack" warnings suppressed')).reduce((n, l) => n + Number(l.fields.suppressed), 0);
    const counted = logger.lines.filter((l) => l.msg === 'proxy rejected xDS response').reduce((n, l) => n + 1 + Number(l.fields.suppressed ?? 0), 0);
    expect(summarised + counted).toBe(2000);
    s.cancel();
  });

  it('logs 300 rejected streams as a rate-limited handful of lines', async () => {
    const statuses = await Promise.all(
      Array.from({ length: 300 }, () => {
        const s = conn.sotw();
        s.send({ node: { id: 'not-a-node-id' }, type_url: TypeUrls.cluster });
        return s.status;
      }),
    );
    expect(statuses.every((st) => st.code === grpc.status.INVALID_ARGUMENT)).toBe(true);
    expect(count('ADS stream rejected')).toBeLessThan(100);
    expect(await metrics.exposition()).toMatch(/trellis_xds_rejected_streams_total\{reason="invalid_node"\} 300/);
  });
});
