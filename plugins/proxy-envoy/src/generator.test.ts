import { describe, expect, it } from 'vitest';
import type { InboundPort, OutboundService, XdsResource } from '@trellis/plugin-sdk';
import { createEnvoyGenerator } from './generator.ts';
import * as F from './internal/test-fakes.ts';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const sid = F.id('bookstore', 'bookstore');
const buyer = F.id('bookbuyer', 'bookbuyer');
const store = F.svc('bookstore', 'bookstore', 14001);
const v1 = F.svc('bookstore', 'bookstore-v1', 14001);
const v2 = F.svc('bookstore', 'bookstore-v2', 14001);

function splitView(extra: Partial<OutboundService> = {}) {
  return F.view({
    outbound: [
      F.outbound(store, [F.ep('10.0.0.1', 14001, sid), F.ep('10.0.0.2', 14001, sid)], {
        split: {
          splitName: 'bookstore/split',
          matches: [],
          backends: [
            { service: v2, weight: 20, clusterName: 'bookstore/bookstore-v2|14001' },
            { service: v1, weight: 80, clusterName: 'bookstore/bookstore-v1|14001' },
          ],
        },
        ...extra,
      }),
      F.outbound(v1, [F.ep('10.0.0.1', 14001, sid)]),
      F.outbound(v2, [F.ep('10.0.0.2', 14001, sid)]),
    ],
  });
}

function run(view = splitView(), opts = {}, cert = F.certificate()) {
  const f = F.fakeFactory();
  const gen = createEnvoyGenerator(opts);
  return { gen, f, out: gen.generate(view, F.ctx(f, view.identity, cert)) };
}

const names = (out: readonly XdsResource[]) => out.map((r) => `${r.typeUrl.split('.').pop() ?? ''}:${r.name}`);

describe('outbound policy with a split', () => {
  it('sends the apex service to weighted backend clusters, sorted by name, total = sum', () => {
    const { out } = run();
    const rds = F.find(out, 'RouteConfiguration', 'rds-outbound.14001') as Obj;
    const vh = rds.virtual_hosts.find((v: Obj) => v.name === 'outbound_virtual-host|bookstore.bookstore.svc.cluster.local');
    expect(vh.domains).toContain('bookstore.bookstore.svc.cluster.local:14001');
    expect(vh.routes).toEqual([
      {
        match: { safe_regex: { regex: '.*' } },
        route: {
          weighted_clusters: {
            clusters: [
              { name: 'bookstore/bookstore-v1|14001', weight: { value: 80 } },
              { name: 'bookstore/bookstore-v2|14001', weight: { value: 20 } },
            ],
            total_weight: { value: 100 },
          },
        },
      },
    ]);
    const v1Host = rds.virtual_hosts.find((v: Obj) => v.name === 'outbound_virtual-host|bookstore-v1.bookstore.svc.cluster.local');
    expect(v1Host.routes[0].route.weighted_clusters).toEqual({ clusters: [{ name: 'bookstore/bookstore-v1|14001', weight: { value: 100 } }], total_weight: { value: 100 } });
  });

  it('builds the outbound listener: original_dst, one chain per service port by port and /32s, HCM via RDS', () => {
    const { out } = run();
    const l = F.find(out, 'Listener', 'outbound-listener') as Obj;
    expect(l.address).toEqual({ socket_address: { address: '0.0.0.0', port_value: 15001 } });
    expect(l.listener_filters.map((x: Obj) => x.name)).toEqual(['envoy.filters.listener.original_dst']);
    // The apex claims both addresses first; the backends' addresses are taken, so they get no chain of their own.
    expect(l.filter_chains).toHaveLength(1);
    const chain = l.filter_chains[0];
    expect(chain.name).toBe('outbound_bookstore/bookstore_14001_http');
    expect(chain.filter_chain_match).toEqual({
      destination_port: { value: 14001 },
      prefix_ranges: [
        { address_prefix: '10.0.0.1', prefix_len: { value: 32 } },
        { address_prefix: '10.0.0.2', prefix_len: { value: 32 } },
      ],
    });
    expect(chain.filters[0].typed_config.rds.route_config_name).toBe('rds-outbound.14001');
    expect(l.default_filter_chain).toBeUndefined();
  });

  it("matches the Service's virtual IPs (what clients dial) as well as its endpoints", () => {
    const { out } = run(F.view({ outbound: [F.outbound(v1, [F.ep('10.0.0.1', 14001, sid)], { serviceIPs: ['10.96.0.10'] })] }));
    const chain = (F.find(out, 'Listener', 'outbound-listener') as Obj).filter_chains[0];
    expect(chain.filter_chain_match.prefix_ranges).toEqual([
      { address_prefix: '10.0.0.1', prefix_len: { value: 32 } },
      { address_prefix: '10.96.0.10', prefix_len: { value: 32 } },
    ]);
  });

  it('splits TCP with a weighted tcp_proxy', () => {
    const tcpStore = F.svc('bookstore', 'db', 5432, 'tcp');
    const view = F.view({
      outbound: [
        F.outbound(tcpStore, [F.ep('10.0.0.9', 5432, sid)], {
          split: { splitName: 'bookstore/db', matches: [], backends: [
            { service: F.svc('bookstore', 'db-b', 5432, 'tcp'), weight: 1, clusterName: 'bookstore/db-b|5432' },
            { service: F.svc('bookstore', 'db-a', 5432, 'tcp'), weight: 3, clusterName: 'bookstore/db-a|5432' },
          ] },
        }),
      ],
    });
    const { out } = run(view);
    const l = F.find(out, 'Listener', 'outbound-listener') as Obj;
    expect(l.filter_chains[0].name).toBe('outbound_bookstore/db_5432_tcp');
    expect(l.filter_chains[0].filters[0].typed_config).toMatchObject({
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
      weighted_clusters: { clusters: [{ name: 'bookstore/db-a|5432', weight: 3 }, { name: 'bookstore/db-b|5432', weight: 1 }] },
    });
    expect(names(out).filter((n) => n.startsWith('RouteConfiguration'))).toEqual([]);
  });

  it('adds the egress passthrough chain and cluster when egress is on', () => {
    const { out } = run(F.view({ egress: true }));
    const l = F.find(out, 'Listener', 'outbound-listener') as Obj;
    expect(l.filter_chains).toEqual([]);
    expect(l.default_filter_chain.filters[0].typed_config.cluster).toBe('passthrough-outbound');
    expect(F.find(out, 'Cluster', 'passthrough-outbound')).toMatchObject({ type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED' });
  });
});

describe('route building', () => {
  it('turns an HTTPRouteGroup match into RE2 path, one route per method, headers as RE2, host as :authority', () => {
    const match = { name: 'm', pathRegex: '/books/[0-9]+', methods: ['POST', 'GET'], headers: [{ name: 'Host', valueRegex: 'shop\\..*' }, { name: 'user-agent', valueRegex: '.*curl.*' }] };
    const port: InboundPort = F.inbound(F.svc('bookstore', 'bookstore', 14001), { routes: [{ match, principals: [buyer] }] });
    const { out } = run(F.view({ identity: sid, inbound: [port] }));
    const rds = F.find(out, 'RouteConfiguration', 'rds-inbound.14001') as Obj;
    const matches = rds.virtual_hosts[0].routes.map((r: Obj) => r.match);
    const headers = [
      { name: ':authority', string_match: { safe_regex: { regex: 'shop\\..*' } } },
      { name: 'user-agent', string_match: { safe_regex: { regex: '.*curl.*' } } },
    ];
    expect(matches).toEqual([
      { safe_regex: { regex: '/books/[0-9]+' }, headers: [{ name: ':method', string_match: { exact: 'GET' } }, ...headers] },
      { safe_regex: { regex: '/books/[0-9]+' }, headers: [{ name: ':method', string_match: { exact: 'POST' } }, ...headers] },
    ]);
  });

  it('splits only matching requests (v1alpha4 matches) and sends the rest to the apex service', () => {
    const view = splitView();
    const apex = view.outbound[0];
    if (!apex?.split) throw new Error('fixture');
    const withMatches = F.view({
      outbound: [{ ...apex, split: { ...apex.split, matches: [{ name: 'canary', pathRegex: '', methods: ['*'], headers: [{ name: 'x-canary', valueRegex: 'yes' }] }] } }],
    });
    const { out } = run(withMatches);
    const routes = (F.find(out, 'RouteConfiguration', 'rds-outbound.14001') as Obj).virtual_hosts[0].routes;
    expect(routes).toHaveLength(2);
    expect(routes[0].match).toEqual({ safe_regex: { regex: '.*' }, headers: [{ name: 'x-canary', string_match: { safe_regex: { regex: 'yes' } } }] });
    expect(routes[0].route.weighted_clusters.clusters.map((c: Obj) => c.name)).toEqual(['bookstore/bookstore-v1|14001', 'bookstore/bookstore-v2|14001']);
    expect(routes[1].route.weighted_clusters.clusters).toEqual([{ name: 'bookstore/bookstore|14001', weight: { value: 100 } }]);
  });

  it('adds retry and timeout when the view carries them; an all-zero split answers 503', () => {
    const { out } = run(splitView({ retry: { attempts: 3, perTryTimeoutMs: 1500, retryOn: ['5xx', 'connect-failure'] }, timeoutMs: 30_000 }));
    const vh = (F.find(out, 'RouteConfiguration', 'rds-outbound.14001') as Obj).virtual_hosts.find((v: Obj) => v.name.includes('|bookstore.'));
    expect(vh.routes[0].route.retry_policy).toEqual({ retry_on: '5xx,connect-failure', num_retries: { value: 3 }, per_try_timeout: { seconds: 1, nanos: 500_000_000 } });
    expect(vh.routes[0].route.timeout).toEqual({ seconds: 30, nanos: 0 });
    const zero = splitView();
    const apex = zero.outbound[0];
    if (!apex?.split) throw new Error('fixture');
    const z = run(F.view({ outbound: [{ ...apex, split: { ...apex.split, backends: apex.split.backends.map((b) => ({ ...b, weight: 0 })) } }] }));
    expect((F.find(z.out, 'RouteConfiguration', 'rds-outbound.14001') as Obj).virtual_hosts[0].routes[0]).toMatchObject({ direct_response: { status: 503 } });
  });
});

describe('inbound', () => {
  const http = F.svc('bookstore', 'bookstore-v1', 80, 'http', 14001);
  const tcp = F.svc('bookstore', 'bookstore-db', 5432, 'tcp', 5432);
  const ports = [
    F.inbound(http, {
      routes: [{ match: F.anyMatch, principals: [buyer, F.id('ops', 'admin')] }],
      tcpPolicies: [{ name: 'bookstore/buyer-access', principals: [buyer], ports: 'any' }],
    }),
    F.inbound(tcp, {
      tcpPolicies: [
        { name: 'bookstore/tcp-b', principals: [F.id('ops', 'admin')], ports: [5432, 5433] },
        { name: 'bookstore/tcp-a', principals: [buyer], ports: [5432] },
        { name: 'bookstore/nobody', principals: [], ports: 'any' },
      ],
    }),
  ];
  const serverView = F.view({ identity: F.id('bookstore', 'bookstore-v1'), inbound: ports });

  it('has one route config per target port whose routes carry per-route RBAC with the allowed principals', () => {
    const { out } = run(serverView);
    const rds = F.find(out, 'RouteConfiguration', 'rds-inbound.14001') as Obj;
    expect(rds.virtual_hosts.map((v: Obj) => v.name)).toEqual(['inbound_virtual-host|bookstore-v1.bookstore.svc.cluster.local']);
    expect(rds.virtual_hosts[0].domains).toContain('bookstore-v1');
    const route = rds.virtual_hosts[0].routes[0];
    expect(route.route).toEqual({ cluster: 'bookstore/bookstore-v1|14001|local', timeout: { seconds: 0 } });
    const rbac = route.typed_per_filter_config['envoy.filters.http.rbac'];
    expect(rbac['@type']).toBe('type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute');
    expect(rbac.rbac.rules.policies['rbac-for-route']).toEqual({
      permissions: [{ any: true }],
      principals: [
        {
          or_ids: {
            ids: [
              'admin.ops.cluster.local',
              'bookbuyer.bookbuyer.cluster.local',
              'spiffe://cluster.local/ns/bookbuyer/sa/bookbuyer',
              'spiffe://cluster.local/ns/ops/sa/admin',
            ].map((exact) => ({ authenticated: { principal_name: { exact } } })),
          },
        },
      ],
    });
    expect(names(out).filter((n) => n.startsWith('RouteConfiguration'))).toEqual(['RouteConfiguration:rds-inbound.14001']);
  });

  it('puts network RBAC (one ALLOW policy per TrafficTarget, ports as permissions) on every inbound chain', () => {
    const { out } = run(serverView);
    const l = F.find(out, 'Listener', 'inbound-listener') as Obj;
    expect(l.address.socket_address.port_value).toBe(15003);
    expect(l.listener_filters.map((x: Obj) => x.name)).toEqual(['envoy.filters.listener.tls_inspector', 'envoy.filters.listener.original_dst']);
    const [tcpChain, httpChain] = l.filter_chains;
    expect(httpChain.name).toBe('inbound_bookstore/bookstore-v1_14001_http');
    expect(httpChain.filter_chain_match).toEqual({
      destination_port: { value: 14001 },
      server_names: ['bookstore-v1.bookstore.svc.cluster.local'],
      transport_protocol: 'tls',
      application_protocols: ['osm'],
    });
    expect(httpChain.filters.map((x: Obj) => x.name)).toEqual(['envoy.filters.network.rbac', 'envoy.filters.network.http_connection_manager']);
    expect(httpChain.filters[1].typed_config.rds.route_config_name).toBe('rds-inbound.14001');
    expect(httpChain.filters[1].typed_config.http_filters.map((x: Obj) => x.name)).toEqual(['envoy.filters.http.rbac', 'envoy.filters.http.router']);
    const tls = httpChain.transport_socket.typed_config;
    expect(tls.require_client_certificate).toEqual({ value: true });
    expect(tls.common_tls_context.tls_certificate_sds_secret_configs[0].name).toBe('service-cert');
    expect(tls.common_tls_context.validation_context_sds_secret_config.name).toBe('root-cert-for-mtls-inbound');

    expect(tcpChain.name).toBe('inbound_bookstore/bookstore-db_5432_tcp');
    expect(tcpChain.filters[1].typed_config).toMatchObject({ cluster: 'bookstore/bookstore-db|5432|local' });
    const rules = tcpChain.filters[0].typed_config.rules;
    expect(rules.action).toBe('ALLOW');
    expect(Object.keys(rules.policies)).toEqual(['bookstore/tcp-a', 'bookstore/tcp-b']);
    expect(rules.policies['bookstore/tcp-a'].permissions).toEqual([{ destination_port: 5432 }]);
    expect(rules.policies['bookstore/tcp-b'].permissions).toEqual([{ or_rules: { rules: [{ destination_port: 5432 }, { destination_port: 5433 }] } }]);
    expect(rules.policies['bookstore/tcp-b'].principals[0].or_ids.ids.map((i: Obj) => i.authenticated.principal_name.exact)).toEqual([
      'admin.ops.cluster.local',
      'spiffe://cluster.local/ns/ops/sa/admin',
    ]);
    expect(httpChain.filters[0].typed_config.rules.policies['bookstore/buyer-access'].permissions).toEqual([{ any: true }]);
  });

  it('denies everyone at the network level when no TrafficTarget allows anything', () => {
    const { out } = run(F.view({ identity: sid, inbound: [F.inbound(tcp)] }));
    const chain = (F.find(out, 'Listener', 'inbound-listener') as Obj).filter_chains[0];
    expect(chain.filters[0].typed_config.rules).toEqual({ action: 'ALLOW', policies: {} });
  });

  it('permissive mode: no network RBAC and a wildcard route open to any principal', () => {
    const { out } = run(F.view({ identity: sid, permissive: true, inbound: [F.inbound(http), F.inbound(tcp)] }));
    const l = F.find(out, 'Listener', 'inbound-listener') as Obj;
    for (const chain of l.filter_chains) expect(chain.filters.map((x: Obj) => x.name)).not.toContain('envoy.filters.network.rbac');
    const route = (F.find(out, 'RouteConfiguration', 'rds-inbound.14001') as Obj).virtual_hosts[0].routes[0];
    expect(route.match).toEqual({ safe_regex: { regex: '.*' } });
    expect(route.typed_per_filter_config['envoy.filters.http.rbac'].rbac.rules.policies['rbac-for-route'].principals).toEqual([{ any: true }]);
  });
});

describe('CDS, EDS and SDS for a client', () => {
  it('has the local cluster, upstream EDS clusters with SNI and mTLS, metrics cluster', () => {
    const view = { ...splitView(), inbound: [F.inbound(F.svc('bookbuyer', 'bookbuyer', 80, 'http', 8080))] };
    const { out } = run(view);
    expect(names(out).filter((n) => n.startsWith('Cluster:'))).toEqual([
      'Cluster:bookbuyer/bookbuyer|8080|local',
      'Cluster:bookstore/bookstore-v1|14001',
      'Cluster:bookstore/bookstore-v2|14001',
      'Cluster:bookstore/bookstore|14001',
      'Cluster:envoy-metrics-cluster',
    ]);
    expect(F.find(out, 'Cluster', 'bookbuyer/bookbuyer|8080|local')).toMatchObject({
      type: 'STATIC',
      load_assignment: { endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 8080 } } } }] }] },
    });
    const c = F.find(out, 'Cluster', 'bookstore/bookstore-v1|14001') as Obj;
    expect(c.type).toBe('EDS');
    expect(c.eds_cluster_config).toEqual({ eds_config: { ads: {}, resource_api_version: 'V3' } });
    const tls = c.transport_socket.typed_config;
    expect(tls.sni).toBe('bookstore-v1.bookstore.svc.cluster.local');
    expect(tls.common_tls_context.alpn_protocols).toEqual(['osm']);
    expect(tls.common_tls_context.tls_certificate_sds_secret_configs[0].name).toBe('service-cert');
    expect(tls.common_tls_context.validation_context_sds_secret_config.name).toBe('root-cert-for-mtls-outbound:bookstore/bookstore-v1');
    expect(F.find(out, 'ClusterLoadAssignment', 'bookstore/bookstore|14001')).toEqual({
      cluster_name: 'bookstore/bookstore|14001',
      endpoints: [{ lb_endpoints: ['10.0.0.1', '10.0.0.2'].map((address) => ({ endpoint: { address: { socket_address: { address, port_value: 14001 } } } })) }],
    });
  });

  it('leaves endpoints that are not ready out of EDS', () => {
    const { out } = run(F.view({ outbound: [F.outbound(v1, [F.ep('10.0.0.1', 14001, sid), F.ep('10.0.0.5', 14001, sid, false)])] }));
    expect(JSON.stringify(F.find(out, 'ClusterLoadAssignment', 'bookstore/bookstore-v1|14001'))).not.toContain('10.0.0.5');
  });

  it('has SDS roots with SANs of the identities behind a service, and without SANs when none is known', () => {
    const view = F.view({ outbound: [F.outbound(v1, [F.ep('10.0.0.1', 14001, sid)]), F.outbound(F.svc('ext', 'nobody', 80), [])] });
    const { out } = run(view);
    expect(F.find(out, 'Secret', 'root-cert-for-mtls-outbound:bookstore/bookstore-v1')).toEqual({
      name: 'root-cert-for-mtls-outbound:bookstore/bookstore-v1',
      validation_context: {
        trusted_ca: { inline_string: F.certificate().trustBundlePem },
        match_typed_subject_alt_names: [
          { san_type: 'DNS', matcher: { exact: 'bookstore.bookstore.cluster.local' } },
          { san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/bookstore/sa/bookstore' } },
        ],
      },
    });
    expect(F.find(out, 'Secret', 'root-cert-for-mtls-outbound:ext/nobody')).toEqual({
      name: 'root-cert-for-mtls-outbound:ext/nobody',
      validation_context: { trusted_ca: { inline_string: F.certificate().trustBundlePem } },
    });
    expect(F.find(out, 'Secret', 'root-cert-for-mtls-inbound')).toEqual({
      name: 'root-cert-for-mtls-inbound',
      validation_context: { trusted_ca: { inline_string: F.certificate().trustBundlePem } },
    });
    const own = F.find(out, 'Secret', 'service-cert') as Obj;
    expect(own.tls_certificate.private_key.inline_string).toContain('SECRETKEY');
    // The identity-free name resolves to this proxy's identity: the key material is for it alone.
    expect(out.find((r) => r.typeUrl.endsWith('Secret') && r.name === 'service-cert')?.audience).toEqual(buyer);
  });

  it('sends no secrets without a certificate, and no metrics listener/cluster when metrics are off', () => {
    const f = F.fakeFactory();
    const out = createEnvoyGenerator({ metrics: false }).generate(splitView(), F.ctx(f, buyer));
    expect(names(out).some((n) => n.startsWith('Secret:'))).toBe(false);
    expect(names(out)).not.toContain('Listener:inbound-prometheus-listener');
    expect(names(out)).not.toContain('Cluster:envoy-metrics-cluster');
    const withMetrics = run();
    expect(F.find(withMetrics.out, 'Listener', 'inbound-prometheus-listener')).toMatchObject({ address: { socket_address: { port_value: 15010 } } });
  });
});

describe('determinism and sharing', () => {
  it('gives byte-identical resources for the same view, whatever the input order', () => {
    const a = run().out;
    const v = splitView();
    const shuffled = { ...v, outbound: [...v.outbound].reverse().map((s) => ({ ...s, endpoints: [...s.endpoints].reverse() })) };
    const b = run(shuffled).out;
    expect(names(b)).toEqual(names(a));
    expect(b.map((r) => r.version)).toEqual(a.map((r) => r.version));
  });

  it('shares one resource object between proxies: clusters, endpoints and roots across identities; own certificate per identity', () => {
    const f = F.fakeFactory();
    const gen = createEnvoyGenerator();
    const cert = F.certificate();
    const v = splitView();
    const a = gen.generate(v, F.ctx(f, buyer, cert));
    // A structurally equal view (another object) still gets the very same resources, through the memo.
    const b = gen.generate(structuredClone(v), F.ctx(f, buyer, cert));
    expect(b).toHaveLength(a.length);
    b.forEach((r, i) => expect(r).toBe(a[i]));
    const other = { ...v, identity: F.id('bookthief', 'bookthief') };
    const c = gen.generate(other, F.ctx(f, other.identity, cert));
    const pick = (out: XdsResource[], kind: string, name: string) => out.find((r) => r.typeUrl.endsWith(kind) && r.name === name);
    expect(pick(c, 'ClusterLoadAssignment', 'bookstore/bookstore|14001')).toBe(pick(a, 'ClusterLoadAssignment', 'bookstore/bookstore|14001'));
    expect(pick(c, 'Secret', 'root-cert-for-mtls-outbound:bookstore/bookstore')).toBe(pick(a, 'Secret', 'root-cert-for-mtls-outbound:bookstore/bookstore'));
    // The cluster names the identity-free `service-cert`: one encoded cluster for every identity.
    expect(pick(c, 'Cluster', 'bookstore/bookstore|14001')).toBe(pick(a, 'Cluster', 'bookstore/bookstore|14001'));
    expect(pick(c, 'Secret', 'root-cert-for-mtls-inbound')).toBe(pick(a, 'Secret', 'root-cert-for-mtls-inbound'));
    const ownA = pick(a, 'Secret', 'service-cert');
    const ownC = gen.generate(other, F.ctx(f, other.identity, F.certificate('thief'))).find((r) => r.typeUrl.endsWith('Secret') && r.name === 'service-cert');
    expect(ownC).not.toBe(ownA);
    expect(ownA?.audience).toEqual(buyer);
    expect(ownC?.audience).toEqual(other.identity);
    expect(gen.stats().hits).toBeGreaterThan(0);
  });

  it('rebuilds only what changed: new endpoints give a new EDS resource, the cluster stays the same object', () => {
    const f = F.fakeFactory();
    const gen = createEnvoyGenerator();
    const a = gen.generate(F.view({ outbound: [F.outbound(v1, [F.ep('10.0.0.1', 14001, sid)])] }), F.ctx(f, buyer));
    const b = gen.generate(F.view({ outbound: [F.outbound(v1, [F.ep('10.0.0.1', 14001, sid), F.ep('10.0.0.3', 14001, sid)])] }), F.ctx(f, buyer));
    const pick = (out: XdsResource[], kind: string) => out.find((r) => r.typeUrl.endsWith(kind) && r.name === 'bookstore/bookstore-v1|14001');
    expect(pick(b, '.Cluster')).toBe(pick(a, '.Cluster'));
    expect(pick(b, 'ClusterLoadAssignment')).not.toBe(pick(a, 'ClusterLoadAssignment'));
  });

  it('answers a repeated view object without rebuilding; a renewed certificate rebuilds only service-cert', () => {
    const f = F.fakeFactory();
    const gen = createEnvoyGenerator();
    const v = splitView();
    const cert = F.certificate('1');
    const a = gen.generate(v, F.ctx(f, buyer, cert));
    const created = f.created;
    const b = gen.generate(v, F.ctx(f, buyer, cert));
    expect(f.created).toBe(created);
    b.forEach((r, i) => expect(r).toBe(a[i]));
    const c = gen.generate(v, F.ctx(f, buyer, F.certificate('2')));
    expect(f.created).toBe(created + 1);
    expect(c.filter((r) => r !== a[c.indexOf(r)]).map((r) => r.name)).toEqual(['service-cert']);
  });

  it('keeps the shared-resource memo bounded', () => {
    const f = F.fakeFactory();
    const gen = createEnvoyGenerator({ sharedCapacity: 100 });
    for (let i = 0; i < 60; i++) {
      const s = F.svc('ns', `svc-${i}`, 80);
      gen.generate(F.view({ outbound: [F.outbound(s, [F.ep(`10.1.0.${i + 1}`, 80, sid)])] }), F.ctx(f, buyer, F.certificate(String(i))));
    }
    expect(gen.stats().size).toBeLessThanOrEqual(100);
    expect(gen.stats().misses).toBeGreaterThan(100);
  });
});
