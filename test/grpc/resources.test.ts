import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Catalog, MeshStore, xds } from '@trellis/core';
import { TypeUrls, identityKey } from '@trellis/plugin-sdk';
import type { Identity, KubeObject, Listener, ProxyView, XdsResource } from '@trellis/plugin-sdk';
import { MemoryBus, MemoryLogger, MemoryMetrics } from '@trellis/plugin-sdk/testing';
import { SERVER_LISTENER_TEMPLATE, createGrpcGenerator } from '@trellis/plugin-proxy-grpc';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadGrpcXds } from '../support/grpc-workloads.ts';

/**
 * The generator's output as real consumers judge it, without a network: the strict proto check (unknown or
 * mis-cased keys fail), snapshot consistency, and @grpc/grpc-js-xds's own resource validators (what a client
 * would NACK), for the bookstore example and for edge-case views (headers, methods, retries, TCP policies).
 */

type Decoder = { decode(context: unknown, resource: { type_url: string; value: Buffer }): { error?: string } };
let decoders: Record<string, Decoder>;
const context = { bootstrap: { certificateProviders: { default: { pluginName: 'file_watcher', config: {} } } }, server: null };

beforeAll(async () => {
  await loadGrpcXds(); // the RBAC filter must be enabled before grpc-js-xds loads
  const base = '@grpc/grpc-js-xds/build/src/xds-resource-type';
  const [l, r, c, e] = await Promise.all([
    import(`${base}/listener-resource-type.js`) as Promise<{ ListenerResourceType: { get(): Decoder } }>,
    import(`${base}/route-config-resource-type.js`) as Promise<{ RouteConfigurationResourceType: { get(): Decoder } }>,
    import(`${base}/cluster-resource-type.js`) as Promise<{ ClusterResourceType: { get(): Decoder } }>,
    import(`${base}/endpoint-resource-type.js`) as Promise<{ EndpointResourceType: { get(): Decoder } }>,
  ]);
  decoders = {
    [TypeUrls.listener]: l.ListenerResourceType.get(),
    [TypeUrls.route]: r.RouteConfigurationResourceType.get(),
    [TypeUrls.cluster]: c.ClusterResourceType.get(),
    [TypeUrls.endpoint]: e.EndpointResourceType.get(),
  };
});

const strict = xds.createResourceFactory({ strict: true });

/** Every problem a consumer would report for this proxy's resources. */
function problems(resources: readonly XdsResource[]): string[] {
  const out = xds.checkConsistency(new xds.Snapshot(resources));
  for (const r of resources) {
    out.push(...xds.checkStrict(r.typeUrl, r.value as Record<string, unknown>).map((p) => `${r.name}: ${p}`));
    const d = decoders[r.typeUrl];
    if (!d) out.push(`${r.name}: unexpected type ${r.typeUrl}`);
    else {
      const res = d.decode(context, { type_url: r.typeUrl, value: Buffer.from(r.body) });
      if (res.error) out.push(`${r.name}: grpc-js-xds rejects it: ${res.error}`);
    }
  }
  return out;
}

function loadExample(dir: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !/\.ya?ml$/.test(entry.name)) continue;
    const text = readFileSync(join(entry.parentPath, entry.name), 'utf8');
    for (const doc of parseAllDocuments(text)) {
      const obj = doc.toJS() as KubeObject | null;
      if (obj) out.push(obj);
    }
  }
  return out;
}

describe('bookstore example', () => {
  it('gives every identity resources that pass the strict check, the consistency check and grpc-js-xds validation', () => {
    const store = new MeshStore({ bus: new MemoryBus(), logger: new MemoryLogger(), metrics: new MemoryMetrics() });
    const sink = store.sinkFor('example');
    for (const o of loadExample(join(import.meta.dirname, '../../examples/bookstore'))) sink.apply(o);
    const catalog = new Catalog(store);
    const generate = createGrpcGenerator();
    const ids = catalog.identities();
    expect(ids.length).toBeGreaterThan(3);
    const all = new Map<string, XdsResource[]>();
    for (const id of ids) {
      const rs = generate(catalog.viewFor(id), { resources: strict });
      expect(problems(rs), identityKey(id)).toEqual([]);
      all.set(identityKey(id), rs);
    }
    const buyer = all.get('bookbuyer/bookbuyer') ?? [];
    expect(buyer.map((r) => r.name)).toContain('bookstore.bookstore.svc.cluster.local:14001');
    const route = buyer.find((r) => r.typeUrl === TypeUrls.route && r.name.includes('bookstore/bookstore|'));
    expect(JSON.stringify(route?.value)).toContain('weighted_clusters');
    const store1 = all.get('bookstore/bookstore-v1') ?? [];
    expect(store1.some((r) => r.typeUrl === TypeUrls.listener && r.name.startsWith(SERVER_LISTENER_TEMPLATE.replace('%s', '')))).toBe(true);
  });
});

const id = (namespace: string, serviceAccount: string): Identity => ({ namespace, serviceAccount });
const svc = { namespace: 'x', name: 'api', port: 9000, targetPort: 9100, protocol: 'grpc' as const };
const db = { namespace: 'x', name: 'db', port: 5432, targetPort: 9100, protocol: 'tcp' as const };
const edge: ProxyView = {
  identity: id('x', 'api'),
  trustDomain: 'example.org',
  permissive: false,
  egress: false,
  outbound: [
    {
      service: svc,
      clusterName: 'x/api|9100',
      hostnames: ['api.x', 'api.x:9000'],
      endpoints: [{ ip: '10.1.0.1', port: 9100, ready: true }],
      identities: [],
      split: {
        splitName: 'x/s',
        backends: [{ service: svc, weight: 3, clusterName: 'x/api|9100' }],
        matches: [{ name: 'm', pathRegex: '/pkg.Svc/.*', methods: ['POST'], headers: [{ name: 'host', valueRegex: 'api.*' }] }],
      },
      retry: { attempts: 3, perTryTimeoutMs: 1500, retryOn: ['unavailable', 'cancelled'] },
      timeoutMs: 2500,
    },
  ],
  inbound: [
    {
      service: svc,
      localClusterName: 'x/api|9100|local',
      hostnames: [],
      routes: [
        { match: { name: 'a', pathRegex: '/pkg.Svc/Get', methods: ['GET', 'POST'], headers: [{ name: 'x-user', valueRegex: 'bob|alice' }] }, principals: [id('x', 'web')] },
        { match: { name: 'b', pathRegex: '.*', methods: ['*'], headers: [] }, principals: [] },
      ],
      tcpPolicies: [],
    },
    { service: db, localClusterName: 'x/db|9100|local', hostnames: [], routes: [], tcpPolicies: [{ name: 'x/t', principals: [id('y', 'etl')], ports: [9100] }] },
  ],
  localEndpoints: [
    { ip: '10.1.0.1', port: 9100, ready: true },
    { ip: 'fd00::7', port: 9100, ready: true },
  ],
};

describe('edge cases', () => {
  it('encodes headers, methods, retries, timeouts, TCP policies, IPv6 and identity-less services validly', () => {
    const rs = createGrpcGenerator()(edge, { resources: strict });
    expect(problems(rs)).toEqual([]);
    expect(rs.filter((r) => r.typeUrl === TypeUrls.listener).map((r) => r.name)).toEqual([
      'api.x',
      'api.x:9000',
      'trellis/grpc-server?listening_address=10.1.0.1:9100',
      'trellis/grpc-server?listening_address=[fd00::7]:9100',
    ]);
  });

  it('would notice a resource grpc-js-xds rejects (the check can fail)', () => {
    const rs = createGrpcGenerator()(edge, { resources: strict });
    const server = rs.find((r) => r.name.endsWith('10.1.0.1:9100'))!;
    const bad = JSON.parse(JSON.stringify(server.value)) as { filter_chains: { filters: { typed_config: { http_filters: unknown[] } }[] }[] };
    bad.filter_chains[0]!.filters[0]!.typed_config.http_filters.reverse(); // router no longer last
    expect(problems([strict.create(TypeUrls.listener, server.name, bad as unknown as Listener)]).join()).toMatch(/grpc-js-xds rejects it/);
  });

  it('encodes permissive mode validly', () => {
    expect(problems(createGrpcGenerator()({ ...edge, permissive: true }, { resources: strict }))).toEqual([]);
  });
});
