import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { ExtensionTypeUrls, TypeUrls, formatNodeId, spiffeId, typedConfig } from '@trellis/plugin-sdk';
import type { Identity, Listener, NodeIdentity, XdsResource } from '@trellis/plugin-sdk';
import { MetricsRegistry } from '@trellis/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Snapshot, SnapshotCache, XdsServer, createResourceFactory, messageType, xds } from '@trellis/core';

const { aggregateVersion } = xds;
import { AdsConnection } from '../support/ads-client.ts';
import { createTestCa, type TestCa } from '../support/pki.ts';

const f = createResourceFactory({ strict: true });
const TD = 'cluster.local';
const node = (sa: string, ns: string, kind = 'sidecar'): NodeIdentity => ({ uuid: randomUUID(), kind, serviceAccount: sa, namespace: ns, trustDomain: TD });
const A = node('sa-a', 'ns-a');
const B = node('sa-b', 'ns-b');
const LATE = node('sa-late', 'ns-late');

const cluster = (name: string) => f.create(TypeUrls.cluster, name, { name, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } });
const cla = (name: string, port = 8080) =>
  f.create(TypeUrls.endpoint, name, {
    cluster_name: name,
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: port } } } }] }],
  });
const secret = (name: string, audience: Identity) =>
  f.create(
    TypeUrls.secret,
    name,
    { name, tls_certificate: { certificate_chain: { inline_string: 'CERT' }, private_key: { inline_string: 'TOP-SECRET-KEY' } } },
    { audience },
  );
const listener = f.create(TypeUrls.listener, 'l', {
  name: 'l',
  api_listener: {
    api_listener: typedConfig(ExtensionTypeUrls.httpConnectionManager, {
      stat_prefix: 'l',
      rds: { route_config_name: 'r', config_source: { ads: {} } },
    }),
  },
});
const route = f.create(TypeUrls.route, 'r', { name: 'r', virtual_hosts: [] });
const secrets = [secret('service-cert:ns-a/sa-a', A), secret('service-cert:ns-b/sa-b', B), secret('root-cert:ns-b/sa-b', B)];
const base = (extra: XdsResource[] = []) => new Snapshot([cluster('a'), cluster('b'), cla('a'), cla('b'), listener, route, ...secrets, ...extra]);

const names = (rs: { value?: Buffer }[] | undefined, typeUrl: string): string[] =>
  (rs ?? []).map((r) => String((messageType(typeUrl).decode(r.value!) as unknown as { name?: string; cluster_name?: string }).name ?? (messageType(typeUrl).decode(r.value!) as unknown as { cluster_name: string }).cluster_name));

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

let ca: TestCa;
let server: XdsServer;
let cache: SnapshotCache;
let port: number;
let plaintextPort: number;
const nacks: string[] = [];
const disconnected: string[] = [];
const metrics = new MetricsRegistry();
const certs = new Map<string, { certPem: string; keyPem: string }>();

async function clientCert(n: NodeIdentity) {
  const id = formatNodeId(n);
  let c = certs.get(id);
  if (!c) certs.set(id, (c = await ca.client({ dns: [id], uri: [spiffeId(n, TD)] })));
  return c;
}

async function connect(n: NodeIdentity, as: NodeIdentity = n) {
  const c = await clientCert(as);
  return new AdsConnection({ address: `127.0.0.1:${port}`, tls: { caPem: ca.caPem, ...c } });
}

beforeAll(async () => {
  ca = await createTestCa();
  const serverCert = await ca.server();
  cache = new SnapshotCache();
  server = new XdsServer({
    cache,
    address: '127.0.0.1:0',
    plaintextAddress: '127.0.0.1:0',
    tls: { caPem: ca.caPem, ...serverCert },
    metrics,
    hooks: { onNack: (e) => nacks.push(e.message) },
    onNodeDisconnected: (n) => void disconnected.push(formatNodeId(n)),
    onNodeConnected: (n) => {
      const key = cache.keyOf(n);
      if (n.serviceAccount !== 'sa-late' && !cache.getSnapshot(key)) cache.setSnapshot(key, base());
    },
  });
  ({ port = 0, plaintextPort = 0 } = await server.start());
});

afterAll(async () => {
  await server.stop(1000);
});

describe('delta ADS over mTLS', () => {
  it('subscribes, unsubscribes, sees removals, and resumes from initial versions', async () => {
    const n = node('sa-a', 'ns-a');
    const conn = await connect(n);
    const s = conn.delta();
    s.send({ node: { id: formatNodeId(n) }, type_url: TypeUrls.cluster });
    const cds = await s.next();
    expect(cds.type_url).toBe(TypeUrls.cluster);
    expect(cds.resources?.map((r) => r.name)).toEqual(['a', 'b']);
    s.send({ type_url: TypeUrls.cluster, response_nonce: cds.nonce });

    s.send({ type_url: TypeUrls.endpoint, resource_names_subscribe: ['a'] });
    const eds = await s.next();
    expect(eds.resources?.map((r) => r.name)).toEqual(['a']);
    s.send({ type_url: TypeUrls.endpoint, response_nonce: eds.nonce, resource_names_subscribe: ['b'], resource_names_unsubscribe: ['a'] });
    const eds2 = await s.next();
    expect(eds2.resources?.map((r) => r.name)).toEqual(['b']);
    expect(eds2.removed_resources ?? []).toEqual([]);

    // cluster b disappears and a's endpoints change: CDS removal, EDS removal of b
    const key = cache.keyOf(n);
    cache.setSnapshot(key, new Snapshot([cluster('a'), cla('a', 9090), listener, route, ...secrets]));
    const cds2 = await s.next();
    expect(cds2.type_url).toBe(TypeUrls.cluster);
    expect(cds2.resources ?? []).toEqual([]);
    expect(cds2.removed_resources).toEqual(['b']);
    const eds3 = await s.next();
    expect(eds3.type_url).toBe(TypeUrls.endpoint);
    expect(eds3.removed_resources).toEqual(['b']);
    expect(eds3.resources ?? []).toEqual([]); // a is unsubscribed: its change is not sent
    const versions = Object.fromEntries((cds.resources ?? []).map((r) => [r.name!, r.version!]));
    s.end();
    conn.close();

    // Reconnect: current version of a, a stale one of b (which is gone)
    const conn2 = await connect(n);
    const s2 = conn2.delta();
    s2.send({ node: { id: formatNodeId(n) }, type_url: TypeUrls.cluster, initial_resource_versions: { a: versions.a!, b: versions.b! } });
    const r1 = await s2.next();
    expect(r1.resources ?? []).toEqual([]);
    expect(r1.removed_resources).toEqual(['b']);
    s2.send({ type_url: TypeUrls.cluster, response_nonce: r1.nonce });
    // Reconnect with everything current: nothing is resent; the next response is for the new subscription.
    s2.send({ type_url: TypeUrls.endpoint, initial_resource_versions: {}, resource_names_subscribe: ['a'] });
    const r2 = await s2.next();
    expect(r2.type_url).toBe(TypeUrls.endpoint);
    s2.send({ type_url: TypeUrls.endpoint, response_nonce: r2.nonce, error_detail: { code: 3, message: 'delta says no' } });
    await until(() => server.registry.describe(formatNodeId(n))?.types[TypeUrls.endpoint]?.lastNack?.message === 'delta says no');
    cache.setSnapshot(key, base());
    s2.cancel();
    conn2.close();
    // a vanished proxy leaves the registry and is reported disconnected
    await until(() => server.registry.find(formatNodeId(n)).length === 0);
    expect(disconnected).toContain(formatNodeId(n));
  });
});

describe('delta ADS: names that do not exist', () => {
  it('answers a subscription to a missing name with removed_resources, then sends it when it appears', async () => {
    const n = node('sa-ghost', 'ns-ghost');
    const conn = await connect(n);
    const s = conn.delta();
    s.send({ node: { id: formatNodeId(n) }, type_url: TypeUrls.endpoint, resource_names_subscribe: ['a', 'ghost'] });
    const r1 = await s.next();
    expect(r1.resources?.map((r) => r.name)).toEqual(['a']);
    expect(r1.removed_resources).toEqual(['ghost']);
    s.send({ type_url: TypeUrls.endpoint, response_nonce: r1.nonce });

    // a later subscription to only a missing name still gets its own answer
    s.send({ type_url: TypeUrls.endpoint, resource_names_subscribe: ['ghost-2'] });
    const r2 = await s.next();
    expect(r2.resources ?? []).toEqual([]);
    expect(r2.removed_resources).toEqual(['ghost-2']);
    s.send({ type_url: TypeUrls.endpoint, response_nonce: r2.nonce });

    // ghost appears: it is sent; nothing is re-announced as removed
    cache.setSnapshot(cache.keyOf(n), base([cla('ghost', 7070)]));
    const r3 = await s.next();
    expect(r3.type_url).toBe(TypeUrls.endpoint);
    expect(r3.resources?.map((r) => r.name)).toEqual(['ghost']);
    expect(r3.removed_resources ?? []).toEqual([]);
    s.send({ type_url: TypeUrls.endpoint, response_nonce: r3.nonce });

    // and disappears again: removed once more
    cache.setSnapshot(cache.keyOf(n), base());
    const r4 = await s.next();
    expect(r4.resources ?? []).toEqual([]);
    expect(r4.removed_resources).toEqual(['ghost']);
    expect(s.buffered).toBe(0);
    s.end();
    conn.close();
  });

  it('reports a missing listener and a secret the node may not have as removed', async () => {
    const conn = await connect(A);
    const d = conn.delta();
    d.send({ node: { id: formatNodeId(A) }, type_url: TypeUrls.listener, resource_names_subscribe: ['l', 'no-such-listener'] });
    const lds = await d.next();
    expect(lds.resources?.map((r) => r.name)).toEqual(['l']);
    expect(lds.removed_resources).toEqual(['no-such-listener']);
    d.send({ type_url: TypeUrls.secret, resource_names_subscribe: ['service-cert:ns-a/sa-a', 'service-cert:ns-b/sa-b'] });
    const sds = await d.next();
    expect(sds.resources?.map((r) => r.name)).toEqual(['service-cert:ns-a/sa-a']);
    expect(sds.removed_resources).toEqual(['service-cert:ns-b/sa-b']);
    d.end();
    conn.close();
  });
});

describe('state-of-the-world ADS over mTLS', () => {
  it('sends CDS then EDS, answers changed names, ignores stale nonces, records NACKs', async () => {
    const n = node('sa-a', 'ns-a');
    const conn = await connect(n);
    const s = conn.sotw();
    s.send({ node: { id: formatNodeId(n) }, type_url: TypeUrls.cluster });
    const cds = await s.next();
    expect(names(cds.resources, TypeUrls.cluster)).toEqual(['a', 'b']);
    s.send({ type_url: TypeUrls.cluster, version_info: cds.version_info, response_nonce: cds.nonce });
    s.send({ type_url: TypeUrls.endpoint, resource_names: ['a'] });
    const eds = await s.next();
    expect(names(eds.resources, TypeUrls.endpoint)).toEqual(['a']);

    // stale nonce with a changed name set: ignored
    s.send({ type_url: TypeUrls.endpoint, resource_names: ['a', 'b'], response_nonce: 'stale', version_info: eds.version_info });
    // current nonce, name added: answered
    s.send({ type_url: TypeUrls.endpoint, resource_names: ['a', 'b', 'missing'], response_nonce: eds.nonce, version_info: eds.version_info });
    const eds2 = await s.next();
    expect(names(eds2.resources, TypeUrls.endpoint)).toEqual(['a', 'b']);
    // names changed to include one that does not exist: answered even though the version did not change
    s.send({ type_url: TypeUrls.endpoint, resource_names: ['a', 'b'], response_nonce: eds2.nonce, version_info: eds2.version_info });
    const eds3 = await s.next();
    expect(eds3.version_info).toBe(eds2.version_info);

    // NACK: recorded, nothing resent
    s.send({
      type_url: TypeUrls.endpoint,
      resource_names: ['a', 'b'],
      response_nonce: eds3.nonce,
      version_info: eds.version_info,
      error_detail: { code: 14, message: 'xDS response validation errors: [resource index 0: bad]' },
    });
    s.send({ type_url: TypeUrls.listener, resource_names: ['l'] });
    const lds = await s.next();
    expect(lds.type_url).toBe(TypeUrls.listener);
    expect(nacks).toContain('xDS response validation errors: [resource index 0: bad]');
    const info = server.registry.describe(formatNodeId(n));
    expect(info?.types[TypeUrls.endpoint]?.lastNack?.message).toContain('resource index 0: bad');
    expect(info?.types[TypeUrls.cluster]?.lastAcked?.version).toBe(cds.version_info);
    const text = await metrics.exposition();
    expect(text).toMatch(/trellis_xds_nacks_total\{reason="[a-z]+",type="endpoint"\} [1-9]/);
    expect(text).toMatch(/trellis_xds_pushes_total\{type="cluster"\} [1-9]/);
    expect(text).toMatch(/trellis_xds_connections\{transport="mtls"\} [1-9]/);
    expect(text).toContain('trellis_xds_push_duration_seconds_bucket');
    s.end();
    conn.close();
  });

  it('answers a subscription to a listener it lacks at once, omitting it (the client learns it does not exist)', async () => {
    const n = node('sa-a', 'ns-a', 'grpc');
    const conn = await connect(n);
    const s = conn.sotw();
    s.send({ node: { id: formatNodeId(n) }, type_url: TypeUrls.listener, resource_names: ['no-such-listener'] });
    const r1 = await s.next();
    expect(r1.type_url).toBe(TypeUrls.listener);
    expect(r1.resources ?? []).toEqual([]);
    expect(r1.version_info).toBe(aggregateVersion([])); // the version of an empty set, not a missing one
    expect(r1.nonce).toMatch(/^[0-9a-z]+$/);
    s.send({ type_url: TypeUrls.listener, resource_names: ['no-such-listener', 'l'], response_nonce: r1.nonce, version_info: r1.version_info });
    const r2 = await s.next();
    expect(names(r2.resources, TypeUrls.listener)).toEqual(['l']);
    s.send({ type_url: TypeUrls.listener, resource_names: ['no-such-listener', 'l'], response_nonce: r2.nonce, version_info: r2.version_info });
    // it appears: sent
    const ghost = f.create(TypeUrls.listener, 'no-such-listener', { name: 'no-such-listener', api_listener: listener.value.api_listener as Listener['api_listener'] });
    cache.setSnapshot(cache.keyOf(n), base([ghost]));
    const r3 = await s.next();
    expect(names(r3.resources, TypeUrls.listener)).toEqual(['l', 'no-such-listener']);
    cache.setSnapshot(cache.keyOf(n), base());
    s.end();
    conn.close();
  });

  it('a reconnecting proxy with current versions gets nothing new', async () => {
    const n = node('sa-a', 'ns-a');
    const conn = await connect(n);
    const s = conn.sotw();
    s.send({ node: { id: formatNodeId(n) }, type_url: TypeUrls.cluster });
    const cds = await s.next();
    s.end();
    conn.close();

    const conn2 = await connect(n);
    const s2 = conn2.sotw();
    s2.send({ node: { id: formatNodeId(n) }, type_url: TypeUrls.cluster, version_info: cds.version_info });
    s2.send({ type_url: TypeUrls.listener, resource_names: ['l'] });
    const first = await s2.next();
    expect(first.type_url).toBe(TypeUrls.listener);
    // a later change still reaches it
    cache.setSnapshot(cache.keyOf(n), base([cluster('c'), cla('c')]));
    const cds2 = await s2.next();
    expect(cds2.type_url).toBe(TypeUrls.cluster);
    expect(names(cds2.resources, TypeUrls.cluster)).toEqual(['a', 'b', 'c']);
    cache.setSnapshot(cache.keyOf(n), base());
    s2.end();
    conn2.close();
  });

  it('removes a cluster only after the route update that stops using it is ACKed', async () => {
    const n = node('sa-mbb', 'ns-a');
    const key = cache.keyOf(n);
    const conn = await connect(n);
    const s = conn.sotw();
    s.send({ node: { id: formatNodeId(n) }, type_url: TypeUrls.cluster });
    s.send({ type_url: TypeUrls.route, resource_names: ['r'] });
    const cds = await s.next();
    const rds = await s.next();
    expect([cds.type_url, rds.type_url]).toEqual([TypeUrls.cluster, TypeUrls.route]);
    s.send({ type_url: TypeUrls.cluster, version_info: cds.version_info, response_nonce: cds.nonce });
    s.send({ type_url: TypeUrls.route, resource_names: ['r'], version_info: rds.version_info, response_nonce: rds.nonce });
    await until(() => server.registry.describe(formatNodeId(n))?.types[TypeUrls.route]?.lastAcked !== undefined);

    const route2 = f.create(TypeUrls.route, 'r', { name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'] }] });
    cache.setSnapshot(key, new Snapshot([cluster('a'), cla('a'), listener, route2]));
    // b stays while the new route is not ACKed, so CDS is unchanged and not resent: the route goes first
    const rds2 = await s.next();
    expect(rds2.type_url).toBe(TypeUrls.route);
    expect(s.buffered).toBe(0);
    s.send({ type_url: TypeUrls.route, resource_names: ['r'], version_info: rds2.version_info, response_nonce: rds2.nonce });
    const cds3 = await s.next();
    expect(cds3.type_url).toBe(TypeUrls.cluster);
    expect(names(cds3.resources, TypeUrls.cluster)).toEqual(['a']);
    s.end();
    conn.close();
  });

  it('waits for the snapshot and orders CDS before EDS, LDS before RDS', async () => {
    const conn = await connect(LATE);
    const s = conn.sotw();
    s.send({ node: { id: formatNodeId(LATE) }, type_url: TypeUrls.route, resource_names: ['r'] });
    s.send({ type_url: TypeUrls.endpoint, resource_names: ['a'] });
    s.send({ type_url: TypeUrls.listener, resource_names: ['l'] });
    s.send({ type_url: TypeUrls.cluster });
    // wait until the server has seen all four subscriptions (no snapshot yet, so nothing may have been sent)
    await until(() => Object.keys(server.registry.describe(formatNodeId(LATE))?.types ?? {}).length === 4);
    expect(s.buffered).toBe(0);
    cache.setSnapshot(cache.keyOf(LATE), base());
    const order = [];
    for (let i = 0; i < 4; i++) order.push((await s.next()).type_url);
    expect(order).toEqual([TypeUrls.cluster, TypeUrls.endpoint, TypeUrls.listener, TypeUrls.route]);
    s.end();
    conn.close();
  });
});

describe('security', () => {
  it('rejects a client without a certificate', async () => {
    const conn = new AdsConnection({ address: `127.0.0.1:${port}`, tls: { caPem: ca.caPem } });
    const s = conn.sotw();
    s.send({ node: { id: formatNodeId(A) }, type_url: TypeUrls.cluster });
    const status = await s.status;
    expect(status.code).not.toBe(grpc.status.OK);
    conn.close();
  });

  it('rejects a certificate for identity A presenting node id B', async () => {
    const conn = await connect(A);
    const s = conn.sotw();
    s.send({ node: { id: formatNodeId(B) }, type_url: TypeUrls.cluster });
    const status = await s.status;
    expect(status.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(status.details).toContain('does not match the client certificate');
    expect(await metrics.exposition()).toMatch(/trellis_xds_rejected_streams_total\{reason="permission_denied"\} [1-9]/);
    conn.close();
  });

  it("never serves another identity's secret", async () => {
    const conn = await connect(A);
    const s = conn.sotw();
    s.send({ node: { id: formatNodeId(A) }, type_url: TypeUrls.secret, resource_names: ['service-cert:ns-a/sa-a', 'service-cert:ns-b/sa-b'] });
    const sds = await s.next();
    expect(names(sds.resources, TypeUrls.secret)).toEqual(['service-cert:ns-a/sa-a']);
    const d = conn.delta();
    d.send({ node: { id: formatNodeId(A) }, type_url: TypeUrls.secret, resource_names_subscribe: ['root-cert:ns-b/sa-b', '*'] });
    const dsds = await d.next();
    expect(dsds.resources?.map((r) => r.name)).toEqual(['service-cert:ns-a/sa-a']);
    // debug output redacts the key
    const info = server.registry.describe(formatNodeId(A));
    const json = JSON.stringify(info);
    expect(json).toContain('[redacted]');
    expect(json).not.toContain('TOP-SECRET-KEY');
    s.end();
    d.end();
    conn.close();
  });

  it("decides by the secret's audience, not its name", async () => {
    const n = node('sa-aud', 'ns-aud');
    const key = { name: 'x', tls_certificate: { private_key: { inline_string: 'TOP-SECRET-KEY' } } };
    // Named like the node's own certificate but meant for B: withheld. Named like nothing: the node's own. Public trust: served.
    const misleading = f.create(TypeUrls.secret, 'service-cert:ns-aud/sa-aud', { ...key, name: 'service-cert:ns-aud/sa-aud' }, { audience: B });
    const own = f.create(TypeUrls.secret, 'any-name', { ...key, name: 'any-name' }, { audience: n });
    const trust = f.create(TypeUrls.secret, 'trust', { name: 'trust', validation_context: { trusted_ca: { inline_string: 'CA' } } });
    cache.setSnapshot(cache.keyOf(n), new Snapshot([misleading, own, trust]));
    const conn = await connect(n);
    const s = conn.sotw();
    s.send({ node: { id: formatNodeId(n) }, type_url: TypeUrls.secret, resource_names: ['service-cert:ns-aud/sa-aud', 'any-name', 'trust'] });
    expect(names((await s.next()).resources, TypeUrls.secret).sort()).toEqual(['any-name', 'trust']);
    const d = conn.delta();
    d.send({ node: { id: formatNodeId(n) }, type_url: TypeUrls.secret, resource_names_subscribe: ['*'] });
    expect((await d.next()).resources?.map((r) => r.name).sort()).toEqual(['any-name', 'trust']);
    s.end();
    d.end();
    conn.close();
  });

  it('the plaintext port takes identity from node.id and serves no secrets', async () => {
    const n = node('sa-a', 'ns-a', 'grpc');
    const conn = new AdsConnection({ address: `127.0.0.1:${plaintextPort}` });
    const s = conn.sotw();
    s.send({ node: { id: formatNodeId(n) }, type_url: TypeUrls.secret, resource_names: ['service-cert:ns-a/sa-a'] });
    s.send({ type_url: TypeUrls.cluster });
    const first = await s.next();
    expect(first.type_url).toBe(TypeUrls.cluster);
    const d = conn.delta();
    d.send({ node: { id: formatNodeId(n) }, type_url: TypeUrls.secret, resource_names_subscribe: ['*'] });
    d.send({ type_url: TypeUrls.listener, resource_names_subscribe: ['l'] });
    expect((await d.next()).type_url).toBe(TypeUrls.listener);
    expect(server.registry.find(formatNodeId(n))[0]?.info().transport).toBe('plaintext');
    s.end();
    d.end();
    conn.close();
  });

  it('rejects a malformed node id and refuses streams beyond the limit', async () => {
    const conn = new AdsConnection({ address: `127.0.0.1:${plaintextPort}` });
    const s = conn.sotw();
    s.send({ node: { id: 'not-a-node-id' }, type_url: TypeUrls.cluster });
    expect((await s.status).code).toBe(grpc.status.INVALID_ARGUMENT);
    conn.close();

    const small = new XdsServer({ cache, plaintextAddress: '127.0.0.1:0', limits: { maxStreams: 1 } });
    const { plaintextPort: p } = await small.start();
    const c = new AdsConnection({ address: `127.0.0.1:${p}` });
    const s1 = c.sotw();
    s1.send({ node: { id: formatNodeId(A) }, type_url: TypeUrls.cluster });
    await s1.next();
    const s2 = c.sotw();
    s2.send({ node: { id: formatNodeId(B) }, type_url: TypeUrls.cluster });
    const st = await s2.status;
    expect(st.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(st.details).toContain('limit of 1 streams');
    c.close();
    await small.stop(500);

    const slow = new XdsServer({ cache, plaintextAddress: '127.0.0.1:0', limits: { connectionsPerSecond: 0.001, connectionBurst: 1 } });
    const { plaintextPort: p2 } = await slow.start();
    const c2 = new AdsConnection({ address: `127.0.0.1:${p2}` });
    const ok = c2.sotw();
    ok.send({ node: { id: formatNodeId(A) }, type_url: TypeUrls.cluster });
    await ok.next();
    const limited = c2.delta();
    limited.send({ node: { id: formatNodeId(A) }, type_url: TypeUrls.cluster });
    const st2 = await limited.status;
    expect(st2.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(st2.details).toContain('rate limit');
    c2.close();
    await slow.stop(500);
  });
});
