import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { Catalog, MeshStore, validateEnvoyResource, xds } from '@trellis/core';
import { TypeUrls } from '@trellis/plugin-sdk';
import type { KubeObject, XdsResource } from '@trellis/plugin-sdk';
import { MemoryBus, MemoryLogger, MemoryMetrics } from '@trellis/plugin-sdk/testing';
import { routeGroup, sa, target, tcpRoute, workload } from '@trellis/plugin-sdk/testing/objects';
import { createEnvoyGenerator } from '@trellis/plugin-proxy-envoy';
import { placeholderCertificate } from '../support/placeholder-cert.ts';

/**
 * OSM's traffic policy kinds, in OSM's group and documented shapes (test/data/osm-policies), through the
 * store, the catalog and the Envoy backend: the generated resources are strictly valid and carry what OSM put
 * in the same place for the same input (OSM docs' config dumps of the retry and circuit-breaking demos).
 */

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const fixture = (name: string): KubeObject[] =>
  parseAllDocuments(readFileSync(fileURLToPath(new URL(`../data/osm-policies/${name}`, import.meta.url)), 'utf8')).map((d) => d.toJS() as KubeObject);

const CURL = { namespace: 'curl', serviceAccount: 'curl' };
const HTTPBIN_CLUSTER = 'httpbin/httpbin|14001';

function mesh(policies: KubeObject[], who = CURL): { store: MeshStore; generate: () => XdsResource[] } {
  const store = new MeshStore({ bus: new MemoryBus(), logger: new MemoryLogger(), metrics: new MemoryMetrics() });
  const sink = store.sinkFor('test');
  for (const o of [
    ...workload('curl', 'curl', '10.0.0.1'),
    ...workload('httpbin', 'httpbin', '10.0.0.2', 14001),
    ...workload('ingress-nginx', 'ingress-nginx-controller', '10.0.0.9', 80),
    sa('curl', 'other'),
    tcpRoute('httpbin', 'all', []),
    target('httpbin', 'curl-to-httpbin', 'httpbin', [['curl', 'curl'], ['curl', 'other']], [{ kind: 'TCPRoute', name: 'all' }]),
    ...policies,
  ])
    sink.apply(o);
  const catalog = new Catalog(store);
  return {
    store,
    generate: () =>
      createEnvoyGenerator().generate(catalog.viewFor(who), {
        node: { uuid: 'u', kind: 'sidecar', trustDomain: 'cluster.local', ...who },
        resources: xds.createResourceFactory({ strict: true }),
        certificate: placeholderCertificate,
      }),
  };
}

/**
 * A resource in the protobuf JSON form OSM's config dumps show: wrappers as their value, Durations as "1.5s".
 * (Only these two well-known types occur in the fields compared here.)
 */
function protoJson(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(protoJson);
  if (typeof v !== 'object' || v === null) return v;
  const keys = Object.keys(v);
  const o = v as Obj;
  if (keys.length === 1 && keys[0] === 'value') return o.value;
  if (keys.length > 0 && keys.every((k) => k === 'seconds' || k === 'nanos')) {
    const s = Number(o.seconds ?? 0) + Number(o.nanos ?? 0) / 1e9;
    return `${String(s)}s`;
  }
  if (keys.length === 2 && keys.includes('type_url') && keys.includes('value')) return v;
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, protoJson(x)]));
}
const json = (r: XdsResource): Obj => protoJson(r.value) as Obj;
const find = (rs: XdsResource[], typeUrl: string, name: string): XdsResource => {
  const r = rs.find((x) => x.typeUrl === typeUrl && x.name === name);
  if (!r) throw new Error(`no ${typeUrl} ${name} in ${rs.map((x) => x.name).join(', ')}`);
  return r;
};
const problems = (rs: XdsResource[]): string[] => rs.flatMap((r) => validateEnvoyResource(r.typeUrl, r.value).map((p) => `${r.name}: ${p}`));

describe('OSM traffic policies through the Envoy backend', () => {
  it('Retry: every route to the destination gets the retry policy OSM generated (JSON form as in OSM docs)', () => {
    const { store, generate } = mesh(fixture('retry.yaml'));
    expect(store.policyStatuses().find((p) => p.kind === 'Retry')).toMatchObject({ status: 'accepted', namespace: 'curl', name: 'retry' });
    const rs = generate();
    expect(problems(rs)).toEqual([]);
    const rc = json(find(rs, TypeUrls.route, 'rds-outbound.14001'));
    const routes = rc.virtual_hosts.flatMap((vh: Obj) => vh.routes) as Obj[];
    expect(routes.length).toBeGreaterThan(0);
    // OSM's dump of the retry demo: "retry_policy": {"retry_on": "5xx", "num_retries": 5, "per_try_timeout": "1s", "retry_back_off": {"base_interval": "1s"}}
    for (const r of routes) expect(r.route.retry_policy).toEqual({ retry_on: '5xx', num_retries: 5, per_try_timeout: '1s', retry_back_off: { base_interval: '1s' } });
  });

  it('Retry: another source identity gets no retry policy', () => {
    const retry = fixture('retry.yaml')[0] as KubeObject & { spec: Obj };
    const other: KubeObject = { ...retry, spec: { ...retry.spec, source: { kind: 'ServiceAccount', name: 'other', namespace: 'curl' } } };
    const rs = mesh([other]).generate();
    const routes = json(find(rs, TypeUrls.route, 'rds-outbound.14001')).virtual_hosts.flatMap((vh: Obj) => vh.routes) as Obj[];
    expect(routes.length).toBeGreaterThan(0);
    for (const r of routes) expect(r.route.retry_policy).toBeUndefined();
  });

  it('UpstreamTrafficSetting: circuit breaker thresholds and max requests per connection as OSM set them', () => {
    const rs = mesh(fixture('circuit-breaking.yaml')).generate();
    expect(problems(rs)).toEqual([]);
    const c = json(find(rs, TypeUrls.cluster, HTTPBIN_CLUSTER));
    // OSM's dump of the circuit-breaking demo: unlimited (4294967295) except what the setting limits, track_remaining.
    expect(c.circuit_breakers).toEqual({
      thresholds: [{ max_connections: 1, max_pending_requests: 1, max_requests: 4294967295, max_retries: 4294967295, track_remaining: true }],
    });
    const opts = c.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
    expect(opts.common_http_protocol_options).toEqual({ max_requests_per_connection: 1 });
    expect(opts.use_downstream_protocol_config).toBeDefined();
  });

  it('UpstreamTrafficSetting (Trellis fields): connect timeout, outlier detection, request timeout on the routes', () => {
    const uts: KubeObject = {
      apiVersion: 'policy.trellis.io/v1alpha1',
      kind: 'UpstreamTrafficSetting',
      metadata: { name: 'httpbin', namespace: 'httpbin' },
      spec: {
        host: 'httpbin.httpbin.svc.cluster.local',
        connectionSettings: { tcp: { connectTimeout: '250ms' }, http: { maxRequests: 7, requestTimeout: '1m30s' } },
        outlierDetection: { consecutive5xxErrors: 3, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 50 },
      },
    };
    const rs = mesh([uts]).generate();
    expect(problems(rs)).toEqual([]);
    const c = json(find(rs, TypeUrls.cluster, HTTPBIN_CLUSTER));
    expect(c.connect_timeout).toBe('0.25s');
    expect(c.circuit_breakers.thresholds[0]).toMatchObject({ max_requests: 7, max_connections: 4294967295 });
    expect(c.outlier_detection).toEqual({ consecutive_5xx: 3, interval: '10s', base_ejection_time: '30s', max_ejection_percent: 50, enforcing_success_rate: 0 });
    const routes = json(find(rs, TypeUrls.route, 'rds-outbound.14001')).virtual_hosts.flatMap((vh: Obj) => vh.routes) as Obj[];
    for (const r of routes) expect(r.route.timeout).toBe('90s');
  });

  it('UpstreamTrafficSetting local rate limits (OSM manifest): enforced on the destination, in the shape OSM generated', () => {
    const HTTPBIN_ID = { namespace: 'httpbin', serviceAccount: 'httpbin' };
    const headers = routeGroup('httpbin', 'headers', [{ name: 'headers', pathRegex: '/headers', methods: ['GET'] }]);
    const tt = target('httpbin', 'curl-headers', 'httpbin', [['curl', 'curl']], [{ kind: 'HTTPRouteGroup', name: 'headers', matches: ['headers'] }]);
    const { store, generate } = mesh([...fixture('rate-limit.yaml'), headers, tt], HTTPBIN_ID);
    const st = store.policyStatuses().find((p) => p.kind === 'UpstreamTrafficSetting');
    expect(st?.status).toBe('accepted');
    expect(st?.reason ?? '').not.toMatch(/not enforced/);
    const rs = generate();
    expect(problems(rs)).toEqual([]);
    const chain = (json(find(rs, TypeUrls.listener, 'inbound-listener')).filter_chains as Obj[]).find((c) => c.name === 'inbound_httpbin/httpbin_14001_http');
    const names = (chain?.filters as Obj[]).map((f) => f.name);
    // OSM's filter order: network RBAC, then the local rate limit, then the HCM.
    expect(names).toEqual(['envoy.filters.network.rbac', 'l4_local_rate_limit', 'envoy.filters.network.http_connection_manager']);
    // OSM: TokenBucket{MaxTokens: connections + burst, TokensPerFill: connections, FillInterval: unit}, stat prefix = the chain's name.
    expect(chain?.filters[1].typed_config).toEqual({
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit',
      stat_prefix: 'inbound_httpbin/httpbin_14001_http',
      token_bucket: { max_tokens: 3, tokens_per_fill: 1, fill_interval: '60s' },
    });
    // The HCM carries the filter with no bucket (OSM's default filter); the vhost and routes enable it.
    const httpFilters = chain?.filters[2].typed_config.http_filters as Obj[];
    expect(httpFilters.map((f) => f.name)).toEqual(['envoy.filters.http.rbac', 'envoy.filters.http.local_ratelimit', 'envoy.filters.http.router']);
    expect(httpFilters[1]?.typed_config).toEqual({ '@type': 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit', stat_prefix: 'mesh-http-conn-manager.rds-inbound.14001' });
    const full = { default_value: { numerator: 100, denominator: 'HUNDRED' } };
    const rc = json(find(rs, TypeUrls.route, 'rds-inbound.14001'));
    const vh = rc.virtual_hosts[0] as Obj;
    expect(vh.typed_per_filter_config['envoy.filters.http.local_ratelimit']).toEqual({
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
      stat_prefix: 'http_local_rate_limiter',
      token_bucket: { max_tokens: 3, tokens_per_fill: 3, fill_interval: '60s' },
      filter_enabled: full,
      filter_enforced: full,
    });
    const byPath = (p: string): Obj[] => (vh.routes as Obj[]).filter((r) => r.match.safe_regex.regex === p);
    expect(byPath('/headers')).toHaveLength(1);
    expect(byPath('/headers')[0]?.typed_per_filter_config['envoy.filters.http.local_ratelimit']).toEqual({
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
      stat_prefix: 'http_local_rate_limiter',
      token_bucket: { max_tokens: 1, tokens_per_fill: 1, fill_interval: '1s' },
      filter_enabled: full,
      filter_enforced: full,
      response_headers_to_add: [{ header: { key: 'x-rate-limited', value: 'true' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
      status: { code: 503 },
    });
    // Other routes (the TCPRoute's wildcard) have only their RBAC: the vhost's limit covers them.
    const others = (vh.routes as Obj[]).filter((r) => r.match.safe_regex.regex !== '/headers');
    expect(others.length).toBeGreaterThan(0);
    for (const r of others) expect(Object.keys(r.typed_per_filter_config)).toEqual(['envoy.filters.http.rbac']);
  });

  it('UpstreamTrafficSetting failurePercentage: Envoy failure-percentage ejection; consecutive 5xx off unless asked for', () => {
    const uts: KubeObject = {
      apiVersion: 'policy.trellis.io/v1alpha1',
      kind: 'UpstreamTrafficSetting',
      metadata: { name: 'httpbin', namespace: 'httpbin' },
      spec: { host: 'httpbin', outlierDetection: { interval: '1s', failurePercentage: { threshold: 50, minimumHosts: 2, requestVolume: 4 } } },
    };
    const rs = mesh([uts]).generate();
    expect(problems(rs)).toEqual([]);
    expect(json(find(rs, TypeUrls.cluster, HTTPBIN_CLUSTER)).outlier_detection).toEqual({
      interval: '1s',
      enforcing_success_rate: 0,
      enforcing_consecutive_5xx: 0,
      enforcing_failure_percentage: 100,
      failure_percentage_threshold: 50,
      failure_percentage_minimum_hosts: 2,
      failure_percentage_request_volume: 4,
    });
  });

  it('local rate limits stay on the destination: the client keeps unlimited clusters and no rate limit filter', () => {
    const rs = mesh(fixture('rate-limit.yaml')).generate();
    expect(problems(rs)).toEqual([]);
    expect(json(find(rs, TypeUrls.cluster, HTTPBIN_CLUSTER)).circuit_breakers.thresholds[0].max_connections).toBe(4294967295);
    expect(JSON.stringify(rs.map((r) => r.value))).not.toMatch(/local_ratelimit|l4_local_rate_limit/);
  });

  it('global rate limits are accepted and reported as not enforced', () => {
    const uts = fixture('rate-limit.yaml')[0] as KubeObject & { spec: Obj };
    const global: KubeObject = { ...uts, spec: { ...uts.spec, rateLimit: { global: { tcp: { rateLimitService: { host: 'rls.rls', port: 8081 }, domain: 'd', descriptors: [] } } } } };
    const { store } = mesh([global]);
    expect(store.policyStatuses().find((p) => p.kind === 'UpstreamTrafficSetting')?.reason).toMatch(/spec\.rateLimit\.global: global rate limits are not enforced/);
  });

  const HTTPBIN = { namespace: 'httpbin', serviceAccount: 'httpbin' };
  const inboundChains = (rs: XdsResource[]): Obj[] => json(find(rs, TypeUrls.listener, 'inbound-listener')).filter_chains as Obj[];

  it('IngressBackend (http): a plaintext chain from the source Service endpoints to the local cluster, as OSM', () => {
    const { store, generate } = mesh(fixture('ingress-http.yaml'), HTTPBIN);
    expect(store.policyStatuses().find((p) => p.kind === 'IngressBackend')?.status).toBe('accepted');
    const rs = generate();
    expect(problems(rs)).toEqual([]);
    const chain = inboundChains(rs).find((c) => c.name === 'ingress_httpbin/httpbin_14001_http');
    // OSM: FilterChainMatch{DestinationPort: backend port, SourcePrefixRanges: the source service's endpoints /32}, HCM on the ingress route config.
    expect(chain?.filter_chain_match).toEqual({ destination_port: 14001, source_prefix_ranges: [{ address_prefix: '10.0.0.9', prefix_len: 32 }], transport_protocol: 'raw_buffer' });
    expect(chain?.transport_socket).toBeUndefined();
    expect(chain?.filters[0].typed_config.rds.route_config_name).toBe('rds-ingress.14001');
    const rc = json(find(rs, TypeUrls.route, 'rds-ingress.14001'));
    expect(rc.virtual_hosts).toHaveLength(1);
    expect(rc.virtual_hosts[0].domains).toEqual(['*']);
    const route = rc.virtual_hosts[0].routes[0];
    expect(route.route.cluster).toBe('httpbin/httpbin|14001|local');
    expect(route.typed_per_filter_config['envoy.filters.http.rbac'].rbac.rules.policies['rbac-for-route'].principals).toEqual([{ any: true }]);
    // The mesh chain is still there, and the client-side proxies are untouched.
    expect(inboundChains(rs).some((c) => c.name !== chain?.name && c.filter_chain_match.transport_protocol === 'tls')).toBe(true);
  });

  it('IngressBackend (https): TLS terminated with the workload certificate, client certificate required, principals and SNI enforced', () => {
    const rs = mesh(fixture('ingress-https.yaml'), HTTPBIN).generate();
    expect(problems(rs)).toEqual([]);
    const chain = inboundChains(rs).find((c) => c.name === 'ingress_httpbin/httpbin_14001_https');
    expect(chain?.filter_chain_match).toEqual({
      destination_port: 14001,
      source_prefix_ranges: [{ address_prefix: '10.0.0.9', prefix_len: 32 }, { address_prefix: '10.1.0.0', prefix_len: 16 }],
      transport_protocol: 'tls',
      server_names: ['httpbin.httpbin.svc.cluster.local'],
    });
    const tls = chain?.transport_socket.typed_config;
    expect(tls.require_client_certificate).toBe(true);
    expect(tls.common_tls_context.tls_certificate_sds_secret_configs[0].name).toBe('service-cert');
    expect(tls.common_tls_context.validation_context_sds_secret_config.name).toBe('root-cert-for-mtls-inbound');
    const route = json(find(rs, TypeUrls.route, 'rds-ingress.14001')).virtual_hosts[0].routes[0];
    expect(route.typed_per_filter_config['envoy.filters.http.rbac'].rbac.rules.policies['rbac-for-route'].principals).toEqual([
      { or_ids: { ids: [{ authenticated: { principal_name: { exact: 'ingress-nginx.ingress-nginx.cluster.local' } } }] } },
    ]);
  });

  it('IngressBackend (https, skipClientCertValidation): no client certificate asked, any principal', () => {
    const [ib] = fixture('ingress-https.yaml') as (KubeObject & { spec: Obj })[];
    const skip: KubeObject = { ...ib!, spec: { ...ib!.spec, backends: [{ name: 'httpbin', port: { number: 14001, protocol: 'https' }, tls: { skipClientCertValidation: true } }] } };
    const rs = mesh([skip], HTTPBIN).generate();
    expect(problems(rs)).toEqual([]);
    const chain = inboundChains(rs).find((c) => c.name === 'ingress_httpbin/httpbin_14001_https');
    expect(chain?.transport_socket.typed_config.require_client_certificate).toBe(false);
    expect(chain?.transport_socket.typed_config.common_tls_context.validation_context_sds_secret_config).toBeUndefined();
    expect(chain?.filter_chain_match.server_names).toBeUndefined();
    const route = json(find(rs, TypeUrls.route, 'rds-ingress.14001')).virtual_hosts[0].routes[0];
    expect(route.typed_per_filter_config['envoy.filters.http.rbac'].rbac.rules.policies['rbac-for-route'].principals).toEqual([{ any: true }]);
  });

  it('Egress: HTTP by Host to a STRICT_DNS cluster, HTTPS by SNI and TCP by range to ORIGINAL_DST, in the shape of OSM curl_egress.json', () => {
    const { store, generate } = mesh(fixture('egress.yaml'));
    expect(store.policyStatuses().filter((p) => p.kind === 'Egress').map((p) => p.status)).toEqual(['accepted', 'accepted', 'accepted']);
    const rs = generate();
    expect(problems(rs)).toEqual([]);
    const listener = json(find(rs, TypeUrls.listener, 'outbound-listener'));
    const chains = Object.fromEntries((listener.filter_chains as Obj[]).map((c) => [c.name, c]));
    // curl_egress.json: "egress-http.80" {destination_port: 80, ...} -> rds-egress.80; "egress-https.443" {destination_port: 443, server_names: ["httpbin.org"]} -> tcp_proxy "443".
    expect(chains['egress-http.80'].filter_chain_match).toEqual({ destination_port: 80 });
    expect(chains['egress-http.80'].filters[0].typed_config.rds.route_config_name).toBe('rds-egress.80');
    expect(chains['egress-https.443'].filter_chain_match).toEqual({ destination_port: 443, server_names: ['httpbin.org'] });
    expect(chains['egress-https.443'].filters[0].typed_config.cluster).toBe('443');
    expect(chains['egress-tcp.5432'].filter_chain_match).toEqual({ destination_port: 5432, prefix_ranges: [{ address_prefix: '203.0.113.0', prefix_len: 24 }] });
    expect(listener.listener_filters.map((f: Obj) => f.name)).toEqual(['envoy.filters.listener.original_dst', 'envoy.filters.listener.tls_inspector']);
    // The mesh chain and the passthrough default stay.
    expect(chains['outbound_httpbin/httpbin_14001_http']).toBeDefined();
    expect(listener.default_filter_chain.name).toBe('outbound-egress-filter-chain');
    const rc = json(find(rs, TypeUrls.route, 'rds-egress.80'));
    expect(rc.virtual_hosts).toHaveLength(1);
    expect(rc.virtual_hosts[0]).toMatchObject({ name: 'egress_virtual-host|httpbin.org', domains: ['httpbin.org', 'httpbin.org:80'] });
    expect(rc.virtual_hosts[0].routes[0].route).toEqual({ weighted_clusters: { clusters: [{ name: 'httpbin.org:80', weight: 100 }], total_weight: 100 }, timeout: '0s' });
    const dns = json(find(rs, TypeUrls.cluster, 'httpbin.org:80'));
    expect(dns).toMatchObject({ type: 'STRICT_DNS', load_assignment: { cluster_name: 'httpbin.org:80', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'httpbin.org', port_value: 80 } } }, load_balancing_weight: 100 }] }] } });
    expect(json(find(rs, TypeUrls.cluster, '443'))).toMatchObject({ type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED' });
    expect(json(find(rs, TypeUrls.cluster, '5432'))).toMatchObject({ type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED' });
    // Another identity gets none of it.
    const other = mesh(fixture('egress.yaml'), { namespace: 'curl', serviceAccount: 'other' }).generate();
    expect(other.some((r) => r.name === 'rds-egress.80' || r.name === 'httpbin.org:80')).toBe(false);
  });

  it('Egress with HTTPRouteGroup matches: only the matching requests get a route; a wildcard host goes to the original destination', () => {
    const egress: KubeObject = {
      apiVersion: 'policy.trellis.io/v1alpha1',
      kind: 'Egress',
      metadata: { name: 'api', namespace: 'curl' },
      spec: {
        sources: [{ kind: 'ServiceAccount', name: 'curl' }],
        hosts: ['*.example.com'],
        ports: [{ number: 8080, protocol: 'http' }],
        matches: [{ apiGroup: 'specs.smi-spec.io/v1alpha4', kind: 'HTTPRouteGroup', name: 'get-only' }],
      },
    };
    const group: KubeObject = { apiVersion: 'specs.smi-spec.io/v1alpha4', kind: 'HTTPRouteGroup', metadata: { name: 'get-only', namespace: 'curl' }, spec: { matches: [{ name: 'get', pathRegex: '/api/.*', methods: ['GET'] }] } };
    const rs = mesh([egress, group]).generate();
    expect(problems(rs)).toEqual([]);
    const vh = json(find(rs, TypeUrls.route, 'rds-egress.8080')).virtual_hosts[0];
    expect(vh.domains).toEqual(['*.example.com', '*.example.com:8080']);
    expect(vh.routes.map((r: Obj) => r.match)).toEqual([{ safe_regex: { regex: '/api/.*' }, headers: [{ name: ':method', string_match: { exact: 'GET' } }] }]);
    expect(vh.routes[0].route.weighted_clusters.clusters[0].name).toBe('8080');
    expect(json(find(rs, TypeUrls.cluster, '8080')).type).toBe('ORIGINAL_DST');
  });
});
