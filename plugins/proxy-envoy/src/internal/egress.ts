/**
 * Egress policies on the outbound listener, in OSM's shape (its `curl_egress.json` dump): HTTP by Host through
 * `egress-http.<port>` and `rds-egress.<port>` to a STRICT_DNS cluster `<host>:<port>` (a wildcard host to the
 * original destination instead, as no name can be resolved); HTTPS (and TCP with hosts) by SNI through
 * `egress-https.<port>`; TCP by destination range through `egress-tcp.<port>`; the last two tcp_proxy to the
 * ORIGINAL_DST cluster named `<port>`. Mesh chains match service addresses, so they stay more specific.
 */
import { ExtensionTypeUrls, typedConfig } from '@trellis/plugin-sdk';
import type { Cluster, EgressRule, FilterChain, Route, RouteConfiguration, VirtualHost } from '@trellis/plugin-sdk';
import { FilterNames, adsSource, byString, routerFilter } from './common.ts';
import { routeMatches } from './routes.ts';

export const rdsEgressName = (port: number): string => `rds-egress.${port}`;
const dnsClusterName = (host: string, port: number): string => `${host}:${port}`;
const originalDstName = (port: number): string => String(port);
const isWildcard = (host: string): boolean => host.startsWith('*.');
const ANY = { name: 'any', pathRegex: '.*', methods: ['*'], headers: [] } as const;

const cidr = (range: string) => {
  const [address_prefix = '', len = '32'] = range.split('/');
  return { address_prefix, prefix_len: { value: Number(len) } };
};

const tcpProxy = (cluster: string) => ({
  name: FilterNames.tcpProxy,
  typed_config: typedConfig(ExtensionTypeUrls.tcpProxy, { stat_prefix: `egress-tcp-proxy.${cluster}`, cluster }),
});

const byPort = (rules: readonly EgressRule[]): Map<number, EgressRule[]> => {
  const m = new Map<number, EgressRule[]>();
  for (const r of rules) m.set(r.port, [...(m.get(r.port) ?? []), r]);
  return new Map([...m].sort(([a], [b]) => a - b));
};

/** SNI chains need the TLS inspector on the outbound listener. */
export const needsTlsInspector = (rules: readonly EgressRule[]): boolean => rules.some((r) => r.protocol !== 'http' && r.hosts.length > 0);

export function egressChains(rules: readonly EgressRule[]): FilterChain[] {
  const chains: FilterChain[] = [];
  for (const [port, rs] of byPort(rules)) {
    if (rs.some((r) => r.protocol === 'http')) {
      chains.push({
        name: `egress-http.${port}`,
        filter_chain_match: { destination_port: { value: port } },
        filters: [
          {
            name: FilterNames.hcm,
            typed_config: typedConfig(ExtensionTypeUrls.httpConnectionManager, {
              stat_prefix: `egress-http-conn-manager.${rdsEgressName(port)}`,
              rds: { config_source: adsSource(), route_config_name: rdsEgressName(port) },
              http_filters: [routerFilter()],
            }),
          },
        ],
      });
    }
    const sni = [...new Set(rs.filter((r) => r.protocol !== 'http').flatMap((r) => r.hosts))].sort(byString);
    if (sni.length > 0)
      chains.push({ name: `egress-https.${port}`, filter_chain_match: { destination_port: { value: port }, server_names: sni }, filters: [tcpProxy(originalDstName(port))] });
    const ranges = [...new Set(rs.filter((r) => r.protocol === 'tcp').flatMap((r) => r.ipRanges))].sort(byString);
    if (ranges.length > 0)
      chains.push({ name: `egress-tcp.${port}`, filter_chain_match: { destination_port: { value: port }, prefix_ranges: ranges.map(cidr) }, filters: [tcpProxy(originalDstName(port))] });
  }
  return chains;
}

/** `rds-egress.<port>`: one virtual host per allowed host, its routes the policy's matches (any request when none). */
export function egressRouteConfigs(rules: readonly EgressRule[]): RouteConfiguration[] {
  const out: RouteConfiguration[] = [];
  for (const [port, rs] of byPort(rules.filter((r) => r.protocol === 'http'))) {
    const byHost = new Map<string, EgressRule[]>();
    for (const r of rs) for (const h of r.hosts) byHost.set(h, [...(byHost.get(h) ?? []), r]);
    const virtual_hosts: VirtualHost[] = [...byHost.keys()].sort(byString).map((host) => {
      const cluster = isWildcard(host) ? originalDstName(port) : dnsClusterName(host, port);
      const seen = new Set<string>();
      const routes: Route[] = [];
      for (const r of byHost.get(host) ?? [])
        for (const m of r.matches.length > 0 ? r.matches : [ANY])
          for (const match of routeMatches(m)) {
            const route: Route = { match, route: { weighted_clusters: { clusters: [{ name: cluster, weight: { value: 100 } }], total_weight: { value: 100 } }, timeout: { seconds: 0 } } };
            const k = JSON.stringify(route);
            if (seen.has(k)) continue;
            seen.add(k);
            routes.push(route);
          }
      return { name: `egress_virtual-host|${host}`, domains: [host, `${host}:${port}`], routes };
    });
    out.push({ name: rdsEgressName(port), virtual_hosts, validate_clusters: { value: false } });
  }
  return out;
}

/** The clusters egress routes and chains name: STRICT_DNS per exact HTTP host, ORIGINAL_DST per port otherwise. */
export function egressClusters(rules: readonly EgressRule[]): Cluster[] {
  const out = new Map<string, Cluster>();
  for (const r of rules) {
    const original = r.protocol !== 'http' || r.hosts.some(isWildcard);
    if (original) out.set(originalDstName(r.port), { name: originalDstName(r.port), type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: { seconds: 1 } });
    if (r.protocol !== 'http') continue;
    for (const host of r.hosts.filter((h) => !isWildcard(h))) {
      const name = dnsClusterName(host, r.port);
      out.set(name, {
        name,
        type: 'STRICT_DNS',
        connect_timeout: { seconds: 1 },
        lb_policy: 'ROUND_ROBIN',
        load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: host, port_value: r.port } } }, load_balancing_weight: { value: 100 } }] }] },
      });
    }
  }
  return [...out.values()].sort((a, b) => byString(a.name ?? '', b.name ?? ''));
}
