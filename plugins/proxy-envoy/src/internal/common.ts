/** Building blocks shared by every resource kind: filter names, TLS params, ADS sources. */
import { ExtensionTypeUrls, durationMs, typedConfig } from '@trellis/plugin-sdk';
import type { Address, Cluster, ClusterLoadAssignment, ConfigSource, Duration, HttpFilter, TlsParameters } from '@trellis/plugin-sdk';

export const FilterNames = {
  hcm: 'envoy.filters.network.http_connection_manager',
  tcpProxy: 'envoy.filters.network.tcp_proxy',
  networkRbac: 'envoy.filters.network.rbac',
  httpRbac: 'envoy.filters.http.rbac',
  router: 'envoy.filters.http.router',
  originalDst: 'envoy.filters.listener.original_dst',
  tlsInspector: 'envoy.filters.listener.tls_inspector',
  tlsSocket: 'envoy.transport_sockets.tls',
  httpProtocolOptions: 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
  /** OSM's names for the local rate limit filters. */
  networkLocalRateLimit: 'l4_local_rate_limit',
  httpLocalRateLimit: 'envoy.filters.http.local_ratelimit',
} as const;

/** Config source for everything fetched over the ADS stream. */
export const adsSource = (): ConfigSource => ({ ads: {}, resource_api_version: 'V3' });

export const tlsParams = (): TlsParameters => ({ tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_3' });

export const socketAddress = (address: string, port: number): Address => ({ socket_address: { address, port_value: port } });

/** A STATIC/LOGICAL_DNS cluster's inline endpoints: one host. */
export const singleHostAssignment = (clusterName: string, address: string, port: number): ClusterLoadAssignment => ({
  cluster_name: clusterName,
  endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(address, port) } }] }],
});

/** HTTP/1.1 or HTTP/2 upstream, as the downstream spoke (gRPC arrives as HTTP/2 and stays HTTP/2). */
export const downstreamProtocolOptions = (): NonNullable<Cluster['typed_extension_protocol_options']> => ({
  [FilterNames.httpProtocolOptions]: typedConfig(ExtensionTypeUrls.httpProtocolOptions, {
    use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} },
  }),
});

export const routerFilter = (): HttpFilter => ({ name: FilterNames.router, typed_config: typedConfig(ExtensionTypeUrls.router) });

/** A Duration of `ms` (whole milliseconds). */
export function durationOfMs(ms: number): Duration {
  return durationMs(Math.round(ms));
}

/** Code-unit order, independent of locale: the same input sorts the same everywhere. */
export const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function isIpv6(ip: string): boolean {
  return ip.includes(':');
}
