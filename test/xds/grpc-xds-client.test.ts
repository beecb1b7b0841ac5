import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { register } from '@grpc/grpc-js-xds';
import { TypeUrls, formatNodeId } from '@trellis/plugin-sdk';
import type { NodeIdentity, XdsResource } from '@trellis/plugin-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// eslint-disable-next-line no-restricted-imports -- @trellis/core does not re-export the xDS room yet
import { Snapshot, SnapshotCache, XdsServer, createResourceFactory } from '../../core/src/xds/index.ts';

/** A real proxyless client: @grpc/grpc-js-xds channels against the plaintext listener. */

register();

const f = createResourceFactory({ strict: true });
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
const WHO = '/trellis.test.Echo/Who';
const raw = (b: Buffer) => b;

const listener = f.create(TypeUrls.listener, 'echo', {
  name: 'echo',
  api_listener: {
    api_listener: {
      '@type': HCM,
      stat_prefix: 'echo',
      rds: { route_config_name: 'echo-route', config_source: { ads: {} } },
      http_filters: [{ name: 'router', typed_config: { '@type': ROUTER } }],
    },
  },
});
const route = (clusters: [string, number][]) =>
  f.create(TypeUrls.route, 'echo-route', {
    name: 'echo-route',
    virtual_hosts: [
      {
        name: 'echo',
        domains: ['*'],
        routes: [{ match: { prefix: '' }, route: { weighted_clusters: { clusters: clusters.map(([name, weight]) => ({ name, weight })) } } }],
      },
    ],
  });
const cluster = (name: string, lbPolicy = 'ROUND_ROBIN') =>
  f.create(TypeUrls.cluster, name, { name, type: 'EDS', lb_policy: lbPolicy, eds_cluster_config: { eds_config: { ads: {} } } });
const cla = (name: string, port: number) =>
  f.create(TypeUrls.endpoint, name, {
    cluster_name: name,
    endpoints: [
      {
        locality: { region: 'test' },
        load_balancing_weight: 1,
        lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } }, health_status: 'HEALTHY' }],
      },
    ],
  });

const backends: grpc.Server[] = [];
const ports: number[] = [];
let server: XdsServer;
const cache = new SnapshotCache();
let xdsPort = 0;
const n: NodeIdentity = { uuid: randomUUID(), kind: 'grpc', serviceAccount: 'client', namespace: 'default', trustDomain: 'cluster.local' };
let client: grpc.Client;

function setSnapshot(resources: XdsResource[]): void {
  const res = cache.setSnapshot(cache.keyOf(n), new Snapshot(resources));
  if (!res.ok) throw new Error(res.problems.join('; '));
}

function who(): Promise<string> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(WHO, raw, raw, Buffer.alloc(0), { deadline: Date.now() + 5000 }, (err, res) => (err ? reject(err) : resolve(res!.toString()))),
  );
}

async function tally(calls: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < calls; i++) {
    const w = await who();
    out[w] = (out[w] ?? 0) + 1;
  }
  return out;
}

/** Calls until `done(batch)` holds for a batch of 20 (a pushed change reaches the client asynchronously). */
async function eventually(done: (t: Record<string, number>) => boolean, timeoutMs = 10_000): Promise<Record<string, number>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const t = await tally(20);
    if (done(t)) return t;
    if (Date.now() > end) throw new Error(`traffic never matched; last batch ${JSON.stringify(t)}`);
  }
}

beforeAll(async () => {
  for (const name of ['s1', 's2']) {
    const s = new grpc.Server();
    s.addService(
      { Who: { path: WHO, requestStream: false, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw } },
      { Who: (_call: unknown, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from(name)) },
    );
    ports.push(await new Promise<number>((res, rej) => s.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p)))));
    backends.push(s);
  }
  server = new XdsServer({ cache, plaintextAddress: '127.0.0.1:0' });
  ({ plaintextPort: xdsPort = 0 } = await server.start());
  setSnapshot([listener, route([['c1', 3], ['c2', 1]]), cluster('c1'), cluster('c2'), cla('c1', ports[0]!), cla('c2', ports[1]!)]);
  const bootstrap = {
    xds_servers: [{ server_uri: `127.0.0.1:${xdsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: formatNodeId(n), locality: {} },
  };
  client = new grpc.Client('xds:///echo', grpc.credentials.createInsecure(), {
    'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': JSON.stringify(bootstrap),
  });
});

afterAll(async () => {
  client.close();
  await server.stop(500);
  for (const s of backends) s.forceShutdown();
});

describe('@grpc/grpc-js-xds against the xDS server', () => {
  it('follows a weighted route (3:1) to both clusters', async () => {
    const t = await tally(400);
    expect(Object.keys(t).sort()).toEqual(['s1', 's2']);
    const share = (t.s1 ?? 0) / 400;
    expect(share).toBeGreaterThan(0.6);
    expect(share).toBeLessThan(0.9);
    const info = server.registry.describe(formatNodeId(n));
    expect(info?.protocol).toBe('sotw');
    for (const type of [TypeUrls.listener, TypeUrls.route, TypeUrls.cluster, TypeUrls.endpoint])
      expect(info?.types[type]?.lastAcked?.version).toBe(info?.types[type]?.lastSent?.version);
  });

  it('moves all traffic when a cluster is removed', async () => {
    setSnapshot([listener, route([['c2', 1]]), cluster('c2'), cla('c2', ports[1]!)]);
    await eventually((t) => t.s2 === 20);
    const info = server.registry.describe(formatNodeId(n));
    expect(info?.resources[TypeUrls.cluster]?.map((r) => r.name)).toEqual(['c2']);
  });

  it('a NACKed resource is recorded and traffic stays on the last good config', async () => {
    setSnapshot([listener, route([['c2', 1]]), cluster('c2', 'MAGLEV'), cla('c2', ports[1]!)]);
    const end = Date.now() + 10_000;
    let nack;
    while (!(nack = server.registry.describe(formatNodeId(n))?.types[TypeUrls.cluster]?.lastNack) && Date.now() < end)
      await new Promise((r) => setTimeout(r, 10));
    expect(nack?.message).toContain('MAGLEV');
    expect(await tally(20)).toEqual({ s2: 20 });
    // and recovers with a valid config
    setSnapshot([listener, route([['c1', 1]]), cluster('c1'), cla('c1', ports[0]!)]);
    await eventually((t) => t.s1 === 20);
  });
});
