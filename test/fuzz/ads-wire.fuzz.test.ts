import { randomUUID } from 'node:crypto';
import http2 from 'node:http2';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TypeUrls, formatNodeId, type NodeIdentity } from '@trellis/plugin-sdk';
import { MemoryLogger } from '@trellis/plugin-sdk/testing';
import { Snapshot, SnapshotCache, XdsServer, adsServiceDefinition, createResourceFactory } from '@trellis/core';
import { AdsConnection } from '../support/ads-client.ts';
import { fuzzSettings } from '../support/fuzz.ts';

/**
 * Random ADS traffic over the real transport: well-formed SotW and delta requests in random order (bad and
 * unknown types, stale nonces, NACKs, huge names), and raw gRPC frames of random bytes. Properties: the
 * server never throws, every stream it ends has a status and a reason, it holds no stream once clients
 * leave, and a healthy proxy still gets its config. `TRELLIS_FUZZ_RUNS` / `TRELLIS_FUZZ_SEED` as elsewhere.
 */
const { runs: RUNS, seed: SEED } = fuzzSettings(30);

const f = createResourceFactory();
const node = (): NodeIdentity => ({ uuid: randomUUID(), kind: 'grpc', serviceAccount: 'sa', namespace: 'ns', trustDomain: 'cluster.local' });
const TYPES = [TypeUrls.cluster, TypeUrls.endpoint, TypeUrls.listener, TypeUrls.route, TypeUrls.secret, 'type.googleapis.com/x.Y', '', 'nonsense'];
const name = fc.oneof(fc.constantFrom('c0', 'c1', '*', ''), fc.string({ maxLength: 30 }), fc.constant('n'.repeat(5000)));
const sotwReq = fc.record({
  type_url: fc.constantFrom(...TYPES),
  resource_names: fc.array(name, { maxLength: 5 }),
  response_nonce: fc.constantFrom('', '1', '2', 'zz'),
  version_info: fc.constantFrom('', 'v', 'x'.repeat(300)),
  error_detail: fc.option(fc.record({ code: fc.integer({ min: 0, max: 20 }), message: fc.string({ maxLength: 100 }) }), { nil: undefined }),
});
const deltaReq = fc.record({
  type_url: fc.constantFrom(...TYPES),
  resource_names_subscribe: fc.array(name, { maxLength: 5 }),
  resource_names_unsubscribe: fc.array(name, { maxLength: 3 }),
  response_nonce: fc.constantFrom('', '1', '2', 'zz'),
  initial_resource_versions: fc.dictionary(name, fc.string({ maxLength: 5 }), { maxKeys: 3 }),
});
const firstNode = fc.constantFrom('valid', 'valid', 'valid', 'garbage', 'none');
const session = fc.oneof(
  fc.record({ kind: fc.constant('sotw' as const), first: firstNode, reqs: fc.array(sotwReq, { minLength: 1, maxLength: 12 }) }),
  fc.record({ kind: fc.constant('delta' as const), first: firstNode, reqs: fc.array(deltaReq, { minLength: 1, maxLength: 12 }) }),
  fc.record({ kind: fc.constant('raw' as const), frames: fc.array(fc.uint8Array({ maxLength: 200 }), { minLength: 1, maxLength: 4 }) }),
);

let server: XdsServer;
let conn: AdsConnection;
let address: string;
const logger = new MemoryLogger();

beforeAll(async () => {
  const cache = new SnapshotCache({ nodeHash: () => 'k' });
  cache.setSnapshot('k', new Snapshot([f.create(TypeUrls.cluster, 'c0', { name: 'c0', type: 'STATIC', connect_timeout: { seconds: 1 } })]));
  server = new XdsServer({ cache, plaintextAddress: '127.0.0.1:0', logger, limits: { maxSubscriptionsPerStream: 50 } });
  const { plaintextPort } = await server.start();
  address = `127.0.0.1:${plaintextPort}`;
  conn = new AdsConnection({ address });
});
afterAll(async () => {
  conn?.close();
  await server?.stop(100);
});

/** Random bytes as gRPC messages on a raw HTTP/2 stream; resolves with the grpc-status trailer. */
function rawSession(frames: Uint8Array[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = http2.connect(`http://${address}`);
    s.on('error', () => resolve(undefined));
    const req = s.request({ ':method': 'POST', ':path': adsServiceDefinition.StreamAggregatedResources.path, 'content-type': 'application/grpc', te: 'trailers' });
    req.on('error', () => undefined);
    let status: string | undefined;
    req.on('trailers', (t) => (status = String(t['grpc-status'])));
    req.on('response', (h) => (status ??= h['grpc-status'] === undefined ? undefined : String(h['grpc-status'])));
    req.on('data', () => undefined);
    req.on('close', () => {
      s.close();
      resolve(status);
    });
    for (const b of frames) {
      const frame = Buffer.alloc(5 + b.length);
      frame.writeUInt32BE(b.length, 1);
      frame.set(b, 5);
      req.write(frame);
    }
    setTimeout(() => req.close(), 100).unref();
  });
}

describe('fuzz: ADS over the wire', () => {
  it('survives random sessions, ends what it refuses with a reason, and keeps serving a healthy proxy', async () => {
    await fc.assert(
      fc.asyncProperty(session, async (sess) => {
        if (sess.kind === 'raw') {
          await rawSession(sess.frames);
          return;
        }
        const s = sess.kind === 'sotw' ? conn.sotw() : conn.delta();
        const nodePart = sess.first === 'valid' ? { node: { id: formatNodeId(node()) } } : sess.first === 'garbage' ? { node: { id: 'x.y' } } : {};
        sess.reqs.forEach((r, i) => (s.send as (m: unknown) => void)(i === 0 ? { ...nodePart, ...r } : r));
        const ended = await Promise.race([s.status, new Promise<undefined>((r) => setTimeout(() => r(undefined), 60))]);
        if (ended) {
          expect(ended.code).toBeGreaterThan(0);
          expect(ended.details.length).toBeGreaterThan(0);
        } else s.cancel();
      }),
      { numRuns: RUNS, seed: SEED },
    );
    expect(logger.lines.filter((l) => l.level === 'error')).toEqual([]);
    // Nothing is left behind once the clients are gone.
    const deadline = Date.now() + 5000;
    while (server.streamCount > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(server.streamCount).toBe(0);
    // And a healthy proxy is still served.
    const h = conn.sotw();
    h.send({ node: { id: formatNodeId(node()) }, type_url: TypeUrls.cluster });
    expect((await h.next(5000)).resources).toHaveLength(1);
    h.cancel();
  }, 30_000 + RUNS * 300);
});
