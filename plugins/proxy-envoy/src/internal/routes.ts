import type { HttpMatch, InboundPort, OutboundService, Route, RouteAction, RouteConfiguration, RouteMatch, SplitPolicy, VirtualHost, WeightedCluster } from '@trellis/plugin-sdk';
import { inboundVirtualHostName, outboundVirtualHostName, rdsInboundName, rdsOutboundName } from '../names.ts';
import { byString, durationOfMs } from './common.ts';

/** A route's action part (what follows its match). */
type RouteTarget = Pick<Route, 'route' | 'direct_response'>;
import { routeRbac } from './rbac.ts';
import { routeRetryPolicy } from './retry.ts';
import { routeRateLimit, vhostRateLimit } from './ratelimit.ts';

/** SMI matches a path regex against the whole path; an empty regex means any path. */
const pathRegex = (m: HttpMatch): string => (m.pathRegex === '' ? '.*' : m.pathRegex);

/** One RouteMatch per method (OSM's shape): RE2 path, `:method` exact (omitted for `*`), headers as RE2. */
export function routeMatches(m: HttpMatch): RouteMatch[] {
  const headers = [...m.headers]
    .map((h) => ({ name: h.name.toLowerCase() === 'host' ? ':authority' : h.name.toLowerCase(), regex: h.valueRegex }))
    .sort((a, b) => byString(a.name, b.name) || byString(a.regex, b.regex))
    .map((h) => ({ name: h.name, string_match: { safe_regex: { regex: h.regex === '' ? '.*' : h.regex } } }));
  const methods = m.methods.length === 0 || m.methods.includes('*') ? ['*'] : [...new Set(m.methods)].sort(byString);
  return methods.map((method) => {
    const all = method === '*' ? headers : [{ name: ':method', string_match: { exact: method } }, ...headers];
    return { safe_regex: { regex: pathRegex(m) }, ...(all.length > 0 ? { headers: all } : {}) };
  });
}

function weighted(backends: readonly { clusterName: string; weight: number }[]): { weighted_clusters: WeightedCluster } | undefined {
  const merged = new Map<string, number>();
  for (const b of backends) merged.set(b.clusterName, (merged.get(b.clusterName) ?? 0) + Math.max(0, Math.floor(b.weight)));
  const clusters = [...merged].sort(([a], [b]) => byString(a, b));
  const total = clusters.reduce((n, [, w]) => n + w, 0);
  if (clusters.length === 0 || total === 0) return undefined;
  return { weighted_clusters: { clusters: clusters.map(([name, weight]) => ({ name, weight: { value: weight } })), total_weight: { value: total } } };
}

function outboundAction(svc: OutboundService, split: SplitPolicy | undefined): RouteTarget {
  const target = split ? weighted(split.backends) : weighted([{ clusterName: svc.clusterName, weight: 100 }]);
  // A split whose weights are all zero sends nothing anywhere: answer 503 instead of guessing a backend.
  if (!target) return { direct_response: { status: 503 } };
  const action: RouteAction = { ...target };
  if (svc.timeoutMs !== undefined) action.timeout = durationOfMs(svc.timeoutMs);
  if (svc.retry) action.retry_policy = routeRetryPolicy(svc.retry);
  return { route: action };
}

const ANY: HttpMatch = { name: 'any', pathRegex: '.*', methods: ['*'], headers: [] };

function outboundRoutes(svc: OutboundService): Route[] {
  const split = svc.split;
  const toAction = (act: RouteTarget) => (match: RouteMatch): Route => ({ match, ...act });
  if (!split || split.matches.length === 0) return routeMatches(ANY).map(toAction(outboundAction(svc, split)));
  // v1alpha4 matches: matching requests are split; the rest go to the root service itself.
  const splitRoutes = split.matches.flatMap((m) => routeMatches(m).map(toAction(outboundAction(svc, split))));
  return [...splitRoutes, ...routeMatches(ANY).map(toAction(outboundAction(svc, undefined)))];
}

/** Drops domains an earlier virtual host of the same route configuration claimed (Envoy rejects duplicates). */
function claim(domains: readonly string[], taken: Set<string>): string[] {
  const out = [...new Set(domains)].filter((d) => !taken.has(d)).sort(byString);
  for (const d of out) taken.add(d);
  return out;
}

/** `rds-outbound.<port>`: one virtual host per HTTP upstream service on that port. */
export function outboundRouteConfig(port: number, services: readonly OutboundService[]): RouteConfiguration {
  const taken = new Set<string>();
  const virtual_hosts = [...services]
    .sort((a, b) => byString(a.clusterName, b.clusterName))
    .map((svc) => ({ name: outboundVirtualHostName(svc.service), domains: claim(svc.hostnames, taken), routes: outboundRoutes(svc) }))
    .filter((vh) => vh.domains.length > 0);
  return { name: rdsOutboundName(port), virtual_hosts, validate_clusters: { value: false } };
}

/** `rds-inbound.<targetPort>`: one virtual host per local service on that port, every route with its RBAC. */
export function inboundRouteConfig(targetPort: number, ports: readonly InboundPort[], trustDomain: string, permissive: boolean): RouteConfiguration {
  const taken = new Set<string>();
  const byService = new Map<string, InboundPort[]>();
  for (const p of ports) {
    const key = `${p.service.namespace}/${p.service.name}`;
    byService.set(key, [...(byService.get(key) ?? []), p]);
  }
  const virtual_hosts: VirtualHost[] = [];
  for (const key of [...byService.keys()].sort(byString)) {
    const group = byService.get(key) ?? [];
    const first = group[0];
    if (!first) continue;
    const seen = new Set<string>();
    const routes: Route[] = [];
    for (const p of group) {
      const list = p.routes.length === 0 && permissive ? [{ match: ANY, principals: 'any' as const }] : p.routes;
      for (const r of list) {
        const perFilter = { ...routeRbac(r, trustDomain), ...routeRateLimit(p, pathRegex(r.match)) };
        for (const match of routeMatches(r.match)) {
          const route: Route = { match, route: { cluster: p.localClusterName, timeout: { seconds: 0 } }, typed_per_filter_config: perFilter };
          const text = JSON.stringify(route);
          if (seen.has(text)) continue;
          seen.add(text);
          routes.push(route);
        }
      }
    }
    const domains = claim(group.flatMap((p) => p.hostnames), taken);
    const vhostLimit = vhostRateLimit(group);
    if (domains.length > 0)
      virtual_hosts.push({ name: inboundVirtualHostName(first.service), domains, routes, ...(Object.keys(vhostLimit).length > 0 && { typed_per_filter_config: vhostLimit }) });
  }
  return { name: rdsInboundName(targetPort), virtual_hosts, validate_clusters: { value: false } };
}
