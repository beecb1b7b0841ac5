import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { TypeUrls, formatNodeId, type NodeIdentity, type XdsResource } from '@trellis/plugin-sdk';
import { Snapshot, SnapshotCache, XdsServer, createResourceFactory } from '@trellis/core';
import { AdsConnection, type SotwClient } from '../support/ads-client.ts';
import { StuckAdsPeer } from '../support/stuck-ads-peer.ts';

/**
 * Faults from peers: proxies that stop reading, reconnect storms and NACK storms. In each, what must still
 * work is asserted: a healthy proxy gets its config and every later change (the bounds are the timeouts).
 */
const f = createResourceFactory();
const node = (): NodeIdentity => ({ uuid: randomUUID(), kind: 'grpc', serviceAccount: 'sa', namespace: 'ns', trustDomain: 'cluster.local' });
/** A snapshot of `n` clusters of ~1 KiB each; `v` changes every one of them. */
const snapshot = (v: number, n = 200): Snapshot => {
  const rs: XdsResource[] = [];
  for (let i = 0; i < n; i++) rs.push(f.create(TypeUrls.cluster, `c${i}`, { name: `c${i}`, type: 'STATIC', connect_timeout: { seconds: v }, alt_stat_name: 'x'.repeat(1000) }));
  rs.push(f.create(TypeUrls.listener, 'l', { name: 'l', address: { socket_address: { address: '0.0.0.0', port_value: 1000 + v } } }));
  return new Snapshot(rs);
};
const timeoutOf = (r: { resources?: { value?: Buffer }[] }) => r.resources?.[0]?.value;
const expectedTimeout = (v: number) => Buffer.from(snapshot(v, 1).resources(TypeUrls.cluster)[0]!.body);

let server: XdsServer | undefined;
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) c();
  await server?.stop(100);
  server = undefined;
});

async function start(limits: ConstructorParameters<typeof XdsServer>[0]['limits'] = {}) {
  const cache = new SnapshotCache({ nodeHash: () => 'k' });
  cache.setSnapshot('k', snapshot(1));
  server = new XdsServer({ cache, plaintextAddress: '127.0.0.1:0', limits });
  const { plaintextPort } = await server.start();
  const address = `127.0.0.1:${plaintextPort}`;
  const conn = new AdsConnection({ address });
  cleanups.push(() => conn.close());
  return { cache, address, conn };
}

/** A healthy proxy: subscribes to CDS, ACKs, and returns the next CDS response (after `change`) it sees. */
async function healthy(conn: AdsConnection): Promise<{ s: SotwClient; nextCds: () => Promise<{ resources?: { value?: Buffer }[] }> }> {
  const s = conn.sotw();
  s.send({ node: { id: formatNodeId(node()) }, type_url: TypeUrls.cluster });
  const first = await s.next(5000);
  s.send({ type_url: TypeUrls.cluster, version_info: first.version_info, response_nonce: first.nonce });
  return {
    s,
    nextCds: async () => {
      const r = await s.next(5000);
      s.send({ type_url: TypeUrls.cluster, version_info: r.version_info, response_nonce: r.nonce });
      return r;
    },
  };
}

describe('faults: slow and non-reading peers', () => {
  it('healthy proxies get their config and every change while 12 peers never read (push concurrency 2)', async () => {
    const { cache, address, conn } = await start({ pushConcurrency: 2, maxBufferedBytesPerStream: 64 * 1024 });
    const stuck = Array.from({ length: 12 }, () => new StuckAdsPeer(address, [{ node: { id: formatNodeId(node()) }, type_url: TypeUrls.cluster }, { type_url: TypeUrls.listener }]));
    cleanups.push(() => stuck.forEach((p) => p.close()));
    // Changes the stuck peers cannot take: their HTTP/2 windows and buffers fill.
    for (let v = 2; v <= 14; v++) {
      cache.setSnapshot('k', snapshot(v));
      await new Promise((r) => setTimeout(r, 30));
    }
    const h = await healthy(conn);
    cache.setSnapshot('k', snapshot(15));
    expect(timeoutOf(await h.nextCds())).toEqual(expectedTimeout(15));
    expect(server!.streamCount).toBe(13);
  });
});

describe('faults: reconnect storms', () => {
  it('a healthy proxy keeps converging through 300 streams opening and dropping, and none of them leaks', async () => {
    const { cache, conn } = await start();
    const h = await healthy(conn);
    const waves = 6;
    for (let w = 0; w < waves; w++) {
      const streams = Array.from({ length: 50 }, () => {
        const s = conn.sotw();
        s.send({ node: { id: formatNodeId(node()) }, type_url: TypeUrls.cluster });
        return s;
      });
      // Half are answered first, half drop before the server could answer.
      await Promise.all(streams.slice(0, 25).map((s) => s.next(5000)));
      for (const s of streams) s.cancel();
      cache.setSnapshot('k', snapshot(10 + w));
      expect(timeoutOf(await h.nextCds())).toEqual(expectedTimeout(10 + w));
    }
    const deadline = Date.now() + 5000;
    while (server!.streamCount > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(server!.streamCount).toBe(1);
    expect(server!.registry.size).toBe(1);
  });
});

describe('faults: NACK storms', () => {
  it('a proxy NACKing 3,000 times does not stop the others, and still gets the next change', async () => {
    const { cache, conn } = await start();
    const h = await healthy(conn);
    const nacker = conn.sotw();
    nacker.send({ node: { id: formatNodeId(node()) }, type_url: TypeUrls.cluster });
    const r = await nacker.next(5000);
    for (let i = 0; i < 3000; i++) nacker.send({ type_url: TypeUrls.cluster, version_info: '', response_nonce: r.nonce, error_detail: { code: 3, message: `rejected ${i}` } });
    cache.setSnapshot('k', snapshot(20));
    expect(timeoutOf(await h.nextCds())).toEqual(expectedTimeout(20));
    // The server answered nothing to the NACKs (last good state kept) and sends the NACKing proxy the new version.
    const next = await nacker.next(5000);
    expect(timeoutOf(next)).toEqual(expectedTimeout(20));
    expect(nacker.buffered).toBe(0);
  });
});
