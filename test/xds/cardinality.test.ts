import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TypeUrls, formatNodeId, type NodeIdentity } from '@trellis/plugin-sdk';
import { MetricsRegistry, Snapshot, SnapshotCache, XdsServer, createResourceFactory } from '@trellis/core';
import { AdsConnection } from '../support/ads-client.ts';

/** Client-controlled cardinality: what a client sends must not decide how much the server keeps. */
const f = createResourceFactory();
const node = (): NodeIdentity => ({ uuid: randomUUID(), kind: 'grpc', serviceAccount: 'sa', namespace: 'ns', trustDomain: 'cluster.local' });
const id = (n: NodeIdentity) => formatNodeId(n);
const RESOURCE_EXHAUSTED = 8;
const hung = (ms = 3000) => new Promise<'hung'>((r) => setTimeout(() => r('hung'), ms).unref());

let server: XdsServer;
let conn: AdsConnection;
const metrics = new MetricsRegistry();

beforeAll(async () => {
  const cache = new SnapshotCache({ nodeHash: () => 'k' });
  cache.setSnapshot('k', new Snapshot([f.create(TypeUrls.cluster, 'c', { name: 'c', type: 'STATIC', connect_timeout: { seconds: 1 } })]));
  server = new XdsServer({ cache, plaintextAddress: '127.0.0.1:0', metrics, limits: { maxSubscriptionsPerStream: 1000 } });
  const { plaintextPort } = await server.start();
  conn = new AdsConnection({ address: `127.0.0.1:${plaintextPort}` });
});
afterAll(async () => {
  conn?.close();
  await server?.stop(100);
});

describe('client-controlled cardinality', () => {
  it('counts unknown type URLs under one metric label, "other"', async () => {
    const s = conn.sotw();
    const n = node();
    for (let i = 0; i < 10; i++) {
      const typeUrl = `type.googleapis.com/fuzz.Made${i}Up`;
      s.send({ ...(i === 0 ? { node: { id: id(n) } } : {}), type_url: typeUrl });
      const r = await s.next();
      s.send({ type_url: typeUrl, response_nonce: r.nonce, version_info: r.version_info, error_detail: { code: 3, message: 'no' } });
    }
    await new Promise((r) => setTimeout(r, 50));
    const text = await metrics.exposition();
    expect(text).not.toMatch(/Made\dUp/);
    expect(text).toMatch(/trellis_xds_pushes_total\{type="other"\} 10/);
    expect(text).toMatch(/trellis_xds_nacks_total\{reason="[a-z]+",type="other"\} 10/);
    s.cancel();
  });

  it('ends a stream using more than 16 type URLs with RESOURCE_EXHAUSTED and the bound', async () => {
    const s = conn.sotw();
    for (let i = 0; i < 20; i++) s.send({ ...(i === 0 ? { node: { id: id(node()) } } : {}), type_url: `type.googleapis.com/fuzz.T${i}` });
    const status = await Promise.race([s.status, hung()]);
    expect(status).toMatchObject({ code: RESOURCE_EXHAUSTED, details: expect.stringContaining('at most 16 per stream') });
  });

  it('ends a delta stream subscribing past xds.maxSubscriptionsPerStream with RESOURCE_EXHAUSTED, naming the limit', async () => {
    const s = conn.delta();
    const names = (from: number) => Array.from({ length: 600 }, (_, i) => `n${from + i}`);
    s.send({ node: { id: id(node()) }, type_url: TypeUrls.endpoint, resource_names_subscribe: names(0) });
    await s.next();
    s.send({ type_url: TypeUrls.endpoint, resource_names_subscribe: names(600) });
    const status = await Promise.race([s.status, hung()]);
    expect(status).toMatchObject({ code: RESOURCE_EXHAUSTED, details: expect.stringContaining('1200 resource names; at most 1000 per stream (xds.maxSubscriptionsPerStream)') });
  });

  it('counts delta initial_resource_versions toward the bound', async () => {
    const s = conn.delta();
    const initial = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`c${i}`, 'v']));
    s.send({ node: { id: id(node()) }, type_url: TypeUrls.endpoint, initial_resource_versions: initial });
    const status = await Promise.race([s.status, hung()]);
    expect(status).toMatchObject({ code: RESOURCE_EXHAUSTED });
  });

  it('ends a SotW stream subscribing past the bound; re-sending the same names does not count twice', async () => {
    const s = conn.sotw();
    const names = Array.from({ length: 700 }, (_, i) => `e${i}`);
    s.send({ node: { id: id(node()) }, type_url: TypeUrls.endpoint, resource_names: names });
    const r = await s.next();
    s.send({ type_url: TypeUrls.endpoint, resource_names: names, response_nonce: r.nonce, version_info: r.version_info });
    s.send({ type_url: TypeUrls.route, resource_names: names });
    const status = await Promise.race([s.status, hung()]);
    expect(status).toMatchObject({ code: RESOURCE_EXHAUSTED, details: expect.stringContaining('1400 resource names') });
  });

  it('keeps at most 1 KiB of a NACK message', async () => {
    const s = conn.sotw();
    const n = node();
    s.send({ node: { id: id(n) }, type_url: TypeUrls.cluster });
    const r = await s.next();
    s.send({ type_url: TypeUrls.cluster, response_nonce: r.nonce, version_info: '', error_detail: { code: 3, message: 'x'.repeat(100_000) } });
    await new Promise((res) => setTimeout(res, 50));
    const nack = server.registry.list().find((p) => p.nodeId === id(n))?.types[TypeUrls.cluster]?.lastNack;
    expect(nack?.message.length).toBeLessThan(1100);
    expect(nack?.message).toContain('(100000 characters)');
    s.cancel();
  });
});
