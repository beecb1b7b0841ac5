import { TypeUrls } from '@trellis/plugin-sdk';
import type { Identity, InboundPort, MeshServicePort, OutboundService, ProxyView, XdsResource, XdsResourceFactory } from '@trellis/plugin-sdk';
import { describe, expect, it } from 'vitest';
import { createGrpcGenerator } from './generator.ts';
import { SERVER_LISTENER_TEMPLATE, serverListenerName } from './internal/names.ts';

const jsonFactory = (): XdsResourceFactory & { made: number } => {
  const f = {
    made: 0,
    create(typeUrl: string, name: string, value: Record<string, unknown>): XdsResource {
      f.made++;
      const body = new TextEncoder().encode(JSON.stringify(value));
      return { typeUrl, name, version: String(body.length), body, value };
    },
  };
  return f;
};

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const id = (ns: string, sa: string): Identity => ({ namespace: ns, serviceAccount: sa });
const port = (ns: string, name: string, p: number, protocol: MeshServicePort['protocol'] = 'grpc'): MeshServicePort => ({ namespace: ns, name, port: p, targetPort: p + 1000, protocol });
const hostnames = (s: MeshServicePort) => [`${s.name}.${s.namespace}`, `${s.name}.${s.namespace}:${s.port}`, `${s.name}.${s.namespace}.svc.cluster.local:${s.port}`].sort();
const outbound = (s: MeshServicePort, extra: Partial<OutboundService> = {}): OutboundService => ({
  service: s,
  clusterName: `${s.namespace}/${s.name}|${s.targetPort}`,
  hostnames: hostnames(s),
  endpoints: [
    { ip: '10.0.0.2', port: s.targetPort, ready: true, identity: id(s.namespace, s.name) },
    { ip: '10.0.0.1', port: s.targetPort, ready: true, identity: id(s.namespace, s.name) },
    { ip: '10.0.0.1', port: s.targetPort, ready: true, podName: 'dup' },
    { ip: '10.0.0.3', port: s.targetPort, ready: false },
  ],
  identities: [id(s.namespace, s.name)],
  ...extra,
});
const STORE = port('bs', 'bookstore', 14001);
const V2 = port('bs', 'bookstore-v2', 14001);
const view = (extra: Partial<ProxyView> = {}): ProxyView => ({
  identity: id('bs', 'buyer'),
  trustDomain: 'cluster.local',
  permissive: false,
  egress: false,
  outbound: [outbound(STORE), outbound(V2)],
  inbound: [],
  localEndpoints: [],
  ...extra,
});
const byType = (rs: readonly XdsResource[], t: string) => rs.filter((r) => r.typeUrl === t);
const get = (rs: readonly XdsResource[], t: string, name: string): Obj => {
  const r = rs.find((x) => x.typeUrl === t && x.name === name);
  if (!r) throw new Error(`no ${t} ${name}; have ${rs.filter((x) => x.typeUrl === t).map((x) => x.name).join(', ')}`);
  return r.value;
};

describe('client side', () => {
  it('serves an api_listener for every hostname, all pointing at one RDS route config per service port', () => {
    const rs = createGrpcGenerator()(view(), { resources: jsonFactory() });
    const names = byType(rs, TypeUrls.listener).map((r) => r.name).sort();
    expect(names).toEqual([...hostnames(STORE), ...hostnames(V2)].sort());
    const l = get(rs, TypeUrls.listener, 'bookstore.bs.svc.cluster.local:14001');
    const hcm = l.api_listener.api_listener;
    expect(hcm['@type']).toMatch(/HttpConnectionManager$/);
    expect(hcm.rds).toEqual({ config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: 'grpc-outbound|bs/bookstore|14001' });
    expect(hcm.http_filters.map((f: Obj) => f.name)).toEqual(['envoy.filters.http.router']);
    const route = get(rs, TypeUrls.route, 'grpc-outbound|bs/bookstore|14001');
    expect(route.virtual_hosts[0].routes).toEqual([{ name: 'default', match: { prefix: '' }, route: { cluster: 'bs/bookstore|15001' } }]);
  });

  it('gives port-less names of a multi-port service to its lowest port, once', () => {
    const a = port('bs', 'multi', 9000);
    const b = port('bs', 'multi', 8000);
    const rs = createGrpcGenerator()(view({ outbound: [outbound(a), outbound(b)] }), { resources: jsonFactory() });
    const l = get(rs, TypeUrls.listener, 'multi.bs');
    expect(l.api_listener.api_listener.rds.route_config_name).toBe('grpc-outbound|bs/multi|8000');
    expect(byType(rs, TypeUrls.listener).filter((r) => r.name === 'multi.bs')).toHaveLength(1);
  });

  it('skips TCP/UDP ports a gRPC channel cannot dial', () => {
    const t = port('bs', 'db', 5432, 'tcp');
    const rs = createGrpcGenerator()(view({ outbound: [outbound(t)] }), { resources: jsonFactory() });
    expect(rs).toEqual([]);
  });

  it('builds EDS clusters with mTLS from provider instances and an exact SPIFFE SAN per identity', () => {
    const s = outbound(STORE, { identities: [id('bs', 'bookstore'), id('bs', 'bookstore-v1')] });
    const rs = createGrpcGenerator()(view({ outbound: [s] }), { resources: jsonFactory() });
    const c = get(rs, TypeUrls.cluster, 'bs/bookstore|15001');
    expect(c.type).toBe('EDS');
    expect(c.eds_cluster_config).toEqual({ eds_config: { ads: {}, resource_api_version: 'V3' } });
    const tls = c.transport_socket.typed_config;
    expect(tls['@type']).toMatch(/UpstreamTlsContext$/);
    expect(tls.sni).toBe('bookstore.bs.svc.cluster.local');
    expect(tls.common_tls_context.tls_certificate_provider_instance).toEqual({ instance_name: 'default' });
    expect(tls.common_tls_context.combined_validation_context.default_validation_context).toEqual({
      match_subject_alt_names: [{ exact: 'spiffe://cluster.local/ns/bs/sa/bookstore' }, { exact: 'spiffe://cluster.local/ns/bs/sa/bookstore-v1' }],
      ca_certificate_provider_instance: { instance_name: 'default' },
    });
  });

  it('accepts no server certificate for a service without identities (an empty SAN list would accept any)', () => {
    const rs = createGrpcGenerator()(view({ outbound: [outbound(STORE, { identities: [] })] }), { resources: jsonFactory() });
    const sans = get(rs, TypeUrls.cluster, 'bs/bookstore|15001').transport_socket.typed_config.common_tls_context.combined_validation_context.default_validation_context.match_subject_alt_names;
    expect(sans).toHaveLength(1);
    expect(sans[0].exact).not.toMatch(/\/ns\//);
  });

  it('lists ready endpoints once per address', () => {
    const rs = createGrpcGenerator()(view(), { resources: jsonFactory() });
    const cla = get(rs, TypeUrls.endpoint, 'bs/bookstore|15001');
    expect(cla.endpoints).toHaveLength(1);
    expect(cla.endpoints[0].lb_endpoints.map((e: Obj) => e.endpoint.address.socket_address.address)).toEqual(['10.0.0.2', '10.0.0.1']);
    const none = createGrpcGenerator()(view({ outbound: [outbound(STORE, { endpoints: [] })] }), { resources: jsonFactory() });
    expect(get(none, TypeUrls.endpoint, 'bs/bookstore|15001').endpoints).toEqual([]);
  });

  it('turns a TrafficSplit into weighted clusters, dropping zero weights; the root route stays as the default', () => {
    const split = {
      splitName: 'bs/split',
      matches: [],
      backends: [
        { service: STORE, weight: 0, clusterName: 'bs/bookstore|15001' },
        { service: V2, weight: 75, clusterName: 'bs/bookstore-v2|15001' },
      ],
    };
    const rs = createGrpcGenerator()(view({ outbound: [outbound(STORE, { split }), outbound(V2)] }), { resources: jsonFactory() });
    const routes = get(rs, TypeUrls.route, 'grpc-outbound|bs/bookstore|14001').virtual_hosts[0].routes;
    expect(routes[0]).toEqual({ name: 'split:bs/split', match: { prefix: '' }, route: { weighted_clusters: { clusters: [{ name: 'bs/bookstore-v2|15001', weight: { value: 75 } }], total_weight: { value: 75 } } } });
    expect(routes[1].route).toEqual({ cluster: 'bs/bookstore|15001' });
  });

  it('splits only matching requests (v1alpha4), skipping matches no gRPC call (always POST) can meet', () => {
    const split = {
      splitName: 'bs/split',
      backends: [{ service: V2, weight: 1, clusterName: 'bs/bookstore-v2|15001' }],
      matches: [
        { name: 'buy', pathRegex: '/bookstore.Store/Buy', methods: ['*'], headers: [{ name: 'Host', valueRegex: 'x.*' }] },
        { name: 'get-only', pathRegex: '.*', methods: ['GET'], headers: [] },
      ],
    };
    const rs = createGrpcGenerator()(view({ outbound: [outbound(STORE, { split }), outbound(V2)] }), { resources: jsonFactory() });
    const routes = get(rs, TypeUrls.route, 'grpc-outbound|bs/bookstore|14001').virtual_hosts[0].routes;
    expect(routes.map((r: Obj) => r.name)).toEqual(['split:bs/split:buy', 'default']);
    expect(routes[0].match).toEqual({ safe_regex: { regex: '(?:/bookstore.Store/Buy)' }, headers: [{ name: ':authority', safe_regex_match: { regex: '(?:x.*)' } }] });
  });

  it('drops split backends the client has no cluster for, and adds the timeout (as max_stream_duration, which gRPC reads) and gRPC retry policy', () => {
    const split = { splitName: 'bs/s', matches: [], backends: [{ service: V2, weight: 1, clusterName: 'bs/bookstore-v2|15001' }] };
    const s = outbound(STORE, { split, timeoutMs: 1500, retry: { attempts: 2, retryOn: ['unavailable', '5xx'], perTryTimeoutMs: 250 } });
    const rs = createGrpcGenerator()(view({ outbound: [s] }), { resources: jsonFactory() });
    const routes = get(rs, TypeUrls.route, 'grpc-outbound|bs/bookstore|14001').virtual_hosts[0].routes;
    expect(routes).toHaveLength(1);
    expect(routes[0].route).toEqual({
      cluster: 'bs/bookstore|15001',
      max_stream_duration: { max_stream_duration: { seconds: 1, nanos: 500_000_000 } },
      retry_policy: { retry_on: 'unavailable', num_retries: { value: 2 }, per_try_timeout: { seconds: 0, nanos: 250_000_000 } },
    });
  });
});

describe('gRPC generator: traffic policies', () => {
  it('maps Envoy retry conditions to gRPC status names, with the back-off; a policy with nothing mappable gives no retry policy', () => {
    const retry = { attempts: 3, retryOn: ['gateway-error', 'connect-failure', 'deadline-exceeded', 'retriable-4xx'], backoffBaseMs: 50 };
    const rs = createGrpcGenerator()(view({ outbound: [outbound(STORE, { retry })] }), { resources: jsonFactory() });
    const route = get(rs, TypeUrls.route, 'grpc-outbound|bs/bookstore|14001').virtual_hosts[0].routes[0].route;
    expect(route.retry_policy).toEqual({ retry_on: 'deadline-exceeded,unavailable', num_retries: { value: 3 }, retry_back_off: { base_interval: { seconds: 0, nanos: 50_000_000 } } });
    const none = createGrpcGenerator()(view({ outbound: [outbound(STORE, { retry: { attempts: 3, retryOn: ['retriable-4xx'] } })] }), { resources: jsonFactory() });
    expect(get(none, TypeUrls.route, 'grpc-outbound|bs/bookstore|14001').virtual_hosts[0].routes[0].route.retry_policy).toBeUndefined();
  });

  it('puts max_requests (the only threshold gRPC reads) in the DEFAULT circuit breaker; nothing without it', () => {
    const upstream = { policy: 'bs/u', maxRequests: 5, maxConnections: 2 };
    const rs = createGrpcGenerator()(view({ outbound: [outbound(STORE, { upstream })] }), { resources: jsonFactory() });
    expect(get(rs, TypeUrls.cluster, 'bs/bookstore|15001').circuit_breakers).toEqual({ thresholds: [{ priority: 'DEFAULT', max_requests: { value: 5 } }] });
    const plain = createGrpcGenerator()(view({ outbound: [outbound(STORE, { upstream: { policy: 'bs/u', maxConnections: 2 } })] }), { resources: jsonFactory() });
    expect(get(plain, TypeUrls.cluster, 'bs/bookstore|15001').circuit_breakers).toBeUndefined();
  });

  it('sends outlier detection by failure percentage (gRFC A50), success rate off; a no-op for consecutive errors alone', () => {
    const outlierDetection = { consecutive5xx: 3, intervalMs: 1000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 50, failurePercentage: { threshold: 60, minimumHosts: 2, requestVolume: 10 } };
    const rs = createGrpcGenerator()(view({ outbound: [outbound(STORE, { upstream: { policy: 'bs/u', outlierDetection } })] }), { resources: jsonFactory() });
    expect(get(rs, TypeUrls.cluster, 'bs/bookstore|15001').outlier_detection).toEqual({
      interval: { seconds: 1, nanos: 0 },
      base_ejection_time: { seconds: 30, nanos: 0 },
      max_ejection_percent: { value: 50 },
      enforcing_success_rate: { value: 0 },
      enforcing_failure_percentage: { value: 100 },
      failure_percentage_threshold: { value: 60 },
      failure_percentage_minimum_hosts: { value: 2 },
      failure_percentage_request_volume: { value: 10 },
    });
    const consecutive = { policy: 'bs/u', outlierDetection: { consecutive5xx: 3 } };
    const none = createGrpcGenerator()(view({ outbound: [outbound(STORE, { upstream: consecutive })] }), { resources: jsonFactory() });
    expect(get(none, TypeUrls.cluster, 'bs/bookstore|15001').outlier_detection).toEqual({ enforcing_success_rate: { value: 0 } });
  });
});

const inbound = (s: MeshServicePort, extra: Partial<InboundPort> = {}): InboundPort => ({
  service: s,
  localClusterName: `${s.namespace}/${s.name}|${s.targetPort}|local`,
  hostnames: [],
  routes: [],
  tcpPolicies: [],
  ...extra,
});
const serverView = (extra: Partial<ProxyView> = {}): ProxyView =>
  view({
    identity: id('bs', 'bookstore'),
    outbound: [],
    inbound: [inbound(STORE)],
    localEndpoints: [
      { ip: '10.0.0.1', port: 15001, ready: true },
      { ip: 'fd00::1', port: 15001, ready: true },
    ],
    ...extra,
  });
const rbacOf = (l: Obj): Obj => {
  const hcm = l.filter_chains[0].filters[0].typed_config;
  expect(hcm.http_filters.map((f: Obj) => f.name)).toEqual(['envoy.filters.http.rbac', 'envoy.filters.http.router']);
  return hcm.http_filters[0].typed_config.rules;
};

describe('server side', () => {
  it('serves one Listener per local endpoint, named by the template, with the bound address and one plain filter chain', () => {
    const rs = createGrpcGenerator()(serverView(), { resources: jsonFactory() });
    expect(byType(rs, TypeUrls.listener).map((r) => r.name)).toEqual([
      'trellis/grpc-server?listening_address=10.0.0.1:15001',
      'trellis/grpc-server?listening_address=[fd00::1]:15001',
    ]);
    expect(serverListenerName('1.2.3.4', 5)).toBe(SERVER_LISTENER_TEMPLATE.replace('%s', '1.2.3.4:5'));
    const l = get(rs, TypeUrls.listener, serverListenerName('fd00::1', 15001));
    expect(l.address).toEqual({ socket_address: { address: 'fd00::1', port_value: 15001 } });
    expect(l.filter_chains).toHaveLength(1);
    const chain = l.filter_chains[0];
    expect(chain.filter_chain_match).toBeUndefined();
    expect(chain.filters).toHaveLength(1);
    const hcm = chain.filters[0].typed_config;
    expect(hcm.route_config.virtual_hosts[0].routes).toEqual([{ match: { prefix: '' }, non_forwarding_action: {} }]);
    const tls = chain.transport_socket.typed_config;
    expect(tls['@type']).toMatch(/DownstreamTlsContext$/);
    expect(tls.require_client_certificate).toEqual({ value: true });
    expect(tls.common_tls_context).toEqual({
      tls_certificate_provider_instance: { instance_name: 'default' },
      validation_context: { ca_certificate_provider_instance: { instance_name: 'default' } },
    });
  });

  it('denies everything in SMI mode without TrafficTargets (ALLOW with no policy)', () => {
    const rs = createGrpcGenerator()(serverView(), { resources: jsonFactory() });
    expect(rbacOf(get(rs, TypeUrls.listener, serverListenerName('10.0.0.1', 15001)))).toEqual({ action: 'ALLOW', policies: {} });
  });

  it('allows any authenticated peer when permissive', () => {
    const rs = createGrpcGenerator()(serverView({ permissive: true }), { resources: jsonFactory() });
    expect(rbacOf(get(rs, TypeUrls.listener, serverListenerName('10.0.0.1', 15001))).policies).toEqual({
      permissive: { permissions: [{ any: true }], principals: [{ authenticated: {} }] },
    });
  });

  it('turns inbound routes into path/method/header permissions with SPIFFE principals', () => {
    const routes = [
      { match: { name: 'metrics', pathRegex: '/test.Echo/Metrics', methods: ['*'], headers: [] }, principals: [id('bs', 'a'), id('x', 'b')] },
      { match: { name: 'all', pathRegex: '.*', methods: ['GET', 'POST'], headers: [{ name: 'x-user', valueRegex: 'bob' }] }, principals: [id('bs', 'c')] },
      { match: { name: '*', pathRegex: '.*', methods: ['*'], headers: [] }, principals: [] },
    ];
    const rs = createGrpcGenerator()(serverView({ inbound: [inbound(STORE, { routes }), inbound(port('bs', 'other', 1))] }), { resources: jsonFactory() });
    const policies = rbacOf(get(rs, TypeUrls.listener, serverListenerName('10.0.0.1', 15001))).policies;
    expect(Object.keys(policies)).toEqual(['bs/bookstore|14001|route-0:metrics', 'bs/bookstore|14001|route-1:all', 'bs/bookstore|14001|route-2:*']);
    expect(policies['bs/bookstore|14001|route-0:metrics']).toEqual({
      permissions: [{ url_path: { path: { safe_regex: { regex: '(?:/test.Echo/Metrics)' } } } }],
      principals: [
        { authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/bs/sa/a' } } },
        { authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/x/sa/b' } } },
      ],
    });
    expect(policies['bs/bookstore|14001|route-1:all'].permissions).toEqual([
      {
        and_rules: {
          rules: [
            { or_rules: { rules: [{ header: { name: ':method', exact_match: 'GET' } }, { header: { name: ':method', exact_match: 'POST' } }] } },
            { header: { name: 'x-user', safe_regex_match: { regex: '(?:bob)' } } },
          ],
        },
      },
    ]);
    expect(policies['bs/bookstore|14001|route-2:*']).toEqual({ permissions: [{ any: true }], principals: [{ not_id: { any: true } }] });
  });

  it('uses TCP policies (port-filtered) for a TCP-protocol port', () => {
    const db = { ...port('bs', 'db', 5432, 'tcp'), targetPort: 15001 };
    const tcpPolicies = [
      { name: 'bs/any', principals: [id('bs', 'a')], ports: 'any' as const },
      { name: 'bs/other-port', principals: [id('bs', 'b')], ports: [1] },
      { name: 'bs/this-port', principals: [id('bs', 'c')], ports: [15001] },
    ];
    const rs = createGrpcGenerator()(serverView({ inbound: [inbound(db, { tcpPolicies })] }), { resources: jsonFactory() });
    expect(Object.keys(rbacOf(get(rs, TypeUrls.listener, serverListenerName('10.0.0.1', 15001))).policies)).toEqual(['bs/db|5432|tcp:bs/any', 'bs/db|5432|tcp:bs/this-port']);
  });
});

describe('determinism and sharing', () => {
  it('gives equal resources for equal views and shares the objects across proxies', () => {
    const f = jsonFactory();
    const gen = createGrpcGenerator();
    const a = gen(view(), { resources: f });
    const made = f.made;
    const b = gen(view({ identity: id('bs', 'other') }), { resources: f });
    expect(f.made).toBe(made);
    expect(b).toHaveLength(a.length);
    b.forEach((r, i) => expect(r).toBe(a[i]));
    expect(createGrpcGenerator()(view(), { resources: jsonFactory() }).map((r) => [r.name, r.body])).toEqual(a.map((r) => [r.name, r.body]));
  });

  it('rebuilds exactly what an input change touches and reuses the rest', () => {
    const f = jsonFactory();
    const gen = createGrpcGenerator();
    const a = gen(view(), { resources: f });
    const moved = outbound(STORE, { endpoints: [{ ip: '10.9.9.9', port: 15001, ready: true }] });
    const b = gen(view({ outbound: [moved, outbound(V2)] }), { resources: f });
    const pick = (rs: readonly XdsResource[], t: string, n: string) => rs.find((r) => r.typeUrl === t && r.name === n);
    expect(pick(b, TypeUrls.endpoint, 'bs/bookstore|15001')).not.toBe(pick(a, TypeUrls.endpoint, 'bs/bookstore|15001'));
    expect((pick(b, TypeUrls.endpoint, 'bs/bookstore|15001')?.value as Obj).endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address).toBe('10.9.9.9');
    expect(pick(b, TypeUrls.cluster, 'bs/bookstore|15001')).toBe(pick(a, TypeUrls.cluster, 'bs/bookstore|15001'));
    expect(pick(b, TypeUrls.route, 'grpc-outbound|bs/bookstore|14001')).toBe(pick(a, TypeUrls.route, 'grpc-outbound|bs/bookstore|14001'));
    const c = gen(view({ outbound: [outbound(STORE, { identities: [id('bs', 'other')] }), outbound(V2)] }), { resources: f });
    expect(JSON.stringify(pick(c, TypeUrls.cluster, 'bs/bookstore|15001')?.value)).toContain('/sa/other');
    const d = gen(view({ trustDomain: 'example.org' }), { resources: f });
    expect(JSON.stringify(pick(d, TypeUrls.cluster, 'bs/bookstore|15001')?.value)).toContain('spiffe://example.org/');
  });

  it('keeps the memo bounded', () => {
    const f = jsonFactory();
    const gen = createGrpcGenerator({ memoSize: 2 });
    gen(view(), { resources: f });
    const made = f.made;
    gen(view(), { resources: f });
    expect(f.made).toBeGreaterThan(made); // evicted, so re-created
  });
});
