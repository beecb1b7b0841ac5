import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { register } from '@grpc/grpc-js-xds';
import { ExtensionTypeUrls, TypeUrls, formatNodeId, typedConfig } from '@trellis/plugin-sdk';
import type { Cluster, NodeIdentity, XdsResource } from '@trellis/plugin-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Snapshot, SnapshotCache, XdsServer, createResourceFactory } from '@trellis/core';

/** A real proxyless client: @grpc/grpc-js-xds channels against the plaintext listener. */

register();

const f = createResourceFactory({ strict: true });
const HCM = ExtensionTypeUrls.httpConnectionManager;
const ROUTER = ExtensionTypeUrls.router;
const WHO = '/trellis.test.Echo/Who';
const raw = (b: Buffer) => b;

const listener = f.create(TypeUrls.listener, 'echo', {
  name: 'echo',
  api_listener: {
    api_listener: typedConfig(HCM, {
      stat_prefix: 'echo',
      rds: { route_config_name: 'echo-route', config_source: { ads: {} } },
      http_filters: [{ name: 'router', typed_config: typedConfig(ROUTER) }],
    }),
  },
});
const route = (clusters: [string, number][]) =>
  f.create(TypeUrls.route, 'echo-route', {
    name: 'echo-route',
    virtual_hosts: [
      {
        name: 'echo',
        domains: ['*'],
        routes: [{ match: { prefix: '' }, route: { weighted_clusters: { clusters: clusters.map(([name, weight]) => ({ name, weight: { value: weight } })) } } }],
      },
    ],
  });
const cluster = (name: string, lbPolicy: NonNullable<Cluster['lb_policy']> = 'ROUND_ROBIN') =>
  f.create(TypeUrls.cluster, name, { name, type: 'EDS', lb_policy: lbPolicy, eds_cluster_config: { eds_config: { ads: {} } } });
const cla = (name: string, port: number) =>
  f.create(TypeUrls.endpoint, name, {
    cluster_name: name,
    endpoints: [
      {
        locality: { region: 'test' },
        load_balancing_weight: { value: 1 },
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

/**
 * A target whose Listener the snapshot lacks (e.g. an SMI-denied destination the generator emits nothing for).
 * Two channels built without a per-channel bootstrap share grpc-js-xds's process-wide XdsClient, so both
 * targets ride one ADS stream: "the same client".
 */
describe('a listener the snapshot does not contain', () => {
  const n2: NodeIdentity = { ...n, uuid: randomUUID() };
  const channels: grpc.Client[] = [];
  const call = (c: grpc.Client, deadlineMs: number) =>
    new Promise<{ err: grpc.ServiceError | null; reply?: string }>((resolve) =>
      c.makeUnaryRequest(WHO, raw, raw, Buffer.alloc(0), { deadline: Date.now() + deadlineMs }, (err, res) =>
        resolve({ err, ...(res ? { reply: res.toString() } : {}) }),
      ),
    );
  const open = (target: string) => {
    const c = new grpc.Client(target, grpc.credentials.createInsecure());
    channels.push(c);
    return c;
  };
  let echo: grpc.Client;
  let missing: ReturnType<typeof call>;

  beforeAll(() => {
    setSnapshot([listener, route([['c1', 1]]), cluster('c1'), cla('c1', ports[0]!)]);
    process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
      xds_servers: [{ server_uri: `127.0.0.1:${xdsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: formatNodeId(n2), locality: {} },
    });
    echo = open('xds:///echo');
  });

  afterAll(() => {
    for (const c of channels) c.close();
  });

  it('is answered at once with a response that omits it; the same client keeps serving its other target', async () => {
    expect((await call(echo, 5000)).reply).toBe('s1');
    const lds = () => server.registry.describe(formatNodeId(n2))?.types[TypeUrls.listener];
    const before = lds()?.lastSent?.nonce;
    expect(before).toMatch(/^[0-9a-z]+$/); // an LDS response was sent and recorded
    missing = call(open('xds:///missing'), 2000);
    const end = Date.now() + 5000;
    // The snapshot does not change, so a new LDS response can only answer the new name set [echo, missing];
    // the client ACKs it.
    while (
      !(lds()?.lastSent?.nonce !== before && lds()?.lastAcked?.version === lds()?.lastSent?.version && lds()!.lastAcked!.at >= lds()!.lastSent!.at) &&
      Date.now() < end
    )
      await new Promise((r) => setTimeout(r, 10));
    expect([...(lds()?.subscribed ?? [])].sort()).toEqual(['echo', 'missing']);
    expect(lds()?.lastSent?.nonce).not.toBe(before);
    expect(lds()?.lastAcked?.version).toBe(lds()?.lastSent?.version);
    expect(server.registry.describe(formatNodeId(n2))?.resources[TypeUrls.listener]?.map((r) => r.name)).toEqual(['echo']);
    for (let i = 0; i < 5; i++) expect((await call(echo, 5000)).reply).toBe('s1');
  });

  it('[grpc-js-xds 1.14.1 limitation] the call to it still waits out its deadline, for name resolution', async () => {
    // The server did its part above. The client ignores a never-received LDS/CDS name missing from a SotW
    // response (xds-client.js: "Those are handled by the resource timer", RESOURCE_TIMEOUT_MS = 15 s), and even
    // when that timer fires, resolver-xds reports the error as an empty address list that grpc-js rejects
    // without failing the calls queued for a config. When a client release fixes this, this assertion breaks:
    // replace it with `expect(err.code).toBe(grpc.status.UNAVAILABLE)`.
    const { err } = await missing;
    expect(err?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(err?.details).toContain('waiting for name resolution');
  });

  it('fails fast with UNAVAILABLE when the listener exists but routes nothing (what a generator can emit for a denied target)', async () => {
    const denied = f.create(TypeUrls.listener, 'denied', {
      name: 'denied',
      api_listener: {
        api_listener: typedConfig(HCM, {
          stat_prefix: 'denied',
          route_config: { name: 'denied', virtual_hosts: [{ name: 'denied', domains: ['*'], routes: [] }] },
          http_filters: [{ name: 'router', typed_config: typedConfig(ROUTER) }],
        }),
      },
    });
    setSnapshot([listener, denied, route([['c1', 1]]), cluster('c1'), cla('c1', ports[0]!)]);
    const { err } = await call(open('xds:///denied'), 10_000);
    expect(err?.code).not.toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(err?.code).toBe(grpc.status.UNAVAILABLE);
    expect((await call(echo, 5000)).reply).toBe('s1');
  });
});
