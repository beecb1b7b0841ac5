/**
 * xDS resources as proxy backends hand them to the core. A resource is encoded once (protobuf) and shared by
 * reference between every proxy snapshot that contains it; its version is a hash of its bytes. @public
 */
import type { Identity } from '../mesh/identity.ts';
import type { ResourceTypes } from './types.ts';

const T = 'type.googleapis.com/';

/** Type URLs of the resources a proxy subscribes to (one per xDS resource type). */
export const TypeUrls = {
  listener: `${T}envoy.config.listener.v3.Listener`,
  route: `${T}envoy.config.route.v3.RouteConfiguration`,
  cluster: `${T}envoy.config.cluster.v3.Cluster`,
  endpoint: `${T}envoy.config.endpoint.v3.ClusterLoadAssignment`,
  secret: `${T}envoy.extensions.transport_sockets.tls.v3.Secret`,
} as const;

export type TypeUrl = (typeof TypeUrls)[keyof typeof TypeUrls];

/** Type URLs of the extension configs Trellis's backends put in `typed_config` (google.protobuf.Any). */
export const ExtensionTypeUrls = {
  httpConnectionManager: `${T}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`,
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
  stdoutAccessLog: `${T}envoy.extensions.access_loggers.stream.v3.StdoutAccessLog`,
  openTelemetryAccessLog: `${T}envoy.extensions.access_loggers.open_telemetry.v3.OpenTelemetryAccessLogConfig`,
  openTelemetryTracer: `${T}envoy.config.trace.v3.OpenTelemetryConfig`,
  networkLocalRateLimit: `${T}envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit`,
  httpLocalRateLimit: `${T}envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit`,
} as const;

export type ExtensionTypeUrl = (typeof ExtensionTypeUrls)[keyof typeof ExtensionTypeUrls];

export interface XdsResource {
  readonly typeUrl: string;
  readonly name: string;
  /** Content-derived version (hash of `body`): equal state gives equal versions across restarts and replicas. */
  readonly version: string;
  /** The protobuf encoding of the resource message (not wrapped in Any). */
  readonly body: Uint8Array;
  /** The object it was encoded from (proto field names, `@type` inside Any), for debug output. */
  readonly value: Readonly<Record<string, unknown>>;
  /**
   * Who may receive it. Set for anything holding key material (a Secret with a private key): the xDS server
   * sends it only to proxies of this identity. Absent: public (any proxy whose snapshot holds it).
   */
  readonly audience?: Identity;
}

export interface CreateOptions {
  /** The only identity that may receive this resource (required for a Secret that holds a private key). */
  readonly audience?: Identity;
}

/**
 * Encodes resource objects, typed by type URL: `create(TypeUrls.cluster, name, cluster)` takes a `Cluster`
 * (proto field names, protobufjs object forms: Duration `{ seconds, nanos }`, wrappers `{ value }`, Any via
 * `typedConfig()`), so a misspelled field is a compile error. At run time the core's factory rejects keys the
 * message type does not define (naming resource type, name and field path) instead of dropping them.
 */
export interface XdsResourceFactory {
  create<U extends TypeUrl>(typeUrl: U, name: string, value: ResourceTypes[U], options?: CreateOptions): XdsResource;
}
