/**
 * Client side of a proxyless node: one api_listener per name a client may dial (`xds:///<name>`), an RDS
 * RouteConfiguration per service port (shared by its listeners), EDS clusters with mTLS, and endpoints.
 */
import { ExtensionTypeUrls, TypeUrls, serviceFqdn, serviceSni, typedConfig } from '@trellis/plugin-sdk';
import type {
  Cluster,
  ClusterLoadAssignment,
  HttpMatch,
  LbEndpoint,
  Listener,
  OutboundService,
  Protocol,
  ProxyView,
  Route,
  RouteAction,
  RouteConfiguration,
  RouteMatch,
  XdsResource,
} from '@trellis/plugin-sdk';
import { gammaGrpcRoutes } from './gamma.ts';
import type { Emit } from './memo.ts';
import { outboundRouteName } from './names.ts';
import { circuitBreakers, outlierDetection, routeExtras } from './policies.ts';
import { upstreamTls } from './tls.ts';
import { routerFilter } from './types.ts';

/** Protocols a gRPC channel can speak (HTTP/2 underneath); TCP/UDP ports are not dialable over xDS. */
const DIALABLE: ReadonlySet<Protocol> = new Set<Protocol>(['grpc', 'http2', 'http']);

export function clientResources(view: ProxyView, emit: Emit): XdsResource[] {
  const dialable = view.outbound.filter((o) => DIALABLE.has(o.service.protocol));
  const byCluster = new Map(dialable.map((o) => [o.clusterName, o]));
  const out: XdsResource[] = [];
  // A port-less name (`svc.ns`) could mean any port of a multi-port service: the lowest port gets it.
  const ordered = [...dialable].sort((a, b) => a.service.port - b.service.port || a.clusterName.localeCompare(b.clusterName));
  const listenerNames = new Set<string>();
  for (const o of ordered) {
    const routeName = outboundRouteName(o.service);
    for (const host of o.hostnames) {
      if (listenerNames.has(host)) continue;
      listenerNames.add(host);
      out.push(emit(routeName, TypeUrls.listener, host, () => apiListener(host, routeName)));
    }
    const present = (o.split?.backends ?? []).filter((b) => byCluster.has(b.clusterName)).map((b) => b.clusterName);
    const gammaClusters = (o.gamma?.routes ?? []).flatMap((r) => r.backends.map((b) => [b.clusterName, byCluster.has(b.clusterName)]));
    const routeKey = JSON.stringify([o.service, o.clusterName, o.split ?? null, o.retry ?? null, o.timeoutMs ?? null, present, o.gamma ?? null, gammaClusters]);
    out.push(emit(routeKey, TypeUrls.route, routeName, () => routeConfig(routeName, o, byCluster)));
  }
  const clusters = new Map<string, OutboundService>();
  for (const o of dialable) if (!clusters.has(o.clusterName)) clusters.set(o.clusterName, o);
  for (const [name, o] of [...clusters.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    out.push(emit(JSON.stringify([view.trustDomain, o.service, o.identities, o.upstream?.maxRequests ?? null, o.upstream?.outlierDetection?.failurePercentage ? o.upstream.outlierDetection : null]), TypeUrls.cluster, name, () => cluster(name, o, view.trustDomain)));
    out.push(emit(JSON.stringify(o.endpoints), TypeUrls.endpoint, name, () => loadAssignment(name, o)));
  }
  return out;
}

function apiListener(name: string, routeName: string): Listener {
  return {
    name,
    api_listener: {
      api_listener: typedConfig(ExtensionTypeUrls.httpConnectionManager, {
        stat_prefix: name,
        rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: routeName },
        http_filters: [routerFilter],
      }),
    },
  };
}

function routeConfig(name: string, o: OutboundService, byCluster: ReadonlyMap<string, OutboundService>): RouteConfiguration {
  // GAMMA routes replace the split and the default route: a call no route matches fails, as the spec's 404.
  if (o.gamma) return { name, virtual_hosts: [{ name: `outbound_virtual-host|${serviceFqdn(o.service)}`, domains: ['*'], routes: gammaGrpcRoutes(o, new Set(byCluster.keys())) }] };
  const extras = routeExtras(o);
  const routes: Route[] = [];
  const backends = (o.split?.backends ?? []).filter((b) => b.weight > 0 && byCluster.has(b.clusterName));
  if (o.split && backends.length > 0) {
    // total_weight: deprecated in Envoy, but gRPC C-core 1.51 NACKs a split whose weights do not add up to it (default 100).
    const total = backends.reduce((n, b) => n + b.weight, 0);
    const weighted: RouteAction = { weighted_clusters: { clusters: backends.map((b) => ({ name: b.clusterName, weight: { value: b.weight } })), total_weight: { value: total } }, ...extras };
    if (o.split.matches.length === 0) routes.push({ name: `split:${o.split.splitName}`, match: { prefix: '' }, route: weighted });
    else
      for (const m of o.split.matches) {
        const match = routeMatch(m);
        if (match) routes.push({ name: `split:${o.split.splitName}:${m.name}`, match, route: weighted });
      }
  }
  routes.push({ name: 'default', match: { prefix: '' }, route: { cluster: o.clusterName, ...extras } });
  return {
    name,
    virtual_hosts: [{ name: `outbound_virtual-host|${serviceFqdn(o.service)}`, domains: ['*'], routes }],
  };
}

/**
 * An SMI match as a gRPC route match, or undefined when no gRPC call can match it: every gRPC call is a POST,
 * so a match restricted to other methods never applies. The path regex is whole-path (gRPC and Envoy
 * `safe_regex` semantics), as the catalog defines it.
 */
export function routeMatch(m: HttpMatch): RouteMatch | undefined {
  if (!m.methods.includes('*') && !m.methods.includes('POST')) return undefined;
  // The older `safe_regex_match`: gRPC C-core 1.51 NACKs `string_match` in route header matchers.
  const headers = m.headers.map((h) => ({ name: headerName(h.name), safe_regex_match: { regex: wholeRegex(h.valueRegex) } }));
  return { safe_regex: { regex: wholeRegex(m.pathRegex) }, ...(headers.length > 0 && { headers }) };
}

/**
 * A pattern grouped so that it is matched whole: grpc-js-xds compiles `^<regex>$` without a group, which would
 * read `/a|/b` as "starts with /a or ends with /b". RE2 full-match semantics are unchanged by the group (the
 * store refuses an unterminated `\Q`, which would swallow the closing parenthesis).
 */
export function wholeRegex(regex: string): string {
  return `(?:${regex})`;
}

/** OSM's convention: the HTTP/1 `host` header is the HTTP/2 `:authority` pseudo-header. */
export function headerName(name: string): string {
  return name.toLowerCase() === 'host' ? ':authority' : name.toLowerCase();
}

function cluster(name: string, o: OutboundService, trustDomain: string): Cluster {
  return {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
    lb_policy: 'ROUND_ROBIN',
    transport_socket: upstreamTls(o.identities, trustDomain, serviceSni(o.service)),
    ...circuitBreakers(o),
    ...outlierDetection(o),
  };
}

/** Ready endpoints, deduplicated by address (grpc-js rejects duplicate addresses), in one locality. */
function loadAssignment(name: string, o: OutboundService): ClusterLoadAssignment {
  const seen = new Set<string>();
  const lb: LbEndpoint[] = [];
  for (const e of o.endpoints) {
    const key = `${e.ip}|${e.port}`;
    if (!e.ready || seen.has(key)) continue;
    seen.add(key);
    lb.push({ endpoint: { address: { socket_address: { address: e.ip, port_value: e.port } } }, health_status: 'HEALTHY' });
  }
  return {
    cluster_name: name,
    endpoints: lb.length > 0 ? [{ locality: {}, lb_endpoints: lb, load_balancing_weight: { value: 1 } }] : [],
  };
}
