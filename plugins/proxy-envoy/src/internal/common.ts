/** Building blocks shared by every resource kind: type URLs of the typed configs, TLS params, ADS sources. */

export type Obj = Record<string, unknown>;

const T = 'type.googleapis.com/';
export const Types = {
  hcm: `${T}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`,
  tcpProxy: `${T}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`,
  networkRbac: `${T}envoy.extensions.filters.network.rbac.v3.RBAC`,
  httpRbac: `${T}envoy.extensions.filters.http.rbac.v3.RBAC`,
  httpRbacPerRoute: `${T}envoy.extensions.filters.http.rbac.v3.RBACPerRoute`,
  router: `${T}envoy.extensions.filters.http.router.v3.Router`,
  originalDst: `${T}envoy.extensions.filters.listener.original_dst.v3.OriginalDst`,
  tlsInspector: `${T}envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector`,
  upstreamTls: `${T}envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext`,
  downstreamTls: `${T}envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext`,
  httpProtocolOptions: `${T}envoy.extensions.upstreams.http.v3.HttpProtocolOptions`,
  stdoutLog: `${T}envoy.extensions.access_loggers.stream.v3.StdoutAccessLog`,
} as const;

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
} as const;

/** Config source for everything fetched over the ADS stream. */
export const adsSource = (): Obj => ({ ads: {}, resource_api_version: 'V3' });

export const tlsParams = (): Obj => ({ tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_3' });

export const socketAddress = (address: string, port: number): Obj => ({ socket_address: { address, port_value: port } });

/** A STATIC/LOGICAL_DNS cluster's inline endpoints: one host. */
export const singleHostAssignment = (clusterName: string, address: string, port: number): Obj => ({
  cluster_name: clusterName,
  endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(address, port) } }] }],
});

/** HTTP/1.1 or HTTP/2 upstream, as the downstream spoke (gRPC arrives as HTTP/2 and stays HTTP/2). */
export const downstreamProtocolOptions = (): Obj => ({
  [FilterNames.httpProtocolOptions]: {
    '@type': Types.httpProtocolOptions,
    use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} },
  },
});

export const routerFilter = (): Obj => ({ name: FilterNames.router, typed_config: { '@type': Types.router } });

export function durationOfMs(ms: number): string {
  const whole = Math.floor(ms / 1000);
  const frac = Math.round(ms - whole * 1000);
  return frac === 0 ? `${whole}s` : `${whole}.${String(frac).padStart(3, '0')}s`;
}

/** Code-unit order, independent of locale: the same input sorts the same everywhere. */
export const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function isIpv6(ip: string): boolean {
  return ip.includes(':');
}
